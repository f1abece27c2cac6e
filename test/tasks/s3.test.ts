/**
 * connectors/s3.get and connectors/s3.put against a real S3-compatible server (versitygw).
 */
import { createHash } from 'node:crypto';
import { CreateBucketCommand, GetObjectCommand, ListObjectsV2Command, PutObjectCommand, S3Client } from '@aws-sdk/client-s3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { s3Get, s3Put } from '../../src/tasks/index.js';
import { peerContext } from '../helpers/egress.js';
import { closedPort, startBlackHole, startS3, type BlackHolePeer, type S3Peer } from '../peers/index.js';
import { expectCancelled, runTask, taskFailure } from './helpers.js';

let s3: S3Peer;
let hole: BlackHolePeer;
let client: S3Client;

const SECRETS = { S3_KEY: '', S3_SECRET: '' };
const credentials = { accessKeyIdSecret: 'S3_KEY', secretAccessKeySecret: 'S3_SECRET' };
const ctx = () => peerContext({ secrets: SECRETS });

beforeAll(async () => {
  [s3, hole] = await Promise.all([startS3(), startBlackHole()]);
  Object.assign(SECRETS, { S3_KEY: s3.accessKeyId, S3_SECRET: s3.secretAccessKey });
  client = new S3Client({ endpoint: s3.endpoint, region: s3.region, forcePathStyle: true, credentials: { accessKeyId: s3.accessKeyId, secretAccessKey: s3.secretAccessKey } });
  await client.send(new CreateBucketCommand({ Bucket: 'datasets' }));
  await client.send(new PutObjectCommand({ Bucket: 'datasets', Key: 'raw.json', Body: '[{"id":1},{"id":2}]', ContentType: 'application/json' }));
});

afterAll(async () => {
  client?.destroy();
  await Promise.all([s3?.stop(), hole?.stop()]);
});

const at = () => ({ endpoint: s3.endpoint, credentials });

async function keys(bucket: string): Promise<string[]> {
  const listed = await client.send(new ListObjectsV2Command({ Bucket: bucket }));
  return (listed.Contents ?? []).map((object) => object.Key ?? '');
}

describe('connectors/s3.put', () => {
  it('writes an object that is really in the bucket, with its SHA-256', async () => {
    const output = await runTask(s3Put, { ...at(), bucket: 'datasets', key: 'out/rows.json', body: { rows: [1, 2] }, metadata: { run: 'r1' } }, ctx());
    const bytes = Buffer.from('{"rows":[1,2]}');
    expect(output).toMatchObject({ bucket: 'datasets', key: 'out/rows.json', size: bytes.byteLength, sha256: createHash('sha256').update(bytes).digest('hex') });
    const stored = await client.send(new GetObjectCommand({ Bucket: 'datasets', Key: 'out/rows.json' }));
    expect(await stored.Body?.transformToString()).toBe('{"rows":[1,2]}');
    expect(stored.ContentType).toBe('application/json');
    expect(stored.Metadata).toEqual({ run: 'r1' });
  });

  it('writes base64 bodies as bytes', async () => {
    await runTask(s3Put, { ...at(), bucket: 'datasets', key: 'bin', body: Buffer.from([0, 1, 255]).toString('base64'), encoding: 'base64' }, ctx());
    const stored = await client.send(new GetObjectCommand({ Bucket: 'datasets', Key: 'bin' }));
    expect([...((await stored.Body?.transformToByteArray()) ?? [])]).toEqual([0, 1, 255]);
  });

  it.each([
    ['a bucket name with capitals', { bucket: 'Data' }, 'bucket: must match pattern'],
    ['a missing body', { body: undefined }, 'body: is required'],
    ['a non-base64 body with encoding base64', { body: 'not base64!', encoding: 'base64' }, 'body: with encoding base64'],
    ['an endpoint that is not http', { endpoint: 'ftp://x' }, 'endpoint: must match pattern'],
  ])('refuses %s before sending anything', async (_, change, message) => {
    const before = await keys('datasets');
    const input = { ...at(), bucket: 'datasets', key: 'refused', body: 'x', ...change };
    const error = await taskFailure(runTask(s3Put, JSON.parse(JSON.stringify(input)), ctx()));
    expect(error.code).toBe('TASK_INPUT_INVALID');
    expect(error.message).toContain(message);
    expect(await keys('datasets')).toEqual(before);
  });

  it('fails without retry when the bucket does not exist', async () => {
    const error = await taskFailure(runTask(s3Put, { ...at(), bucket: 'no-such-bucket', key: 'k', body: 'x' }, ctx()));
    expect(error).toMatchObject({ code: 'TASK_FAILED', retryable: false });
  });

  it('reports an unreachable endpoint as PEER_UNAVAILABLE, retryable', async () => {
    const error = await taskFailure(runTask(s3Put, { ...at(), endpoint: `http://127.0.0.1:${await closedPort()}`, bucket: 'datasets', key: 'k', body: 'x' }, ctx()));
    expect(error).toMatchObject({ code: 'PEER_UNAVAILABLE', retryable: true });
  });

  it('stops with the cancellation reason while the server does not answer', async () => {
    await expectCancelled((c) => runTask(s3Put, { ...at(), endpoint: `http://${hole.address}`, bucket: 'datasets', key: 'k', body: 'x' }, c), { secrets: SECRETS });
  });
});

