import { digestOf } from '../canonical/index.js';
import type { Catalog } from '../catalog/index.js';
import { MaestroError } from '../errors/index.js';
import {
  COMPENSATE_SUFFIX,
  irVersionFor,
  parseDuration,
  type CompiledWorkflow,
  type ParameterSpec,
  type RetryPolicy,
  type TaskNode,
  type WorkflowIR,
} from '../ir/index.js';
import { isSubWorkflowUses, type ForEachManifest, type RetryManifest, type SubWorkflows, type TaskManifest, type WorkflowManifest } from '../manifest/index.js';

/** Options of {@link compileWorkflow}. */
export interface CompileOptions {
  /** Resolves each task's `uses`. */
  catalog: Catalog;
  /**
   * What each `uses: workflow/…` resolved to in the registry (the same the manifest was checked with).
   * @default undefined — a workflow with sub-workflow tasks does not compile (`COMPILE_FAILED`)
   */
  workflows?: SubWorkflows;
}

/** Defaults applied where a manifest is silent; part of the IR so the digest covers them. */
export const DEFAULTS = {
  maxParallel: 32,
  failurePolicy: 'failFast',
  retry: { maxAttempts: 1, initialIntervalMs: 1000, backoffCoefficient: 2, maxIntervalMs: 60_000, jitter: 0.2 },
  /** How long compensations and finally tasks may run, in all. */
  finallyTimeout: '5m',
} as const;

/**
 * Compiles a validated workflow manifest (see `parseManifest`) into the IR and its digest.
 * Pure: the same manifest gives the same IR and digest on every machine.
 *
 * @throws MaestroError `COMPILE_FAILED` if the manifest was not validated first (unknown task,
 *   cycle): validation reports those with positions; reaching them here is a programming error.
 */
export function compileWorkflow(manifest: WorkflowManifest, { catalog, workflows }: CompileOptions): CompiledWorkflow {
  const { metadata, spec } = manifest;
  const embedded: Record<string, WorkflowIR> = {};
  const tasks = topologicalOrder(spec.tasks).map((task) =>
    isSubWorkflowUses(task.uses) ? compileSubWorkflowTask(task, workflows, embedded) : compileTask(task, manifest, catalog),
  );
  const cleanup = spec.finally === undefined ? [] : topologicalOrder(spec.finally).map((task) => compileTask(task, manifest, catalog));
  // Written only for a workflow with compensations or finally tasks, so other IRs keep their digest.
  const hasCleanup = cleanup.length > 0 || tasks.some((task) => task.compensate !== undefined);
  const outputs = spec.outputs === undefined ? undefined : Object.fromEntries(Object.entries(spec.outputs).map(([name, expr]) => [name, unwrapExpression(expr)]));
  const concurrency = spec.concurrency && { key: spec.concurrency.key, limit: spec.concurrency.limit ?? 1, onConflict: spec.concurrency.onConflict ?? 'queue' };
  const ir: WorkflowIR = {
    irVersion: irVersionFor({ tasks, finally: cleanup, ...(outputs === undefined ? {} : { outputs }), ...(concurrency === undefined ? {} : { concurrency }) }),
    name: metadata.name,
    version: metadata.version,
    ...(metadata.description === undefined ? {} : { description: metadata.description }),
    ...(metadata.owner === undefined ? {} : { owner: metadata.owner }),
    parameters: (spec.parameters ?? []).map(
      (p): ParameterSpec => ({
        name: p.name,
        type: p.type,
        required: p.required ?? false,
        ...(p.default === undefined ? {} : { default: p.default }),
        ...(p.enum === undefined ? {} : { enum: p.enum }),
        secret: p.secret ?? false,
        ...(p.description === undefined ? {} : { description: p.description }),
      }),
    ),
    policy: { purpose: spec.policy.purpose, authority: spec.policy.authority, license: spec.policy.license },
    ...(spec.timeout === undefined ? {} : { timeoutMs: duration(spec.timeout, 'spec.timeout') }),
    maxParallel: spec.maxParallel ?? DEFAULTS.maxParallel,
    failurePolicy: spec.failurePolicy ?? DEFAULTS.failurePolicy,
    ...(spec.circuitBreaker === undefined ? {} : { circuitBreaker: { maxFailures: spec.circuitBreaker.maxFailures } }),
    ...(concurrency === undefined ? {} : { concurrency }),
    tasks,
    ...(outputs === undefined ? {} : { outputs }),
    ...(Object.keys(embedded).length === 0 ? {} : { workflows: embedded }),
    ...(cleanup.length === 0 ? {} : { finally: cleanup }),
    ...(hasCleanup ? { finallyTimeoutMs: duration(spec.finallyTimeout ?? DEFAULTS.finallyTimeout, 'spec.finallyTimeout') } : {}),
    ...(spec.finallyFailsRun === true ? { finallyFailsRun: true } : {}),
  };
  return { ir, digest: digestOf(ir) };
}

