/** The benchmark's report: markdown tables, PASS/FAIL against the targets, and the JSON shape. */
import type { CompilerResult } from './compiler-bench.js';
import type { HistoryProfile } from './history.js';
import type { Shape } from './shapes.js';
import { ms, ratio, type Summary } from './stats.js';
import { VARIANTS, type VariantId } from './variants.js';

/** Measurements of one shape. */
export interface ShapeResult {
  shape: Shape;
  tasks: number;
  /** End-to-end latency (client start → result) per variant. */
  latency: Record<VariantId, Summary>;
  /** Client start → start acknowledged, per variant. */
  startLatency: Record<VariantId, Summary>;
  /**
   * Median ratios; `dOverA` is the policy gate's cost (Maestro with the gate over without);
   * `aOverE` is `aOverC` like for like, both sides with the payload codec.
   */
  ratios: { aOverB: number; aOverC: number; aOverE: number; cOverB: number; dOverA: number };
  /** 95% bootstrap interval of `dOverA` (see `bootstrapMedianRatio`). */
  dOverAInterval: [number, number];
  /** The median of d/a taken iteration by iteration, with its 95% interval (see `pairedMedianRatio`). */
  dOverAPaired: { median: number; interval: [number, number] };
  /** p95 ratios. */
  p95Ratios: { aOverB: number; aOverC: number };
  /**
   * The policy check's own time in each d run (its tasks' `admit` and wait for the record, timed inside the worker and
   * summed), in ms and as a share of that run's latency: what the check adds, without the
   * run-to-run noise of comparing two sets of runs. Exact for a sequence; for a fan-out the
   * branches' checks overlap, so the sum overstates it (only seq-10's is checked).
   */
  gate: { ms: Summary; share: Summary };
  /** History of one measured run per variant. */
  history: Record<VariantId, HistoryProfile>;
  samples: Record<VariantId, number[]>;
}

/** One target of the issue, checked. */
export interface TargetCheck {
  target: string;
  actual: string;
  pass: boolean;
}

/** Most the policy gate may add to the 10-step run (issue 5): d/a < 1.05. */
export const POLICY_GATE_TARGET = 1.05;

/** Most the interpreter may cost over hand-written local activities (issue 20): a/c ≤ 1.15. */
export const INTERPRETER_TARGET = 1.15;

/**
 * The issues' targets: a/b ≤ 1.10 and a/c ≤ 1.15 per shape (a/e, like for like, beside it); the
 * 3-step median < 100 ms; Maestro (local activities) under the baseline; the policy gate adding
 * < 5% to the 10-step run.
 */
export function checkTargets(shapes: readonly ShapeResult[]): TargetCheck[] {
  const checks: TargetCheck[] = [];
  for (const result of shapes) {
    checks.push({ target: `${result.shape.name}: a/b ≤ 1.10 (median)`, actual: ratio(result.ratios.aOverB), pass: result.ratios.aOverB <= 1.1 });
  }
  for (const result of shapes) {
    const { aOverC, aOverE } = result.ratios;
    checks.push({
      target: `${result.shape.name}: a/c ≤ ${INTERPRETER_TARGET.toFixed(2)} (median)`,
      actual: `${ratio(aOverC)} (a/e, both with the codec: ${ratio(aOverE)})`,
      pass: aOverC <= INTERPRETER_TARGET,
    });
  }
  const seq3 = shapes.find((result) => result.shape.kind === 'sequential' && result.shape.n === 3);
  if (seq3) {
    const median = seq3.latency.maestro.median;
    checks.push({ target: `${seq3.shape.name}: Maestro median < 100 ms`, actual: `${ms(median)} ms`, pass: median < 100 });
  }
  for (const result of shapes) {
    checks.push({
      target: `${result.shape.name}: Maestro (local activities) under the hand-written baseline, a/b < 1.00 (median)`,
      actual: ratio(result.ratios.aOverB),
      pass: result.ratios.aOverB < 1,
    });
  }
  const seq10 = shapes.find((result) => result.shape.kind === 'sequential' && result.shape.n === 10);
  if (seq10) {
    const [low, high] = seq10.dOverAInterval;
    checks.push({
      target: `${seq10.shape.name}: the policy gate adds < 5%, d/a < ${POLICY_GATE_TARGET.toFixed(2)} (median)`,
      actual: `${ratio(seq10.ratios.dOverA)} (95% interval ${ratio(low)}–${ratio(high)}; paired by iteration ${ratio(seq10.dOverAPaired.median)}, ${ratio(seq10.dOverAPaired.interval[0])}–${ratio(seq10.dOverAPaired.interval[1])})`,
      pass: seq10.ratios.dOverA < POLICY_GATE_TARGET,
    });
    const { share } = seq10.gate;
    checks.push({
      target: `${seq10.shape.name}: the policy check's own time < ${percent(POLICY_GATE_TARGET - 1)} of its run (median per-run share, timed in the worker)`,
      actual: `${percent(share.median)} (mean ${percent(share.mean)}, p95 ${percent(share.p95)}; ${ms(seq10.gate.ms.median)} ms of ${ms(seq10.latency.maestroPolicy.median)})`,
      pass: share.median < POLICY_GATE_TARGET - 1,
    });
  }
  return checks;
}

