/**
 * What bounding expressions costs (issue 19):
 * - CEL: `evaluate` (cost-metered program, input and JSON conversion) against the same expression
 *   planned by @bufbuild/cel without the meter, per evaluation — an upper bound of the accounting's
 *   cost, since the unmetered side skips Maestro's input and output conversion too;
 * - JSONata: `tasks/transform.map`'s thread pool against evaluating on the calling thread, per row,
 *   for a task of 1 row (the round trip dominates) and of 1,000 rows.
 * Variants alternate call by call after a warm-up, so drift hits both alike.
 *
 * `tsx bench/expressions.ts [iterations]` prints a table; `benchExpressions()` returns the figures.
 */
import { loadavg } from 'node:os';
import { fileURLToPath } from 'node:url';
import { celEnv, parse, plan, type CelInput } from '@bufbuild/cel';
import jsonata from 'jsonata';
import { jsonataPool } from '../src/tasks/jsonata-pool.js';
import { evaluate } from '../src/ir/index.js';
import { summarize, type Summary } from './stats.js';

/** One comparison: per-operation times of the baseline and the bounded path, in µs. */
export interface ExpressionOverhead {
  name: string;
  baseline: Summary;
  bounded: Summary;
  /** `bounded.median - baseline.median`, in µs. */
  addedMedian: number;
}

/** What {@link benchExpressions} measured. */
export interface ExpressionBenchResult {
  iterations: number;
  cel: ExpressionOverhead[];
  jsonata: ExpressionOverhead[];
  loadAverage: { start: number; end: number };
}

const HOSTS = Array.from({ length: 20 }, (_, i) => `host-${i}.example`);
const NUMBERS = Array.from({ length: 100 }, (_, i) => i);
const CEL_CASES: { name: string; expression: string }[] = [
  { name: 'comparison', expression: "params.env == 'prod' && params.replicas > 2.0" },
  { name: 'all over 20 params', expression: 'params.hosts.all(h, h.endsWith(".example"))' },
  { name: 'map over 100 params', expression: 'params.numbers.map(n, n * 2.0)' },
];
const BINDINGS = { params: { env: 'prod', replicas: 3, hosts: HOSTS, numbers: NUMBERS }, tasks: {} };

/** Alternates `a` and `b` `iterations` times after `warmup` rounds; per-call times in µs. */
async function alternate(iterations: number, warmup: number, a: () => unknown, b: () => unknown): Promise<[number[], number[]]> {
  const times: [number[], number[]] = [[], []];
  for (let i = 0; i < warmup + iterations; i += 1) {
    const order = i % 2 === 0 ? ([0, 1] as const) : ([1, 0] as const);
    for (const which of order) {
      const started = performance.now();
      await (which === 0 ? a : b)();
      if (i >= warmup) times[which].push((performance.now() - started) * 1000);
    }
  }
  return times;
}

function overhead(name: string, [baseline, bounded]: [number[], number[]], perOperation = 1): ExpressionOverhead {
  const scale = (samples: number[]) => summarize(samples.map((sample) => sample / perOperation));
  const a = scale(baseline);
  const b = scale(bounded);
  return { name, baseline: a, bounded: b, addedMedian: b.median - a.median };
}

/** Measures the CEL meter and the JSONata pool against their unbounded paths. */
export async function benchExpressions({ iterations = 300, warmup = 30 } = {}): Promise<ExpressionBenchResult> {
  const start = loadavg()[0] ?? 0;
  const env = celEnv();
  const cel: ExpressionOverhead[] = [];
  for (const { name, expression } of CEL_CASES) {
    const unmetered = plan(env, parse(expression));
    const input = BINDINGS as unknown as Record<string, CelInput>;
    cel.push(overhead(name, await alternate(iterations, warmup, () => unmetered(input), () => evaluate(expression, BINDINGS))));
  }
  const expression = '{ "id": id, "name": $uppercase(name), "position": $index }';
  const compiled = jsonata(expression);
  const limits = { timeoutMs: 1_000, maxDepth: 500, forbidden: ['now', 'millis', 'random'], maxOutputBytes: 16 * 1024 * 1024 };
  const signal = new AbortController().signal;
  const jsonataResults: ExpressionOverhead[] = [];
  for (const count of [1, 1_000]) {
    const rows = Array.from({ length: count }, (_, i) => ({ id: i, name: `row-${i}` }));
    const inThread = async () => {
      const out: unknown[] = [];
      for (const [index, row] of rows.entries()) out.push(await compiled.evaluate(row, { index }));
      return out;
    };
    const pooled = () => jsonataPool().map(expression, rows, limits, signal);
    const rounds = count === 1 ? iterations : Math.max(10, Math.round(iterations / 10));
    jsonataResults.push(overhead(`${count} row${count === 1 ? '' : 's'} per task (per row)`, await alternate(rounds, Math.max(3, warmup / 10), inThread, pooled), count));
  }
  return { iterations, cel, jsonata: jsonataResults, loadAverage: { start, end: loadavg()[0] ?? 0 } };
}

/** A markdown table of the result. */
export function expressionsMarkdown(result: ExpressionBenchResult): string {
  const f = (value: number): string => value.toFixed(1);
  const rows = (items: ExpressionOverhead[]) =>
    items.map((r) => `| ${r.name} | ${f(r.baseline.median)} | ${f(r.baseline.p95)} | ${f(r.bounded.median)} | ${f(r.bounded.p95)} | ${f(r.addedMedian)} |`);
  return [
    `CEL per evaluation: unmetered @bufbuild/cel vs Maestro's metered \`evaluate\` (µs), ${result.iterations} interleaved calls each`,
    '',
    '| expression | unmetered p50 | p95 | metered p50 | p95 | added p50 |',
    '| --- | ---: | ---: | ---: | ---: | ---: |',
    ...rows(result.cel),
    '',
    'JSONata per row: in the calling thread vs the thread pool (µs)',
    '',
    '| rows | in-thread p50 | p95 | pool p50 | p95 | added p50 |',
    '| --- | ---: | ---: | ---: | ---: | ---: |',
    ...rows(result.jsonata),
    '',
    `load average ${result.loadAverage.start.toFixed(1)} → ${result.loadAverage.end.toFixed(1)}`,
  ].join('\n');
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  const result = await benchExpressions({ iterations: Number(process.argv[2] ?? 300) });
  console.log(expressionsMarkdown(result));
  console.log(JSON.stringify(result));
}
