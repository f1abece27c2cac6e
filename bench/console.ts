/**
 * Console benchmark: in headless Chromium (Debian's, via playwright-core), the time to first
 * contentful paint and to the page being populated of
 * - the runs list with N runs in Temporal (by default 1,000, then 3,000, then 10,000: the trend),
 *   as the console opens it (its default page of 50, server-paged) and at its largest page (1,000
 *   per page), each beside the bare API call the page makes (`GET /runs?...`, the URL recorded from
 *   the page's own request), timed from this process in the same run; and
 * - a 1,000-node DAG (a registered workflow of 50 layers × 20 tasks): when its nodes are first
 *   drawn (in their final columns, the console's provisional layout for large DAGs) and when
 *   elkjs's layout has ordered the rows (the page's `data-layout="done"`).
 * Against its own Temporal dev server (in memory), with the API in this process. Filling Temporal
 * with 10,000 runs through a worker takes long on a loaded machine (the worker runs each one's
 * workflow tasks: under 1 run/s at a load average of 40 on 2 cores), so the runs are made the fast
 * real way: started directly through the Temporal client (`startRun`, the run-start path's last
 * step, with the runs' real search attributes; no policy or admission) {@link FILL_CONCURRENCY} at
 * a time on a task queue no worker polls, then ended by one Temporal batch operation (terminate by
 * visibility query, as `temporal workflow terminate --query` does). Each step waits until
 * visibility counts them all as terminated, so the list shows N ended runs. The fill's duration is
 * reported.
 * Each page is loaded `samples` times in fresh browser contexts (the first load is cold: nothing
 * cached). Targets (median): the runs list's first paint < 1 s and populated < 1.5 s at every N;
 * the DAG first drawn < 1 s; the final layout is reported beside them.
 *
 * Run alone: `tsx bench/console.ts` (env `BENCH_CONSOLE_RUNS`, a comma-separated list of run
 * counts, default `1000,3000,10000`; `BENCH_CONSOLE_SAMPLES`, default 5), or call
 * {@link benchConsole}.
 */
import { randomUUID } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Client, Connection } from '@temporalio/client';
import type { Browser } from 'playwright-core';
import { layeredDag } from '../console/src/dag/test-graphs.js';
import { startApi } from '../src/api/index.js';
import { startRun } from '../src/client/index.js';
import { compileWorkflow } from '../src/compiler/index.js';
import { extendConfig, loadConfig } from '../src/config/index.js';
import { resolveTemporalBin, startDevServer } from '../src/devserver/index.js';
import { parseManifest, type WorkflowManifest } from '../src/manifest/index.js';
import { visibilityQuery } from '../src/runs/index.js';
import { builtinCatalog } from '../src/tasks/index.js';
import { dagWorkflowManifest, LAPTOP_VIEWPORT, launchChromium, measurePaint, prepareConsoleBrowser, type PageGlobals, type PaintTiming } from '../test/console/browser.js';
import { ms, summarize, type Summary } from './stats.js';

const TOKEN = 'bench-console-token-0123456789abcdef';
const NAMESPACE = 'bench-console';
/** Runs being started at once while filling Temporal. */
const FILL_CONCURRENCY = 128;
/** The task queue the runs are started on: no worker polls it. */
const FILL_QUEUE = 'bench-console-fill';
/** The DAG's target: first drawn within a second; and the runs list's first paint. */
export const TARGET_MS = 1000;
/** The runs list's target: populated within 1.5 s. */
export const LIST_TARGET_MS = 1500;
/** The console's largest page of runs (and the API's `limit` maximum). */
const LARGEST_PAGE = 1000;
/** How long a page may take to populate before its measurement is given up. */
const POPULATE_TIMEOUT_MS = 30_000;

/** Options of {@link benchConsole}. */
export interface ConsoleBenchOptions {
  /** The run counts the runs list is measured at, ascending: Temporal is filled up to each in turn. @default [1000, 3000, 10000] */
  runs?: number[];
  /** Page loads measured per page (and bare API calls per page), each load in a fresh browser context. @default 5 */
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
  /** The medians are under the page's targets. */
  meetsTarget: boolean;
  /** The API paths of the page's calls to `GET /runs` (recorded on its first load). */
  runsRequests: string[];
}

/** The runs list at one page size, beside the bare API call it makes. */
export interface RunsPageBench {
  /** Runs per page the list asks for. */
  limit: number;
  /** Rows the page shows. */
  rows: number;
  page: PageBench;
  /** The same `GET /runs?...` as the page's, timed from this process (ms): the bare API call. */
  api: Summary;
}

