/**
 * Run receipts: what a run did, as an in-toto Statement v1 with a SLSA Provenance v1 predicate.
 * Pure: the same inputs give the same statement, byte for byte once canonicalised, so a receipt
 * written twice (an activity retry) is the same receipt.
 */
import { ExpressionError, allTaskNodes, evaluate, redactParams, resolveTemplates, type ExpressionBindings, type RunState, type TaskNode, type TaskState, type WorkflowIR } from '../ir/index.js';
import { isArtifactRef } from '../store/index.js';
import { canonicalJson, canonicalSha256, digestOf, hexOf, outputsJson, outputsSha256, sha256Hex } from '../canonical/index.js';
import {
  IN_TOTO_STATEMENT_TYPE,
  MAESTRO_RUN_BUILD_TYPE,
  SLSA_PROVENANCE_V1,
  type ProvenanceStatement,
  type ResourceDescriptor,
  type Statement,
} from './statement.js';

/** What replaces a secret parameter's value before anything about params or inputs is hashed. */
export const SECRET_PLACEHOLDER = '[secret]';

/** Policy decision ids (from the policy engine's decision log) that applied to a run. */
export interface PolicyDecisionIds {
  /** Decisions about the run as a whole (the pre-check at start). */
  run?: string[];
  /** Decisions per task id (or forEach item id `task[i]`). */
  tasks?: Record<string, string[]>;
  /**
   * Per task id, the run-start decisions (listed in `tasks` too) an attempt acted on again instead
   * of asking the policy anew (the receipt's `reusedPolicyDecisionIds`).
   */
  reused?: Record<string, string[]>;
}

/** Input of {@link buildReceipt}. */
export interface BuildReceiptInput {
  /** The IR the run executed (the interpreter's input). */
  ir: WorkflowIR;
  /** The IR's digest, `sha256:<hex>`. */
  digest: string;
  /** The run's checked parameters; secret ones are replaced by {@link SECRET_PLACEHOLDER} before hashing. */
  params: Record<string, unknown>;
  /** The run's final state. */
  run: RunState;
  /** Identifies the worker's code (see `sourceTreeDigest`); recorded as the builder's version. */
  workerBuildId: string;
  /** Identifies the Maestro installation that ran the workflow, a URI. */
  builderId: string;
  /** Code digest (`sha256:<hex>`) of each task by exact `uses` (`tasks/http.request@0.1.0`). */
  taskCodeDigests: Readonly<Record<string, string>>;
  /** @default undefined — no policy decisions recorded */
  policyDecisionIds?: PolicyDecisionIds;
  /** Maestro namespace of the run. @default undefined — not recorded */
  namespace?: string;
}

/** A task state as the receipt reads it: the engine may add `cached` (a cache hit, no execution). */
type RecordedTask = TaskState & { cached?: boolean };

/** Subject name of a task's outputs. */
export function outputSubjectName(taskId: string): string {
  return `task/${taskId}/outputs`;
}

/** Subject name of the run's final state. */
export function runSubjectName(runId: string): string {
  return `run/${runId}`;
}

/**
 * sha256 (hex) of the run's parameters with every secret parameter's value replaced by
 * {@link SECRET_PLACEHOLDER}: a receipt is meant to be shown, and the hash of a short secret can
 * be brute-forced, so secrets never enter it. Two runs differing only in a secret have the same
 * params digest, on purpose.
 */
export function paramsSha256(ir: WorkflowIR, params: Record<string, unknown>): string {
  return canonicalSha256(redactParams(ir.parameters, params, SECRET_PLACEHOLDER));
}

/**
 * Output digests of every task (and forEach item) that has outputs, by id; what replay compares.
 */
export function taskOutputDigests(run: RunState): Map<string, string> {
  const digests = new Map<string, string>();
  for (const task of run.tasks) {
    for (const state of [task, ...(task.items ?? [])]) {
      if (state.outputs !== undefined) digests.set(state.id, outputsSha256(state.outputs));
    }
  }
  return digests;
}

/**
 * Builds a run's receipt: an in-toto Statement v1 with a SLSA Provenance v1 predicate.
 *
 * - `subject`: the final run state (`run/<runId>`), each task's outputs (`task/<id>/outputs`,
 *   canonical-JSON sha256) and each artifact those outputs reference (`artifact://sha256/<h>`).
 * - `buildDefinition`: the workflow reference and params digest (secrets redacted), the IR digest
 *   (the code that ran), and each task's `uses@version` with its code digest.
 * - `runDetails`: builder id and worker build id, run id, start and finish times, and one
 *   byproduct per task: status, attempts, input and output sha256, `cached`, approvals, policy
 *   decision ids, error.
 *
 * Task inputs are recomputed here from the IR, the params and the upstream outputs with the
 * interpreter's own pure `resolveTemplates`; secret parameter values in them are replaced by
 * {@link SECRET_PLACEHOLDER} before hashing.
 */
