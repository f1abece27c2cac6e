import { stat, writeFile, mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { builtinCatalog } from '../../src/tasks/index.js';
import { extendConfig, loadConfig, type Config } from '../../src/config/index.js';
import { ConfigError } from '../../src/errors/index.js';
import { BlobTaskCache } from '../../src/cache/index.js';
import {
  createWorkerProvenance,
  defaultSigningKeyFile,
  generateSigningKey,
  openProvenance,
  trustedKeysFromConfig,
  verifyReceipt,
} from '../../src/provenance/index.js';
import { PARAMS, compiledFixture, runFixture, tempDir } from './fixtures.js';

let dir: string;
let cleanup: () => Promise<void>;
let config: Config;

beforeAll(async () => {
  ({ dir, cleanup } = await tempDir('maestro-setup-'));
  config = extendConfig(loadConfig({}), { dataDir: dir });
});
afterAll(() => cleanup());

describe('provenance config', () => {
  it('parses the provenance settings from MAESTRO_* variables', () => {
    const loaded = loadConfig({
      MAESTRO_SIGNING_KEY: '/keys/k.pem',
      MAESTRO_TRUSTED_KEYS_DIR: '/keys/trusted',
      MAESTRO_FULCIO_URL: 'https://fulcio.example',
      MAESTRO_REKOR_URL: 'https://rekor.example',
      MAESTRO_BUILDER_ID: 'urn:maestro:builder:prod',
      MAESTRO_PROVENANCE_STORE: 's3',
      MAESTRO_PROVENANCE_S3_BUCKET: 'prov',
      MAESTRO_PROVENANCE_S3_PREFIX: 'maestro/',
      MAESTRO_PROVENANCE_S3_ENDPOINT: 'http://127.0.0.1:9000',
      MAESTRO_TASK_CACHE: 'false',
    });
    expect(loaded).toMatchObject({
      signingKey: '/keys/k.pem',
      trustedKeysDir: '/keys/trusted',
      fulcioUrl: 'https://fulcio.example',
      rekorUrl: 'https://rekor.example',
      builderId: 'urn:maestro:builder:prod',
      provenanceStore: 's3',
      provenanceS3Bucket: 'prov',
      provenanceS3Prefix: 'maestro/',
      provenanceS3Endpoint: 'http://127.0.0.1:9000',
      taskCache: false,
    });
    expect(() => loadConfig({ MAESTRO_PROVENANCE_STORE: 'ftp' })).toThrow(/MAESTRO_PROVENANCE_STORE must be fs or s3/);
  });

  it('opens the dev key (created on first use), the fs stores and the cache by default', async () => {
    const provenance = await openProvenance(config);
    expect(provenance.signingKey?.keyId).toBe(provenance.signer.keyId);
    expect((await stat(defaultSigningKeyFile(config))).mode & 0o777).toBe(0o600);
    expect(provenance.taskCache).toBeInstanceOf(BlobTaskCache);
    expect(provenance.builderId).toBe('urn:maestro:builder:default/maestro');
    expect((await openProvenance(config)).signingKey?.keyId).toBe(provenance.signingKey?.keyId);
    expect(await trustedKeysFromConfig(config)).toHaveLength(1);
  });

  it('trusts the keys of MAESTRO_TRUSTED_KEYS_DIR too, and turns the cache off on request', async () => {
    const trusted = join(dir, 'trusted');
    await mkdir(trusted);
    await writeFile(join(trusted, 'ci.pub'), generateSigningKey().publicKeyPem);
    await writeFile(join(trusted, 'README'), 'not a key');
    const provenance = await openProvenance(extendConfig(config, { trustedKeysDir: trusted, taskCache: false }));
    expect(provenance.trustedKeys).toHaveLength(2);
    expect(provenance.taskCache).toBeUndefined();
  });

  it('refuses a configured signing key that does not exist, and an s3 store without bucket', async () => {
    await expect(openProvenance(extendConfig(config, { signingKey: join(dir, 'nope.key') }))).rejects.toThrow(ConfigError);
    await expect(openProvenance(extendConfig(config, { provenanceStore: 's3' }))).rejects.toThrow(/needs MAESTRO_PROVENANCE_S3_BUCKET/);
  });

  it('signs keylessly, with no local key, when Fulcio and Rekor URLs are set', async () => {
    const provenance = await openProvenance(extendConfig(config, { fulcioUrl: 'https://fulcio.example', rekorUrl: 'https://rekor.example' }));
    expect(provenance.signingKey).toBeUndefined();
    expect(provenance.signer.keyId).toBeUndefined();
  });

  it('builds the worker side: code digests for every catalog task, a worker build id, and a writeReceipt that signs', async () => {
    const worker = await createWorkerProvenance({ config, catalog: builtinCatalog });
    for (const definition of builtinCatalog.list()) {
      expect(worker.taskCodeDigests[`${definition.name}@${definition.version}`]).toMatch(/^sha256:[0-9a-f]{64}$/);
    }
    expect(worker.workerBuildId).toMatch(/^sha256:[0-9a-f]{64}$/);
    const { ir, digest } = compiledFixture();
    const state = runFixture(digest, 'run-worker');
    const written = await worker.writeReceipt({ runId: 'run-worker', ir, digest, params: PARAMS, state });
    const stored = await worker.provenance.receipts.read('run-worker');
    expect(stored.digest).toBe(written.digest);
    const verified = verifyReceipt(stored.bundle, { publicKeys: worker.provenance.trustedKeys, run: state });
    expect(verified.ok).toBe(true);
    if (verified.ok) {
      const deps = verified.statement.predicate.buildDefinition.resolvedDependencies ?? [];
      expect(deps.find((d) => d.name === 'tasks/http.request@0.1.0')?.digest?.sha256).toBe(worker.taskCodeDigests['tasks/http.request@0.1.0']?.slice(7));
      expect(verified.statement.predicate.runDetails.builder.version).toEqual({ workerBuildId: worker.workerBuildId });
    }
  });
});
