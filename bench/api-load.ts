/**
 * API load benchmark: an open-loop load of `POST /runs` (a 3-task workflow) at a fixed rate, then
 * the same rate of raw Temporal starts (`startRun`: one `client.workflow.start`) as the baseline, on
 * a dev server of its own (the benchmark's tuned settings, bench/engine.ts), with the Maestro worker
 * and the API each in its own process as in production (`tsx workers/worker.ts`, `maestro api`),
 * so the load generator's clock is not delayed by their work. Reports p50/p95/p99 of the
 * start call's latency and of the scheduling decision — request sent → the run's first task
 * scheduled (its TimerStarted event in history) — and the API's overhead over the raw start.
 *
 * Run alone: `tsx bench/api-load.ts` (env `BENCH_API_RATE`, default 100/s; `BENCH_API_SECONDS`,
 * default 60), or call {@link runApiLoadBenchmark} from bench/run.ts.
 */
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { readFileSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { Agent, request } from 'node:http';
import { cpus, tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Client, Connection } from '@temporalio/client';
import proto from '@temporalio/proto';
import { PRIORITY_DYNAMIC_CONFIG } from '../src/runs/index.js';
import { builtinCatalog } from '../src/tasks/index.js';
import { startRun } from '../src/client/index.js';
import { compileWorkflow } from '../src/compiler/index.js';
import { loadConfig } from '../src/config/index.js';
import { resolveTemporalBin, startDevServer } from '../src/devserver/index.js';
import { parseManifest, type WorkflowManifest } from '../src/manifest/index.js';
import { procStatCpuSeconds } from './capacity-stats.js';
import { TUNED_DYNAMIC_CONFIG } from './engine.js';
import { BENCH_TASK, BRANCH_EXPRESSION, LOAD_MAP_ID, SEQ_FIRST_ROWS } from './shapes.js';
import { quantile, summarize, type Summary } from './stats.js';

/**
 * The 3-task workflow: a durable timer first (its TimerStarted event marks "first task scheduled").
 * The map's cache is off, so every run maps its rows, as the hand-written twin (`apiLoad` in
 * bench/baseline-workflows.ts) does, rather than answering from the task cache after the first run.
 */
export const LOAD_MANIFEST = `apiVersion: maestro/v1
kind: Workflow
metadata: { name: api-load, version: 1.0.0 }
spec:
  policy: { purpose: benchmark, authority: maestro-bench, license: internal }
  tasks:
    - { id: first, uses: tasks/wait.sleep@0.1.0, with: { duration: 1ms } }
    - { id: ${LOAD_MAP_ID}, uses: ${BENCH_TASK}, needs: [first], with: { rows: ${JSON.stringify(SEQ_FIRST_ROWS)}, expression: "${BRANCH_EXPRESSION}" }, cache: { enabled: false } }
    - { id: third, uses: tasks/wait.sleep@0.1.0, needs: [${LOAD_MAP_ID}], with: { duration: 1ms } }
`;

/** Options of {@link runApiLoadBenchmark}. */
export interface ApiLoadOptions {
  /** Starts per second. @default 100 */
  rate?: number;
  /** Seconds of load per phase. @default 60 */
  seconds?: number;
  /**
   * The phases alternate in this many blocks each (API, raw, API, raw …), so drift in the machine's
   * load hits both alike.
   * @default 6
   */
  blocks?: number;
}

/** Latency summary with p99. */
export interface LatencySummary extends Summary {
  p99: number;
}

/** One phase's figures. */
export interface PhaseResult {
  sent: number;
  errors: number;
  /** First error messages, for the report. */
  errorSamples: string[];
  /** Latency of the start call (HTTP POST /runs, or the gRPC start), ms. */
  start: LatencySummary;
  /** Start call sent → first task scheduled (from history), ms. */
  decision: LatencySummary;
  /** Where the CPU went while the load was sent (Linux; undefined elsewhere). */
  cpu?: PhaseCpu;
}

/**
 * CPU used while a phase's load was sent, in cores (CPU seconds per second): by process, and the
 * whole machine's. It tells a target missed for want of CPU (the machine busy) from one missed
 * by Maestro's own cost.
 */
export interface PhaseCpu {
  temporal: number;
  worker: number;
  api: number;
  /** This process: the load generator. */
  loadGenerator: number;
  /** Every process on the machine. */
  machine: number;
  /** Cores the machine has. */
  cores: number;
}

/** The benchmark's result. */
export interface ApiLoadResult {
  rate: number;
  seconds: number;
  api: PhaseResult;
  raw: PhaseResult;
  /** API p95 over raw p95. */
  overhead: { start: number; decision: number };
  targets: { name: string; value: number; limit: number; pass: boolean }[];
}

const TOKEN = 'bench-api-load-token-0123456789';
const REPO = fileURLToPath(new URL('..', import.meta.url));
const TASK_QUEUE = 'bench-api-load';

/**
 * Starts `tsx <script> args` with `env` (and Node's `nodeArgs`, e.g. `--cpu-prof`); resolves once
 * its output contains `ready`, within `readyWithinMs` (also for bench/triggers.ts and
 * bench/capacity.ts). With `ipc`, the child has a message channel (`process.send`).
 */
export async function child(
  script: string,
  args: string[],
  env: Record<string, string>,
  ready: string,
  { nodeArgs = [], ipc = false, readyWithinMs = 120_000 }: { nodeArgs?: readonly string[]; ipc?: boolean; readyWithinMs?: number } = {},
): Promise<{ process: ChildProcess; output(): string }> {
  const process_ = spawn(process.execPath, [...nodeArgs, '--import', 'tsx', script, ...args], {
    cwd: REPO,
    env: { ...process.env, ...env },
    stdio: ipc ? ['ignore', 'pipe', 'pipe', 'ipc'] : ['ignore', 'pipe', 'pipe'],
  });
  let output = '';
  const onData = (chunk: Buffer): void => void (output += chunk.toString('utf8'));
  process_.stdout?.on('data', onData);
  process_.stderr?.on('data', onData);
  const deadline = Date.now() + readyWithinMs;
  while (!output.includes(ready)) {
    if (process_.exitCode !== null || Date.now() > deadline) {
      process_.kill('SIGKILL');
      throw new Error(`${script} did not start:\n${output.slice(-2000)}`);
    }
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  return { process: process_, output: () => output };
}

/** Stops a {@link child} with SIGTERM and waits for it to exit. */
export async function stopChild(process_: ChildProcess): Promise<void> {
  if (process_.exitCode !== null) return;
  process_.kill('SIGTERM');
  await once(process_, 'exit');
}

/** Stops what a load benchmark started, last started first: its HTTP agent, child processes, connection, dev server, and temp folder. */
export async function tearDown(started: { agent: Agent; children: ChildProcess[]; connection: Connection; server: { stop(): Promise<void> }; dir: string }): Promise<void> {
  started.agent.destroy();
  for (const process_ of started.children.reverse()) await stopChild(process_);
  await started.connection.close();
  await started.server.stop();
  await rm(started.dir, { recursive: true, force: true });
}

/** {@link summarize} with p99. */
export function latency(samples: readonly number[]): LatencySummary {
  return { ...summarize(samples), p99: quantile([...samples].sort((a, b) => a - b), 0.99) };
}

/**
 * POSTs `body` over a keep-alive connection of `agent`. The load generator shares the machine with
 * what it measures, so it uses node:http rather than fetch, which costs about 1 ms more CPU per
 * request here — CPU the API, the worker and Temporal would otherwise lose.
 */
export function post(agent: Agent, url: string, headers: Record<string, string>, body: string): Promise<{ status: number; text: string }> {
  return new Promise((resolve, reject) => {
    const req = request(url, { method: 'POST', agent, headers: { ...headers, 'content-length': String(Buffer.byteLength(body)) } }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (chunk: Buffer) => chunks.push(chunk));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, text: Buffer.concat(chunks).toString('utf8') }));
      res.on('error', reject);
    });
    req.on('error', reject);
    req.end(body);
  });
}

