/**
 * A Python task's per-call overhead: a no-op Python task (`bench/noop@0.1.0`, bench/python, served by
 * the real `maestro-py worker`) against the same no-op as a TypeScript activity, both as regular
 * activities called by the same workflow (test/fixtures/python-task-workflow.ts, the interpreter's
 * dispatch stand-in) through Maestro's encrypted data converter, on a dev server of its own,
 * alternating the two so drift hits both alike. Each sample is one workflow start → result, so
 * the difference of medians is what the Python worker adds to an activity.
 *
 * Run alone with `tsx bench/python-tasks.ts` (`BENCH_PYTHON_CALLS`, default 1,000 per variant), or
 * from the bench runner (`BENCH_SUITES=python-tasks`).
 */
import { randomBytes, randomUUID } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Client, Connection } from '@temporalio/client';
import { DefaultLogger, NativeConnection, Runtime, Worker, bundleWorkflowCode } from '@temporalio/worker';
import { AesGcmPayloadCodec, maestroDataConverter } from '../src/codec/index.js';
import { parsePayloadKeys } from '../src/config/index.js';
import { startPythonWorker } from '../test/peers/python-worker.js';
import { startBenchTemporal } from './api-load.js';
import { ms, positiveInt, summarize, type Summary } from './stats.js';

/** Options of {@link benchPythonTasks}. */
export interface PythonTasksBenchOptions {
  /** Measured calls of each variant. @default 1000 */
  calls?: number;
  /** Discarded calls of each variant first. @default 20 */
  warmup?: number;
}

/** What {@link benchPythonTasks} measured, in milliseconds per call. */
export interface PythonTasksBenchResult {
  typescript: Summary;
  python: Summary;
  /** Median Python − median TypeScript: what the Python worker adds per task. */
  overheadMs: number;
}

const ACTIVITY = 'maestro.task:bench/noop@0.1.0';
const WORKFLOW = fileURLToPath(new URL('../test/fixtures/python-task-workflow.ts', import.meta.url));

/** Measures a no-op task's call through the Python worker against a TypeScript activity; starts (and stops) its own Temporal and workers. */
export async function benchPythonTasks({ calls = 1000, warmup = 20 }: PythonTasksBenchOptions = {}): Promise<PythonTasksBenchResult> {
  const dir = await mkdtemp(join(tmpdir(), 'maestro-bench-python-'));
  const server = await startBenchTemporal(dir);
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
    module: 'bench_tasks',
    pythonPath: [fileURLToPath(new URL('python', import.meta.url))],
  });
  const call = async (taskQueue: string, n: number): Promise<number> => {
    const started = performance.now();
    const outcome = (await client.workflow.execute('callPythonTask', {
      taskQueue: queues.workflow,
      workflowId: `bench-${randomUUID()}`,
      args: [{ activity: ACTIVITY, taskQueue, heartbeatTimeoutMs: 30_000, maximumAttempts: 1, arg: { input: { n }, context: { runId: 'bench', taskId: 'noop', attempt: 1, namespace: 'default', grant: '' } } }],
    })) as { ok: boolean; message?: string };
    if (!outcome.ok) throw new Error(`bench/noop failed: ${outcome.message ?? 'no message'}`);
    return performance.now() - started;
  };
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
    return { typescript, python: python_, overheadMs: python_.median - typescript.median };
  } finally {
    await python.stop();
    for (const worker of workers) worker.shutdown();
    await Promise.all(running);
    await connection.close();
    await server.stop();
    await rm(dir, { recursive: true, force: true });
  }
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
  ].join('\n');
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  Runtime.install({ logger: new DefaultLogger('ERROR') });
  const result = await benchPythonTasks({ calls: positiveInt('BENCH_PYTHON_CALLS', 1000) });
  console.log(pythonTasksReport(result));
}
