/**
 * The `tracing` suite: what one trace per run costs (issue 23).
 * - `on` against `off`, in the same run, round-robin: Maestro's interpreter on its own dev server
 *   (the engine suite's), seq-10 and fan-100; `on` runs carry a trace (every span sampled, exported
 *   over OTLP http/protobuf to a local Jaeger in its own process), `off` runs carry none — the
 *   same worker, so only the spans differ. Target: on ≤ 1.03 × off.
 * - CPU per run, `on` against `off`: this process's CPU time (the worker, its span processing and
 *   the OTLP export, the client) over blocks of runs, an `on` block then an `off` block, the
 *   spans of the `on` block flushed to Jaeger inside it, so its export is counted where it belongs.
 *   CPU time hardly moves with the machine's load, where latency does: the figure that still
 *   says what tracing costs on a busy machine. Jaeger's own CPU (the backend) is not counted.
 * - No exporter: before the SDK is registered, the span helpers an attempt goes through
 *   (`inAttemptSpan`, `inPolicySpan`, `noteCacheHit`) against the bare call, per attempt, and that
 *   times the 10 attempts of seq-10 as a share of its `off` median. Target ≤ 0.5 %. The same
 *   helpers with the SDK registered say what tracing costs in this process, apart from the export.
 *
 * Environment: `BENCH_ITERATIONS` (default 30), `BENCH_WARMUP` (default 3), `BENCH_TIME_BUDGET`
 * (seconds, default 210) as the engine suite reads them; `BENCH_TRACING_CPU_BLOCKS` block pairs per
 * shape for the CPU figure (default 8, 3 runs a block; 0 skips it).
 */
import { randomBytes, randomUUID } from 'node:crypto';
import { startRun, waitForRun } from '../src/client/index.js';
import { resolveJaegerBin, startJaeger } from '../src/devserver/index.js';
import type { CompiledWorkflow, Principal } from '../src/ir/index.js';
import { inAttemptSpan, inPolicySpan, noteCacheHit, startTracing, tracingActive } from '../src/telemetry/index.js';
import { MAESTRO_QUEUE, TUNED_DYNAMIC_CONFIG, startBenchEngine } from './engine.js';
import { SHAPES, taskCount } from './shapes.js';
import { ms, pairedMedianRatio, positiveInt, summarize, type Summary } from './stats.js';
import { compileShape } from './variants.js';

const SHAPE_NAMES = ['seq-10', 'fan-100'];
const PRINCIPAL: Principal = { subject: 'bench', roles: ['operator'], namespaces: ['default'] };
const ON_TARGET = 1.03;
/** Runs per block of the CPU figure. */
const CPU_BLOCK_RUNS = 3;
const NO_EXPORTER_TARGET = 0.005;

/** One shape's figures. */
export interface TracingShapeResult {
  shape: string;
  tasks: number;
  off: Summary;
  on: Summary;
  /** Median of the per-iteration on/off ratios, with its bootstrap 95% interval. */
  onOverOff: { median: number; interval: [number, number] };
  /** CPU ms per run of this process, per block (see the file's comment); empty when not measured. */
  cpu: { off: Summary; on: Summary; onOverOff: { median: number; interval: [number, number] } } | undefined;
}

/** The suite's result. */
export interface TracingBenchResult {
  shapes: TracingShapeResult[];
  iterations: number;
  /** What the span helpers add to one attempt when no SDK is registered, ns (median of 5 rounds). */
  noExporterNsPerAttempt: number;
  /** The same with the SDK registered: the attempt's and its policy decision's spans made, queued for export. */
  onNsPerAttempt: number;
  /** {@link noExporterNsPerAttempt} × seq-10's 10 attempts, as a share of its `off` median. */
  noExporterShareOfSeq10: number;
}

/**
 * ns per attempt the span helpers add: the bare call against the call through them (median of 5
 * rounds of `calls`): with no SDK registered, or with it (spans made and queued for export).
 */
