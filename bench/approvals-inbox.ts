/**
 * Approvals inbox benchmark: `GET /approvals` (which every open console polls every 30 s) with
 * `waiting` runs each waiting on a gate the caller may decide, read two ways in the same run:
 * - from the published state: the runs' interpreters publish to the store's `run_progress` (a
 *   worker with the store as its progress sink), so one request is one visibility list, one store
 *   read, and each run's start input read once from its history and then kept; and
 * - from Temporal alone (the baseline, and what the route did before): runs on a worker without a
 *   progress sink never publish, so the route describes each run, reads its history and queries
 *   its state, 8 runs at a time.
 * The two sets of runs are in two namespaces (`?namespace=` picks one), on one dev server (in
 * memory), one API and two workers in this process; the calls alternate. The first call of each
 * (cold: nothing kept) is reported apart.
 *
 * Run alone: `tsx bench/approvals-inbox.ts` (env `BENCH_APPROVALS_WAITING`, default 50;
 * `BENCH_APPROVALS_SAMPLES`, default 20), or call {@link benchApprovalsInbox}.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Client } from '@temporalio/client';
import { NativeConnection } from '@temporalio/worker';
import { startApi } from '../src/api/index.js';
import { startRun } from '../src/client/index.js';
import { payloadCodec } from '../src/codec/index.js';
import { compileWorkflow } from '../src/compiler/index.js';
import { extendConfig, loadConfig } from '../src/config/index.js';
import { resolveTemporalBin, startDevServer } from '../src/devserver/index.js';
import { parseManifest, type WorkflowManifest } from '../src/manifest/index.js';
import { listFromTemporal, visibilityQuery } from '../src/runs/index.js';
import { openStore } from '../src/store/index.js';
import { builtinCatalog } from '../src/tasks/index.js';
import { bundleInterpreter, createWorker } from '../src/worker/index.js';
import { ms, summarize, type Summary } from './stats.js';

const TOKEN = 'bench-approvals-token-0123456789abcdef';
/** The dev token's principal has role `admin`: the gates list it, and another subject starts the runs. */
const GATE = `apiVersion: maestro/v1
kind: Workflow
metadata: { name: bench-inbox, version: 1.0.0 }
spec:
  policy: { purpose: testing, authority: bench, license: internal }
  tasks:
    - { id: gate, uses: ops/approval.gate@0.1.0, with: { approvers: [admin], message: Ship it? } }
`;

/** Options of {@link benchApprovalsInbox}. */
export interface ApprovalsInboxOptions {
  /** Runs waiting on a gate, in each of the two namespaces. @default 50 */
  waiting?: number;
  /** Calls measured per way, after the first. @default 20 */
  samples?: number;
}

/** One way of reading the inbox. */
export interface InboxReadBench {
  /** The first call (ms): nothing kept yet. */
  cold: number;
  /** The calls after it (ms). */
  warm: Summary;
  /** Gates the inbox listed. */
  items: number;
}

/** What {@link benchApprovalsInbox} measured. */
export interface ApprovalsInboxResult {
  waiting: number;
  /** Runs that published their state: read from `run_progress`. */
  published: InboxReadBench;
  /** Runs that did not: read from Temporal (describe, history, query), as before. */
  temporal: InboxReadBench;
}

/** `GET path` as the dev principal; its answer's item count and how long it took (ms). */
async function timedInbox(base: string, path: string): Promise<{ items: number; ms: number }> {
  const began = performance.now();
  const res = await fetch(`${base}${path}`, { headers: { authorization: `Bearer ${TOKEN}` } });
  if (!res.ok) throw new Error(`GET ${path}: ${res.status} ${await res.text()}`);
  const body = (await res.json()) as { items: unknown[] };
  return { items: body.items.length, ms: performance.now() - began };
}

