/**
 * Every connector call is a client span, child of the task attempt's span, and the system called
 * receives its W3C trace context: tasks run through the real worker (its local runner inside an
 * attempt span, as a traced worker runs them) against real peers.
 */
import { once } from 'node:events';
import { createServer, type IncomingHttpHeaders, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { SpanKind, SpanStatusCode } from '@opentelemetry/api';
import { CreateBucketCommand, S3Client } from '@aws-sdk/client-s3';
import { connect, type NatsConnection } from 'nats';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { createServerlessRunner } from '../../src/runners/index.js';
import { startEngine, task, workflow, type Engine } from '../helpers/engine.js';
import { startFunctionServer, type FunctionServer } from '../peers/functions.js';
import {
  readKafkaTopic,
  startCountingProxy,
  startGrpcPeer,
  startKafka,
  startNats,
  startPostgres,
  startS3,
  startSigStub,
  type CountingProxy,
  type GrpcPeer,
  type KafkaPeer,
  type NatsPeer,
  type PostgresPeer,
  type S3Peer,
  type SigPeer,
} from '../peers/index.js';
import { ATTEMPT_SPAN, installTestTracing, parentSpanId, traceparentOf, tracedRunner } from '../helpers/tracing.js';

const tracing = installTestTracing();
let engine: Engine;
let functions: FunctionServer;
/** The headers of the last call of the `echo` function. */
let functionHeaders: IncomingHttpHeaders = {};

beforeAll(async () => {
  functions = await startFunctionServer();
  functions.register('echo', (_payload, { headers }) => {
    functionHeaders = headers;
    return { body: { ok: true } };
  });
  const serverless = createServerlessRunner({
    functions: { echo: functions.functionUrl('echo'), 'echo-lambda': 'lambda:echo' },
    lambda: { endpoint: functions.url, region: 'eu-west-1', credentials: { accessKeyId: 'test', secretAccessKey: 'test' } },
  });
  engine = await startEngine({ runners: { local: tracedRunner(tracing), serverless: tracedRunner(tracing, serverless) } });
});

afterAll(async () => {
  await engine?.close();
  await functions?.close();
});

beforeEach(() => tracing.reset());

/** Runs one task (`uses`, `with` as YAML flow), checks it succeeded and returns its outputs. */
async function runOne(uses: string, with_: string): Promise<unknown> {
  const state = await engine.run(workflow(`    - id: call\n      uses: ${uses}\n      with: ${with_}`));
  const call = task(state, 'call');
  expect(call.status, JSON.stringify(call.error)).toBe('SUCCEEDED');
  return call.outputs;
}

/** Sets `MAESTRO_SECRET_<name>` for the worker's secret resolver (read at resolution time) until the file ends. */
function secretsFromEnv(secrets: Record<string, string>): void {
  for (const [name, value] of Object.entries(secrets)) process.env[`MAESTRO_SECRET_${name}`] = value;
}

afterAll(() => {
  for (const name of Object.keys(process.env)) if (name.startsWith('MAESTRO_SECRET_TRACE_')) delete process.env[name];
});

/** The one client span of the run's attempt, checked to be the attempt span's child. */
function clientSpan(name: string) {
  const attempt = tracing.span(ATTEMPT_SPAN);
  const span = tracing.span(name);
  expect(span.spanContext().traceId).toBe(attempt.spanContext().traceId);
  expect(parentSpanId(span)).toBe(attempt.spanContext().spanId);
  return span;
}

describe('HTTP (tasks/http.request)', () => {
  let server: Server;
  let url: string;
  const received: IncomingHttpHeaders[] = [];

  beforeAll(async () => {
    server = createServer((req, res) => {
      received.push(req.headers);
      res.statusCode = req.url?.startsWith('/missing') ? 404 : 200;
      res.end('ok');
    });
    server.listen(0, '127.0.0.1');
    await once(server, 'listening');
    url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });

  afterAll(() => {
    server?.closeAllConnections();
    server?.close();
  });

  const call = (with_: string) => workflow(`    - id: call\n      uses: tasks/http.request@0.1.0\n      with: ${with_}`);

  it('sends the client span as traceparent; the span names method and host, not path or query', async () => {
    const state = await engine.run(call(`{ url: "${url}/items/secret-path?token=hunter2", method: POST, body: { a: 1 } }`));
    expect(task(state, 'call').status).toBe('SUCCEEDED');
    const span = clientSpan('POST');
    expect(span.kind).toBe(SpanKind.CLIENT);
    expect(received.at(-1)?.traceparent).toBe(traceparentOf(span));
    const port = Number(new URL(url).port);
    expect(span.attributes).toEqual({
      'http.request.method': 'POST',
      'url.scheme': 'http',
      'server.address': '127.0.0.1',
      'server.port': port,
      'http.response.status_code': 200,
    });
    expect(JSON.stringify(span.attributes)).not.toMatch(/secret-path|hunter2/);
  });

  it("replaces a traceparent and tracestate the task author set with the engine's", async () => {
    const forged = '00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01';
    const state = await engine.run(call(`{ url: "${url}/", headers: { Traceparent: "${forged}", tracestate: "evil=1" } }`));
    expect(task(state, 'call').status).toBe('SUCCEEDED');
    const headers = received.at(-1) ?? {};
    expect(headers.traceparent).toBe(traceparentOf(clientSpan('GET')));
    expect(headers.tracestate).toBeUndefined();
  });

  it('marks the span failed with the status as error.type for a 4xx answer', async () => {
    const state = await engine.run(call(`{ url: "${url}/missing" }`));
    expect(task(state, 'call').status).toBe('FAILED');
    const span = clientSpan('GET');
    expect(span.status.code).toBe(SpanStatusCode.ERROR);
    expect(span.attributes['error.type']).toBe('404');
  });
});

describe('Kafka (connectors/kafka.publish)', () => {
  let kafka: KafkaPeer;

  beforeAll(async () => {
    kafka = await startKafka();
  }, 180_000);

  afterAll(async () => {
    await kafka?.stop();
  });

  it("puts the producer span's traceparent in every record's headers, replacing the author's", async () => {
    const brokers = JSON.stringify(kafka.brokers);
    await runOne(
      'connectors/kafka.publish@0.1.0',
      `{ brokers: ${brokers}, topic: traced, messages: [{ value: one, headers: { source: maestro, TRACEPARENT: forged } }, { value: two }] }`,
    );
    const span = clientSpan('send traced');
    expect(span.kind).toBe(SpanKind.PRODUCER);
    expect(span.attributes).toMatchObject({
      'messaging.system': 'kafka',
      'messaging.destination.name': 'traced',
      'messaging.batch.message_count': 2,
      'server.address': '127.0.0.1',
    });
    const records = await readKafkaTopic(kafka.brokers, 'traced', 2);
    expect(records.map((r) => r.headers)).toEqual([
      { source: 'maestro', traceparent: traceparentOf(span) },
      { traceparent: traceparentOf(span) },
    ]);
  });
});

describe('NATS (connectors/nats.publish)', () => {
  let nats: NatsPeer;
  let nc: NatsConnection;

  beforeAll(async () => {
    nats = await startNats();
    nc = await connect({ servers: nats.url });
  });

  afterAll(async () => {
    await nc?.close();
    await nats?.stop();
  });

  it("puts the producer span's traceparent in the message headers, replacing the author's", async () => {
    const sub = nc.subscribe('traced.orders', { max: 1 });
    await nc.flush();
    await runOne('connectors/nats.publish@0.1.0', `{ servers: "${nats.url}", subject: traced.orders, messages: [{ data: hi, headers: { Traceparent: forged, x-id: "7" } }] }`);
    const span = clientSpan('send traced.orders');
    expect(span.kind).toBe(SpanKind.PRODUCER);
    expect(span.attributes).toMatchObject({ 'messaging.system': 'nats', 'messaging.destination.name': 'traced.orders', 'server.port': nats.port });
    for await (const message of sub) {
      expect(message.headers?.get('traceparent')).toBe(traceparentOf(span));
      expect(message.headers?.get('Traceparent')).toBe('');
      expect(message.headers?.get('x-id')).toBe('7');
    }
  });
});

describe('gRPC (tasks/grpc.call)', () => {
  let grpc: GrpcPeer;

  beforeAll(async () => {
    grpc = await startGrpcPeer();
  });

  afterAll(async () => {
    await grpc?.stop();
  });

  it("sends the client span's traceparent as call metadata, replacing the author's", async () => {
    await runOne(
      'tasks/grpc.call@0.1.0',
      `{ address: "${grpc.address}", service: maestro.test.Greeter, method: SayHello, request: { name: ada }, metadata: { traceparent: forged, x-team: ops } }`,
    );
    const span = clientSpan('maestro.test.Greeter/SayHello');
    expect(span.attributes).toMatchObject({ 'rpc.system': 'grpc', 'rpc.service': 'maestro.test.Greeter', 'rpc.method': 'SayHello', 'rpc.grpc.status_code': 0 });
    expect(grpc.lastMetadata()).toMatchObject({ traceparent: traceparentOf(span), 'x-team': 'ops' });
  });
});

describe('SQL (connectors/db.query)', () => {
  let postgres: PostgresPeer;

  beforeAll(async () => {
    postgres = await startPostgres();
    secretsFromEnv({ TRACE_DATABASE_URL: postgres.url });
  });

  afterAll(async () => {
    await postgres?.stop();
  });

  it('prepends a traceparent comment the server sees, parameters still bound', async () => {
    const outputs = (await runOne(
      'connectors/db.query@0.1.0',
      `{ connectionSecret: TRACE_DATABASE_URL, sql: "SELECT current_query() AS query, $1::int + 1 AS n", params: [41] }`,
    )) as { rows: { query: string; n: number }[] };
    const span = clientSpan('SELECT');
    expect(span.attributes).toMatchObject({ 'db.system.name': 'postgresql', 'db.namespace': 'postgres', 'db.operation.name': 'SELECT', 'server.address': '127.0.0.1' });
    expect(JSON.stringify(span.attributes)).not.toContain('maestro@');
    expect(outputs.rows).toEqual([{ query: `/*traceparent='${traceparentOf(span)}'*/ SELECT current_query() AS query, $1::int + 1 AS n`, n: 42 }]);
  });

  it('gives each statement of a transaction its own span and comment', async () => {
    const outputs = (await runOne(
      'connectors/db.query@0.1.0',
      `{ connectionSecret: TRACE_DATABASE_URL, statements: [{ sql: "CREATE TEMP TABLE t (q text)" }, { sql: "INSERT INTO t VALUES (current_query()) RETURNING q" }] }`,
    )) as { rows: { q: string }[] };
    const insert = clientSpan('INSERT');
    expect(clientSpan('CREATE').spanContext().spanId).not.toBe(insert.spanContext().spanId);
    expect(outputs.rows[0]?.q).toBe(`/*traceparent='${traceparentOf(insert)}'*/ INSERT INTO t VALUES (current_query()) RETURNING q`);
  });
});

describe('S3 (connectors/s3.put, s3.get)', () => {
  let s3: S3Peer;
  let proxy: CountingProxy;

  beforeAll(async () => {
    s3 = await startS3();
    // versitygw does not show request headers: read them off the wire in front of it.
    proxy = await startCountingProxy({ port: Number(new URL(s3.endpoint).port) }, { record: true });
    const admin = new S3Client({ endpoint: s3.endpoint, region: s3.region, forcePathStyle: true, credentials: { accessKeyId: s3.accessKeyId, secretAccessKey: s3.secretAccessKey } });
    await admin.send(new CreateBucketCommand({ Bucket: 'traced' }));
    admin.destroy();
    secretsFromEnv({ TRACE_S3_KEY: s3.accessKeyId, TRACE_S3_SECRET: s3.secretAccessKey });
  });

  afterAll(async () => {
    await proxy?.stop();
    await s3?.stop();
  });

  it("sends each command's client span as traceparent (signed); the span names the bucket, not the key", async () => {
    const at = `endpoint: "http://${proxy.address}", bucket: traced, credentials: { accessKeyIdSecret: TRACE_S3_KEY, secretAccessKeySecret: TRACE_S3_SECRET }`;
    await runOne('connectors/s3.put@0.1.0', `{ ${at}, key: private/report.json, body: { ok: true } }`);
    const put = clientSpan('S3.PutObject');
    expect(put.attributes).toMatchObject({ 'rpc.system': 'aws-api', 'rpc.method': 'PutObject', 'aws.s3.bucket': 'traced', 'http.response.status_code': 200 });
    expect(JSON.stringify(put.attributes)).not.toContain('report');
    const request = proxy.sent().split('\r\n');
    expect(request).toContain(`traceparent: ${traceparentOf(put)}`);
    expect(request.find((line) => /^authorization:/i.test(line))).toMatch(/SignedHeaders=[^,]*traceparent/);
  });
});

describe('SIG (connectors/sig.ingest)', () => {
  let sig: SigPeer;

  beforeAll(async () => {
    sig = await startSigStub();
  });

  afterAll(async () => {
    await sig?.stop();
  });

  it("sends the client span's traceparent with each batch", async () => {
    await runOne('connectors/sig.ingest@0.1.0', `{ endpoint: "${sig.url}", items: [{ id: a, payload: { n: 1 } }] }`);
    expect(sig.batches.at(-1)?.traceparent).toBe(traceparentOf(clientSpan('POST')));
  });
});

describe('serverless runner (tasks/function.invoke over HTTP)', () => {
  it("sends the client span's traceparent to the function", async () => {
    const state = await engine.run(workflow('    - id: call\n      uses: tasks/function.invoke@0.1.0\n      runsOn: serverless\n      with: { function: echo, payload: {} }'));
    expect(task(state, 'call').status).toBe('SUCCEEDED');
    const span = clientSpan('POST');
    expect(span.attributes).toMatchObject({ 'http.request.method': 'POST', 'server.address': '127.0.0.1', 'http.response.status_code': 200 });
    expect(functionHeaders.traceparent).toBe(traceparentOf(span));
  });

  it("sends the Lambda invocation's span in the client context's custom fields", async () => {
    const state = await engine.run(workflow('    - id: call\n      uses: tasks/function.invoke@0.1.0\n      runsOn: serverless\n      with: { function: echo-lambda, payload: {} }'));
    expect(task(state, 'call').status).toBe('SUCCEEDED');
    const span = clientSpan('Lambda.Invoke');
    expect(span.attributes).toMatchObject({ 'rpc.service': 'Lambda', 'faas.invoked_name': 'echo' });
    const clientContext = JSON.parse(Buffer.from(String(functionHeaders['x-amz-client-context']), 'base64').toString('utf8')) as { custom: Record<string, string> };
    expect(clientContext.custom.traceparent).toBe(traceparentOf(span));
  });
});
