/**
 * The DAG shapes the benchmark runs, each in two forms that do the same work: a Maestro manifest
 * (YAML, compiled to the IR) and the arguments of the hand-written baseline workflows. Every task is
 * `tasks/transform.map@0.1.0` with the same input in both forms, so `runTask` sees identical calls.
 */
import type { RunTaskInput } from '../src/ir/index.js';

/** The catalog task every benchmark task runs: short and pure, a local activity in Maestro. */
export const BENCH_TASK = 'tasks/transform.map@0.1.0';

/**
 * How the tasks of a shape depend on each other: a chain, a fan-out and join, a parent whose `n`
 * tasks each run a child workflow of one task, all at once, or a saga (a chain whose last step
 * fails, after which the other steps' compensations run, latest first).
 */
export type ShapeKind = 'sequential' | 'fanOutIn' | 'children' | 'saga';

/** One benchmark shape. */
export interface Shape {
  /** Short label used in tables and JSON, e.g. `seq-3`. */
  name: string;
  kind: ShapeKind;
  /** Chain length (`sequential`, `saga`) or number of parallel branches before the join (`fanOutIn`). */
  n: number;
}

/**
 * The shapes of the issues' benchmark: 3 and 10 sequential tasks, 100 in parallel then a join, a
 * parent running 10 child workflows of one task each, and a 10-step saga failing at step 10 (9
 * compensations run).
 */
export const SHAPES: readonly Shape[] = [
  { name: 'seq-3', kind: 'sequential', n: 3 },
  { name: 'seq-10', kind: 'sequential', n: 10 },
  { name: 'fan-100', kind: 'fanOutIn', n: 100 },
  { name: 'children-10', kind: 'children', n: 10 },
  { name: 'saga-10', kind: 'saga', n: 10 },
];

/** Tasks a shape runs in total (for `children`, the children's tasks; a saga: its steps and the compensations of all but the last). */
export function taskCount(shape: Shape): number {
  if (shape.kind === 'saga') return 2 * shape.n - 1;
  return shape.kind === 'fanOutIn' ? shape.n + 1 : shape.n;
}

/** The child workflow of the `children` shape: one task mapping the row `[i]`, its rows as the run's outputs. */
export const CHILD_WORKFLOW = { name: 'bench-child', version: '1.0.0' } as const;
export const CHILD_TASK_ID = 'map';
export const childId = (index: number): string => `child${index}`;

/** The Maestro manifest of {@link CHILD_WORKFLOW}. */
export function childManifestYaml(): string {
  return [
    'apiVersion: maestro/v1',
    'kind: Workflow',
    'metadata:',
    `  name: ${CHILD_WORKFLOW.name}`,
    `  version: ${CHILD_WORKFLOW.version}`,
    'spec:',
    '  policy: { purpose: benchmark, authority: maestro-bench, license: internal }',
    '  parameters:',
    '    - { name: i, type: integer, required: true }',
    '  tasks:',
    `    - { id: ${CHILD_TASK_ID}, uses: ${BENCH_TASK}, with: { rows: ["\${params.i}"], expression: "${BRANCH_EXPRESSION}" } }`,
    '  outputs:',
    `    rows: "\${tasks.${CHILD_TASK_ID}.outputs.rows}"`,
  ].join('\n');
}

/** How a shape's run ends: a saga fails (its last step does), whatever undoes it. */
export function expectedStatus(shape: Shape): 'SUCCEEDED' | 'FAILED' {
  return shape.kind === 'saga' ? 'FAILED' : 'SUCCEEDED';
}

/** Arguments of the baseline workflows (`sequential`, `fanOutIn` and their local-activity twins). */
export interface BaselineArgs {
  n: number;
  uses: string;
  namespace: string;
}