/** One call of {@link openLoop}: when it was sent (epoch ms), how long it took (ms), its run or its error. */
export interface LoadCall {
  sentAt: number;
  took: number;
  runId?: string;
  error?: string;
}

/**
 * Registers {@link LOAD_MANIFEST} with the `maestro api` whose start-up `output` names its URL, and
 * returns a sender for {@link openLoop}: one `POST /runs` of it, as the dev token `token`.
 */
export async function loadThroughApi(agent: Agent, output: string, token: string): Promise<() => Promise<{ runId: string }>> {
  const url = /Maestro API on (http:\/\/\S+)/.exec(output)?.[1];
  if (!url) throw new Error(`maestro api printed no URL:\n${output}`);
  const headers = { authorization: `Bearer ${token}`, 'content-type': 'application/json' };
  const registered = await post(agent, `${url}/workflows`, { ...headers, 'content-type': 'application/yaml' }, LOAD_MANIFEST);
  if (registered.status !== 201) throw new Error(`registering the workflow failed: ${registered.status} ${registered.text}`);
  const body = JSON.stringify({ workflowRef: 'api-load@1.0.0', params: {} });
  return async () => {
    const res = await post(agent, `${url}/runs`, headers, body);
    const json = JSON.parse(res.text) as { runId: string; detail?: string };
    if (res.status !== 201) throw new Error(`HTTP ${res.status}: ${json.detail ?? ''}`);
    return json;
  };
}

