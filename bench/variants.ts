/**
 * The ways the benchmark runs a shape, each measured from the client's start call to the run's
 * result:
 * - `maestro` (a): the compiled manifest, interpreted by `dagInterpreter` (transform.map → local activities);
 * - `maestroPolicy` (d): the same with the policy gate on: every task decided by the embedded PDP
 *   and its decision appended to the hash-chained SQLite log before it runs;
 * - `baseline` (b): hand-written workflow, regular activities;
 * - `baselineLocal` (c): hand-written workflow, local activities;
 * - `baselineLocalCodec` (e): c with Maestro's payload codec on its worker and client, which a
 *   pays for every payload: a/e is the interpreter's overhead like for like, a/c with the
 *   encryption counted against Maestro.
 */
import { randomUUID } from 'node:crypto';
import { WorkflowFailedError, type Client } from '@temporalio/client';
import { builtinCatalog } from '../src/tasks/index.js';
import { startRun, waitForRun } from '../src/client/index.js';
import type { PolicyGate } from '../src/policy/index.js';
import { authorizeRunStart } from '../src/runs/index.js';
import { compileWorkflow } from '../src/compiler/index.js';
import type { CompiledWorkflow, Principal } from '../src/ir/index.js';
import { parseManifest, type SubWorkflows } from '../src/manifest/index.js';
import { BASELINE_CODEC_QUEUE, BASELINE_QUEUE, MAESTRO_POLICY_QUEUE, MAESTRO_QUEUE } from './engine.js';
import { BENCH_TASK, CHILD_WORKFLOW, childManifestYaml, expectedStatus, manifestYaml, type BaselineArgs, type Shape } from './shapes.js';

export type VariantId = 'maestro' | 'maestroPolicy' | 'baseline' | 'baselineLocal' | 'baselineLocalCodec';

/** Variant ids in table order, with their letters from the issue. */
export const VARIANTS: readonly { id: VariantId; letter: string; label: string }[] = [
  { id: 'maestro', letter: 'a', label: 'Maestro (dagInterpreter, local activities)' },
  { id: 'baseline', letter: 'b', label: 'hand-written, proxyActivities' },
  { id: 'baselineLocal', letter: 'c', label: 'hand-written, proxyLocalActivities' },
  { id: 'maestroPolicy', letter: 'd', label: 'Maestro with the policy gate (embedded PDP + decision log)' },
  { id: 'baselineLocalCodec', letter: 'e', label: "hand-written, proxyLocalActivities, with Maestro's payload codec (c like for like with a)" },
];

/** Who the benchmark's runs act for: an operator, which the default policy lets act for `maestro-bench`. */
const BENCH_PRINCIPAL: Principal = { subject: 'bench', roles: ['operator'], namespaces: ['default'] };

/** One measured run. */
export interface Sample {
  workflowId: string;
  /** Client start call → result, ms. */
  totalMs: number;
  /** Client start call → start acknowledged by the server, ms. */
  startMs: number;
}

/** Runs one shape in one variant and times it. */
export type RunOnce = (shape: Shape) => Promise<Sample>;

/** Parses and compiles a manifest, checked against the sub-workflows it names. */
function compileYaml(yaml: string, file: string, workflows: SubWorkflows = new Map()): CompiledWorkflow {
  const manifest = parseManifest(yaml, file, { catalog: builtinCatalog, workflows });
  if (manifest.kind !== 'Workflow') throw new Error(`bench manifest ${file} is not a Workflow`);
  return compileWorkflow(manifest, { catalog: builtinCatalog, workflows });
}

/**
 * Parses and compiles a shape's manifest, as registering it would (once per shape, outside the
 * timing); the `children` shape's child is resolved as registered in namespace `default`.
 */
export function compileShape(shape: Shape): CompiledWorkflow {
  if (shape.kind !== 'children') return compileYaml(manifestYaml(shape), `${shape.name}.yaml`);
  const child = compileYaml(childManifestYaml(), `${CHILD_WORKFLOW.name}.yaml`);
  const ref = { namespace: 'default', ...CHILD_WORKFLOW, digest: child.digest };
  return compileYaml(manifestYaml(shape), `${shape.name}.yaml`, new Map([[`workflow/${CHILD_WORKFLOW.name}@${CHILD_WORKFLOW.version}`, { ok: true, ref, ir: child.ir }]]));
}

