/**
 * The egress guard, connector by connector, against real peers behind a counting TCP proxy: a
 * loopback peer is refused without the namespace's allow-list and receives no connection at all;
 * with it (set through MAESTRO_EGRESS_ALLOW, as a user would) it is reached; one of Maestro's own
 * endpoints inside an allow-listed range is still refused unless its exact host:port is listed;
 * and a DNS name resolving to loopback is refused like the address.
 */
import { CreateBucketCommand, S3Client } from '@aws-sdk/client-s3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createHttpRequestTask, dbQuery, egressPolicyOf, grpcCall, HttpClient, kafkaPublish, natsPublish, s3Put } from '../../src/tasks/index.js';
import { loadConfig } from '../../src/config/index.js';
import { createTestContext, type ExecutableTaskDefinition } from '../../src/sdk/index.js';
import { runTask, taskFailure } from '../tasks/helpers.js';
import { peerContext, TEST_EGRESS_ALLOW } from '../helpers/egress.js';
import {
  startCountingProxy,
  startGrpcPeer,
  startKafka,
  startNats,
  startPostgres,
  startS3,
  type CountingProxy,
  type GrpcPeer,
  type KafkaPeer,
  type NatsPeer,
  type PostgresPeer,
  type S3Peer,
} from '../peers/index.js';

let grpc: GrpcPeer;
let kafka: KafkaPeer;
let nats: NatsPeer;
let db: PostgresPeer;
let s3: S3Peer;
const proxies: Record<string, CountingProxy> = {};
const secrets: Record<string, string> = {};

const portOf = (address: string): number => Number(address.slice(address.lastIndexOf(':') + 1));

beforeAll(async () => {
  [grpc, kafka, nats, db, s3] = await Promise.all([startGrpcPeer(), startKafka(), startNats(), startPostgres(), startS3()]);
  const targets = { grpc: portOf(grpc.address), kafka: portOf(kafka.brokers[0] ?? ''), nats: nats.port, db: db.port, s3: portOf(new URL(s3.endpoint).host) };
  for (const [name, port] of Object.entries(targets)) proxies[name] = await startCountingProxy({ port });
  const client = new S3Client({ endpoint: s3.endpoint, region: s3.region, forcePathStyle: true, credentials: { accessKeyId: s3.accessKeyId, secretAccessKey: s3.secretAccessKey } });
  await client.send(new CreateBucketCommand({ Bucket: 'egress' }));
  client.destroy();
  Object.assign(secrets, {
    DATABASE_URL: `postgres://maestro@127.0.0.1:${proxies['db']?.port}/postgres`,
    S3_KEY: s3.accessKeyId,
    S3_SECRET: s3.secretAccessKey,
  });
}, 180_000);

afterAll(async () => {
  await Promise.all([...Object.values(proxies).map((proxy) => proxy.stop()), grpc?.stop(), kafka?.stop(), nats?.stop(), db?.stop(), s3?.stop()]);
});

/** Each connector's task and an input aimed at `host:<its proxy's port>`. */
const CONNECTORS: Record<string, { task: ExecutableTaskDefinition<never, unknown>; input: (host: string) => Record<string, unknown> }> = {
  grpc: {
    task: grpcCall as ExecutableTaskDefinition<never, unknown>,
    input: (host) => ({ address: `${host}:${proxies['grpc']?.port}`, protoSource: grpc.protoSource, service: 'maestro.test.Greeter', method: 'SayHello', request: { name: 'Ada' } }),
  },
  kafka: {
    task: kafkaPublish as ExecutableTaskDefinition<never, unknown>,
    input: (host) => ({ brokers: [`${host}:${proxies['kafka']?.port}`], topic: 'egress', messages: [{ value: 'x' }] }),
  },
  nats: {
    task: natsPublish as ExecutableTaskDefinition<never, unknown>,
    input: (host) => ({ servers: `nats://${host}:${proxies['nats']?.port}`, subject: 'egress.test', messages: [{ data: 'x' }] }),
  },
  db: {
    task: dbQuery as ExecutableTaskDefinition<never, unknown>,
    input: (host) => ({ sql: 'SELECT 1 AS one', connectionSecret: host === '127.0.0.1' ? 'DATABASE_URL' : 'DATABASE_URL_NAMED' }),
  },
  s3: {
    task: s3Put as ExecutableTaskDefinition<never, unknown>,
    input: (host) => ({
      endpoint: `http://${host}:${proxies['s3']?.port}`,
      bucket: 'egress',
      key: 'k',
      body: 'x',
      credentials: { accessKeyIdSecret: 'S3_KEY', secretAccessKeySecret: 'S3_SECRET' },
    }),
  },
};