/**
 * A sub-workflow task: pinned to the exact version and digest its reference resolved to, the
 * child's IR embedded (once per digest) into `embedded`. Its `with` are the child's params.
 */
function compileSubWorkflowTask(task: TaskManifest, workflows: SubWorkflows | undefined, embedded: Record<string, WorkflowIR>): TaskNode {
  const resolution = workflows?.get(task.uses);
  if (!resolution?.ok) {
    throw new MaestroError('COMPILE_FAILED', `task "${task.id}": ${resolution?.message ?? `${task.uses} is resolved where workflows are registered (POST /workflows)`}`);
  }
  const { ref, ir } = resolution;
  embedded[ref.digest] = ir;
  return {
    id: task.id,
    uses: `workflow/${ref.name}@${ref.version}`,
    usesSpec: task.uses,
    execution: 'workflow',
    ...scheduling(task),
    runsOn: 'local',
    ...(task.policy === undefined ? {} : { policy: { ...task.policy } }),
    ...(task.labels === undefined ? {} : { labels: { ...task.labels } }),
    workflow: { ...ref },
  };
}

function compileTask(task: TaskManifest, manifest: WorkflowManifest, catalog: Catalog): TaskNode {
  const resolved = catalog.resolve(task.uses);
  if (!resolved.ok) throw new MaestroError('COMPILE_FAILED', `task "${task.id}": ${resolved.message}`);
  const { definition } = resolved;
  return {
    id: task.id,
    uses: `${definition.name}@${definition.version}`,
    usesSpec: task.uses,
    execution: definition.execution ?? 'activity',
    ...scheduling(task),
    ...(task.cache === undefined && !definition.deterministic
      ? {}
      : {
          cache: {
            enabled: task.cache?.enabled ?? definition.deterministic ?? false,
            ...(task.cache?.ttl === undefined ? {} : { ttlMs: duration(task.cache.ttl, `task "${task.id}" cache.ttl`) }),
          },
        }),
    runsOn: task.runsOn ?? manifest.spec.runsOn ?? 'local',
    ...(task.policy === undefined ? {} : { policy: { ...task.policy } }),
    ...(task.labels === undefined ? {} : { labels: { ...task.labels } }),
    ...(task.compensate === undefined ? {} : { compensate: compileCompensate(task, manifest, catalog) }),
    // A registered task is pinned to what it resolved to: the run carries the code digest it executes.
    ...(definition.execution === 'remote' ? { remote: { ...definition.remote } } : {}),
  };
}

/** What decides when and how often a task runs, alike for catalog tasks and sub-workflows. */
function scheduling(task: TaskManifest): Pick<TaskNode, 'needs' | 'with' | 'when' | 'runIf' | 'forEach' | 'retry' | 'timeoutMs' | 'continueOnError'> {
  return {
    needs: task.needs ?? [],
    with: task.with ?? {},
    ...(task.when === undefined ? {} : { when: unwrapExpression(task.when) }),
    // `success` is the default, left out so that the IR (and digest) of such a task do not change.
    ...(task.runIf === undefined || task.runIf === 'success' ? {} : { runIf: task.runIf }),
    ...(task.forEach === undefined ? {} : { forEach: compileForEach(task.forEach) }),
    retry: compileRetry(task.retry, task.id),
    ...(task.timeout === undefined ? {} : { timeoutMs: duration(task.timeout, `task "${task.id}" timeout`) }),
    continueOnError: task.continueOnError ?? false,
  };
}

/**
 * A task's compensation as a node of its own, `<id>.compensate`: no needs (the interpreter orders
 * compensations), the task's runner, policy overrides and labels (it acts on what the task did).
 */
function compileCompensate(task: TaskManifest, manifest: WorkflowManifest, catalog: Catalog): TaskNode {
  const { uses, with: input, retry, timeout } = task.compensate as NonNullable<TaskManifest['compensate']>;
  return compileTask(
    {
      id: `${task.id}${COMPENSATE_SUFFIX}`,
      uses,
      ...(input === undefined ? {} : { with: input }),
      ...(retry === undefined ? {} : { retry }),
      ...(timeout === undefined ? {} : { timeout }),
      ...(task.runsOn === undefined ? {} : { runsOn: task.runsOn }),
      ...(task.policy === undefined ? {} : { policy: task.policy }),
      ...(task.labels === undefined ? {} : { labels: task.labels }),
    },
    manifest,
    catalog,
  );
}

