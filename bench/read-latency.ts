/**
 * Read latency while a run is mid-task (issue 24, deliverable 5), on a dev server of its own with
 * the worker and the API each in its own process (as bench/api-load.ts): `GET /runs/{runId}` of a
 * run whose one task sleeps 2 s — as a local activity (inside the run's workflow task, which holds
 * any Temporal query of the run that long) and as an activity — against a `describe` of the same
 * workflow, the raw Temporal call that never waits on a workflow task, interleaved in the same
 * run. For contrast, the interpreter's `state` query sent at the same moment (what the API read
 * before): one per run.
 *
 * Environment: `BENCH_READ_RUNS` runs per kind (default 4), each read `BENCH_READ_SAMPLES` times
 * while its task runs (default 12).
 */
import type { ChildProcess } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Client, Connection } from '@temporalio/client';
import { maestroDataConverter, payloadCodec } from '../src/codec/index.js';
import { loadConfig } from '../src/config/index.js';
import { stateQuery } from '../src/ir/index.js';
import { child, startBenchTemporal, stopChild } from './api-load.js';
import { positiveInt, summarize, type Summary } from './stats.js';

const TOKEN = 'bench-reads-token-0123456789abcdef';
/** The task that naps as a local activity (the tests' fixture). */
const NAP_TASK_MODULE = fileURLToPath(new URL('../test/fixtures/tasks/nap.ts', import.meta.url));
/** The task that naps as an activity. */
const FLAKY_TASK_MODULE = fileURLToPath(new URL('../test/fixtures/tasks/flaky.ts', import.meta.url));
const NAP_MS = 2_000;
/** The read latency target while a run is mid-task. */
const READ_TARGET_MS = 50;

function napWorkflow(name: string, uses: string): string {
  return `apiVersion: maestro/v1
kind: Workflow
metadata: { name: ${name}, version: 1.0.0 }
spec:
  policy: { purpose: benchmark, authority: maestro-bench, license: internal }
  tasks:
    - { id: nap, uses: ${uses}, with: { ms: ${NAP_MS} } }
`;
}

/** A worker and an API, each in its own process, on a dev server of their own. */
export interface BenchStack {
  url: string;
  /** The dev server's frontend. */
  address: string;
  /** The data folder of the worker and the API. */
  dataDir: string;
  /** A client with Maestro's payload codec (the worker's and the API's key). */
  client: Client;
  /** A client without a codec, for hand-written workflows. */
  rawClient: Client;
  /** Sends a request as the bench's admin; throws on a status of 400 or more. */
  call<T>(method: string, path: string, body?: unknown): Promise<T>;
  close(): Promise<void>;
}

/** Starts a {@link BenchStack} whose worker also serves the tests' `tests/nap` and `tests/flaky` tasks. */
export async function startBenchStack(prefix: string): Promise<BenchStack> {
  const dir = await mkdtemp(join(tmpdir(), prefix));
  const server = await startBenchTemporal(dir);
  const env = {
    TEMPORAL_ADDRESS: server.address,
    MAESTRO_TASK_QUEUE: 'bench-reads',
    MAESTRO_DATA_DIR: dir,
    MAESTRO_LOG_LEVEL: 'error',
    MAESTRO_DEV_TOKEN: TOKEN,
    MAESTRO_PORT: '0',
    MAESTRO_TASK_MODULES: `${NAP_TASK_MODULE}:${FLAKY_TASK_MODULE}`,
  };
  const children: ChildProcess[] = [];
  const connection = await Connection.connect({ address: server.address });
  const close = async (): Promise<void> => {
    for (const process_ of children.reverse()) await stopChild(process_);
    await connection.close();
    await server.stop();
    await rm(dir, { recursive: true, force: true });
  };
  try {
    // The worker logs its state changes at info level: that line says it polls.
    children.push((await child('workers/worker.ts', [], { ...env, MAESTRO_LOG_LEVEL: 'info' }, "state: 'RUNNING'")).process);
    const api = await child('src/cli/main.ts', ['api'], env, 'Maestro API on ');
    children.push(api.process);
    const url = /Maestro API on (http:\/\/\S+)/.exec(api.output())?.[1];
    if (!url) throw new Error(`maestro api printed no URL:\n${api.output()}`);
    const call = async <T>(method: string, path: string, body?: unknown): Promise<T> => {
      const yaml = typeof body === 'string';
      const res = await fetch(`${url}${path}`, {
        method,
        headers: { authorization: `Bearer ${TOKEN}`, 'content-type': yaml ? 'application/yaml' : 'application/json' },
        ...(body === undefined ? {} : { body: yaml ? body : JSON.stringify(body) }),
      });
      const text = await res.text();
      if (res.status >= 400) throw new Error(`${method} ${path}: HTTP ${res.status} ${text}`);
      return (text === '' ? undefined : JSON.parse(text)) as T;
    };
    // The worker made the payload key in the data folder; a client of Maestro's runs uses it too.
    const codec = payloadCodec(loadConfig({ MAESTRO_DATA_DIR: dir }));
    return { url, address: server.address, dataDir: dir, client: new Client({ connection, dataConverter: maestroDataConverter(codec) }), rawClient: new Client({ connection }), call, close };
  } catch (error) {
    await close().catch((failure: unknown) => console.error(failure));
    throw error;
  }
}

