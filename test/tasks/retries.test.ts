/**
 * Through the real engine: every connector whose peer is down fails its attempt as
 * PEER_UNAVAILABLE, the interpreter retries it per the task's retry policy, and the run ends
 * FAILED with that code and the attempts counted.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startEngine, task, workflow, type Engine } from '../helpers/engine.js';
import { closedPort, GREETER_PROTO } from '../peers/index.js';

let engine: Engine;
let port: number;

beforeAll(async () => {
  port = await closedPort();
  Object.assign(process.env, {
    MAESTRO_SECRET_DOWN_DATABASE: `postgres://maestro@127.0.0.1:${port}/postgres`,
    MAESTRO_SECRET_DOWN_WEBHOOK: `http://127.0.0.1:${port}/services/x`,
    MAESTRO_SECRET_DOWN_KEY: 'key',
    MAESTRO_SECRET_DOWN_SECRET: 'secret',
  });
  engine = await startEngine();
});

afterAll(async () => {
  await engine?.close();
});

const s3 = () => `endpoint: "http://127.0.0.1:${port}", bucket: bucket1, key: k, credentials: { accessKeyIdSecret: DOWN_KEY, secretAccessKeySecret: DOWN_SECRET }`;

const CASES: [string, () => string][] = [
  ['tasks/http.request', () => `{ url: "http://127.0.0.1:${port}/" }`],
  ['connectors/nats.publish', () => `{ servers: "nats://127.0.0.1:${port}", subject: s, messages: [{ data: x }] }`],
  ['connectors/kafka.publish', () => `{ brokers: ["127.0.0.1:${port}"], topic: t, messages: [{ value: x }], timeout: 1s }`],
  ['connectors/s3.get', () => `{ ${s3()} }`],
  ['connectors/s3.put', () => `{ ${s3()}, body: x }`],
  ['connectors/db.query', () => `{ sql: "SELECT 1", connectionSecret: DOWN_DATABASE }`],
  ['tasks/grpc.call', () => `{ address: "127.0.0.1:${port}", protoFile: "${GREETER_PROTO}", service: maestro.test.Greeter, method: SayHello }`],
  ['tasks/notify.slack', () => `{ text: hi, webhookSecret: DOWN_WEBHOOK }`],
  ['connectors/sig.ingest', () => `{ endpoint: "http://127.0.0.1:${port}", items: [{ id: a, payload: 1 }] }`],
  ['connectors/sig.claims', () => `{ endpoint: "http://127.0.0.1:${port}", claims: [{ itemId: a, statement: s }] }`],
  ['connectors/sig.export', () => `{ endpoint: "http://127.0.0.1:${port}", receipt: { runId: r, digest: "sha256:${'ab'.repeat(32)}" }, outputs: 1 }`],
];

describe('a connector whose peer is down', () => {
  it.each(CASES)('%s is retried, then the run fails with PEER_UNAVAILABLE', async (uses, input) => {
    const state = await engine.run(
      workflow(`    - id: call\n      uses: ${uses}@0.1.0\n      retry: { maxAttempts: 2, initialInterval: 50ms }\n      with: ${input()}`),
    );
    expect(state.status).toBe('FAILED');
    expect(task(state, 'call')).toMatchObject({ status: 'FAILED', attempts: 2, error: { code: 'PEER_UNAVAILABLE' } });
  });
});