describe('connectors/s3.get', () => {
  it('reads an object as parsed JSON, with size and SHA-256', async () => {
    const output = await runTask(s3Get, { ...at(), bucket: 'datasets', key: 'raw.json', format: 'json' }, ctx());
    expect(output).toMatchObject({ body: [{ id: 1 }, { id: 2 }], size: 19, contentType: 'application/json' });
    expect(output.sha256).toBe(createHash('sha256').update('[{"id":1},{"id":2}]').digest('hex'));
  });

  it('reads text and base64', async () => {
    await expect(runTask(s3Get, { ...at(), bucket: 'datasets', key: 'raw.json' }, ctx())).resolves.toMatchObject({ body: '[{"id":1},{"id":2}]' });
    await expect(runTask(s3Get, { ...at(), bucket: 'datasets', key: 'bin', format: 'base64' }, ctx())).resolves.toMatchObject({ body: 'AAH/' });
  });

  it('refuses an object larger than maxBytes without returning it', async () => {
    const error = await taskFailure(runTask(s3Get, { ...at(), bucket: 'datasets', key: 'raw.json', maxBytes: 4 }, ctx()));
    expect(error).toMatchObject({ code: 'TASK_FAILED', retryable: false, details: { maxBytes: 4, size: 19 } });
  });

  it('fails without retry on a missing key', async () => {
    const error = await taskFailure(runTask(s3Get, { ...at(), bucket: 'datasets', key: 'missing.json' }, ctx()));
    expect(error).toMatchObject({ code: 'TASK_FAILED', retryable: false });
  });

  it('refuses an unknown format', async () => {
    const error = await taskFailure(runTask(s3Get, { ...at(), bucket: 'datasets', key: 'raw.json', format: 'xml' }, ctx()));
    expect(error.code).toBe('TASK_INPUT_INVALID');
  });

  it('reports an unreachable endpoint as PEER_UNAVAILABLE, retryable', async () => {
    const error = await taskFailure(runTask(s3Get, { ...at(), endpoint: `http://127.0.0.1:${await closedPort()}`, bucket: 'datasets', key: 'raw.json' }, ctx()));
    expect(error).toMatchObject({ code: 'PEER_UNAVAILABLE', retryable: true });
  });

  it('stops with the cancellation reason while the server does not answer', async () => {
    await expectCancelled((c) => runTask(s3Get, { ...at(), endpoint: `http://${hole.address}`, bucket: 'datasets', key: 'raw.json' }, c), { secrets: SECRETS });
  });
});