/** Fires `send` open-loop: at fixed intervals, whether or not earlier calls have returned. */
export async function openLoop(rate: number, seconds: number, send: () => Promise<{ runId: string }>): Promise<LoadCall[]> {
  const total = rate * seconds;
  const interval = 1000 / rate;
  const begin = performance.now();
  const calls: Promise<LoadCall>[] = [];
  for (let i = 0; i < total; i += 1) {
    const wait = begin + i * interval - performance.now();
    if (wait > 0) await new Promise((resolve) => setTimeout(resolve, wait));
    const sentAt = Date.now();
    const t0 = performance.now();
    calls.push(
      send().then(
        ({ runId }) => ({ sentAt, took: performance.now() - t0, runId }),
        (error: unknown) => ({ sentAt, took: performance.now() - t0, error: error instanceof Error ? error.message : String(error) }),
      ),
    );
  }
  return Promise.all(calls);
}

/** Epoch ms of the run's first TimerStarted event, from its history; undefined while there is none. */
export async function firstTaskScheduled(client: Client, runId: string): Promise<number | undefined> {
  const { EventType } = proto.temporal.api.enums.v1;
  const { history } = await client.workflowService.getWorkflowExecutionHistory({ namespace: client.options.namespace, execution: { workflowId: runId }, maximumPageSize: 20 });
  const event = history?.events?.find((e) => e.eventType === EventType.EVENT_TYPE_TIMER_STARTED);
  return event?.eventTime?.seconds ? Number(event.eventTime.seconds) * 1000 + Math.floor((event.eventTime.nanos ?? 0) / 1e6) : undefined;
}

/** How long a block waits for its runs' first tasks to be scheduled (a backlog drains) before counting the rest as errors. */
const DRAIN_MS = 300_000;

/** First-task times of `runIds` (from server timestamps), polling in rounds until all have one or {@link DRAIN_MS} passes. */
export async function scheduledTimes(client: Client, runIds: readonly string[]): Promise<Map<string, number>> {
  const found = new Map<string, number>();
  const deadline = Date.now() + DRAIN_MS;
  for (;;) {
    const pending = runIds.filter((id) => !found.has(id));
    const times = await mapLimit(pending, 16, (id) => firstTaskScheduled(client, id));
    pending.forEach((id, i) => {
      const time = times[i];
      if (time !== undefined) found.set(id, time);
    });
    if (found.size === runIds.length || Date.now() > deadline) return found;
    await new Promise((resolve) => setTimeout(resolve, 1_000));
  }
}

