/**
 * The `aws` secrets source through the real worker and Temporal, against a real AWS Secrets
 * Manager–compatible server (moto) behind a proxy that records every call: a secret of namespace
 * ops resolves from the store in ops and reaches the real S3 server; a missing one fails as not
 * set; in namespace sandbox it is refused SECRET_FORBIDDEN before the store is asked; a key the
 * store refuses, or a store that cannot be reached, is PEER_UNAVAILABLE; no error carries a value
 * or a credential.
 */
import { mkdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadConfig } from '../../src/config/index.js';
import { createSecretResolver } from '../../src/secrets/index.js';
import { task, type Engine } from '../helpers/engine.js';
import { closedPort, startBlackHole, startS3, startSecretsManager, type BlackHolePeer, type S3Peer, type SecretsManagerPeer } from '../peers/index.js';
import { runShowingNone, s3Put, startSecretsEngine } from './fixtures.js';

let engine: Engine;
let s3: S3Peer;
let hole: BlackHolePeer;
let store: SecretsManagerPeer;
/** Every secret value and store credential of the test, none of which may appear in a run's state. */
let values: string[];
const PREFIX = 'maestro/test/';

beforeAll(async () => {
  [s3, hole, store] = await Promise.all([startS3(), startBlackHole(), startSecretsManager()]);
  await mkdir(join(s3.root, 'reports'));
  await store.put(`${PREFIX}ops-s3-key`, s3.accessKeyId);
  await store.put(`${PREFIX}ops-s3-secret`, s3.secretAccessKey);
  // The same names without the prefix: reading them would mean the prefix was ignored.
  await store.put('ops-s3-key', 'unprefixed-never-read');
  values = [s3.accessKeyId, s3.secretAccessKey, store.secretAccessKey, 'unprefixed-never-read'];
  const config = loadConfig({
    MAESTRO_SECRETS_SOURCE: 'aws',
    MAESTRO_SECRETS_AWS_REGION: store.region,
    MAESTRO_SECRETS_AWS_ENDPOINT: store.endpoint,
    MAESTRO_SECRETS_AWS_ACCESS_KEY_ID: store.accessKeyId,
    MAESTRO_SECRETS_AWS_SECRET_ACCESS_KEY: store.secretAccessKey,
    MAESTRO_SECRETS_AWS_PREFIX: PREFIX,
    MAESTRO_SECRETS: JSON.stringify({
      'ops-s3-key': { namespaces: ['ops'], hosts: ['127.0.0.1'] },
      'ops-s3-secret': { namespaces: ['ops'], hosts: ['127.0.0.1'] },
      'ops-missing': { namespaces: ['ops'], hosts: ['127.0.0.1'] },
    }),
  });
  engine = await startSecretsEngine(createSecretResolver(config));
});

afterAll(async () => {
  await engine?.close();
  await Promise.all([s3?.stop(), hole?.stop(), store?.stop()]);
});

const run = (yaml: string, namespace: string) => runShowingNone(engine, yaml, namespace, values);

const asked = () => store.calls().map(({ target, body }) => `${target} ${(JSON.parse(body) as { SecretId?: string }).SecretId}`);

describe('a secret of namespace ops in AWS Secrets Manager', () => {
  it('resolves in ops from <prefix><name> and reaches the real S3 server', async () => {
    const before = store.calls().length;
    const state = await run(s3Put(s3.endpoint), 'ops');
    expect(task(state, 'put')).toMatchObject({ status: 'SUCCEEDED' });
    expect(JSON.parse(await readFile(join(s3.root, 'reports', 'daily.json'), 'utf8'))).toEqual({ ok: true });
    expect(asked().slice(before)).toEqual([
      `secretsmanager.GetSecretValue ${PREFIX}ops-s3-key`,
      `secretsmanager.GetSecretValue ${PREFIX}ops-s3-secret`,
    ]);
  });

  it('is refused in namespace sandbox with SECRET_FORBIDDEN, and the store receives nothing', async () => {
    const before = store.calls().length;
    const accepted = hole.accepted();
    const state = await run(s3Put(`http://127.0.0.1:${hole.port}`), 'sandbox');
    expect(task(state, 'put')).toMatchObject({ status: 'FAILED', attempts: 1, error: { code: 'SECRET_FORBIDDEN' } });
    expect(task(state, 'put').error?.message).toContain('may not be used in namespace "sandbox"');
    expect(store.calls().length).toBe(before);
    expect(hole.accepted()).toBe(accepted);
  });
});

