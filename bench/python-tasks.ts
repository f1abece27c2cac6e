/**
 * A Python task's per-call overhead: a no-op Python task (`bench/noop@0.1.0`, bench/python, served by
 * the real `maestro-py worker`) against the same no-op as a TypeScript activity, both as regular
 * activities called by the same workflow (test/fixtures/python-task-workflow.ts, the interpreter's
 * dispatch stand-in) through Maestro's encrypted data converter, on a dev server of its own,
 * alternating the two call by call so drift hits both alike. Each sample is one workflow start →
 * result, so the difference of medians is what the Python worker adds to an activity.
 *
 * Then the sample ETL's throughput: `py/parquet-aggregate` (examples/python, served by the same
 * worker) over a Parquet object of `etlRows` sales rows in the real S3 server (versitygw),
 * aggregated with DuckDB and written back; rows/s is the input rows over the median call. Its S3
 * credentials come through `ctx.secrets`, answered here by a local stand-in of
 * `POST /tasks/secrets` (the route itself is timed by the API benches).
 *
 * Run alone with `tsx bench/python-tasks.ts` (`BENCH_PYTHON_CALLS`, default 1,000 per variant;
 * `BENCH_PYTHON_ETL_ROWS`, default 1,000,000), or from the bench runner (`BENCH_SUITES=python-tasks`).
 */
import { randomBytes, randomUUID } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Client, Connection } from '@temporalio/client';
import { DefaultLogger, NativeConnection, Runtime, Worker, bundleWorkflowCode } from '@temporalio/worker';
import { AesGcmPayloadCodec, maestroDataConverter } from '../src/codec/index.js';
import { parsePayloadKeys } from '../src/config/index.js';
import { CreateBucketCommand, PutObjectCommand, S3Client } from '@aws-sdk/client-s3';
import { salesParquet } from '../test/fixtures/parquet.js';
import { startPythonWorker } from '../test/peers/python-worker.js';
import { startS3 } from '../test/peers/s3.js';
import { startBenchTemporal } from './api-load.js';
import { ms, positiveInt, summarize, type Summary } from './stats.js';

/** Options of {@link benchPythonTasks}. */
export interface PythonTasksBenchOptions {
  /** Measured calls of each variant. @default 1000 */
  calls?: number;
  /** Discarded calls of each variant first. @default 20 */
  warmup?: number;
  /** Sales rows of the ETL's input object. @default 1000000 */
  etlRows?: number;
  /** Measured ETL calls (after one discarded). @default 5 */
  etlCalls?: number;
}

/** What {@link benchPythonTasks} measured, in milliseconds per call. */
export interface PythonTasksBenchResult {
  typescript: Summary;
  python: Summary;
  /** Median Python − median TypeScript: what the Python worker adds per task. */
  overheadMs: number;
  /** The sample ETL over one object: its input, each call's time, and rows per second at the median. */
  etl: { rows: number; bytes: number; calls: Summary; rowsPerSecond: number };
}

const ACTIVITY = 'maestro.task:bench/noop@0.1.0';
const ETL_ACTIVITY = 'maestro.task:py/parquet-aggregate@0.1.0';
const WORKFLOW = fileURLToPath(new URL('../test/fixtures/python-task-workflow.ts', import.meta.url));