/** `forEach: "${expr}"` is short for `forEach: { items: "${expr}" }`: both compile alike. */
function compileForEach(forEach: ForEachManifest): NonNullable<TaskNode['forEach']> {
  const { items, maxParallel } = typeof forEach === 'string' ? { items: forEach, maxParallel: undefined } : forEach;
  return { items: unwrapExpression(items), ...(maxParallel === undefined ? {} : { maxParallel }) };
}

function compileRetry(retry: RetryManifest | undefined, taskId: string): RetryPolicy {
  const d = DEFAULTS.retry;
  return {
    maxAttempts: retry?.maxAttempts ?? d.maxAttempts,
    initialIntervalMs:
      retry?.initialInterval === undefined ? d.initialIntervalMs : duration(retry.initialInterval, `task "${taskId}" retry`),
    backoffCoefficient: retry?.backoffCoefficient ?? d.backoffCoefficient,
    maxIntervalMs: retry?.maxInterval === undefined ? d.maxIntervalMs : duration(retry.maxInterval, `task "${taskId}" retry`),
    jitter: retry?.jitter ?? d.jitter,
  };
}

function duration(text: string, where: string): number {
  const ms = parseDuration(text);
  if (ms === undefined) throw new MaestroError('COMPILE_FAILED', `${where}: "${text}" is not a duration`);
  return ms;
}

/** `${expr}` → `expr`: `when` and `forEach.items` hold exactly one expression. */
function unwrapExpression(text: string): string {
  const trimmed = text.trim();
  return trimmed.startsWith('${') && trimmed.endsWith('}') ? trimmed.slice(2, -1).trim() : trimmed;
}

/**
 * Kahn's algorithm, always taking the ready task declared first, so the order is a pure function
 * of the manifest.
 */
export function topologicalOrder<T extends { id: string; needs?: string[] }>(tasks: T[]): T[] {
  const index = new Map(tasks.map((task, i) => [task.id, i]));
  const remaining = new Map(tasks.map((task) => [task.id, new Set(task.needs ?? [])]));
  const dependents = new Map<string, string[]>();
  for (const task of tasks) {
    for (const need of task.needs ?? []) dependents.set(need, [...(dependents.get(need) ?? []), task.id]);
  }
  const ready = new MinHeap();
  tasks.forEach((task, i) => (task.needs ?? []).length === 0 && ready.push(i));
  const order: T[] = [];
  for (let next = ready.pop(); next !== undefined; next = ready.pop()) {
    const task = tasks[next] as T;
    order.push(task);
    for (const dependent of dependents.get(task.id) ?? []) {
      const pending = remaining.get(dependent) as Set<string>;
      pending.delete(task.id);
      if (pending.size === 0) ready.push(index.get(dependent) as number);
    }
  }
  if (order.length !== tasks.length) {
    const placed = new Set(order);
    const stuck = tasks.filter((task) => !placed.has(task)).map((task) => task.id);
    throw new MaestroError('COMPILE_FAILED', `dependency cycle among tasks ${stuck.join(', ')}`);
  }
  return order;
}

/** Binary min-heap of declaration indexes. */
class MinHeap {
  private readonly items: number[] = [];

  push(value: number): void {
    const items = this.items;
    items.push(value);
    for (let i = items.length - 1; i > 0; ) {
      const parent = (i - 1) >> 1;
      if ((items[parent] as number) <= value) break;
      items[i] = items[parent] as number;
      items[parent] = value;
      i = parent;
    }
  }

  pop(): number | undefined {
    const items = this.items;
    const top = items[0];
    const last = items.pop();
    if (items.length === 0 || last === undefined) return top;
    items[0] = last;
    for (let i = 0; ; ) {
      const left = 2 * i + 1;
      const right = left + 1;
      let smallest = i;
      if (left < items.length && (items[left] as number) < (items[smallest] as number)) smallest = left;
      if (right < items.length && (items[right] as number) < (items[smallest] as number)) smallest = right;
      if (smallest === i) break;
      [items[i], items[smallest]] = [items[smallest] as number, items[i] as number];
      i = smallest;
    }
    return top;
  }
}
