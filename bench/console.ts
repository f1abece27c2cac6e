/**
 * Console benchmark: in headless Chromium (Debian's, via playwright-core), the time to first
 * contentful paint and to the page being populated of
 * - the runs list showing 1,000 runs (`?limit=1000`) that are in Temporal, and
 * - a 1,000-node DAG (a registered workflow of 50 layers × 20 tasks): when its nodes are first
 *   drawn (in their final columns, the console's provisional layout for large DAGs) and when
 *   elkjs's layout has ordered the rows (the page's `data-layout="done"`).
 * Against its own Temporal dev server (in memory), with the API and a worker in this process; the
 * runs (one 1 ms timer each) are started through the API and have finished before anything is
 * measured (the worker is stopped first), so the list shows 1,000 finished runs.
 * Each page is loaded `samples` times in fresh browser contexts (the first load is cold: nothing
 * cached). Target: the runs list populated and the DAG first drawn under 1 s each (median); the
 * final layout is reported beside them.
 *
 * Run alone: `tsx bench/console.ts` (env `BENCH_CONSOLE_RUNS`, default 1000; `BENCH_CONSOLE_SAMPLES`,
 * default 5), or call {@link benchConsole}.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { NativeConnection } from '@temporalio/worker';
import type { Browser } from 'playwright-core';
import { layeredDag } from '../console/src/dag/test-graphs.js';
import { startApi } from '../src/api/index.js';
import { payloadCodec } from '../src/codec/index.js';
import { extendConfig, loadConfig } from '../src/config/index.js';
import { resolveTemporalBin, startDevServer } from '../src/devserver/index.js';
import { dagWorkflowManifest, LAPTOP_VIEWPORT, launchChromium, measurePaint, prepareConsoleBrowser, type PageGlobals, type PaintTiming } from '../test/console/browser.js';
import { bundleInterpreter, createWorker } from '../src/worker/index.js';
import { ms, summarize, type Summary } from './stats.js';

const TOKEN = 'bench-console-token-0123456789abcdef';
const NAMESPACE = 'bench-console';
/** Runs started at once while filling Temporal. */
const START_BATCH = 16;
/** The target for both pages: populated within a second. */
export const TARGET_MS = 1000;

/** Options of {@link benchConsole}. */
export interface ConsoleBenchOptions {
  /** Runs in Temporal, all on the one page measured. @default 1000 */
  runs?: number;
  /** Page loads measured per page, each in a fresh browser context. @default 5 */
  samples?: number;
  /** DAG size: layers × width tasks. @default { layers: 50, width: 20 } (1,000) */
  dag?: { layers: number; width: number };
}

/** One page's figures. */
export interface PageBench {
  /** First contentful paint, from navigation start (ms). */
  firstPaint: Summary;
  /** The page populated (every row, or the DAG's nodes drawn), from navigation start (ms). */
  populated: Summary;
  /** Navigation start → the first API call (ms): loading and starting the app. */
  boot: Summary;
  /** The longest API call per load (ms): how much of `populated` was waiting for the API. */
  longestFetch: Summary;
  /** From the last API answer to populated (ms): the page's own rendering (and, for the DAG, layout). */
  afterApi: Summary;
  /** The first (cold) load's figures. */
  cold: PaintTiming;
  /** The median of `populated` is under {@link TARGET_MS}. */
  meetsTarget: boolean;
}

/** What {@link benchConsole} measured. */
export interface ConsoleBenchResult {
  runs: number;
  dagTasks: number;
  runsList: PageBench;
  /** The DAG's nodes first drawn: in their final columns, before ELK has ordered the rows. */
  dagDrawn: PageBench;
  /** The DAG in ELK's final layout. */
  dag: PageBench;
}

async function api<T>(base: string, method: string, path: string, body?: { json?: unknown; yaml?: string }): Promise<T> {
  const res = await fetch(`${base}${path}`, {
    method,
    headers: {
      authorization: `Bearer ${TOKEN}`,
      ...(body?.json === undefined ? {} : { 'content-type': 'application/json' }),
      ...(body?.yaml === undefined ? {} : { 'content-type': 'application/yaml' }),
    },
    ...(body?.json === undefined ? {} : { body: JSON.stringify(body.json) }),
    ...(body?.yaml === undefined ? {} : { body: body.yaml }),
  });
  if (!res.ok) throw new Error(`${method} ${path}: ${res.status} ${await res.text()}`);
  return (await res.json()) as T;
}

/** Starts `count` runs through the API, then waits until visibility lists them all as finished. */
async function finishedRuns(base: string, workflowRef: string, count: number): Promise<void> {
  for (let started = 0; started < count; started += START_BATCH) {
    await Promise.all(Array.from({ length: Math.min(START_BATCH, count - started) }, () => api(base, 'POST', '/runs', { json: { workflowRef, namespace: NAMESPACE } })));
  }
  const deadline = Date.now() + 120_000;
  for (;;) {
    const page = await api<{ items: { status: string }[] }>(base, 'GET', `/runs?namespace=${NAMESPACE}&limit=1000`);
    const finished = page.items.filter((run) => run.status === 'SUCCEEDED').length;
    if (finished >= Math.min(count, 1000)) return;
    if (Date.now() > deadline) throw new Error(`visibility lists ${finished} of ${count} runs as finished after 120 s`);
    await new Promise((resolve) => setTimeout(resolve, 500));
  }
}