export function buildReceipt(input: BuildReceiptInput): ProvenanceStatement {
  const { ir, digest, params, run, workerBuildId, builderId, taskCodeDigests, policyDecisionIds = {}, namespace } = input;
  const nodes = new Map(allTaskNodes(ir).map((task) => [task.id, task]));
  const inputs = new ResolvedInputs(ir, params, run);

  const subjects: Statement['subject'] = [{ name: runSubjectName(run.runId), digest: { sha256: inputs.runSha256() } }];
  const artifacts = new Map<string, number>();
  for (const task of run.tasks) {
    if (task.status !== 'SUCCEEDED' || task.outputs === undefined) continue;
    subjects.push({ name: outputSubjectName(task.id), digest: { sha256: inputs.outputs(task) } });
    collectArtifacts(task.outputs, artifacts);
  }
  for (const [sha256, size] of [...artifacts].sort(([a], [b]) => a.localeCompare(b))) {
    subjects.push({ name: `artifact://sha256/${sha256}`, digest: { sha256 }, annotations: { size } });
  }

  const dependencies: ResourceDescriptor[] = [
    { name: `workflow:${ir.name}@${ir.version}`, uri: `urn:maestro:workflow:${ir.name}@${ir.version}`, digest: { sha256: hexOf(digest) } },
  ];
  // A sub-workflow's code is its IR: the digest the parent pinned at registration.
  const subWorkflowDigests = new Map(ir.tasks.flatMap((task) => (task.workflow === undefined ? [] : [[task.uses, task.workflow.digest] as const])));
  // A registered (e.g. Python) task's code is what its registration digested, pinned in the IR.
  const remoteDigests = new Map(allTaskNodes(ir).flatMap((task) => (task.remote === undefined ? [] : [[task.uses, task.remote.codeDigest] as const])));
  for (const uses of [...new Set(allTaskNodes(ir).map((task) => task.uses))].sort()) {
    const codeDigest = subWorkflowDigests.get(uses) ?? remoteDigests.get(uses) ?? taskCodeDigests[uses];
    dependencies.push({
      name: uses,
      uri: `urn:maestro:task:${uses}`,
      ...(codeDigest === undefined ? { annotations: { codeDigest: 'unknown' } } : { digest: { sha256: hexOf(codeDigest) } }),
    });
  }

  const byproducts: ResourceDescriptor[] = [
    {
      name: 'run',
      uri: `urn:maestro:run:${run.runId}`,
      annotations: {
        status: run.status,
        ...(run.error ? { error: inputs.scrub(run.error) } : {}),
        ...(policyDecisionIds.run?.length ? { policyDecisionIds: policyDecisionIds.run } : {}),
      },
    },
  ];
  for (const task of run.tasks) {
    const node = nodes.get(task.id);
    byproducts.push(taskByproduct(run.runId, task, node, inputs, policyDecisionIds));
  }

  return {
    _type: IN_TOTO_STATEMENT_TYPE,
    subject: subjects,
    predicateType: SLSA_PROVENANCE_V1,
    predicate: {
      buildDefinition: {
        buildType: MAESTRO_RUN_BUILD_TYPE,
        externalParameters: {
          workflowRef: `${ir.name}@${ir.version}`,
          paramsDigest: `sha256:${paramsSha256(ir, params)}`,
          ...(ir.parameters.some((p) => p.secret) ? { redactedParams: ir.parameters.filter((p) => p.secret).map((p) => p.name) } : {}),
          ...(namespace === undefined ? {} : { namespace }),
        },
        internalParameters: { irDigest: digest, irVersion: ir.irVersion },
        resolvedDependencies: dependencies,
      },
      runDetails: {
        builder: { id: builderId, version: { workerBuildId } },
        metadata: {
          invocationId: run.runId,
          startedOn: run.startedAt,
          ...(run.endedAt === undefined ? {} : { finishedOn: run.endedAt }),
        },
        byproducts,
      },
    },
  };
}

function taskByproduct(
  runId: string,
  task: RecordedTask,
  node: TaskNode | undefined,
  inputs: ResolvedInputs,
  decisions: PolicyDecisionIds,
): ResourceDescriptor {
  const annotations = taskAnnotations(task, node, inputs, decisions);
  if (task.items) {
    annotations.items = task.items.map((item, index) => taskAnnotations(item, node, inputs, decisions, index));
  }
  return {
    name: `task/${task.id}`,
    uri: `urn:maestro:run:${runId}:task:${task.id}`,
    ...(task.outputs === undefined ? {} : { digest: { sha256: inputs.outputs(task) } }),
    annotations,
  };
}