describe('the egress guard in every connector', () => {
  it.each(Object.keys(CONNECTORS))('%s: a loopback peer is refused without the allow-list and receives no connection', async (name) => {
    const { task, input } = CONNECTORS[name] as (typeof CONNECTORS)[string];
    const proxy = proxies[name] as CountingProxy;
    const before = proxy.connections;
    const error = await taskFailure(runTask(task, input('127.0.0.1'), createTestContext({ secrets })));
    expect(error).toMatchObject({ code: 'EGRESS_DENIED', retryable: false, details: { address: '127.0.0.1', range: 'loopback' } });
    expect(proxy.connections).toBe(before);
  });

  it.each(Object.keys(CONNECTORS))('%s: a DNS name resolving to loopback is refused like the address', async (name) => {
    const { task, input } = CONNECTORS[name] as (typeof CONNECTORS)[string];
    const proxy = proxies[name] as CountingProxy;
    const before = proxy.connections;
    secrets['DATABASE_URL_NAMED'] = `postgres://maestro@localhost:${proxies['db']?.port}/postgres`;
    const error = await taskFailure(runTask(task, input('localhost'), createTestContext({ secrets })));
    expect(error).toMatchObject({ code: 'EGRESS_DENIED', details: { host: 'localhost', range: 'loopback' } });
    expect(proxy.connections).toBe(before);
  });

  it.each(Object.keys(CONNECTORS))('%s: the peer is reached once MAESTRO_EGRESS_ALLOW lists loopback for the namespace', async (name) => {
    const { task, input } = CONNECTORS[name] as (typeof CONNECTORS)[string];
    const proxy = proxies[name] as CountingProxy;
    const before = proxy.connections;
    await expect(runTask(task, input('127.0.0.1'), peerContext({ secrets }))).resolves.toBeDefined();
    expect(proxy.connections).toBeGreaterThan(before);
  });
});

describe("Maestro's own endpoints", () => {
  /** A worker whose OPA server is the PostgreSQL proxy's address, allow-listing loopback for `default`. */
  const configured = (allow: Record<string, readonly string[]>) =>
    egressPolicyOf(loadConfig({ MAESTRO_EGRESS_ALLOW: JSON.stringify(allow), MAESTRO_OPA_URL: `http://127.0.0.1:${proxies['db']?.port}` }));

  it('stay refused inside an allow-listed range, and receive no connection', async () => {
    const proxy = proxies['db'] as CountingProxy;
    const before = proxy.connections;
    const error = await taskFailure(runTask(dbQuery, { sql: 'SELECT 1' }, createTestContext({ secrets, egress: configured(TEST_EGRESS_ALLOW) })));
    expect(error).toMatchObject({ code: 'EGRESS_DENIED', details: { range: 'maestro-infrastructure', port: proxy.port } });
    const http = createHttpRequestTask({ http: new HttpClient(configured(TEST_EGRESS_ALLOW)) });
    const refused = await taskFailure(runTask(http, { url: `http://127.0.0.1:${proxy.port}/v1/data` }, createTestContext()));
    expect(refused).toMatchObject({ code: 'EGRESS_DENIED', details: { range: 'maestro-infrastructure' } });
    expect(proxy.connections).toBe(before);
  });

  it('are reached only where an admin lists the exact host:port', async () => {
    const proxy = proxies['db'] as CountingProxy;
    const allow = { default: [...TEST_EGRESS_ALLOW.default, `127.0.0.1:${proxy.port}`] };
    await expect(runTask(dbQuery, { sql: 'SELECT 1 AS one' }, createTestContext({ secrets, egress: configured(allow) }))).resolves.toMatchObject({ rows: [{ one: 1 }] });
  });
});