/** Loads `url` `samples` times, each in a fresh context signed in with the bench token. */
async function measurePage(browser: Browser, url: string, selector: string, count: number, samples: number): Promise<PageBench> {
  const timings: PaintTiming[] = [];
  for (let sample = 0; sample < samples; sample += 1) {
    const context = await browser.newContext({ viewport: LAPTOP_VIEWPORT });
    await context.addInitScript((token) => (globalThis as unknown as PageGlobals).sessionStorage.setItem('maestro.token', token), TOKEN);
    timings.push(await measurePaint(await context.newPage(), url, selector, count));
    await context.close();
  }
  const populated = summarize(timings.map((timing) => timing.populatedMs));
  return {
    firstPaint: summarize(timings.map((timing) => timing.firstContentfulPaintMs)),
    boot: summarize(timings.map((timing) => timing.firstFetchStartMs)),
    longestFetch: summarize(timings.map((timing) => timing.longestFetchMs)),
    afterApi: summarize(timings.map((timing) => timing.populatedMs - timing.lastFetchEndMs)),
    populated,
    cold: timings[0] as PaintTiming,
    meetsTarget: populated.median < TARGET_MS,
  };
}

/** Runs the benchmark on a dev server, API and browser of its own, and stops them all. */
export async function benchConsole({ runs = 1000, samples = 5, dag = { layers: 50, width: 20 } }: ConsoleBenchOptions = {}): Promise<ConsoleBenchResult> {
  await prepareConsoleBrowser();
  const dir = await mkdtemp(join(tmpdir(), 'maestro-bench-console-'));
  const server = await startDevServer({ bin: resolveTemporalBin(loadConfig().temporalBin), port: 0, ui: false, logLevel: 'error' });
  const config = extendConfig(loadConfig({}), { temporalAddress: server.address, dataDir: dir, devToken: TOKEN, taskQueue: 'bench-console' });
  const running = await startApi(config, { port: 0, pdp: false, drainMs: 1000 });
  const connection = await NativeConnection.connect({ address: server.address });
  const worker = await createWorker({ connection, taskQueue: config.taskQueue, artifactDir: join(dir, 'artifacts'), workflowBundle: await bundleInterpreter(), payloadCodec: payloadCodec(config) });
  const working = worker.run();
  let browser: Browser | undefined;
  try {
    const base = running.url;
    // Workflows are registered per namespace: the runs start in NAMESPACE.
    const inBenchNamespace = (yaml: string): string => yaml.replace('metadata: { name:', `metadata: { namespace: ${NAMESPACE}, name:`);
    await api(base, 'POST', '/workflows', { yaml: inBenchNamespace(dagWorkflowManifest('bench-console-run', [{ id: 'nap', needs: [] }])) });
    const large = layeredDag(dag.layers, dag.width);
    await api(base, 'POST', '/workflows', { yaml: inBenchNamespace(dagWorkflowManifest('bench-console-dag', large)) });
    await finishedRuns(base, 'bench-console-run@1.0.0', runs);
    worker.shutdown();
    await working;
    browser = await launchChromium();
    // The table renders only the rows in view (virtual-rows.ts): populated is the whole page in it
    // (its aria-rowcount, with the header) and its first rows drawn.
    const shown = Math.min(runs, 1000);
    const runsList = await measurePage(browser, `${base}/console/?namespace=${NAMESPACE}&limit=1000`, `[data-testid="runs-table"][aria-rowcount="${shown + 1}"] tr[data-run-id]`, Math.min(shown, 10), samples);
    const dagUrl = `${base}/console/workflows/bench-console-dag/versions/1.0.0?namespace=${NAMESPACE}`;
    const dagDrawn = await measurePage(browser, dagUrl, '[data-testid="dag-view"] [data-task-id]', 1, samples);
    const dagPage = await measurePage(browser, dagUrl, '[data-testid="dag-view"][data-layout="done"] [data-task-id]', 1, samples);
    return { runs, dagTasks: large.length, runsList, dagDrawn, dag: dagPage };
  } finally {
    await browser?.close();
    if (worker.getState() === 'RUNNING') worker.shutdown();
    await working;
    await running.stop();
    await connection.close();
    await server.stop();
    await rm(dir, { recursive: true, force: true });
  }
}

/** The figures as a markdown table. */
export function consoleReport(result: ConsoleBenchResult): string {
  const row = (name: string, page: PageBench, target = true): string =>
    `| ${name} | ${ms(page.cold.firstContentfulPaintMs)} | ${ms(page.cold.populatedMs)} | ${ms(page.firstPaint.median)} | ${ms(page.populated.median)} | ${ms(page.populated.p95)} | ${ms(page.boot.median)} | ${ms(page.longestFetch.median)} | ${ms(page.afterApi.median)} | ${target ? (page.meetsTarget ? 'PASS' : 'FAIL') : '(reported)'} |`;
  return [
    `## Console (headless Chromium, ${result.runsList.populated.n} loads per page; target: runs list populated and DAG first drawn < ${TARGET_MS} ms, median)`,
    '',
    '| page | cold first paint | cold populated | first paint median | populated median | populated p95 | boot (first API call), median | longest API call, median | API answer → populated, median | target |',
    '| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | --- |',
    row(`runs list, ${result.runs} runs`, result.runsList),
    row(`DAG, ${result.dagTasks} nodes: first drawn (final columns)`, result.dagDrawn),
    row(`DAG, ${result.dagTasks} nodes: ELK layout done`, result.dag, false),
  ].join('\n');
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  const runs = Number(process.env.BENCH_CONSOLE_RUNS ?? 1000);
  const samples = Number(process.env.BENCH_CONSOLE_SAMPLES ?? 5);
  benchConsole({ runs, samples }).then(
    (result) => console.log(consoleReport(result)),
    (error: unknown) => {
      console.error(error);
      process.exit(1);
    },
  );
}