async function mapLimit<T, R>(items: readonly T[], limit: number, work: (item: T) => Promise<R>): Promise<R[]> {
  const results: R[] = new Array<R>(items.length);
  let next = 0;
  await Promise.all(
    Array.from({ length: limit }, async () => {
      while (next < items.length) {
        const index = next++;
        results[index] = await work(items[index] as T);
      }
    }),
  );
  return results;
}

/** Clock ticks per second of /proc's CPU times (`getconf CLK_TCK`; 100 on Linux as built). */
const CLOCK_TICKS = (() => {
  try {
    return Number(execFileSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).trim()) || 100;
  } catch {
    return 100;
  }
})();

/** Seconds of CPU a process has used, all its threads (/proc/PID/stat utime + stime); NaN without /proc. */
export function processCpuSeconds(pid: number | undefined): number {
  try {
    return procStatCpuSeconds(readFileSync(`/proc/${pid}/stat`, 'utf8'), CLOCK_TICKS);
  } catch {
    return Number.NaN;
  }
}

/** The processes whose CPU a phase reports, beside the load generator's (this process) and the machine's. */
type Measured = Readonly<Record<'temporal' | 'worker' | 'api', ChildProcess>>;
type CpuName = Exclude<keyof PhaseCpu, 'cores'>;

/** CPU seconds used so far by each measured process, this one, and the machine (every process). */
function cpuSeconds(measured: Measured): Record<CpuName, number> {
  const self = process.cpuUsage();
  return {
    temporal: processCpuSeconds(measured.temporal.pid),
    worker: processCpuSeconds(measured.worker.pid),
    api: processCpuSeconds(measured.api.pid),
    loadGenerator: (self.user + self.system) / 1e6,
    machine: cpus().reduce((sum, { times }) => sum + times.user + times.nice + times.sys + times.irq, 0) / 1000,
  };
}

/** Raw samples of one or more blocks of a phase. */
interface PhaseSamples {
  sent: number;
  errors: string[];
  missing: number;
  start: number[];
  decision: number[];
  /** Seconds spent sending, and the CPU seconds used meanwhile. */
  cpu: { seconds: number; used: Record<CpuName, number> };
}

async function block(client: Client, rate: number, seconds: number, send: () => Promise<{ runId: string }>, into: PhaseSamples, measured?: Measured): Promise<void> {
  const started = performance.now();
  const before = measured && cpuSeconds(measured);
  const calls = await openLoop(rate, seconds, send);
  if (measured && before) {
    const after = cpuSeconds(measured);
    into.cpu.seconds += (performance.now() - started) / 1000;
    for (const name of Object.keys(after) as CpuName[]) into.cpu.used[name] += after[name] - before[name];
  }
  const ok = calls.filter((c) => c.runId !== undefined);
  const times = await scheduledTimes(client, ok.map((c) => c.runId as string));
  const decisions = ok.map((call) => {
    const scheduled = times.get(call.runId as string);
    return scheduled === undefined ? undefined : scheduled - call.sentAt;
  });
  into.sent += calls.length;
  into.errors.push(...calls.filter((c) => c.error !== undefined).map((c) => c.error as string));
  into.missing += decisions.filter((d) => d === undefined).length;
  into.start.push(...ok.map((c) => c.took));
  into.decision.push(...decisions.filter((d): d is number => d !== undefined));
}

