/**
 * Secrets scoped to namespaces and destinations, through the real worker and Temporal, with the
 * `dir` source laid out the way Kubernetes mounts a Secret (files are symlinks into `..data`):
 * a secret resolves only in the namespaces its declaration lists and only for the hosts it is bound
 * to; anything else fails SECRET_FORBIDDEN before a connection is opened, and no error carries a
 * secret's value.
 */
import { mkdir, mkdtemp, readFile, rm, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadConfig } from '../../src/config/index.js';
import { createSecretResolver } from '../../src/secrets/index.js';
import { task, workflow, type Engine } from '../helpers/engine.js';
import { startBlackHole, startS3, type BlackHolePeer, type S3Peer } from '../peers/index.js';
import { runShowingNone, s3Put, startSecretsEngine } from './fixtures.js';

let engine: Engine;
let s3: S3Peer;
let hole: BlackHolePeer;
let dir: string;
/** Every secret value of the test, none of which may appear in a run's state. */
let values: string[];
const OUTSIDE = 'outside-the-folder-5ecr3t';
const DB_PASSWORD = 'db-pa55word-never-shown';

beforeAll(async () => {
  [s3, hole] = await Promise.all([startS3(), startBlackHole()]);
  await mkdir(join(s3.root, 'reports'));
  dir = await mkdtemp(join(tmpdir(), 'maestro-secrets-'));
  const secrets = join(dir, 'secrets');
  const version = join(secrets, '..2026_12_06_05_00_00.000000001');
  await mkdir(version, { recursive: true });
  const files: Record<string, string> = {
    'ops-s3-key': s3.accessKeyId,
    'ops-s3-secret': `${s3.secretAccessKey}\n`,
    'ops-db-url': `postgres://maestro:${DB_PASSWORD}@127.0.0.1:${hole.port}/postgres`,
    'shared-token': 'undeclared-t0ken',
  };
  values = [s3.accessKeyId, s3.secretAccessKey, DB_PASSWORD, 'undeclared-t0ken', OUTSIDE];
  await symlink('..2026_12_06_05_00_00.000000001', join(secrets, '..data'));
  for (const [name, value] of Object.entries(files)) {
    await writeFile(join(version, name), value);
    await symlink(join('..data', name), join(secrets, name));
  }
  // A link that leads out of the folder: resolving it must read nothing.
  await writeFile(join(dir, 'outside'), OUTSIDE);
  await symlink('../outside', join(secrets, 'escape'));
  const config = loadConfig({
    MAESTRO_SECRETS_SOURCE: 'dir',
    MAESTRO_SECRETS_DIR: secrets,
    MAESTRO_SECRETS: JSON.stringify({
      'ops-s3-key': { namespaces: ['ops'], hosts: ['127.0.0.1'] },
      'ops-s3-secret': { namespaces: ['ops'], hosts: ['127.0.0.1'] },
      'ops-db-url': { namespaces: ['ops'], hosts: ['db.ops.internal'] },
    }),
  });
  engine = await startSecretsEngine(createSecretResolver(config));
});

afterAll(async () => {
  await engine?.close();
  await Promise.all([s3?.stop(), hole?.stop()]);
  if (dir) await rm(dir, { recursive: true, force: true });
});

const run = (yaml: string, namespace: string) => runShowingNone(engine, yaml, namespace, values);

describe('a secret scoped to namespace ops', () => {
  it('resolves from a Kubernetes-style secrets folder in ops and reaches the real S3 server', async () => {
    const state = await run(s3Put(s3.endpoint), 'ops');
    expect(task(state, 'put')).toMatchObject({ status: 'SUCCEEDED' });
    expect(JSON.parse(await readFile(join(s3.root, 'reports', 'daily.json'), 'utf8'))).toEqual({ ok: true });
  });

  it('is refused in namespace sandbox with SECRET_FORBIDDEN, not retried, before any connection', async () => {
    const before = hole.accepted();
    const state = await run(s3Put(`http://127.0.0.1:${hole.port}`), 'sandbox');
    expect(state.status).toBe('FAILED');
    expect(task(state, 'put')).toMatchObject({ status: 'FAILED', attempts: 1, error: { code: 'SECRET_FORBIDDEN' } });
    expect(task(state, 'put').error?.message).toContain('may not be used in namespace "sandbox"');
    expect(hole.accepted()).toBe(before);
  });
});

describe('a secret bound to host 127.0.0.1', () => {
  it('cannot be sent to another host (localhost): SECRET_FORBIDDEN, and that host receives nothing', async () => {
    const before = hole.accepted();
    const state = await run(s3Put(`http://localhost:${hole.port}`), 'ops');
    expect(task(state, 'put')).toMatchObject({ status: 'FAILED', attempts: 1, error: { code: 'SECRET_FORBIDDEN' } });
    expect(task(state, 'put').error?.message).toContain('may not be sent to "localhost"');
    expect(hole.accepted()).toBe(before);
  });

  it('is refused when its value is itself an address of another host, and the error does not quote it', async () => {
    const before = hole.accepted();
    const state = await run(workflow(`    - id: query\n      uses: connectors/db.query@0.1.0\n      with: { sql: "SELECT 1", connectionSecret: ops-db-url }`), 'ops');
    expect(task(state, 'query')).toMatchObject({ status: 'FAILED', attempts: 1, error: { code: 'SECRET_FORBIDDEN' } });
    expect(JSON.stringify(state)).not.toContain(`127.0.0.1:${hole.port}`);
    expect(hole.accepted()).toBe(before);
  });
});

describe('an undeclared secret', () => {
  it('is refused outside namespace default', async () => {
    const before = hole.accepted();
    const state = await run(s3Put(`http://127.0.0.1:${hole.port}`, 'shared-token', 'shared-token'), 'sandbox');
    expect(task(state, 'put')).toMatchObject({ status: 'FAILED', error: { code: 'SECRET_FORBIDDEN' } });
    expect(task(state, 'put').error?.message).toContain('undeclared');
    expect(hole.accepted()).toBe(before);
  });
});

describe('a symlink out of the secrets folder', () => {
  it('reads nothing: the secret is not set, and the file outside is never shown', async () => {
    const state = await run(s3Put(`http://127.0.0.1:${hole.port}`, 'escape', 'escape'), 'default');
    expect(task(state, 'put')).toMatchObject({ status: 'FAILED', error: { code: 'CONFIG_INVALID' } });
    expect(task(state, 'put').error?.message).toContain('secret "escape" is not set');
  });
});