async function helperCost(calls: number): Promise<number> {
  const input = { runId: 'run-1', taskId: 't', uses: 'tasks/transform.map@0.1.0', attempt: 1, namespace: 'default', runsOn: 'local' as const, trace: { traceId: randomBytes(16).toString('hex') } };
  const decision = { decision: { decisionId: 'd' } };
  const work = (): Promise<typeof decision> => Promise.resolve(decision);
  const time = async (attempt: () => Promise<unknown>): Promise<number> => {
    const start = process.hrtime.bigint();
    for (let i = 0; i < calls; i += 1) await attempt();
    return Number(process.hrtime.bigint() - start) / calls;
  };
  const rounds: number[] = [];
  for (let round = 0; round < 5; round += 1) {
    const bare = await time(async () => {
      await work();
      return work();
    });
    const helped = await time(() =>
      inAttemptSpan(input, async () => {
        await inPolicySpan(work);
        noteCacheHit(false);
        return work();
      }),
    );
    rounds.push(helped - bare);
  }
  return Math.max(0, summarize(rounds).median);
}

/** Runs the suite (see the file's comment). */
export async function benchTracing(): Promise<TracingBenchResult> {
  const iterations = positiveInt('BENCH_ITERATIONS', 30);
  const warmup = positiveInt('BENCH_WARMUP', 3, 0);
  const budgetMs = positiveInt('BENCH_TIME_BUDGET', 210, 0) * 1000;
  if (tracingActive()) throw new Error('the no-exporter measure needs a process with no trace SDK registered');
  const noExporterNsPerAttempt = await helperCost(100_000);

  const jaeger = await startJaeger({ bin: resolveJaegerBin(process.env.MAESTRO_JAEGER_BIN, { install: true }) });
  process.env.OTEL_EXPORTER_OTLP_ENDPOINT = jaeger.otlpUrl;
  const tracing = startTracing('maestro-bench');
  const onNsPerAttempt = await helperCost(2_000);
  const engine = await startBenchEngine({ dynamicConfig: TUNED_DYNAMIC_CONFIG });
  try {
    const shapes = SHAPES.filter((shape) => SHAPE_NAMES.includes(shape.name));
    const compiled = new Map(shapes.map((shape) => [shape.name, compileShape(shape)]));
    const samples = new Map(shapes.map((shape) => [shape.name, { off: [] as number[], on: [] as number[] }]));
    const runOnce = async (shape: string, traced: boolean): Promise<number> => {
      const runId = `bench-trace-${shape}-${randomUUID()}`;
      const trace = traced ? { traceId: randomBytes(16).toString('hex') } : {};
      const parent = traced ? { traceParent: `00-${trace.traceId}-${randomBytes(8).toString('hex')}-01` } : {};
      const t0 = performance.now();
      await startRun(engine.maestroClient, { compiled: compiled.get(shape) as CompiledWorkflow, params: {}, taskQueue: MAESTRO_QUEUE, runId, principal: PRINCIPAL, cache: 'bypass', ...trace, ...parent });
      const state = await waitForRun(engine.maestroClient, runId);
      if (state.status !== 'SUCCEEDED') throw new Error(`run ${runId} ended ${state.status}`);
      return performance.now() - t0;
    };
    const began = performance.now();
    let measured = 0;
    for (let i = 0; i < warmup + iterations; i += 1) {
      const iterationStart = performance.now();
      for (const shape of shapes) {
        // Alternating which goes first, so order effects cancel.
        const order = i % 2 === 0 ? [false, true] : [true, false];
        for (const traced of order) {
          const elapsed = await runOnce(shape.name, traced);
          if (i >= warmup) samples.get(shape.name)?.[traced ? 'on' : 'off'].push(elapsed);
        }
      }
      if (i >= warmup) measured += 1;
      if (i + 1 === warmup || (measured > 0 && measured % 5 === 0)) console.error(`tracing: ${measured}/${iterations} (${((performance.now() - began) / 1000).toFixed(0)} s)`);
      const wouldEnd = performance.now() + (performance.now() - iterationStart);
      if (budgetMs > 0 && measured >= 10 && measured < iterations && wouldEnd - began > budgetMs) break;
    }
    const cpuBlocks = positiveInt('BENCH_TRACING_CPU_BLOCKS', 8, 0);
    const cpu = new Map(shapes.map((shape) => [shape.name, { off: [] as number[], on: [] as number[] }]));
    /** CPU ms per run of a block of runs of `shape`, an `on` block's spans exported within it. */
    const cpuBlock = async (shape: string, traced: boolean): Promise<number> => {
      const before = process.cpuUsage();
      for (let run = 0; run < CPU_BLOCK_RUNS; run += 1) await runOnce(shape, traced);
      if (traced) await tracing.flush();
      const used = process.cpuUsage(before);
      return (used.user + used.system) / 1000 / CPU_BLOCK_RUNS;
    };
    for (let block = 0; block < cpuBlocks; block += 1) {
      for (const shape of shapes) {
        const order = block % 2 === 0 ? [true, false] : [false, true];
        for (const traced of order) cpu.get(shape.name)?.[traced ? 'on' : 'off'].push(await cpuBlock(shape.name, traced));
      }
      console.error(`tracing: CPU block ${block + 1}/${cpuBlocks}`);
    }
    const results = shapes.map((shape): TracingShapeResult => {
      const { off, on } = samples.get(shape.name) as { off: number[]; on: number[] };
      const used = cpu.get(shape.name) as { off: number[]; on: number[] };
      return {
        shape: shape.name,
        tasks: taskCount(shape),
        off: summarize(off),
        on: summarize(on),
        onOverOff: pairedMedianRatio(on, off),
        cpu: used.on.length === 0 ? undefined : { off: summarize(used.off), on: summarize(used.on), onOverOff: pairedMedianRatio(used.on, used.off) },
      };
    });
    const seq10 = results.find((r) => r.shape === 'seq-10');
    const noExporterShareOfSeq10 = seq10 === undefined ? Number.NaN : (noExporterNsPerAttempt * 10) / 1e6 / seq10.off.median;
    return { shapes: results, iterations: measured, noExporterNsPerAttempt, onNsPerAttempt, noExporterShareOfSeq10 };
  } finally {
    await engine.close();
    await tracing.shutdown();
    await jaeger.stop();
    delete process.env.OTEL_EXPORTER_OTLP_ENDPOINT;
  }
}