/** One kind's figures: the API's read and describe, interleaved, while the nap runs. */
export interface ReadKindResult {
  kind: 'local-activity' | 'activity';
  get: Summary;
  describe: Summary;
  /** The state query sent mid-task: how long it was held. */
  query: Summary;
  /** GET p50 / describe p50. */
  ratio: number;
}

/** What the suite measured. */
export interface ReadLatencyResult {
  kinds: ReadKindResult[];
  targets: { name: string; value: number; limit: number; pass: boolean }[];
}

const timed = async (work: () => Promise<unknown>): Promise<number> => {
  const began = performance.now();
  await work();
  return performance.now() - began;
};

/** Measures both kinds on one stack. */
export async function benchReadLatency(): Promise<ReadLatencyResult> {
  const runs = positiveInt('BENCH_READ_RUNS', 4);
  const samples = positiveInt('BENCH_READ_SAMPLES', 12);
  const stack = await startBenchStack('maestro-bench-reads-');
  try {
    const kinds: ReadKindResult[] = [];
    for (const [kind, uses] of [
      ['local-activity', 'tests/nap@0.1.0'],
      ['activity', 'tests/flaky@0.1.0'],
    ] as const) {
      const name = `read-${kind}`;
      await stack.call('POST', '/workflows', napWorkflow(name, uses));
      const get: number[] = [];
      const describe: number[] = [];
      const query: number[] = [];
      for (let run = 0; run < runs; run += 1) {
        const { runId } = await stack.call<{ runId: string }>('POST', '/runs', { workflowRef: `${name}@1.0.0` });
        // Mid-task: the nap has started.
        for (;;) {
          const detail = await stack.call<{ tasks: { status: string }[] }>('GET', `/runs/${runId}`);
          if (detail.tasks[0]?.status === 'RUNNING') break;
          await new Promise((resolve) => setTimeout(resolve, 20));
        }
        const handle = stack.client.workflow.getHandle(runId);
        const held = timed(() => handle.query(stateQuery));
        for (let i = 0; i < samples; i += 1) {
          get.push(await timed(() => stack.call('GET', `/runs/${runId}`)));
          describe.push(await timed(() => handle.describe()));
        }
        query.push(await held);
        await handle.result();
      }
      const getSummary = summarize(get);
      const describeSummary = summarize(describe);
      kinds.push({ kind, get: getSummary, describe: describeSummary, query: summarize(query), ratio: getSummary.median / describeSummary.median });
    }
    return {
      kinds,
      targets: kinds.map(({ kind, get }) => ({ name: `GET /runs/{runId} p95 mid-task (${kind}), ms`, value: get.p95, limit: READ_TARGET_MS, pass: get.p95 <= READ_TARGET_MS })),
    };
  } finally {
    await stack.close();
  }
}

const ms = (value: number): string => value.toFixed(1);

/** The suite's markdown section. */
export function readLatencyReport({ kinds, targets }: ReadLatencyResult): string {
  return [
    '## Read latency while a run is mid-task',
    '',
    `A run's one task sleeps ${NAP_MS / 1000} s; meanwhile \`GET /runs/{runId}\` (through the API process) and a raw \`describe\` of the same workflow, interleaved; and the interpreter's state query sent at the same moment.`,
    '',
    '| task runs as | GET p50 | GET p95 | describe p50 | describe p95 | GET/describe p50 | state query (held) p50 |',
    '|---|---|---|---|---|---|---|',
    ...kinds.map((k) => `| ${k.kind} | ${ms(k.get.median)} | ${ms(k.get.p95)} | ${ms(k.describe.median)} | ${ms(k.describe.p95)} | ${k.ratio.toFixed(2)} | ${ms(k.query.median)} |`),
    '',
    ...targets.map((t) => `- ${t.name}: ${ms(t.value)} (target ≤ ${t.limit}): **${t.pass ? 'PASS' : 'FAIL'}**`),
  ].join('\n');
}