function percent(fraction: number): string {
  return `${(fraction * 100).toFixed(1)}%`;
}

function table(head: string[], rows: string[][]): string {
  const align = head.map((_, i) => (i === 0 ? ':--' : '--:'));
  return [head, align, ...rows].map((cells) => `| ${cells.join(' | ')} |`).join('\n');
}

/** The report as markdown. */
export function markdownReport(input: {
  shapes: readonly ShapeResult[];
  checks: readonly TargetCheck[];
  compiler: readonly CompilerResult[];
  iterations: number;
  warmup: number;
  serverCommand: readonly string[];
  serverProfile: string;
  environment: string;
}): string {
  const { shapes, checks, compiler } = input;
  const latencyRows = shapes.map((r) => [
    r.shape.name,
    String(r.tasks),
    ...VARIANTS.flatMap((v) => [ms(r.latency[v.id].median), ms(r.latency[v.id].p95)]),
    ratio(r.ratios.aOverB),
    ratio(r.ratios.aOverC),
    ratio(r.ratios.aOverE),
    ratio(r.ratios.dOverA),
  ]);
  const historyRows = shapes.flatMap((r) =>
    VARIANTS.map((v) => {
      const h = r.history[v.id];
      return [
        `${r.shape.name} ${v.letter}`,
        String(h.workflowTasks),
        String(h.activityTasks),
        String(h.localActivityMarkers),
        String(h.searchAttributeUpserts),
        String(h.events),
        String(h.inputBytes),
        String(h.resultBytes),
        ms(h.workflowTaskMs),
        String(h.workflowTaskRetries),
        ms(r.startLatency[v.id].median),
      ];
    }),
  );
  return [
    `## Run latency (client start → result), ms — ${input.iterations} iterations after ${input.warmup} warm-up, round-robin`,
    '',
    ...VARIANTS.map((v) => `- ${v.letter}: ${v.label}`),
    '',
    table(
      ['shape', 'tasks', ...VARIANTS.flatMap((v) => [`${v.letter} median`, `${v.letter} p95`]), 'a/b', 'a/c', 'a/e', 'd/a'],
      latencyRows,
    ),
    '',
    '## Targets',
    '',
    table(['target', 'actual', 'result'], checks.map((c) => [c.target, c.actual, c.pass ? 'PASS' : 'FAIL'])),
    '',
    '## Per run, from the histories of the measured runs (medians)',
    '',
    table(
      ['shape variant', 'workflow tasks', 'activity tasks', 'LA markers', 'SA upserts', 'events', 'input B', 'result B', 'WFT ms', 'WFT retries (sum)', 'start ms'],
      historyRows,
    ),
    '',
    'WFT ms: sum of WorkflowTaskStarted → Completed, i.e. the worker holding workflow tasks (local activities run inside them).',
    'WFT retries: WorkflowTaskFailed/TimedOut events over all measured runs (0 when healthy).',
    'start ms: client start call → acknowledged (Maestro also writes its 5 search attributes).',
    '',
    '## Compiler: parse + validate + compile (digest included)',
    '',
    table(
      ['manifest', 'tasks', 'YAML bytes', 'median ms', 'p95 ms', 'runs'],
      compiler.map((c) => [c.manifest, String(c.tasks), String(c.yamlBytes), ms(c.summary.median), ms(c.summary.p95), String(c.summary.n)]),
    ),
    '',
    `Dev server (${input.serverProfile}): \`${input.serverCommand.join(' ')}\``,
    '',
    `Environment: ${input.environment}`,
  ].join('\n');
}

/** Rounds every number in a JSON value to 0.001, for readable result files. */
export function rounded(value: unknown): unknown {
  return JSON.parse(JSON.stringify(value, (_key, v: unknown) => (typeof v === 'number' && !Number.isInteger(v) ? Math.round(v * 1000) / 1000 : v)));
}