describe('a secret the store does not hold', () => {
  it('fails as not set in AWS Secrets Manager, not retried', async () => {
    const state = await run(s3Put(`http://127.0.0.1:${hole.port}`, 'ops-missing', 'ops-missing'), 'ops');
    expect(task(state, 'put')).toMatchObject({ status: 'FAILED', attempts: 1, error: { code: 'CONFIG_INVALID' } });
    expect(task(state, 'put').error?.message).toContain(`secret "ops-missing" is not set in AWS Secrets Manager (us-east-1 at ${store.endpoint}, prefix ${PREFIX})`);
  });
});

describe('a store that checks signatures (moto with IAM on)', () => {
  it('serves the right key, and refuses another as PEER_UNAVAILABLE, quoting neither key nor value', async () => {
    const strict = await startSecretsManager({ checkSignatures: true });
    try {
      await strict.put('token', 'iam-guarded-t0ken');
      const settings = { MAESTRO_SECRETS_SOURCE: 'aws', MAESTRO_SECRETS_AWS_REGION: strict.region, MAESTRO_SECRETS_AWS_ENDPOINT: strict.endpoint, MAESTRO_SECRETS_AWS_ACCESS_KEY_ID: strict.accessKeyId };
      const right = createSecretResolver(loadConfig({ ...settings, MAESTRO_SECRETS_AWS_SECRET_ACCESS_KEY: strict.secretAccessKey }));
      await expect(right('token', { namespace: 'default' })).resolves.toBe('iam-guarded-t0ken');
      const wrong = createSecretResolver(loadConfig({ ...settings, MAESTRO_SECRETS_AWS_SECRET_ACCESS_KEY: 'not-the-key-s3cret' }));
      const error = await wrong('token', { namespace: 'default' }).catch((caught: unknown) => caught);
      expect(error).toMatchObject({ code: 'PEER_UNAVAILABLE', retryable: true });
      expect((error as Error).message).toContain('refused to read secret "token" (HTTP 403): the credentials are invalid, expired, or may not read this secret');
      expect(JSON.stringify(error)).not.toMatch(/iam-guarded-t0ken|not-the-key-s3cret/);
      expect(JSON.stringify(error)).not.toContain(strict.secretAccessKey);
    } finally {
      await strict.stop();
    }
  });
});

describe('an unreachable store', () => {
  it('is PEER_UNAVAILABLE, retryable, and names neither value nor credential', async () => {
    const port = await closedPort();
    const resolve = createSecretResolver(
      loadConfig({
        MAESTRO_SECRETS_SOURCE: 'aws',
        MAESTRO_SECRETS_AWS_REGION: 'us-east-1',
        MAESTRO_SECRETS_AWS_ENDPOINT: `http://127.0.0.1:${port}`,
        MAESTRO_SECRETS_AWS_ACCESS_KEY_ID: store.accessKeyId,
        MAESTRO_SECRETS_AWS_SECRET_ACCESS_KEY: store.secretAccessKey,
      }),
    );
    const error = await resolve('token', { namespace: 'default' }).catch((caught: unknown) => caught);
    expect(error).toMatchObject({ code: 'PEER_UNAVAILABLE', retryable: true });
    expect((error as Error).message).toContain('cannot be reached');
    expect(JSON.stringify(error)).not.toContain(store.secretAccessKey);
  });
});