/** Measures a no-op task's call through the Python worker against a TypeScript activity; starts (and stops) its own Temporal and workers. */
export async function benchPythonTasks({ calls = 1000, warmup = 20, etlRows = 1_000_000, etlCalls = 5 }: PythonTasksBenchOptions = {}): Promise<PythonTasksBenchResult> {
  const dir = await mkdtemp(join(tmpdir(), 'maestro-bench-python-'));
  const [server, s3] = await Promise.all([startBenchTemporal(dir), startS3()]);
  const api = await startSecretsStandIn({ S3_ACCESS_KEY_ID: s3.accessKeyId, S3_SECRET_ACCESS_KEY: s3.secretAccessKey });
  const payloadKey = `bench=${randomBytes(32).toString('base64')}`;
  const codec = new AesGcmPayloadCodec(parsePayloadKeys(payloadKey, 'bench'));
  const queues = { workflow: `wf-${randomUUID()}`, typescript: `ts-${randomUUID()}`, python: `py-${randomUUID()}` };
  const connection = await Connection.connect({ address: server.address });
  const client = new Client({ connection, dataConverter: maestroDataConverter(codec) });
  const workers = [
    await Worker.create({
      connection: await NativeConnection.connect({ address: server.address }),
      taskQueue: queues.workflow,
      workflowBundle: await bundleWorkflowCode({ workflowsPath: WORKFLOW, logger: new DefaultLogger('ERROR') }),
      dataConverter: maestroDataConverter(codec),
    }),
    await Worker.create({
      connection: await NativeConnection.connect({ address: server.address }),
      taskQueue: queues.typescript,
      activities: { [ACTIVITY]: async (arg: { input: unknown }) => ({ output: arg.input, logs: [], events: [] }) },
      dataConverter: maestroDataConverter(codec),
    }),
  ];
  const running = workers.map((worker) => worker.run());
  const python = await startPythonWorker({
    temporalAddress: server.address,
    namespace: 'default',
    taskQueue: queues.python,
    payloadKey,
    maestroUrl: api.url,
    token: 'bench',
    module: 'bench_tasks',
    pythonPath: [fileURLToPath(new URL('python', import.meta.url)), fileURLToPath(new URL('../examples/python', import.meta.url))],
  });
  const execute = async (activity: string, taskQueue: string, input: Record<string, unknown>): Promise<{ took: number; result: unknown }> => {
    const started = performance.now();
    const outcome = (await client.workflow.execute('callPythonTask', {
      taskQueue: queues.workflow,
      workflowId: `bench-${randomUUID()}`,
      args: [{ activity, taskQueue, heartbeatTimeoutMs: 30_000, maximumAttempts: 1, arg: { input, context: { runId: 'bench', taskId: 'task', attempt: 1, namespace: 'default', grant: 'bench' } } }],
    })) as { ok: boolean; message?: string; result?: unknown };
    if (!outcome.ok) throw new Error(`${activity} failed: ${outcome.message ?? 'no message'}`);
    return { took: performance.now() - started, result: outcome.result };
  };
  const call = async (taskQueue: string, n: number): Promise<number> => (await execute(ACTIVITY, taskQueue, { n })).took;
  try {
    const samples = { typescript: [] as number[], python: [] as number[] };
    for (let i = 0; i < warmup + calls; i += 1) {
      // Alternate which goes first, so neither always follows the other.
      const order = i % 2 === 0 ? (['typescript', 'python'] as const) : (['python', 'typescript'] as const);
      for (const variant of order) {
        const took = await call(queues[variant], i);
        if (i >= warmup) samples[variant].push(took);
      }
    }
    const typescript = summarize(samples.typescript);
    const python_ = summarize(samples.python);

    const bucket = 'bench-sales';
    const data = salesParquet(etlRows);
    const s3Client = new S3Client({ endpoint: s3.endpoint, region: s3.region, forcePathStyle: true, credentials: { accessKeyId: s3.accessKeyId, secretAccessKey: s3.secretAccessKey } });
    try {
      await s3Client.send(new CreateBucketCommand({ Bucket: bucket }));
      await s3Client.send(new PutObjectCommand({ Bucket: bucket, Key: 'sales.parquet', Body: data }));
    } finally {
      s3Client.destroy();
    }
    const etlSamples: number[] = [];
    for (let i = 0; i <= etlCalls; i += 1) {
      const input = { endpoint: s3.endpoint, bucket, source_key: 'sales.parquet', target_key: `by-region/${i}.parquet`, group_by: 'region', sum_column: 'amount' };
      const { took, result } = await execute(ETL_ACTIVITY, queues.python, input);
      const rowsIn = (result as { output?: { rows_in?: number } }).output?.rows_in;
      if (rowsIn !== etlRows) throw new Error(`py/parquet-aggregate read ${String(rowsIn)} rows, not ${etlRows}`);
      if (i > 0) etlSamples.push(took);
    }
    const etl = summarize(etlSamples);
    return { typescript, python: python_, overheadMs: python_.median - typescript.median, etl: { rows: etlRows, bytes: data.length, calls: etl, rowsPerSecond: etlRows / (etl.median / 1000) } };
  } finally {
    await python.stop();
    await api.stop();
    await s3.stop();
    for (const worker of workers) worker.shutdown();
    await Promise.all(running);
    await connection.close();
    await server.stop();
    await rm(dir, { recursive: true, force: true });
  }
}

/** A local stand-in of the API's `POST /tasks` (accepts) and `POST /tasks/secrets` (answers `values`), for the worker the bench starts. */
async function startSecretsStandIn(values: Record<string, string>): Promise<{ url: string; stop(): Promise<void> }> {
  const server = createServer((request, response) => {
    let body = '';
    request.on('data', (chunk: Buffer) => (body += chunk.toString('utf8')));
    request.on('end', () => {
      const { name } = JSON.parse(body) as { name?: string };
      const value = request.url === '/tasks/secrets' && name !== undefined ? values[name] : undefined;
      const [status, answer] = request.url === '/tasks' ? [201, JSON.parse(body) as unknown] : value === undefined ? [404, { status: 404, code: 'SECRET_NOT_FOUND' }] : [200, { value }];
      response.writeHead(status, { 'content-type': status < 300 ? 'application/json' : 'application/problem+json' });
      response.end(JSON.stringify(answer));
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, stop: () => new Promise<void>((resolve) => server.close(() => resolve())) };
}

/** The report's table. */
export function pythonTasksReport(result: PythonTasksBenchResult): string {
  const row = (name: string, s: Summary) => `| ${name} | ${s.n} | ${ms(s.median)} | ${ms(s.p95)} |`;
  return [
    '## Python tasks: a no-op task per call (workflow start → result)',
    '',
    '| variant | calls | median ms | p95 ms |',
    '|---|---|---|---|',
    row('TypeScript activity (baseline)', result.typescript),
    row('Python worker (maestro-py)', result.python),
    '',
    `The Python worker adds ${ms(result.overheadMs)} ms per call (difference of medians).`,
    '',
    `Sample ETL (py/parquet-aggregate: Parquet in S3 → DuckDB group-by → Parquet back to S3), ${result.etl.rows.toLocaleString('en')} rows (${(result.etl.bytes / 1024 / 1024).toFixed(1)} MiB) per call, ${result.etl.calls.n} calls: ` +
      `median ${ms(result.etl.calls.median)} ms (p95 ${ms(result.etl.calls.p95)} ms), ${Math.round(result.etl.rowsPerSecond).toLocaleString('en')} rows/s.`,
  ].join('\n');
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  Runtime.install({ logger: new DefaultLogger('ERROR') });
  const result = await benchPythonTasks({ calls: positiveInt('BENCH_PYTHON_CALLS', 1000), etlRows: positiveInt('BENCH_PYTHON_ETL_ROWS', 1_000_000) });
  console.log(pythonTasksReport(result));
}