/**
 * The run functions of every variant: Maestro's and e's through `clients.maestro` (with the payload
 * codec, as the API and CLI start runs), the other hand-written ones through `clients.baseline`
 * (none). The
 * gated variant's runs are first decided by `runStartGate`, as the API decides a start, and carry
 * those decisions to their tasks' first attempts; that check is the API's and stays outside the
 * timing, as it was before attempts could act on it.
 */
export function variantRunners(clients: { maestro: Client; baseline: Client }, shapes: readonly Shape[], runStartGate: PolicyGate): Record<VariantId, RunOnce> {
  const compiled = new Map(shapes.map((shape) => [shape.name, compileShape(shape)]));
  const baselineArgs = (shape: Shape): BaselineArgs => ({ n: shape.n, uses: BENCH_TASK, namespace: 'default' });

  const interpreted =
    (letter: string, taskQueue: string, gate?: PolicyGate): RunOnce =>
    async (shape) => {
      const workflowId = `bench-${letter}-${shape.name}-${randomUUID()}`;
      const workflow = compiled.get(shape.name) as CompiledWorkflow;
      const taskDecisions = gate && (await authorizeRunStart(gate, { runId: workflowId, principal: BENCH_PRINCIPAL, compiled: workflow, namespace: 'default' }));
      const t0 = performance.now();
      // `cache: 'bypass'`: every task runs, as in the hand-written variants. transform.map is
      // deterministic, so its outputs are cached by default and every run after the first would be
      // answered from the task cache instead of running its tasks.
      await startRun(clients.maestro, { compiled: workflow, params: {}, taskQueue, runId: workflowId, principal: BENCH_PRINCIPAL, cache: 'bypass', ...(taskDecisions ? { taskDecisions } : {}) });
      const t1 = performance.now();
      const state = await waitForRun(clients.maestro, workflowId);
      const t2 = performance.now();
      if (state.status !== expectedStatus(shape)) throw new Error(`Maestro run ${workflowId} ended ${state.status}: ${JSON.stringify(state.error)}`);
      return { workflowId, totalMs: t2 - t0, startMs: t1 - t0 };
    };

  const handWritten =
    (letter: string, workflows: Record<Shape['kind'], string>, client = clients.baseline, taskQueue = BASELINE_QUEUE): RunOnce =>
    async (shape) => {
      const workflowId = `bench-${letter}-${shape.name}-${randomUUID()}`;
      const t0 = performance.now();
      const handle = await client.workflow.start(workflows[shape.kind], { workflowId, taskQueue, args: [baselineArgs(shape)] });
      const t1 = performance.now();
      // A saga's workflow fails once its compensations ran, as Maestro's run does.
      const failed = await handle.result().then(
        () => false,
        (error: unknown) => {
          if (error instanceof WorkflowFailedError && expectedStatus(shape) === 'FAILED') return true;
          throw error;
        },
      );
      const t2 = performance.now();
      if (failed !== (expectedStatus(shape) === 'FAILED')) throw new Error(`baseline run ${workflowId} did not end ${expectedStatus(shape)}`);
      return { workflowId, totalMs: t2 - t0, startMs: t1 - t0 };
    };

  const local = { sequential: 'sequentialLocal', fanOutIn: 'fanOutInLocal', children: 'childrenLocal', saga: 'sagaLocal' };
  return {
    maestro: interpreted('a', MAESTRO_QUEUE),
    maestroPolicy: interpreted('d', MAESTRO_POLICY_QUEUE, runStartGate),
    baseline: handWritten('b', { sequential: 'sequential', fanOutIn: 'fanOutIn', children: 'children', saga: 'sagaRemote' }),
    baselineLocal: handWritten('c', local),
    baselineLocalCodec: handWritten('e', local, clients.maestro, BASELINE_CODEC_QUEUE),
  };
}