function taskAnnotations(
  task: RecordedTask,
  node: TaskNode | undefined,
  inputs: ResolvedInputs,
  decisions: PolicyDecisionIds,
  itemIndex?: number,
): Record<string, unknown> {
  const inputDigest = node ? inputs.digest(node, task, itemIndex) : undefined;
  const policy = decisions.tasks?.[task.id];
  const reused = decisions.reused?.[task.id];
  return {
    id: task.id,
    ...(itemIndex === undefined && node ? { uses: node.uses } : {}),
    status: task.status,
    ...(task.cached ? { cached: true } : {}),
    attempts: task.attempts,
    ...(task.startedAt === undefined ? {} : { startedAt: task.startedAt }),
    ...(task.endedAt === undefined ? {} : { endedAt: task.endedAt }),
    ...(inputDigest === undefined ? {} : { inputDigest }),
    ...(task.outputs === undefined ? {} : { outputDigest: `sha256:${inputs.outputs(task)}` }),
    ...(task.error ? { error: inputs.scrub(task.error) } : {}),
    ...(task.approvals?.length ? { approvals: inputs.scrub(task.approvals) } : {}),
    ...(policy?.length ? { policyDecisionIds: policy } : {}),
    ...(reused?.length ? { reusedPolicyDecisionIds: reused } : {}),
    ...(task.subWorkflow === undefined ? {} : { subWorkflow: task.subWorkflow }),
  };
}

/** Adds every artifact reference inside `value` (sha256 → size). */
function collectArtifacts(value: unknown, into: Map<string, number>): void {
  if (isArtifactRef(value)) {
    into.set(value.$artifact.sha256, value.$artifact.size);
  } else if (Array.isArray(value)) {
    for (const item of value) collectArtifacts(item, into);
  } else if (typeof value === 'object' && value !== null) {
    for (const item of Object.values(value)) collectArtifacts(item, into);
  }
}

/**
 * Task inputs as the interpreter resolved them, recomputed from the IR, params and the (final,
 * unchanging once terminal) upstream outputs, with secret values scrubbed.
 */
class ResolvedInputs {
  private readonly bindings: ExpressionBindings;
  private readonly scoped = new Map<string, ExpressionBindings>();
  private readonly integerParams: ReadonlySet<string>;
  private readonly secrets: { strings: string[]; others: string[] };
  private readonly forEachLists = new Map<string, unknown[] | undefined>();
  private readonly outputDigests = new WeakMap<TaskState, string>();
  /** Canonical JSON of each task's and item's outputs object, made once for its digest and the run's. */
  private readonly outputJson = new Map<object, string>();

  constructor(
    ir: WorkflowIR,
    params: Record<string, unknown>,
    private readonly run: RunState,
  ) {
    const tasks: ExpressionBindings['tasks'] = {};
    for (const task of run.tasks) tasks[task.id] = { status: task.status, outputs: task.outputs ?? null };
    // `finally` tasks read how the tasks ended (run.status, run.failedTasks), as the run kept it.
    this.bindings = run.tasksEnded === undefined ? { params, tasks } : { params, tasks, run: run.tasksEnded };
    this.integerParams = new Set(ir.parameters.filter((p) => p.type === 'integer').map((p) => p.name));
    const values = ir.parameters.filter((p) => p.secret && params[p.name] !== undefined && params[p.name] !== null).map((p) => params[p.name]);
    this.secrets = {
      // Longest first, so a secret containing another is replaced whole.
      strings: values.filter((v): v is string => typeof v === 'string' && v !== '').sort((a, b) => b.length - a.length),
      others: values.filter((v) => typeof v !== 'string').map((v) => digestOf(v)),
    };
  }

  /** `sha256:<hex>` of the task's (or item's) scrubbed input; undefined for a unit that never started. */
  digest(node: TaskNode, state: TaskState, itemIndex?: number): string | undefined {
    if (state.startedAt === undefined && state.attempts === 0) return undefined;
    try {
      if (node.forEach && itemIndex === undefined) {
        const list = this.list(node);
        return list === undefined ? undefined : digestOf(this.scrub(list));
      }
      const scope = this.scope(node);
      const bindings = itemIndex === undefined ? scope : { ...scope, item: this.list(node)?.[itemIndex] ?? null, index: itemIndex };
      return digestOf(this.scrub(resolveTemplates(node.with, bindings, this.integerParams)));
    } catch (error) {
      // An input that cannot be resolved now could not have been resolved then either: the task
      // failed with EXPRESSION_FAILED (or EXPRESSION_TOO_COSTLY) before running, and its byproduct
      // shows that error.
      if (error instanceof ExpressionError) return undefined;
      throw error;
    }
  }

