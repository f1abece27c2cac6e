/**
 * Capacity benchmark (suite `capacity`): what a run costs in CPU and what latency it sees, Maestro
 * against Temporal used by hand, in the same run on the same dev server.
 *
 * Six processes, so each one's CPU is counted apart (`/proc/<pid>/stat`): the Temporal dev server;
 * Maestro's API (`maestro api`) and worker (`tsx workers/worker.ts`); and the hand-written side, a
 * starter calling `client.workflow.start` and a worker running `apiLoad` (bench/baseline-workflows.ts,
 * the same tasks as the manifest: a 1 ms timer, the same map as a local activity, a 1 ms timer), both
 * bench/capacity-child.ts. This process sends `POST /runs` to the API.
 *
 * 1. **Rate stepping**: raw starts at each rate of `rates` in turn until the start's p95 reaches
 *    `p95LimitMs`; the highest rate under it is where the rest is measured.
 * 2. **At that rate**: blocks of `POST /runs` and of raw starts, alternating (API, raw, API …) so
 *    drift in the machine's load hits both alike. Each block's CPU window runs from its first call
 *    until no run is left open (the workers' share of the work is in it), minus each process's idle
 *    CPU (measured before the load) over as long. From these: CPU-ms per run of the API against the
 *    starter, of Maestro's worker against the hand-written one, and Temporal's on each side; the
 *    start call's and the decision's (call sent → first task scheduled, from history) p95 on each
 *    side, and their ratio block by block (its spread says how much the machine's load moved it).
 *
 * With `profileDir`, every Node process runs with `--cpu-prof` and the report lists where each spent
 * its CPU during its side's blocks.
 *
 * Run alone: `tsx bench/capacity.ts` (env `BENCH_CAPACITY_RATES`, default `2,5,10,20,40,80`;
 * `BENCH_CAPACITY_SECONDS`, default 30 per side; `BENCH_CPU_PROF`, a folder for the profiles).
 */
