/**
 * `npm run bench`: Maestro's interpreter against hand-written Temporal workflows, on a dev server of
 * its own, in one process, round-robin across variants so drift hits them all alike.
 *
 * Environment:
 * - `BENCH_ITERATIONS` measured iterations per shape and variant, at most (default 60: about 1.5 minutes on
 *   2 idle cores);
 * - `BENCH_TIME_BUDGET` seconds since start after which no new iteration begins, once at least
 *   {@link MIN_ITERATIONS} are measured (default 210, so `npm run bench` ends within 5 minutes even on
 *   a busy machine; 0: no limit);
 * - `BENCH_WARMUP` discarded iterations first (default 5);
 * - `BENCH_COMPILE_ITERATIONS` measured parse+compile runs per 1,000-task manifest (default 10);
 * - `BENCH_SERVER` `tuned` (default: the stock dev server plus {@link TUNED_DYNAMIC_CONFIG}) or `stock`;
 * - `BENCH_SHAPES` comma-separated shape names to run (default all: seq-3, seq-10, fan-100).
 *
 * Prints a markdown report and writes JSON to bench/results/. Targets are reported PASS/FAIL; the exit
 * code is 0 unless something failed to run.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { cpus, loadavg, platform, release } from 'node:os';
import { fileURLToPath } from 'node:url';
import { benchCompile, chainManifest, layeredManifest, type CompilerResult } from './compiler-bench.js';
import { TUNED_DYNAMIC_CONFIG, startBenchEngine } from './engine.js';
import { medianProfile, profileHistories, type HistoryProfile } from './history.js';
import { checkTargets, markdownReport, rounded, type ShapeResult } from './report.js';
import { SHAPES, taskCount, type Shape } from './shapes.js';
import { summarize, type Summary } from './stats.js';
import { VARIANTS, variantRunners, type Sample, type VariantId } from './variants.js';

const RESULTS_DIR = fileURLToPath(new URL('./results/', import.meta.url));
/** The time budget never cuts the measurement shorter than this. */
const MIN_ITERATIONS = 10;

function positiveInt(name: string, fallback: number, minimum = 1): number {
  const raw = process.env[name];
  if (raw === undefined || raw === '') return fallback;
  const value = Number(raw);
  if (!Number.isInteger(value) || value < minimum) throw new Error(`${name} must be an integer ≥ ${minimum}, got "${raw}"`);
  return value;
}

function serverProfile(): 'tuned' | 'stock' {
  const raw = process.env.BENCH_SERVER ?? 'tuned';
  if (raw !== 'tuned' && raw !== 'stock') throw new Error(`BENCH_SERVER must be "tuned" or "stock", got "${raw}"`);
  return raw;
}

function selectedShapes(): Shape[] {
  const raw = process.env.BENCH_SHAPES;
  if (!raw) return [...SHAPES];
  const names = raw.split(',').map((name) => name.trim());
  const unknown = names.filter((name) => !SHAPES.some((shape) => shape.name === name));
  if (unknown.length > 0) throw new Error(`BENCH_SHAPES: unknown shape(s) ${unknown.join(', ')}; known: ${SHAPES.map((s) => s.name).join(', ')}`);
  return SHAPES.filter((shape) => names.includes(shape.name));
}

/** `items` rotated left by `by`: iteration i starts with a different variant, so order effects cancel. */
function rotate<T>(items: readonly T[], by: number): T[] {
  const k = by % items.length;
  return [...items.slice(k), ...items.slice(0, k)];
}

const perVariant = <T>(make: (id: VariantId) => T): Record<VariantId, T> =>
  Object.fromEntries(VARIANTS.map((v) => [v.id, make(v.id)])) as Record<VariantId, T>;