/** The runs list with `runs` runs in Temporal. */
export interface RunsListBench {
  runs: number;
  /** How long filling Temporal from the previous step's count to `runs` took (s): starts and completions. */
  fillSeconds: number;
  /** The list as the console opens it: its default page size. */
  firstPage: RunsPageBench;
  /** The list at its largest page size; undefined when it did not populate (see `largestPageError`). */
  largestPage?: RunsPageBench;
  /** Why the largest page was not measured: it did not populate within {@link POPULATE_TIMEOUT_MS} (e.g. the API's 10 s visibility deadline passed under load). */
  largestPageError?: string;
}

/** What {@link benchConsole} measured. */
export interface ConsoleBenchResult {
  dagTasks: number;
  runsLists: RunsListBench[];
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

/** Runs in the bench namespace that visibility counts with `status` (Temporal's `ExecutionStatus`). */
async function countRuns(client: Client, status: 'Running' | 'Terminated'): Promise<number> {
  const query = `${visibilityQuery({ namespaces: [NAMESPACE] })} AND ExecutionStatus = '${status}'`;
  return Number((await client.workflowService.countWorkflowExecutions({ namespace: client.options.namespace, query })).count);
}

/**
 * Starts runs of `yaml` through the Temporal client, {@link FILL_CONCURRENCY} at a time, from
 * `from` until `count` are in Temporal, ends them with one batch terminate, then waits until
 * visibility counts `count` terminated runs in the namespace.
 * @returns how long it took (s)
 */
async function fillRuns(client: Client, yaml: string, from: number, count: number): Promise<number> {
  const began = performance.now();
  const compiled = compileWorkflow(parseManifest(yaml, 'bench-console-run.yaml', { catalog: builtinCatalog }) as WorkflowManifest, { catalog: builtinCatalog });
  let next = from;
  const starter = async (): Promise<void> => {
    while (next < count) {
      next += 1;
      await startRun(client, { compiled, params: {}, namespace: NAMESPACE, taskQueue: FILL_QUEUE, startedBy: 'bench' });
    }
  };
  await Promise.all(Array.from({ length: FILL_CONCURRENCY }, starter));
  console.error(`console bench: ${count - from} runs started in ${((performance.now() - began) / 1000).toFixed(0)} s`);
  await client.workflowService.startBatchOperation({
    namespace: client.options.namespace,
    jobId: randomUUID(),
    visibilityQuery: `${visibilityQuery({ namespaces: [NAMESPACE] })} AND ExecutionStatus = 'Running'`,
    reason: 'bench-console: fill',
    terminationOperation: { identity: 'bench-console' },
  });
  const deadline = Date.now() + 1_800_000;
  for (;;) {
    const [running, ended] = await Promise.all([countRuns(client, 'Running'), countRuns(client, 'Terminated')]);
    if (running === 0 && ended >= count) return (performance.now() - began) / 1000;
    if (Date.now() > deadline) throw new Error(`visibility counts ${ended} of ${count} runs as terminated (${running} running) after 1,800 s`);
    await new Promise((resolve) => setTimeout(resolve, 1000));
  }
}

/** Loads `url` `samples` times, each in a fresh context signed in with the bench token. */
async function measurePage(browser: Browser, url: string, selector: string, count: number, samples: number, targets: { firstPaint?: number; populated: number }): Promise<PageBench> {
  const timings: PaintTiming[] = [];
  const runsRequests: string[] = [];
  for (let sample = 0; sample < samples; sample += 1) {
    const context = await browser.newContext({ viewport: LAPTOP_VIEWPORT });
    await context.addInitScript((token) => (globalThis as unknown as PageGlobals).sessionStorage.setItem('maestro.token', token), TOKEN);
    const page = await context.newPage();
    if (sample === 0) {
      page.on('request', (request) => {
        const { pathname, search } = new URL(request.url());
        if (pathname === '/runs') runsRequests.push(`${pathname}${search}`);
      });
    }
    try {
      timings.push(await measurePaint(page, url, selector, count, POPULATE_TIMEOUT_MS));
    } finally {
      await context.close();
    }
  }
  const firstPaint = summarize(timings.map((timing) => timing.firstContentfulPaintMs));
  const populated = summarize(timings.map((timing) => timing.populatedMs));
  return {
    firstPaint,
    boot: summarize(timings.map((timing) => timing.firstFetchStartMs)),
    longestFetch: summarize(timings.map((timing) => timing.longestFetchMs)),
    afterApi: summarize(timings.map((timing) => timing.populatedMs - timing.lastFetchEndMs)),
    populated,
    cold: timings[0] as PaintTiming,
    meetsTarget: populated.median < targets.populated && (targets.firstPaint === undefined || firstPaint.median < targets.firstPaint),
    runsRequests,
  };
}

/**
 * The runs list at `limit` per page (the console's default when undefined), and the bare API call
 * its page makes, `samples` times each.
 * @throws Error when the page asks the API for more than one page of at most {@link LARGEST_PAGE} runs.
 */
async function measureRunsList(browser: Browser, base: string, runs: number, limit: number | undefined, samples: number): Promise<RunsPageBench> {
  const query = new URLSearchParams({ namespace: NAMESPACE, ...(limit === undefined ? {} : { limit: String(limit) }) });
  // The console's default page size is the API's: 50.
  const rows = Math.min(runs, limit ?? 50);
  // The table renders only the rows in view (virtual-rows.ts): populated is the whole page in it
  // (its aria-rowcount, with the header) and its first rows drawn.
  const page = await measurePage(browser, `${base}/console/?${query.toString()}`, `[data-testid="runs-table"][aria-rowcount="${rows + 1}"] tr[data-run-id]`, Math.min(rows, 10), samples, { firstPaint: TARGET_MS, populated: LIST_TARGET_MS });
  const asked = page.runsRequests.map((path) => Number(new URLSearchParams(path.split('?')[1]).get('limit') ?? 50));
  if (asked.length === 0 || asked.some((value) => value > LARGEST_PAGE)) throw new Error(`the runs list asked for ${JSON.stringify(page.runsRequests)}: not server pages of at most ${LARGEST_PAGE}`);
  const path = page.runsRequests[0] as string;
  const times: number[] = [];
  for (let sample = 0; sample < samples; sample += 1) {
    const began = performance.now();
    await api(base, 'GET', path);
    times.push(performance.now() - began);
  }
  return { limit: limit ?? 50, rows, page, api: summarize(times) };
}

/** Runs the benchmark on a dev server, API and browser of its own, and stops them all. */
export async function benchConsole({ runs = [1000, 3000, 10000], samples = 5, dag = { layers: 50, width: 20 } }: ConsoleBenchOptions = {}): Promise<ConsoleBenchResult> {
  await prepareConsoleBrowser();
  const dir = await mkdtemp(join(tmpdir(), 'maestro-bench-console-'));
  // The batch terminate that ends the runs goes at 50 runs/s by default.
  const server = await startDevServer({ bin: resolveTemporalBin(loadConfig().temporalBin), port: 0, ui: false, logLevel: 'error', dynamicConfig: { 'worker.batcherRPS': 1000 } });
  const config = extendConfig(loadConfig({}), { temporalAddress: server.address, dataDir: dir, devToken: TOKEN, taskQueue: 'bench-console' });
  const running = await startApi(config, { port: 0, pdp: false, drainMs: 1000 });
  const connection = await Connection.connect({ address: server.address });
  const client = new Client({ connection });
  let browser: Browser | undefined;
  try {
    const base = running.url;
    // Workflows are registered per namespace: the runs start in NAMESPACE.
    const inBenchNamespace = (yaml: string): string => yaml.replace('metadata: { name:', `metadata: { namespace: ${NAMESPACE}, name:`);
    const runYaml = inBenchNamespace(dagWorkflowManifest('bench-console-run', [{ id: 'nap', needs: [] }]));
    await api(base, 'POST', '/workflows', { yaml: runYaml });
    const large = layeredDag(dag.layers, dag.width);
    await api(base, 'POST', '/workflows', { yaml: inBenchNamespace(dagWorkflowManifest('bench-console-dag', large)) });
    browser = await launchChromium();
    const runsLists: RunsListBench[] = [];
    let filled = 0;
    for (const count of runs) {
      const fillSeconds = await fillRuns(client, runYaml, filled, count);
      filled = count;
      console.error(`console bench: ${count} runs in Temporal (fill ${fillSeconds.toFixed(0)} s)`);
      const firstPage = await measureRunsList(browser, base, count, undefined, samples);
      try {
        runsLists.push({ runs: count, fillSeconds, firstPage, largestPage: await measureRunsList(browser, base, count, LARGEST_PAGE, samples) });
      } catch (error) {
        runsLists.push({ runs: count, fillSeconds, firstPage, largestPageError: String(error).split('\n')[0] });
      }
    }
    const dagUrl = `${base}/console/workflows/bench-console-dag/versions/1.0.0?namespace=${NAMESPACE}`;
    const dagDrawn = await measurePage(browser, dagUrl, '[data-testid="dag-view"] [data-task-id]', 1, samples, { populated: TARGET_MS });
    const dagPage = await measurePage(browser, dagUrl, '[data-testid="dag-view"][data-layout="done"] [data-task-id]', 1, samples, { populated: TARGET_MS });
    return { dagTasks: large.length, runsLists, dagDrawn, dag: dagPage };
  } finally {
    await browser?.close();
    await running.stop();
    await connection.close();
    await server.stop();
    await rm(dir, { recursive: true, force: true });
  }
}

/** {@link ConsoleBenchOptions} from `BENCH_CONSOLE_RUNS` (comma-separated counts) and `BENCH_CONSOLE_SAMPLES`. */
export function consoleOptionsFromEnv(env: NodeJS.ProcessEnv = process.env): ConsoleBenchOptions {
  const runs = env.BENCH_CONSOLE_RUNS?.split(',').map(Number);
  if (runs?.some((count) => !Number.isInteger(count) || count < 1)) throw new Error(`BENCH_CONSOLE_RUNS "${env.BENCH_CONSOLE_RUNS}" is not a list of run counts`);
  return {
    ...(runs === undefined ? {} : { runs: runs.sort((a, b) => a - b) }),
    ...(env.BENCH_CONSOLE_SAMPLES === undefined ? {} : { samples: Number(env.BENCH_CONSOLE_SAMPLES) }),
  };
}

/** The figures as a markdown table. */
export function consoleReport(result: ConsoleBenchResult): string {
  const verdict = (page: PageBench, target: boolean): string => (target ? (page.meetsTarget ? 'PASS' : 'FAIL') : '(reported)');
  const row = (name: string, page: PageBench, bare: string, target = true): string =>
    `| ${name} | ${ms(page.cold.firstContentfulPaintMs)} | ${ms(page.cold.populatedMs)} | ${ms(page.firstPaint.median)} | ${ms(page.populated.median)} | ${ms(page.populated.p95)} | ${bare} | ${ms(page.boot.median)} | ${ms(page.longestFetch.median)} | ${ms(page.afterApi.median)} | ${verdict(page, target)} |`;
  const list = (lists: RunsListBench, { rows, page, api: bare }: RunsPageBench): string =>
    row(`runs list, ${lists.runs} runs in Temporal, ${rows} shown (\`${page.runsRequests[0] ?? ''}\`)`, page, ms(bare.median));
  return [
    `## Console (headless Chromium, ${result.dagDrawn.populated.n} loads per page; targets, median: runs list first paint < ${TARGET_MS} ms and populated < ${LIST_TARGET_MS} ms; DAG first drawn < ${TARGET_MS} ms)`,
    '',
    '| page | cold first paint | cold populated | first paint median | populated median | populated p95 | bare API call (same `GET /runs`), median | boot (first API call), median | longest API call in the page, median | API answer → populated, median | target |',
    '| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | --- |',
    ...result.runsLists.flatMap((lists) => [
      list(lists, lists.firstPage),
      lists.largestPage === undefined ? `| runs list, ${lists.runs} runs in Temporal, ${LARGEST_PAGE} per page | not populated: ${lists.largestPageError ?? ''} | | | | | | | | | FAIL |` : list(lists, lists.largestPage),
    ]),
    row(`DAG, ${result.dagTasks} nodes: first drawn (final columns)`, result.dagDrawn, '—'),
    row(`DAG, ${result.dagTasks} nodes: ELK layout done`, result.dag, '—', false),
    '',
    `Filling Temporal (runs started through the Temporal client, ${FILL_CONCURRENCY} at a time, then ended by one batch terminate): ${result.runsLists.map((lists) => `to ${lists.runs} runs ${lists.fillSeconds.toFixed(0)} s`).join(', ')}.`,
  ].join('\n');
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  benchConsole(consoleOptionsFromEnv()).then(
    (result) => console.log(consoleReport(result)),
    (error: unknown) => {
      console.error(error);
      process.exit(1);
    },
  );
}