  /**
   * {@link outputsSha256} of a task's outputs, computed once per task; their canonical JSON is
   * kept for {@link runSha256}.
   */
  outputs(task: TaskState): string {
    let digest = this.outputDigests.get(task);
    if (digest === undefined) {
      const json = outputsJson(task.outputs);
      if (typeof task.outputs === 'object' && task.outputs !== null) this.outputJson.set(task.outputs, json);
      digest = sha256Hex(json);
      this.outputDigests.set(task, digest);
    }
    return digest;
  }

  /**
   * sha256 (hex) of the run state's canonical JSON, in which every task's and item's outputs are
   * written as {@link outputs} made them rather than canonicalised a second time.
   */
  runSha256(): string {
    for (const task of this.run.tasks) {
      for (const state of [task, ...(task.items ?? [])]) if (state.outputs !== undefined) this.outputs(state);
    }
    return sha256Hex(canonicalJson(this.run, this.outputJson));
  }

  /** A copy of `value` with secret parameter values replaced by {@link SECRET_PLACEHOLDER}. */
  scrub<T>(value: T): T {
    if (this.secrets.strings.length === 0 && this.secrets.others.length === 0) return value;
    return this.scrubValue(value) as T;
  }

  private scrubValue(value: unknown): unknown {
    if (typeof value === 'string') {
      let text = value;
      for (const secret of this.secrets.strings) text = text.split(secret).join(SECRET_PLACEHOLDER);
      return text;
    }
    if (value !== null && typeof value !== 'object' && this.secrets.others.includes(digestOf(value))) return SECRET_PLACEHOLDER;
    if (Array.isArray(value)) return value.map((item) => this.scrubValue(item));
    if (value !== null && typeof value === 'object') {
      if (this.secrets.others.includes(digestOf(value))) return SECRET_PLACEHOLDER;
      return Object.fromEntries(Object.entries(value).map(([key, item]) => [key, this.scrubValue(item)]));
    }
    return value;
  }

  /**
   * The bindings a task's expressions can see, with `tasks` narrowed to the tasks they name: CEL
   * converts every binding on each evaluation, so the whole map would make a big run quadratic.
   */
  private scope(node: TaskNode): ExpressionBindings {
    let scope = this.scoped.get(node.id);
    if (!scope) {
      const sources = [JSON.stringify(node.with), node.forEach?.items ?? ''].join('\n');
      const named = referencedTasks(sources);
      const tasks = named === undefined ? this.bindings.tasks : Object.fromEntries(named.flatMap((id) => (this.bindings.tasks[id] ? [[id, this.bindings.tasks[id]]] : [])));
      scope = { ...this.bindings, tasks };
      this.scoped.set(node.id, scope);
    }
    return scope;
  }

  private list(node: TaskNode): unknown[] | undefined {
    if (!node.forEach) return undefined;
    if (!this.forEachLists.has(node.id)) {
      const value = evaluate(node.forEach.items, this.scope(node), this.integerParams);
      this.forEachLists.set(node.id, Array.isArray(value) ? value : undefined);
    }
    return this.forEachLists.get(node.id);
  }
}

const TASK_REFERENCE = /\btasks\s*(?:\.\s*([A-Za-z_][A-Za-z0-9_]*)(\s*\()?|\[\s*(?:'([^']+)'|"([^"]+)"|\\"([^"\\]+)\\")\s*\])/g;

/**
 * Ids of the tasks expressions in `source` name as `tasks.x` or `tasks['x']`; undefined when
 * `tasks` is used another way (then every task must stay visible) — a method of the map itself,
 * `tasks.size()` or `tasks.exists(t, …)`, among them: `size` there is no task.
 */
function referencedTasks(source: string): string[] | undefined {
  const ids = new Set<string>();
  let uses = 0;
  for (const match of source.matchAll(TASK_REFERENCE)) {
    // `tasks.size(`: a call of the map's own method, not a task.
    if (match[2] !== undefined) return undefined;
    uses += 1;
    const id = match[1] ?? match[3] ?? match[4] ?? match[5];
    if (id !== undefined) ids.add(id);
  }
  const all = source.match(/\btasks\b/g)?.length ?? 0;
  return all === uses ? [...ids] : undefined;
}
