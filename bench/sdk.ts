/**
 * SDK overhead: what the task SDK and runner path add per call over calling the same client
 * library directly. Target (issue 4): ≤ 1 ms added per call at the median.
 *
 * - `tasks/http.request` against an in-process HTTP server: the task vs Node's `fetch` (undici)
 *   with a plain undici `Agent`, reading the JSON body;
 * - `connectors/nats.publish` against the real `nats-server` peer: the task vs the `nats` client
 *   doing what the task does per call (connect, publish, flush, close).
 *
 * The SDK path is the worker's `runTask` activity as built by `createActivities`: resolve `uses`,
 * check the input against the schema, `validate`, build the task context, local runner, output
 * offload check; policy gate and task cache off (they have benchmarks of their own). It runs in
 * Temporal's activity context (`MockActivityEnvironment`, the SDK's harness for running an
 * activity outside a worker), so no server round trip is counted. The two variants alternate call
 * by call (ABBA), after a warm-up, so drift hits both alike.
 *
 * `tsx bench/sdk.ts [calls]` prints a table; `benchSdk()` returns the figures.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { DefaultLogger } from '@temporalio/worker';
import { MockActivityEnvironment } from '@temporalio/testing';
import { connect } from 'nats';
import { Agent } from 'undici';
import { createActivities } from '../src/activities/index.js';
import { createBuiltinCatalog } from '../src/tasks/index.js';
import type { RunTaskInput } from '../src/ir/index.js';
import { localRunner } from '../src/runners/index.js';
import { FsArtifactStore } from '../src/store/index.js';
import { startNats } from '../test/peers/index.js';
import { summarize, type Summary } from './stats.js';

/** Most the SDK path may add per call at the median (issue 4), in ms. */
const TARGET_MS = 1;

/** One task measured: direct and through the SDK, in ms per call. */
export interface SdkOverhead {
  task: string;
  direct: Summary;
  sdk: Summary;
  /** `sdk.median - direct.median`. */
  addedMedian: number;
  withinTarget: boolean;
}

/** What {@link benchSdk} measured. */
export interface SdkBenchResult {
  calls: number;
  warmup: number;
  results: SdkOverhead[];
  /** 1-minute load average before and after: the machine is shared. */
  loadAverage: { start: number; end: number };
}

/** Options of {@link benchSdk}. */
export interface SdkBenchOptions {
  /** Measured calls per variant and task. @default 1000 */
  calls?: number;
  /** Discarded calls per variant first. @default 100 */
  warmup?: number;
}

/** Measures both tasks; starts and stops its own HTTP server and nats-server. */
export async function benchSdk({ calls = 1000, warmup = 100 }: SdkBenchOptions = {}): Promise<SdkBenchResult> {
  const loadStart = loadavg()[0] ?? Number.NaN;
  const artifactDir = await mkdtemp(join(tmpdir(), 'maestro-bench-sdk-'));
  const http = await startJsonServer();
  const nats = await startNats();
  const plainAgent = new Agent();
  try {
    const { runTask } = createActivities({
      catalog: createBuiltinCatalog({ egressAllow: { default: ['127.0.0.0/8'] } }),
      artifacts: new FsArtifactStore({ root: artifactDir }),
      runners: { local: localRunner },
      secrets: () => Promise.reject(new Error('the benchmark tasks use no secrets')),
      writeReceipt: () => Promise.reject(new Error('the benchmark writes no receipts')),
    });
    // The worker's logger at its default level, formatting every line, writing nowhere.
    const env = new MockActivityEnvironment(undefined, { logger: new DefaultLogger('INFO', () => undefined) });
    const viaSdk = (uses: string, input: Record<string, unknown>) => () =>
      env.run(runTask, { ...TASK_INPUT, taskId: uses, uses, input } satisfies RunTaskInput).then(() => undefined);

    const httpInput = { url: `${http.url}/item`, method: 'GET' };
    const natsInput = { servers: nats.url, subject: 'bench.sdk', messages: [{ data: { id: 1 } }] };
    const results = [
      await compare('tasks/http.request', calls, warmup, {
        direct: async () => {
          const response = await fetch(httpInput.url, { dispatcher: plainAgent } as RequestInit);
          await response.json();
        },
        sdk: viaSdk('tasks/http.request@0.1.0', httpInput),
      }),
      await compare('connectors/nats.publish', calls, warmup, {
        direct: async () => {
          const nc = await connect({ servers: nats.url, reconnect: false, maxReconnectAttempts: 0 });
          nc.publish(natsInput.subject, new TextEncoder().encode(JSON.stringify(natsInput.messages[0]?.data)));
          await nc.flush();
          await nc.close();
        },
        sdk: viaSdk('connectors/nats.publish@0.1.0', natsInput),
      }),
    ];
    return { calls, warmup, results, loadAverage: { start: loadStart, end: loadavg()[0] ?? Number.NaN } };
  } finally {
    await plainAgent.close();
    await nats.stop();
    await http.close();
    await rm(artifactDir, { recursive: true, force: true });
  }
}

const TASK_INPUT: Omit<RunTaskInput, 'taskId' | 'uses' | 'input'> = { runId: 'bench-sdk', attempt: 1, namespace: 'default', runsOn: 'local' };

async function compare(task: string, calls: number, warmup: number, variants: { direct: () => Promise<void>; sdk: () => Promise<void> }): Promise<SdkOverhead> {
  for (let i = 0; i < warmup; i++) {
    await variants.direct();
    await variants.sdk();
  }
  const samples = { direct: [] as number[], sdk: [] as number[] };
  for (let i = 0; i < calls; i++) {
    // ABBA: neither variant always goes first (after a GC pause, on a warm connection).
    const order = i % 2 === 0 ? (['direct', 'sdk'] as const) : (['sdk', 'direct'] as const);
    for (const variant of order) {
      const started = performance.now();
      await variants[variant]();
      samples[variant].push(performance.now() - started);
    }
  }
  const direct = summarize(samples.direct);
  const sdk = summarize(samples.sdk);
  const addedMedian = sdk.median - direct.median;
  return { task, direct, sdk, addedMedian, withinTarget: addedMedian <= TARGET_MS };
}

/** An HTTP server on loopback answering every request with a small JSON object. */
async function startJsonServer(): Promise<{ url: string; close(): Promise<void> }> {
  const body = JSON.stringify({ id: 1, name: 'bench', tags: ['a', 'b'] });
  const server = createServer((_, res) => res.writeHead(200, { 'content-type': 'application/json' }).end(body));
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    close: () =>
      new Promise((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

/** A markdown table of the result. */
export function sdkMarkdown(result: SdkBenchResult): string {
  const f = (value: number): string => value.toFixed(3);
  return [
    `SDK + runner overhead, ${result.calls} calls per variant, interleaved (ms per call)`,
    '',
    '| task | direct p50 | direct p95 | SDK p50 | SDK p95 | added p50 | ≤ 1 ms |',
    '| --- | ---: | ---: | ---: | ---: | ---: | --- |',
    ...result.results.map(
      (r) => `| ${r.task} | ${f(r.direct.median)} | ${f(r.direct.p95)} | ${f(r.sdk.median)} | ${f(r.sdk.p95)} | ${f(r.addedMedian)} | ${r.withinTarget ? 'yes' : 'NO'} |`,
    ),
    '',
    `load average ${result.loadAverage.start.toFixed(1)} → ${result.loadAverage.end.toFixed(1)}`,
  ].join('\n');
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  const result = await benchSdk({ calls: Number(process.argv[2] ?? 1000) });
  console.log(sdkMarkdown(result));
  console.log(JSON.stringify(result));
}
