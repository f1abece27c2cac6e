import { CreateBucketCommand, S3Client } from '@aws-sdk/client-s3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { BlobTaskCache, runCached } from '../../src/cache/index.js';
import { ReceiptStore, createReceiptWriter, localBundleSigner, verifyReceipt } from '../../src/provenance/index.js';
import { S3BlobStore } from '../../src/store/index.js';
import { startS3, type S3Peer } from '../peers/s3.js';
import { CODE_DIGESTS, PARAMS, compiledFixture, runFixture, testKey } from './fixtures.js';

let peer: S3Peer;
let store: S3BlobStore;

beforeAll(async () => {
  peer = await startS3();
  const client = new S3Client({
    endpoint: peer.endpoint,
    region: peer.region,
    forcePathStyle: true,
    credentials: { accessKeyId: peer.accessKeyId, secretAccessKey: peer.secretAccessKey },
  });
  await client.send(new CreateBucketCommand({ Bucket: 'provenance' }));
  store = new S3BlobStore({ client, bucket: 'provenance', prefix: 'maestro/' });
});
afterAll(() => peer?.stop());

describe('S3 provenance store (versitygw)', () => {
  it('serves the task cache: a miss executes and stores, the identical attempt hits, a changed input misses', async () => {
    const cache = new BlobTaskCache(store);
    let executions = 0;
    const attempt = (input: unknown) =>
      runCached(cache, { uses: 'tasks/transform.map@0.1.0', codeDigest: `sha256:${'aa'.repeat(32)}`, input, cache: { enabled: true, ttlMs: 60_000 } }, () => {
        executions += 1;
        return Promise.resolve({ rows: [executions] });
      });
    expect(await attempt({ rows: [1] })).toMatchObject({ cached: false, outputs: { rows: [1] } });
    expect(await attempt({ rows: [1] })).toMatchObject({ cached: true, outputs: { rows: [1] } });
    expect(await attempt({ rows: [2] })).toMatchObject({ cached: false, outputs: { rows: [2] } });
    expect(executions).toBe(2);
    expect(store.uriOf('task-cache/ab/x.json')).toBe('s3://provenance/maestro/task-cache/ab/x.json');
  });

  it('stores receipts that read back and verify', async () => {
    const receipts = new ReceiptStore(store);
    const { ir, digest } = compiledFixture();
    const state = runFixture(digest, 'run-s3');
    const write = createReceiptWriter({ receipts, signer: localBundleSigner(testKey()), builderId: 'urn:test', workerBuildId: 'w', taskCodeDigests: CODE_DIGESTS });
    const written = await write({ runId: 'run-s3', ir, digest, params: PARAMS, state });
    expect(written.receiptUri).toBe('s3://provenance/maestro/receipts/run-s3.sigstore.json');
    const stored = await receipts.read('run-s3');
    expect(stored.digest).toBe(written.digest);
    expect(verifyReceipt(stored.bundle, { publicKeys: [testKey().publicKeyPem], run: state }).ok).toBe(true);
    expect(await receipts.find('run-none')).toBeUndefined();
  });
});