import type { ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { readdir, readFile, mkdtemp } from 'node:fs/promises';
import { Agent } from 'node:http';
import { cpus, loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Client, Connection } from '@temporalio/client';
import {
  child,
  latency,
  latencyLines,
  loadThroughApi,
  openLoop,
  processCpuSeconds,
  scheduledTimes,
  startBenchTemporal,
  stopChild,
  tearDown,
  type LatencySummary,
  type LoadCall,
} from './api-load.js';
import type { StarterReply, StarterRequest } from './capacity-child.js';
import { cpuMsPerRun, highestRateUnder, keepStepping, summarizeCpuProfile, type CpuProfile, type ProfileSummary, type RateStep, type Window } from './capacity-stats.js';
import { positiveInt, summarize } from './stats.js';

/** Options of {@link runCapacityBenchmark}. */
export interface CapacityOptions {
  /** Offered rates of the stepping (starts a second), ascending. @default [2, 5, 10, 20, 40, 80] */
  rates?: readonly number[];
  /** Seconds of raw starts per step. @default 10 */
  stepSeconds?: number;
  /** The raw start's p95 the stepping stays under, ms. @default 50 */
  p95LimitMs?: number;
  /** Seconds of load per side at the chosen rate, and again at the CPU rate. @default 30 */
  seconds?: number;
  /** Blocks per side in each phase. @default 3 */
  blocks?: number;
  /**
   * Runs a second while CPU per run is measured: high enough that each process's cost per second
   * (pollers, timers, the API's admission loop) weighs little on each run, low enough for a busy machine.
   * @default 10
   */
  cpuRate?: number;
  /** Seconds each process's idle CPU is measured for, before the load. @default 10 */
  idleSeconds?: number;
  /** A folder for V8 CPU profiles of the Node processes (`--cpu-prof`); none when unset. */
  profileDir?: string;
}

/** The measured processes. */
const PROCESSES = ['temporal', 'api', 'maestroWorker', 'starter', 'baselineWorker'] as const;
type ProcessName = (typeof PROCESSES)[number];

/** CPU-ms per run of each process on one side. */
export type CpuPerRun = Record<ProcessName, number>;

/** One side's figures at the chosen rate. */
export interface SideResult {
  sent: number;
  errors: number;
  errorSamples: string[];
  start: LatencySummary;
  decision: LatencySummary;
  /** p95s of each block, in order: what the block-by-block ratios are made of. */
  blocks: { startP95: number; decisionP95: number }[];
  /** Net of each process's idle CPU over the windows (see {@link cpuMsPerRun}). */
  cpuMsPerRun: CpuPerRun;
  /** Idle CPU included: an upper bound. */
  grossCpuMsPerRun: CpuPerRun;
  /** Seconds of CPU windows (sending, then until no run was open). */
  windowSeconds: number;
}

/** A ratio (Maestro over hand-written) with its spread across blocks. */
export interface SpreadRatio {
  /** Over the pooled samples. */
  value: number;
  /** Smallest and largest over the blocks (API block i against raw block i). */
  min: number;
  max: number;
}

/** The benchmark's result. */
export interface CapacityResult {
  environment: string;
  steps: (RateStep & { decisionP95: number; errors: number })[];
  /** The rate measured at: the highest step under the limit, or the first when none was. */
  rate: number;
  rateUnderLimit: boolean;
  p95LimitMs: number;
  idleCores: Record<ProcessName, number>;
  /** Both sides at {@link CapacityResult.rate}: the latency targets. */
  latency: { api: SideResult; raw: SideResult };
  /** Both sides at the CPU rate: the CPU targets. */
  cpu: { rate: number; api: SideResult; raw: SideResult };
  cpuRatios: { client: number; worker: number; temporal: number };
  latencyRatios: { start: SpreadRatio; decision: SpreadRatio };
  /** Cores a sustained 100 runs/s needs, from the CPU per run: Temporal, workers, API. */
  coresPer100: { maestro: Record<'temporal' | 'worker' | 'api', number>; handWritten: Record<'temporal' | 'worker' | 'client', number> };
  targets: { name: string; value: number; limit: number; pass: boolean }[];
  /** Where each Node process spent its CPU during its side's blocks, when profiled. */
  profiles?: Record<string, ProfileSummary>;
}

const TOKEN = 'bench-capacity-token-0123456789abcdef';
const REPO = fileURLToPath(new URL('..', import.meta.url));
const MAESTRO_QUEUE = 'bench-capacity-maestro';
const RAW_QUEUE = 'bench-capacity-raw';

const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));
/** The monotonic clock in microseconds: the clock of V8's profile timestamps. */
const monotonicUs = (): number => Number(process.hrtime.bigint() / 1000n);

/** Waits until no workflow is open on the server (every run of a block has ended), at most `limitMs`. */
async function drained(client: Client, limitMs = 300_000): Promise<void> {
  const deadline = Date.now() + limitMs;
  while ((await client.workflow.count('ExecutionStatus="Running"')).count > 0) {
    if (Date.now() > deadline) throw new Error(`runs still open after ${limitMs / 1000} s`);
    await sleep(200);
  }
}

/** The starter child's open loop, asked over its IPC channel. */
async function starterLoad(starter: ChildProcess, request: StarterRequest): Promise<LoadCall[]> {
  const reply = once(starter, 'message') as Promise<[StarterReply]>;
  starter.send(request);
  const [{ calls }] = await reply;
  return calls;
}

/** Raw samples of one side. */
interface SideSamples {
  calls: LoadCall[];
  decisions: number[];
  missing: number;
  blocks: { startP95: number; decisionP95: number }[];
  cpuSeconds: Record<ProcessName, number>;
  windowSeconds: number;
  windows: Window[];
}

const emptySide = (): SideSamples => ({
  calls: [],
  decisions: [],
  missing: 0,
  blocks: [],
  cpuSeconds: { temporal: 0, api: 0, maestroWorker: 0, starter: 0, baselineWorker: 0 },
  windowSeconds: 0,
  windows: [],
});

/**
 * Runs the stepping and the measurement (see the file's comment) on a dev server of its own, and
 * checks the targets: CPU per run ≤ 1.2× on the API and the worker side; p95 of `POST /runs` and of
 * the decision ≤ 1.2× raw's; no errors.
 */