function phaseResult(samples: PhaseSamples): PhaseResult {
  const { seconds, used } = samples.cpu;
  const cores = Object.fromEntries(Object.entries(used).map(([name, cpu]) => [name, cpu / seconds])) as Record<CpuName, number>;
  return {
    sent: samples.sent,
    errors: samples.errors.length + samples.missing,
    errorSamples: [...new Set(samples.errors)].slice(0, 5),
    start: latency(samples.start),
    decision: latency(samples.decision),
    // Without /proc (not Linux) the processes' figures are NaN: the breakdown is left out.
    ...(seconds > 0 && Object.values(cores).every(Number.isFinite) ? { cpu: { ...cores, cores: cpus().length } } : {}),
  };
}

const emptySamples = (): PhaseSamples => ({
  sent: 0,
  errors: [],
  missing: 0,
  start: [],
  decision: [],
  cpu: { seconds: 0, used: { temporal: 0, worker: 0, api: 0, loadGenerator: 0, machine: 0 } },
});

/** A Temporal dev server for an API benchmark: its database in `dir`, tuned as production is, priorities on. */
export function startBenchTemporal(dir: string): ReturnType<typeof startDevServer> {
  return startDevServer({
    bin: resolveTemporalBin(loadConfig().temporalBin),
    port: 0,
    ui: false,
    dbFile: join(dir, 'temporal.db'),
    dynamicConfig: { ...TUNED_DYNAMIC_CONFIG, ...PRIORITY_DYNAMIC_CONFIG },
    logLevel: 'error',
  });
}

/**
 * Runs both phases (API, then raw starts) and checks the targets: no errors, `POST /runs` p95 < 50
 * ms, decision p95 < 150 ms, API decision p95 ≤ 1.2 × the raw start's.
 */
export async function runApiLoadBenchmark(options: ApiLoadOptions = {}): Promise<ApiLoadResult> {
  const { rate = 100, seconds = 60, blocks = 6 } = options;
  const dir = await mkdtemp(join(tmpdir(), 'maestro-api-load-'));
  const server = await startBenchTemporal(dir);
  const env = { TEMPORAL_ADDRESS: server.address, MAESTRO_TASK_QUEUE: TASK_QUEUE, MAESTRO_DATA_DIR: dir, MAESTRO_LOG_LEVEL: 'error', MAESTRO_DEV_TOKEN: TOKEN, MAESTRO_PORT: '0' };
  const children: ChildProcess[] = [];
  const connection = await Connection.connect({ address: server.address });
  const agent = new Agent({ keepAlive: true });
  try {
    // The worker logs its state changes at info level: that line says it polls.
    const worker = (await child('workers/worker.ts', [], { ...env, MAESTRO_LOG_LEVEL: 'info' }, "state: 'RUNNING'")).process;
    children.push(worker);
    const api = await child('src/cli/main.ts', ['api'], env, 'Maestro API on ');
    children.push(api.process);
    const measured: Measured = { temporal: server.process, worker, api: api.process };
    const client = new Client({ connection });
    const compiled = compileWorkflow(parseManifest(LOAD_MANIFEST, 'api-load.yaml', { catalog: builtinCatalog }) as WorkflowManifest, { catalog: builtinCatalog });
    const viaApi = await loadThroughApi(agent, api.output(), TOKEN);
    const viaRaw = async (): Promise<{ runId: string }> => ({ runId: await startRun(client, { compiled, params: {}, taskQueue: TASK_QUEUE }) });
    // Warm both paths (connections, JIT, the worker's workflow cache) outside the measurement.
    await block(client, 20, 1, viaApi, emptySamples());
    await block(client, 20, 1, viaRaw, emptySamples());
    const apiSamples = emptySamples();
    const rawSamples = emptySamples();
    for (let i = 0; i < blocks; i += 1) {
      await block(client, rate, seconds / blocks, viaApi, apiSamples, measured);
      await block(client, rate, seconds / blocks, viaRaw, rawSamples, measured);
    }
    const apiResult = phaseResult(apiSamples);
    const rawResult = phaseResult(rawSamples);
    const overhead = { start: apiResult.start.p95 / rawResult.start.p95, decision: apiResult.decision.p95 / rawResult.decision.p95 };
    const targets = [
      { name: 'errors (API + raw)', value: apiResult.errors + rawResult.errors, limit: 0, pass: apiResult.errors + rawResult.errors === 0 },
      { name: 'POST /runs p95 (ms)', value: apiResult.start.p95, limit: 50, pass: apiResult.start.p95 < 50 },
      { name: 'scheduling decision p95 via API (ms)', value: apiResult.decision.p95, limit: 150, pass: apiResult.decision.p95 < 150 },
      { name: 'API overhead: decision p95 API / raw', value: overhead.decision, limit: 1.2, pass: overhead.decision <= 1.2 },
    ];
    return { rate, seconds, api: apiResult, raw: rawResult, overhead, targets };
  } finally {
    await tearDown({ agent, children, connection, server, dir });
  }
}