// The task inputs, shared by the manifest and the baseline so both send `runTask` the same thing.
/** First step of a chain: a constant row list. */
export const SEQ_FIRST_ROWS = [1, 2, 3];
/** Every step of a chain adds one to each row of the previous step's output. */
export const SEQ_EXPRESSION = '$ + 1';
/** Branch i maps the single row `[i]`. */
export const BRANCH_EXPRESSION = '$ * 2';
/** The join maps the first row of every branch's output, in branch order. */
export const JOIN_EXPRESSION = '$ + 1';
/** The last step of a saga fails (JSONata's `$error`), on the rows of the step before. */
export const SAGA_FAIL_EXPRESSION = '$error("step failed")';
/** A saga step's compensation maps its step's output rows back. */
export const COMPENSATE_EXPRESSION = '$ - 1';

export const stepId = (index: number): string => `step${index + 1}`;
export const branchId = (index: number): string => `branch${index}`;
export const JOIN_ID = 'join';
/** The map task of the API load benchmark's workflow (bench/api-load.ts). */
export const LOAD_MAP_ID = 'second';
export const compensationId = (index: number): string => `${stepId(index)}.compensate`;

/** The Maestro manifest of a shape. `maxParallel` is the branch count, so no branch waits for a slot. */
export function manifestYaml(shape: Shape): string {
  const tasks: string[] = [];
  if (shape.kind === 'sequential' || shape.kind === 'saga') {
    const saga = shape.kind === 'saga';
    for (let i = 0; i < shape.n; i += 1) {
      const rows = i === 0 ? JSON.stringify(SEQ_FIRST_ROWS) : `"\${tasks.${stepId(i - 1)}.outputs.rows}"`;
      const last = saga && i === shape.n - 1;
      tasks.push(
        `    - id: ${stepId(i)}`,
        `      uses: ${BENCH_TASK}`,
        ...(i === 0 ? [] : [`      needs: [${stepId(i - 1)}]`]),
        `      with: { rows: ${rows}, expression: '${last ? SAGA_FAIL_EXPRESSION : SEQ_EXPRESSION}' }`,
        ...(saga && !last
          ? [`      compensate: { uses: ${BENCH_TASK}, with: { rows: "\${tasks.${stepId(i)}.outputs.rows}", expression: "${COMPENSATE_EXPRESSION}" } }`]
          : []),
      );
    }
  } else if (shape.kind === 'children') {
    for (let i = 0; i < shape.n; i += 1) tasks.push(`    - { id: ${childId(i)}, uses: "workflow/${CHILD_WORKFLOW.name}@${CHILD_WORKFLOW.version}", with: { i: ${i} } }`);
  } else {
    const branches = Array.from({ length: shape.n }, (_, i) => branchId(i));
    for (const [i, id] of branches.entries()) {
      tasks.push(`    - id: ${id}`, `      uses: ${BENCH_TASK}`, `      with: { rows: [${i}], expression: "${BRANCH_EXPRESSION}" }`);
    }
    const gathered = branches.map((id) => `tasks.${id}.outputs.rows[0]`).join(', ');
    tasks.push(
      `    - id: ${JOIN_ID}`,
      `      uses: ${BENCH_TASK}`,
      `      needs: [${branches.join(', ')}]`,
      `      with: { rows: "\${[${gathered}]}", expression: "${JOIN_EXPRESSION}" }`,
    );
  }
  return [
    'apiVersion: maestro/v1',
    'kind: Workflow',
    'metadata:',
    `  name: bench-${shape.name}`,
    '  version: 1.0.0',
    'spec:',
    '  policy: { purpose: benchmark, authority: maestro-bench, license: internal }',
    `  maxParallel: ${Math.max(shape.n, 1)}`,
    '  tasks:',
    ...tasks,
  ].join('\n');
}

/** What `runTask` receives for one benchmark task; the baseline builds exactly this. */
export function benchTaskInput(runId: string, taskId: string, args: BaselineArgs, input: Record<string, unknown>): RunTaskInput {
  return { runId, taskId, uses: args.uses, input, attempt: 1, namespace: args.namespace, runsOn: 'local' };
}