export async function runCapacityBenchmark(options: CapacityOptions = {}): Promise<CapacityResult> {
  const { rates = [2, 5, 10, 20, 40, 80], stepSeconds = 10, p95LimitMs = 50, seconds = 30, blocks = 3, cpuRate = 10, idleSeconds = 10, profileDir } = options;
  const dir = await mkdtemp(join(tmpdir(), 'maestro-capacity-'));
  const server = await startBenchTemporal(dir);
  const env = {
    TEMPORAL_ADDRESS: server.address,
    MAESTRO_DATA_DIR: dir,
    MAESTRO_LOG_LEVEL: 'error',
    MAESTRO_DEV_TOKEN: TOKEN,
    MAESTRO_PORT: '0',
    MAESTRO_WORKER_METRICS_PORT: '0',
  };
  // Sampling every 2 ms rather than V8's 1 ms halves the profiler's own cost, which the CPU figures
  // of a profiled run include (measure CPU per run without profiles).
  const nodeArgs = (name: string): string[] => (profileDir ? ['--cpu-prof', '--cpu-prof-interval=2000', `--cpu-prof-dir=${join(profileDir, name)}`] : []);
  const children: ChildProcess[] = [];
  const connection = await Connection.connect({ address: server.address });
  const agent = new Agent({ keepAlive: true });
  const loadAtStart = loadavg().map((x) => x.toFixed(2)).join(' ');
  try {
    const maestroEnv = { ...env, MAESTRO_TASK_QUEUE: MAESTRO_QUEUE };
    const rawEnv = { ...env, MAESTRO_TASK_QUEUE: RAW_QUEUE };
    // The worker logs its state changes at info level: that line says it polls. Four start at once
    // on a machine that may be busy: bundling the workflows alone can then take minutes.
    const start = (name: string, script: string, args: string[], childEnv: Record<string, string>, ready: string, ipc = false) =>
      child(script, args, childEnv, ready, { nodeArgs: nodeArgs(name), ipc, readyWithinMs: 600_000 }).then((c) => (children.push(c.process), c));
    // All settled before going on, so none is still starting when the others are stopped.
    const started = await Promise.allSettled([
      start('maestroWorker', 'workers/worker.ts', [], { ...maestroEnv, MAESTRO_LOG_LEVEL: 'info' }, "state: 'RUNNING'"),
      start('api', 'src/cli/main.ts', ['api'], maestroEnv, 'Maestro API on '),
      start('baselineWorker', 'bench/capacity-child.ts', ['worker'], rawEnv, 'baseline worker ready'),
      start('starter', 'bench/capacity-child.ts', ['starter'], rawEnv, 'starter ready', true),
    ]);
    const failed = started.find((s) => s.status === 'rejected');
    if (failed) throw failed.reason;
    type Child = Awaited<ReturnType<typeof child>>;
    const [maestroWorker, api, baselineWorker, starter] = started.map((s) => (s as PromiseFulfilledResult<Child>).value) as [Child, Child, Child, Child];
    const pids: Record<ProcessName, number | undefined> = {
      temporal: server.process.pid,
      api: api.process.pid,
      maestroWorker: maestroWorker.process.pid,
      starter: starter.process.pid,
      baselineWorker: baselineWorker.process.pid,
    };
    const cpuNow = (): Record<ProcessName, number> => Object.fromEntries(PROCESSES.map((name) => [name, processCpuSeconds(pids[name])])) as Record<ProcessName, number>;
    const client = new Client({ connection });
    const viaApi = await loadThroughApi(agent, api.output(), TOKEN);
    const load = (side: 'api' | 'raw', rate: number, secs: number): Promise<LoadCall[]> =>
      side === 'api' ? openLoop(rate, secs, viaApi) : starterLoad(starter.process, { rate, seconds: secs });

    // Warm both paths (connections, JIT, the workers' workflow caches) outside the measurement.
    for (const side of ['api', 'raw'] as const) await load(side, 10, 2);
    await drained(client);
    await sleep(1000);
    const idleBefore = cpuNow();
    const idleStart = performance.now();
    await sleep(idleSeconds * 1000);
    const idleAfter = cpuNow();
    const idleElapsed = (performance.now() - idleStart) / 1000;
    const idleCores = Object.fromEntries(PROCESSES.map((name) => [name, Math.max(0, (idleAfter[name] - idleBefore[name]) / idleElapsed)])) as Record<ProcessName, number>;

    /** One block: load, wait for its runs to end, then read their first tasks' times from history. */
    const block = async (side: 'api' | 'raw', rate: number, secs: number, into: SideSamples): Promise<void> => {
      const before = cpuNow();
      const began = performance.now();
      const from = monotonicUs();
      const calls = await load(side, rate, secs);
      await drained(client);
      const after = cpuNow();
      into.windows.push({ from, to: monotonicUs() });
      into.windowSeconds += (performance.now() - began) / 1000;
      for (const name of PROCESSES) into.cpuSeconds[name] += after[name] - before[name];
      const ok = calls.filter((c) => c.runId !== undefined);
      const times = await scheduledTimes(client, ok.map((c) => c.runId as string));
      const decisions = ok.flatMap((c) => {
        const at = times.get(c.runId as string);
        return at === undefined ? [] : [at - c.sentAt];
      });
      into.calls.push(...calls);
      into.decisions.push(...decisions);
      into.missing += ok.length - decisions.length;
      into.blocks.push({ startP95: summarize(ok.map((c) => c.took)).p95, decisionP95: summarize(decisions).p95 });
    };

    // 1. Step the raw start's rate up until its p95 reaches the limit.
    const steps: CapacityResult['steps'] = [];
    while (keepStepping(steps, p95LimitMs, rates)) {
      const rate = rates[steps.length] as number;
      const samples = emptySide();
      await block('raw', rate, stepSeconds, samples);
      const ok = samples.calls.filter((c) => c.runId !== undefined);
      steps.push({ rate, startP95: summarize(ok.map((c) => c.took)).p95, decisionP95: summarize(samples.decisions).p95, errors: samples.calls.length - ok.length + samples.missing });
      console.error(`capacity: raw starts at ${rate}/s: start p95 ${steps.at(-1)?.startP95.toFixed(1)} ms`);
    }
    const under = highestRateUnder(steps, p95LimitMs);
    const rate = under ?? (rates[0] as number);

    const side = (samples: SideSamples): SideResult => {
      const ok = samples.calls.filter((c) => c.runId !== undefined);
      const errors = samples.calls.filter((c) => c.error !== undefined).map((c) => c.error as string);
      const perRun = (idle: (name: ProcessName) => number): CpuPerRun =>
        Object.fromEntries(PROCESSES.map((name) => [name, cpuMsPerRun(samples.cpuSeconds[name], idle(name), samples.windowSeconds, ok.length)])) as CpuPerRun;
      return {
        sent: samples.calls.length,
        errors: errors.length + samples.missing,
        errorSamples: [...new Set(errors)].slice(0, 5),
        start: latency(ok.map((c) => c.took)),
        decision: latency(samples.decisions),
        blocks: samples.blocks,
        cpuMsPerRun: perRun((name) => idleCores[name]),
        grossCpuMsPerRun: perRun(() => 0),
        windowSeconds: samples.windowSeconds,
      };
    };
    /** Both sides at `at` runs/s, block by block (API, raw, API …). */
    const measure = async (phase: string, at: number): Promise<{ api: SideResult; raw: SideResult; windows: Record<'api' | 'raw', Window[]> }> => {
      const apiSamples = emptySide();
      const rawSamples = emptySide();
      for (let i = 0; i < blocks; i += 1) {
        await block('api', at, seconds / blocks, apiSamples);
        await block('raw', at, seconds / blocks, rawSamples);
        console.error(`capacity: ${phase} block ${i + 1}/${blocks} at ${at}/s done`);
      }
      return { api: side(apiSamples), raw: side(rawSamples), windows: { api: apiSamples.windows, raw: rawSamples.windows } };
    };
    // 2. Latency at that rate; 3. CPU at a rate where per-second costs weigh little per run.
    const latencyPhase = await measure('latency', rate);
    const cpuPhase = cpuRate === rate ? latencyPhase : await measure('CPU', cpuRate);
    const apiResult = latencyPhase.api;
    const rawResult = latencyPhase.raw;
    const spread = (pick: (b: SideResult['blocks'][number]) => number, pooled: number): SpreadRatio => {
      const ratios = apiResult.blocks.map((b, i) => pick(b) / pick(rawResult.blocks[i] as SideResult['blocks'][number]));
      return { value: pooled, min: Math.min(...ratios), max: Math.max(...ratios) };
    };
    const a = cpuPhase.api.cpuMsPerRun;
    const r = cpuPhase.raw.cpuMsPerRun;
    const cpuRatios = { client: a.api / r.starter, worker: a.maestroWorker / r.baselineWorker, temporal: a.temporal / r.temporal };
    const latencyRatios = {
      start: spread((b) => b.startP95, apiResult.start.p95 / rawResult.start.p95),
      decision: spread((b) => b.decisionP95, apiResult.decision.p95 / rawResult.decision.p95),
    };
    // CPU-ms per run × 100 runs/s = CPU-ms per second = cores × 1000.
    const cores = (msPerRun: number): number => msPerRun / 10;
    const errors = apiResult.errors + rawResult.errors + (cpuPhase === latencyPhase ? 0 : cpuPhase.api.errors + cpuPhase.raw.errors);
    const targets = [
      { name: 'errors (API + raw)', value: errors, limit: 0, pass: errors === 0 },
      { name: `raw start p95 under ${p95LimitMs} ms at some step`, value: under ?? 0, limit: rates[0] as number, pass: under !== undefined },
      { name: 'CPU per run: API / raw client', value: cpuRatios.client, limit: 1.2, pass: cpuRatios.client <= 1.2 },
      { name: 'CPU per run: Maestro worker / hand-written worker', value: cpuRatios.worker, limit: 1.2, pass: cpuRatios.worker <= 1.2 },
      { name: 'p95: POST /runs / raw start', value: latencyRatios.start.value, limit: 1.2, pass: latencyRatios.start.value <= 1.2 },
      { name: 'p95: decision via API / via raw start', value: latencyRatios.decision.value, limit: 1.2, pass: latencyRatios.decision.value <= 1.2 },
    ];
    const environment = `${cpus().length} × ${cpus()[0]?.model.trim() ?? 'cpu'}, Node ${process.version}; load average ${loadAtStart} at start, ${loadavg().map((x) => x.toFixed(2)).join(' ')} at end`;
    const result: CapacityResult = {
      environment,
      steps,
      rate,
      rateUnderLimit: under !== undefined,
      p95LimitMs,
      idleCores,
      latency: { api: apiResult, raw: rawResult },
      cpu: { rate: cpuRate, api: cpuPhase.api, raw: cpuPhase.raw },
      cpuRatios,
      latencyRatios,
      coresPer100: {
        maestro: { temporal: cores(a.temporal), worker: cores(a.maestroWorker), api: cores(a.api) },
        handWritten: { temporal: cores(r.temporal), worker: cores(r.baselineWorker), client: cores(r.starter) },
      },
      targets,
    };
    // Profiles are written as the processes exit: stop them first.
    for (const process_ of children.splice(0).reverse()) await stopChild(process_);
    if (profileDir) {
      const { windows: w } = cpuPhase;
      const windows: Record<string, Window[]> = { api: w.api, maestroWorker: w.api, starter: w.raw, baselineWorker: w.raw };
      result.profiles = {};
      for (const [name, inWindows] of Object.entries(windows)) {
        // One file per thread: the main thread's, tsx's loader's, the workflow and task threads'.
        const files = (await readdir(join(profileDir, name))).filter((f) => f.endsWith('.cpuprofile'));
        const profiles = await Promise.all(files.map(async (file) => JSON.parse(await readFile(join(profileDir, name, file), 'utf8')) as CpuProfile));
        result.profiles[name] = summarizeCpuProfile(profiles, REPO, inWindows);
      }
    }
    return result;
  } finally {
    await tearDown({ agent, children, connection, server, dir });
  }
}