/** Runs the benchmark on a dev server, API and workers of its own, and stops them all. */
export async function benchApprovalsInbox({ waiting = 50, samples = 20 }: ApprovalsInboxOptions = {}): Promise<ApprovalsInboxResult> {
  const dir = await mkdtemp(join(tmpdir(), 'maestro-bench-inbox-'));
  const server = await startDevServer({ bin: resolveTemporalBin(loadConfig().temporalBin), port: 0, ui: false, logLevel: 'error' });
  const config = extendConfig(loadConfig({}), { temporalAddress: server.address, dataDir: dir, devToken: TOKEN, taskQueue: 'bench-inbox' });
  const running = await startApi(config, { port: 0, pdp: false, drainMs: 1000 });
  const store = await openStore({ dataDir: dir });
  const connection = await NativeConnection.connect({ address: server.address });
  const client = new Client({ connection });
  const bundle = await bundleInterpreter();
  const codec = payloadCodec(config);
  /** Namespace → its worker's task queue, and whether that worker publishes run progress. */
  const ways = { published: { namespace: 'bench-published', progress: true }, temporal: { namespace: 'bench-temporal', progress: false } } as const;
  const workers = await Promise.all(
    Object.values(ways).map(({ namespace, progress }) =>
      createWorker({ connection, taskQueue: namespace, artifactDir: join(dir, 'artifacts'), workflowBundle: bundle, payloadCodec: codec, ...(progress ? { progress: store } : {}) }),
    ),
  );
  const working = workers.map((worker) => worker.run());
  try {
    const compiled = compileWorkflow(parseManifest(GATE, 'bench-inbox.yaml', { catalog: builtinCatalog }) as WorkflowManifest, { catalog: builtinCatalog });
    for (const { namespace } of Object.values(ways)) {
      await Promise.all(Array.from({ length: waiting }, () => startRun(client, { compiled, params: {}, namespace, taskQueue: namespace, startedBy: 'bench-starter' })));
    }
    const base = running.url;
    const path = (namespace: string): string => `/approvals?namespace=${namespace}`;
    // Every gate waiting — visibility lists each run WAITING, and each published run has published
    // it — checked without the route, so that its first call is cold (no start input kept).
    const deadline = Date.now() + 300_000;
    for (const { namespace, progress } of Object.values(ways)) {
      const query = visibilityQuery({ namespaces: [namespace], status: 'WAITING' });
      for (;;) {
        const { count } = await client.workflowService.countWorkflowExecutions({ namespace: client.options.namespace, query });
        const listed = await listFromTemporal(client, { namespaces: [namespace], status: 'WAITING' }, { limit: waiting });
        const published = progress ? (await store.listRunProgress(listed.items.map((run) => run.runId))).filter((row) => row.status === 'WAITING').length : waiting;
        if (Number(count) >= waiting && published >= waiting) break;
        if (Date.now() > deadline) throw new Error(`${namespace}: ${Number(count)} runs listed WAITING, ${published} published, of ${waiting}, after 300 s`);
        await new Promise((resolve) => setTimeout(resolve, 500));
      }
    }
    const cold = { published: await timedInbox(base, path(ways.published.namespace)), temporal: await timedInbox(base, path(ways.temporal.namespace)) };
    const times = { published: [] as number[], temporal: [] as number[] };
    for (let sample = 0; sample < samples; sample += 1) {
      for (const way of ['published', 'temporal'] as const) times[way].push((await timedInbox(base, path(ways[way].namespace))).ms);
    }
    const read = (way: 'published' | 'temporal'): InboxReadBench => ({ cold: cold[way].ms, warm: summarize(times[way]), items: cold[way].items });
    return { waiting, published: read('published'), temporal: read('temporal') };
  } finally {
    for (const worker of workers) if (worker.getState() === 'RUNNING') worker.shutdown();
    await Promise.all(working);
    await running.stop();
    await connection.close();
    await store.close();
    await server.stop();
    await rm(dir, { recursive: true, force: true });
  }
}

/** The figures as a markdown table. */
export function approvalsInboxReport(result: ApprovalsInboxResult): string {
  const row = (name: string, read: InboxReadBench): string => `| ${name} | ${read.items} | ${ms(read.cold)} | ${ms(read.warm.median)} | ${ms(read.warm.p95)} |`;
  return [
    `## Approvals inbox: \`GET /approvals\` with ${result.waiting} runs waiting on a gate the caller may decide (${result.published.warm.n} calls each, alternating)`,
    '',
    '| read from | gates listed | first call (cold) | median | p95 |',
    '| --- | ---: | ---: | ---: | ---: |',
    row('published state (`run_progress`)', result.published),
    row('Temporal: describe + history + query per run (before)', result.temporal),
    '',
    `Median ratio published / Temporal: ${(result.published.warm.median / result.temporal.warm.median).toFixed(2)}.`,
  ].join('\n');
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  benchApprovalsInbox({ waiting: Number(process.env.BENCH_APPROVALS_WAITING ?? 50), samples: Number(process.env.BENCH_APPROVALS_SAMPLES ?? 20) }).then(
    (result) => console.log(approvalsInboxReport(result)),
    (error: unknown) => {
      console.error(error);
      process.exit(1);
    },
  );
}