/** The CPU each phase used while its load was sent, when measured. */
function cpuLines(result: ApiLoadResult): string[] {
  const line = (name: string, cpu: PhaseCpu | undefined): string[] => {
    if (cpu === undefined) return [];
    const f = (n: number) => n.toFixed(2);
    const busy = Math.round((100 * cpu.machine) / cpu.cores);
    return [`CPU while sending, ${name} phase (cores): Temporal ${f(cpu.temporal)}, worker ${f(cpu.worker)}, API ${f(cpu.api)}, load generator ${f(cpu.loadGenerator)}; machine ${f(cpu.machine)} of ${cpu.cores} (${busy}% busy)`];
  };
  return [...line('API', result.api.cpu), ...line('raw', result.raw.cpu)];
}

/** The markdown table of the start call's and the decision's latency, API against raw, then the errors line (also for bench/capacity.ts). */
export function latencyLines(api: Pick<PhaseResult, 'sent' | 'errors' | 'errorSamples' | 'start' | 'decision'>, raw: typeof api): string[] {
  const f = (n: number) => (Number.isFinite(n) ? n.toFixed(1) : '–');
  const row = (name: string, s: LatencySummary) => `| ${name} | ${s.n} | ${f(s.median)} | ${f(s.p95)} | ${f(s.p99)} | ${f(s.max)} |`;
  const errors = (phase: typeof api) => `${phase.errors}/${phase.sent}${phase.errorSamples.length ? ` (${phase.errorSamples.join('; ')})` : ''}`;
  return [
    '| measure | n | p50 ms | p95 ms | p99 ms | max ms |',
    '| --- | --- | --- | --- | --- | --- |',
    row('POST /runs latency', api.start),
    row('raw start latency (client.workflow.start)', raw.start),
    row('decision via API (sent → first task scheduled)', api.decision),
    row('decision via raw start', raw.decision),
    '',
    `errors: API ${errors(api)}, raw ${errors(raw)}`,
  ];
}

/** A markdown report of a result. */
export function apiLoadReport(result: ApiLoadResult): string {
  return [
    `## API load: ${result.rate} starts/s for ${result.seconds} s per phase (open loop)`,
    '',
    ...latencyLines(result.api, result.raw),
    `overhead (p95 API / raw): start ${result.overhead.start.toFixed(2)}×, decision ${result.overhead.decision.toFixed(2)}×`,
    ...cpuLines(result),
    '',
    ...result.targets.map((t) => `- ${t.pass ? 'PASS' : 'FAIL'} ${t.name}: ${Number.isInteger(t.value) ? t.value : t.value.toFixed(2)} (limit ${t.limit})`),
  ].join('\n');
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  const number = (name: string, fallback: number): number => {
    const value = Number(process.env[name] ?? fallback);
    if (!Number.isFinite(value) || value <= 0) throw new Error(`${name} must be a positive number`);
    return value;
  };
  const result = await runApiLoadBenchmark({ rate: number('BENCH_API_RATE', 100), seconds: number('BENCH_API_SECONDS', 60) });
  console.log(apiLoadReport(result));
  console.log(`\n${JSON.stringify(result)}`);
}