/** The suite's markdown section. */
export function tracingMarkdown(result: TracingBenchResult): string {
  const pass = (ok: boolean): string => (ok ? '**PASS**' : '**FAIL**');
  const cpuRows = result.shapes.flatMap((r) =>
    r.cpu === undefined
      ? []
      : [`| ${r.shape} | ${ms(r.cpu.off.median)} | ${ms(r.cpu.on.median)} | ${r.cpu.onOverOff.median.toFixed(3)} [${r.cpu.onOverOff.interval.map((x) => x.toFixed(3)).join(', ')}] | ${pass(r.cpu.onOverOff.median <= ON_TARGET)} |`],
  );
  const rows = result.shapes.map(
    (r) =>
      `| ${r.shape} | ${r.tasks} | ${ms(r.off.median)} | ${ms(r.on.median)} | ${r.onOverOff.median.toFixed(3)} [${r.onOverOff.interval.map((x) => x.toFixed(3)).join(', ')}] | ${pass(r.onOverOff.median <= ON_TARGET)} |`,
  );
  return [
    '## Tracing: one trace per run',
    '',
    `On: every span sampled, exported over OTLP (http/protobuf) to a local Jaeger; off: the same worker, runs without a trace. ${result.iterations} iterations, alternating; medians in ms.`,
    '',
    '| shape | tasks | off | on | on/off (paired median, 95% CI) | ≤ 1.03 |',
    '| --- | --: | --: | --: | --: | --- |',
    ...rows,
    '',
    ...(cpuRows.length === 0
      ? []
      : [
          `CPU per run of this process (worker, span processing and OTLP export, client; not Jaeger's nor the Temporal server's), blocks of ${CPU_BLOCK_RUNS} runs, an \`on\` block's spans flushed within it; medians in ms:`,
          '',
          '| shape | off CPU | on CPU | on/off (paired by block, 95% CI) | ≤ 1.03 |',
          '| --- | --: | --: | --: | --- |',
          ...cpuRows,
          '',
        ]),
    `Tracing on, in this process: the span helpers add ${(result.onNsPerAttempt / 1000).toFixed(1)} µs per attempt (its span and its policy decision's, made and queued for export); the export itself runs in batches, and Jaeger shares this machine's cores.`,
    '',
    `No exporter (no SDK registered): the span helpers add ${result.noExporterNsPerAttempt.toFixed(0)} ns per attempt; seq-10's 10 attempts: ${(result.noExporterShareOfSeq10 * 100).toFixed(4)}% of its median (target ≤ 0.5%): ${pass(result.noExporterShareOfSeq10 <= NO_EXPORTER_TARGET)}`,
  ].join('\n');
}