async function main(): Promise<void> {
  const iterations = positiveInt('BENCH_ITERATIONS', 60);
  const warmup = positiveInt('BENCH_WARMUP', 5, 0);
  const budgetMs = positiveInt('BENCH_TIME_BUDGET', 210, 0) * 1000;
  const compileIterations = positiveInt('BENCH_COMPILE_ITERATIONS', 10);
  const shapes = selectedShapes();
  const server = serverProfile();
  const load = (): string => loadavg().map((x) => x.toFixed(2)).join(' ');
  const loadAtStart = load();

  // The compiler first, alone on the CPU.
  const compiler: CompilerResult[] = [
    benchCompile('layered 20×50', layeredManifest(), compileIterations, 2),
    benchCompile('chain 1000', chainManifest(), compileIterations, 2),
  ];
  for (const c of compiler) console.error(`compiler: ${c.manifest}: median ${c.summary.median.toFixed(1)} ms`);

  const engine = await startBenchEngine({ dynamicConfig: server === 'tuned' ? TUNED_DYNAMIC_CONFIG : {} });
  try {
    console.error(`dev server: ${engine.serverCommand.join(' ')}`);
    const run = variantRunners(engine.client, shapes);
    const samples = new Map(shapes.map((shape) => [shape.name, perVariant<Sample[]>(() => [])]));
    const began = performance.now();
    let measured = 0;
    for (let i = 0; i < warmup + iterations; i += 1) {
      const iterationStart = performance.now();
      for (const shape of shapes) {
        for (const variant of rotate(VARIANTS, i)) {
          const sample = await run[variant.id](shape);
          if (i >= warmup) samples.get(shape.name)?.[variant.id].push(sample);
        }
      }
      const phase = i < warmup ? `warm-up ${i + 1}/${warmup}` : `iteration ${i + 1 - warmup}/${iterations}`;
      if (i < warmup || (i + 1 - warmup) % 5 === 0 || i + 1 === warmup + iterations) {
        console.error(`${phase} (${((performance.now() - began) / 1000).toFixed(0)} s)`);
      }
      if (i >= warmup) measured += 1;
      // performance.now() counts from process start: the budget covers start-up and bundling too.
      const wouldEnd = performance.now() + (performance.now() - iterationStart);
      if (budgetMs > 0 && measured >= MIN_ITERATIONS && measured < iterations && wouldEnd > budgetMs) {
        console.error(`time budget of ${budgetMs / 1000} s reached: stopping after ${measured} of ${iterations} iterations`);
        break;
      }
    }

    const results: ShapeResult[] = [];
    for (const shape of shapes) {
      const byVariant = samples.get(shape.name) as Record<VariantId, Sample[]>;
      const latency = perVariant<Summary>((id) => summarize(byVariant[id].map((s) => s.totalMs)));
      const history = {} as Record<VariantId, HistoryProfile>;
      for (const { id } of VARIANTS) {
        history[id] = medianProfile(await profileHistories(engine.client, byVariant[id].map((s) => s.workflowId)));
      }
      results.push({
        shape,
        tasks: taskCount(shape),
        latency,
        startLatency: perVariant((id) => summarize(byVariant[id].map((s) => s.startMs))),
        ratios: {
          aOverB: latency.maestro.median / latency.baseline.median,
          aOverC: latency.maestro.median / latency.baselineLocal.median,
          cOverB: latency.baselineLocal.median / latency.baseline.median,
        },
        p95Ratios: {
          aOverB: latency.maestro.p95 / latency.baseline.p95,
          aOverC: latency.maestro.p95 / latency.baselineLocal.p95,
        },
        history,
        samples: perVariant((id) => byVariant[id].map((s) => s.totalMs)),
      });
    }

    // Other work on the machine shows up as noise: say how busy it was.
    const environment = `${cpus().length} × ${cpus()[0]?.model.trim() ?? 'cpu'}, ${platform()} ${release()}, Node ${process.version}; load average ${loadAtStart} at start, ${load()} at end`;
    const checks = checkTargets(results);
    console.log(
      markdownReport({ shapes: results, checks, compiler, iterations: measured, warmup, serverCommand: engine.serverCommand, serverProfile: server, environment }),
    );
    mkdirSync(RESULTS_DIR, { recursive: true });
    const file = `${RESULTS_DIR}bench-${new Date().toISOString().replace(/[:.]/g, '-')}.json`;
    const json = {
      at: new Date().toISOString(),
      environment,
      iterations: measured,
      iterationsRequested: iterations,
      timeBudgetSeconds: budgetMs / 1000,
      warmup,
      devServer: { profile: server, command: engine.serverCommand, sqlitePragmas: engine.sqlitePragmas, persistence: 'SQLite file in a temp folder' },
      variants: VARIANTS,
      shapes: results,
      targets: checks,
      compiler,
    };
    writeFileSync(file, `${JSON.stringify(rounded(json), null, 2)}\n`);
    console.log(`\nJSON: ${file}`);
  } finally {
    await engine.close();
  }
}

try {
  await main();
} catch (error) {
  console.error('bench failed:', error);
  process.exitCode = 1;
}