/** A markdown report of a result. */
export function capacityReport(result: CapacityResult): string {
  const f = (n: number, digits = 1): string => (Number.isFinite(n) ? n.toFixed(digits) : '–');
  const { api, raw } = result.cpu;
  const cpuRow = (name: string, maestro: ProcessName, hand: ProcessName): string => {
    const [m, h] = [api.cpuMsPerRun[maestro], raw.cpuMsPerRun[hand]];
    return `| ${name} | ${f(m, 2)} | ${f(h, 2)} | ${f(m / h, 2)}× | ${f(api.grossCpuMsPerRun[maestro], 2)} | ${f(raw.grossCpuMsPerRun[hand], 2)} | ${f(m / 10, 3)} | ${f(h / 10, 3)} |`;
  };
  const spread = (s: SpreadRatio): string => `${f(s.value, 2)}× (blocks ${f(s.min, 2)}–${f(s.max, 2)}×)`;
  const profileLines = Object.entries(result.profiles ?? {}).flatMap(([name, p]) => [
    '',
    `**${name}**: ${f(p.totalMs, 0)} ms sampled in its side's blocks. By area: ${p.areas.slice(0, 8).map((x) => `${x.name} ${f(100 * x.share, 0)}%`).join(', ')}`,
    '',
    ...p.functions.slice(0, 10).map((x) => `- ${f(100 * x.share, 1)}% ${x.name}`),
  ]);
  return [
    `## Capacity: CPU per run and latency, Maestro against hand-written Temporal`,
    '',
    `Machine: ${result.environment}. Rate stepping (raw starts, limit p95 < ${result.p95LimitMs} ms):`,
    '',
    '| rate /s | raw start p95 ms | raw decision p95 ms | errors |',
    '| --: | --: | --: | --: |',
    ...result.steps.map((s) => `| ${s.rate} | ${f(s.startP95)} | ${f(s.decisionP95)} | ${s.errors} |`),
    '',
    result.rateUnderLimit
      ? `Measured at ${result.rate} runs/s, the highest step whose raw start p95 stayed under ${result.p95LimitMs} ms.`
      : `No step kept the raw start p95 under ${result.p95LimitMs} ms: measured at ${result.rate} runs/s.`,
    '',
    `CPU per run at ${result.cpu.rate} runs/s (ms; net: each process's idle CPU over the windows taken off; gross: with it):`,
    '',
    '| process | Maestro | hand-written | ratio | Maestro gross | hand-written gross | Maestro cores per 100 runs/s | hand-written cores per 100 runs/s |',
    '| --- | --: | --: | --: | --: | --: | --: | --: |',
    cpuRow('API vs raw client (`client.workflow.start`)', 'api', 'starter'),
    cpuRow('Maestro worker vs hand-written worker', 'maestroWorker', 'baselineWorker'),
    cpuRow('Temporal dev server (context)', 'temporal', 'temporal'),
    '',
    `Idle CPU (cores): ${Object.entries(result.idleCores).map(([name, c]) => `${name} ${f(c, 3)}`).join(', ')}.`,
    '',
    `Latency at ${result.rate} runs/s:`,
    '',
    ...latencyLines(result.latency.api, result.latency.raw),
    `p95 ratios (API / raw), with the spread over block pairs: start ${spread(result.latencyRatios.start)}, decision ${spread(result.latencyRatios.decision)}.`,
    '',
    ...result.targets.map((t) => `- ${t.pass ? 'PASS' : 'FAIL'} ${t.name}: ${Number.isInteger(t.value) ? t.value : t.value.toFixed(2)} (limit ${t.limit})`),
    ...profileLines,
  ].join('\n');
}

/** Options from the environment: `BENCH_CAPACITY_RATES` (comma-separated), `BENCH_CAPACITY_SECONDS`, `BENCH_CPU_PROF`. */
export function capacityOptionsFromEnv(env: NodeJS.ProcessEnv = process.env): CapacityOptions {
  const rates = env.BENCH_CAPACITY_RATES?.split(',').map(Number);
  if (rates?.some((x) => !Number.isFinite(x) || x <= 0)) throw new Error('BENCH_CAPACITY_RATES must be positive numbers, comma-separated');
  return {
    ...(rates ? { rates } : {}),
    seconds: positiveInt('BENCH_CAPACITY_SECONDS', 30),
    ...(env.BENCH_CPU_PROF ? { profileDir: env.BENCH_CPU_PROF } : {}),
  };
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  const result = await runCapacityBenchmark(capacityOptionsFromEnv());
  console.log(capacityReport(result));
  console.log(`\n${JSON.stringify(result)}`);
}
