/**
 * The IR: what a manifest compiles to and what the interpreter runs. Pure data, JSON-serialisable,
 * described by `contracts/ir.schema.json`. Every change to its shape bumps {@link IR_VERSION}.
 *
 * This file is workflow-safe: no Node imports, no I/O.
 */

/**
 * Version of the IR shape. The interpreter refuses an IR whose version it does not know. The
 * compiler writes the lowest version that can express an IR ({@link irVersionFor}), so a workflow
 * using nothing newer keeps its digest and still runs on workers that know only version 1.
 */
export const IR_VERSION = 3 as const;

/**
 * The IR versions this code runs: 1; 2 (adds {@link TaskNode.runIf}); 3 (adds the `signal` and
 * `workflow` executions, {@link WorkflowIR.outputs}, {@link WorkflowIR.workflows},
 * {@link WorkflowIR.concurrency}, {@link WorkflowIR.finally} and {@link TaskNode.compensate}).
 */
export type IrVersion = 1 | 2 | typeof IR_VERSION;

/** Whether the interpreter can run an IR of this version. */
export const isSupportedIrVersion = (version: unknown): version is IrVersion => version === 1 || version === 2 || version === IR_VERSION;

/**
 * Names a task's `error` in an expression: `tasks.a.error`, `tasks['a'].error`, `tasks.a['error']`.
 * Read over a task node's JSON, so it errs only towards version 2 (a literal mentioning it).
 */
const TASK_ERROR_REFERENCE = /\btasks\s*(?:\.\s*[A-Za-z_][\w-]*|\[[^\]]*\])\s*(?:\.\s*error\b|\[\s*\\?["']error\\?["']\s*\])/;

/**
 * The lowest IR version that can express this IR body: 3 once a task waits for a signal
 * (`ops/wait.signal`), runs a sub-workflow or has a `compensate`, or the IR declares `outputs`,
 * `concurrency` or `finally` tasks (none of which older workers can run); 2 once a task has a
 * `runIf` or an expression reads a task's `error` (bound only from version 2, so runs of version 1
 * evaluate as they always did); else 1 — a workflow using none of them keeps its digest.
 */
export const irVersionFor = (ir: Pick<WorkflowIR, 'tasks' | 'outputs' | 'concurrency' | 'finally'>): IrVersion => {
  const { tasks } = ir;
  if (ir.outputs !== undefined || ir.concurrency !== undefined || (ir.finally?.length ?? 0) > 0) return 3;
  if (tasks.some((task) => task.execution === 'workflow' || task.execution === 'signal' || task.compensate !== undefined)) return 3;
  return tasks.some((task) => task.runIf !== undefined || TASK_ERROR_REFERENCE.test(JSON.stringify(task))) ? 2 : 1;
};

/** What a run does when its concurrency key is held by `limit` runs already. */
export type ConcurrencyConflict = 'queue' | 'reject' | 'cancel-running';

/**
 * At most `limit` runs of the same namespace and key at a time (irVersion 3). The key is evaluated
 * over the params when the run starts.
 */
export interface ConcurrencySpec {
  /** A `${...}` template over `params`, e.g. `deploy-${params.service}`. */
  key: string;
  /** Runs holding the key at once, 1 to {@link CONCURRENCY_LIMIT_MAX}. @default 1 */
  limit: number;
  /** @default 'queue' */
  onConflict: ConcurrencyConflict;
}

/** The largest `concurrency.limit`: a lock holds and watches at most this many runs. */
export const CONCURRENCY_LIMIT_MAX = 100;

/** Suffix of a compensation's id: the compensation of task `deploy` is `deploy.compensate`. */
export const COMPENSATE_SUFFIX = '.compensate';

/**
 * Every task node of an IR, in the order of the run's task states: the tasks, then the
 * compensations (in task order), then the `finally` tasks. The same array as `ir.tasks` for an IR
 * without compensations and `finally` (every IR before version 3).
 */
export function allTaskNodes(ir: Pick<WorkflowIR, 'tasks' | 'finally'>): readonly TaskNode[] {
  const compensations = ir.tasks.flatMap((task) => (task.compensate ? [task.compensate] : []));
  if (compensations.length === 0 && (ir.finally?.length ?? 0) === 0) return ir.tasks;
  return [...ir.tasks, ...compensations, ...(ir.finally ?? [])];
}

/**
 * When a task runs, by how its needs ended (absent: every need SUCCEEDED, or FAILED with
 * `continueOnError`):
 * - `failure`: at least one need FAILED, or was CANCELLED by a failFast or circuit-breaker stop;
 * - `always`: every need has ended, whatever its status.
 * Such a task (a handler) still runs after a failFast or circuit-breaker stop, not after the run
 * was cancelled or timed out.
 */
export type RunIf = 'failure' | 'always';

/** Parameter types a manifest may declare. */
export type ParameterType = 'string' | 'number' | 'integer' | 'boolean' | 'datetime' | 'object' | 'array';

/** A declared workflow parameter. */
export interface ParameterSpec {
  name: string;
  type: ParameterType;
  /** @default false */
  required: boolean;
  default?: unknown;
  enum?: unknown[];
  /** A secret parameter's value is redacted wherever Maestro shows params. @default false */
  secret: boolean;
  description?: string;
}

/** The policy context every workflow declares (purpose, authority, license). */
export interface PolicyContext {
  purpose: string;
  authority: string;
  license: string;
}

/** Per-task retry policy, with every duration already in milliseconds. */
export interface RetryPolicy {
  /** Total attempts including the first. @default 1 */
  maxAttempts: number;
  /** @default 1000 */
  initialIntervalMs: number;
  /** @default 2 */
  backoffCoefficient: number;
  /** @default 60000 */
  maxIntervalMs: number;
  /** Fraction (0..1) of each backoff interval randomised, deterministically, by the workflow. @default 0.2 */
  jitter: number;
}

/**
 * How the interpreter executes a task:
 * - `activity`: a Temporal activity (`runTask`), for anything doing I/O;
 * - `local-activity`: a Temporal local activity, for short pure tasks (no extra round trip);
 * - `timer`: a durable workflow timer (`tasks/wait.sleep`);
 * - `approval`: a human gate (`ops/approval.gate`) answered through the `approve` update;
 * - `signal`: a wait for a named payload (`ops/wait.signal`) delivered through the `signal` update (irVersion 3);
 * - `workflow`: a registered workflow run as a Temporal child workflow (`uses: workflow/<name>@…`, irVersion 3);
 * - `remote`: a task an external worker (e.g. Python) registered with `POST /tasks`, run as the
 *   activity `maestro.task:<name>@<version>` on its task queue ({@link TaskNode.remote}).
 */
export type TaskExecution = 'activity' | 'local-activity' | 'timer' | 'approval' | 'signal' | 'workflow' | 'remote';

/**
 * What a `remote` task resolved to when its workflow was compiled: the registration of the
 * namespace, pinned, so a run carries exactly the code it executed (and its receipt names it).
 */
export interface RemoteTaskRef {
  /** The namespace the task is registered in: the workflow's; a run in any other namespace refuses it. */
  namespace: string;
  /** The language of its code, e.g. `python`. */
  language: string;
  /** The Temporal task queue its worker serves it on. */
  taskQueue: string;
  /** `sha256:<64 hex>` of its code, as its worker registered it: part of its cache key. */
  codeDigest: string;
  /** Start-to-close timeout of one attempt, milliseconds, as registered. */
  timeoutMs: number;
}

/** The Temporal activity type a `remote` task is served as: `maestro.task:py/hello@0.1.0`. */
export const remoteActivityType = (uses: string): string => `maestro.task:${uses}`;

/**
 * The registered workflow a sub-workflow task runs, pinned when the parent was registered: the
 * exact version and the digest of its IR, which the parent embeds ({@link WorkflowIR.workflows}).
 */
export interface SubWorkflowRef {
  /** The namespace it was resolved in: the parent's; a run in any other namespace refuses it. */
  namespace: string;
  name: string;
  version: string;
  /** `sha256:<hex>` of its IR: the key of {@link WorkflowIR.workflows}. */
  digest: string;
}

/** Where a task's activity runs. */
export type RunsOn = 'local' | 'container' | 'k8s' | 'serverless';

/** One node of the DAG. */
export interface TaskNode {
  id: string;
  /** Resolved catalog reference, exact version: `tasks/http.request@0.1.0`. */
  uses: string;
  /** The `uses` as written in the manifest (may be a semver range). */
  usesSpec: string;
  execution: TaskExecution;
  /** Ids of the tasks this one waits for, in manifest order. */
  needs: string[];
  /** Task input: JSON with `${...}` CEL templates inside strings, resolved at run time. */
  with: Record<string, unknown>;
  /** CEL source (without `${}`) that must be true for the task to run; checked after {@link runIf}. */
  when?: string;
  /** Run on a need's failure, or once all needs ended; absent: only on success. Since irVersion 2. */
  runIf?: RunIf;
  /** Dynamic fan-out: one execution per element of the list `items` (CEL source) evaluates to. */
  forEach?: { items: string; maxParallel?: number };
  retry: RetryPolicy;
  /** Per-attempt timeout. */
  timeoutMs?: number;
  /** A failure of this task does not fail the run; downstream tasks still run. @default false */
  continueOnError: boolean;
  cache?: { enabled: boolean; ttlMs?: number };
  /** @default 'local' */
  runsOn: RunsOn;
  /** Task-level overrides of the workflow's policy context. */
  policy?: Partial<PolicyContext>;
  /** Labels such as a data classification, seen by the policy. */
  labels?: Record<string, string>;
  /** The workflow a `workflow` task runs (its `with` are the child run's params). Since irVersion 3. */
  workflow?: SubWorkflowRef;
  /** The registration a `remote` task resolved to (present exactly for `execution: remote`). */
  remote?: RemoteTaskRef;
  /**
   * What undoes this task when the run fails, is cancelled or times out after it SUCCEEDED (saga):
   * a node of its own, id `<id>.compensate`, without needs. Since irVersion 3.
   */
  compensate?: TaskNode;
}

/** A compiled workflow. */
export interface WorkflowIR {
  irVersion: IrVersion;
  name: string;
  version: string;
  description?: string;
  owner?: string;
  parameters: ParameterSpec[];
  policy: PolicyContext;
  /** Whole-run timeout. */
  timeoutMs?: number;
  /** Ready tasks (and forEach items) running at once, at most. @default 32 */
  maxParallel: number;
  /** `failFast`: the first failure stops scheduling and cancels running tasks. @default 'failFast' */
  failurePolicy: 'failFast' | 'continue';
  /** Stop scheduling new tasks once this many task failures have happened. */
  circuitBreaker?: { maxFailures: number };
  /** Mutual exclusion with other runs of the namespace sharing a key. Since irVersion 3. */
  concurrency?: ConcurrencySpec;
  /** Tasks in a deterministic topological order (ties broken by declaration order). */
  tasks: TaskNode[];
  /**
   * The run's outputs: CEL sources (without `${}`) over the tasks' outputs, by name, evaluated
   * when the run succeeds ({@link RunState.outputs}). Since irVersion 3.
   */
  outputs?: Record<string, string>;
  /**
   * The IRs of the sub-workflows its tasks run, by digest, each exactly as registered (with its own
   * sub-workflows inside), so the parent's digest covers them and a run needs no registry. Since
   * irVersion 3.
   */
  workflows?: Record<string, WorkflowIR>;
  /**
   * Tasks that run once everything else (the tasks, then the compensations) has ended, whatever
   * the outcome; they need only each other. Topological order. Since irVersion 3.
   */
  finally?: TaskNode[];
  /**
   * How long compensations and `finally` tasks may run in all, from the end of the tasks; then
   * they are cancelled (`FINALLY_TIMEOUT`). Set when the IR has either. Since irVersion 3.
   */
  finallyTimeoutMs?: number;
  /** A `finally` task's failure fails a run that had succeeded. @default false */
  finallyFailsRun?: boolean;
}

/** The IR plus its digest, `sha256:<hex>` of the RFC 8785 canonical JSON of the IR. */
export interface CompiledWorkflow {
  ir: WorkflowIR;
  digest: string;
}

/** Status of a task as the user sees it. */
export type TaskStatus =
  | 'PENDING'
  | 'RUNNING'
  | 'WAITING'
  | 'SUCCEEDED'
  | 'FAILED'
  | 'SKIPPED'
  | 'CANCELLED';

/**
 * Status of a run as the user sees it. `QUEUED`: started, waiting for its concurrency key (or, in
 * the API, waiting in its namespace's admission queue); `WAITING`: a task waits for an approval or
 * a signal; `PAUSED`: an operator paused it (nothing new starts until it is resumed).
 */
export type RunStatus = 'QUEUED' | 'RUNNING' | 'WAITING' | 'PAUSED' | 'SUCCEEDED' | 'FAILED' | 'CANCELLED';

/** A task's failure as recorded in the run. */
export interface TaskErrorInfo {
  /** Stable error code, e.g. `TASK_FAILED`, `TASK_TIMEOUT`, `APPROVAL_REJECTED`. */
  code: string;
  message: string;
}

/** A recorded approval decision. */
export interface ApprovalRecord {
  approver: string;
  decision: 'approve' | 'reject';
  comment?: string;
  at: string;
}

/** Live state of one task (or one forEach item, id `task[index]`). */
export interface TaskState {
  id: string;
  status: TaskStatus;
  attempts: number;
  startedAt?: string;
  endedAt?: string;
  error?: TaskErrorInfo;
  outputs?: unknown;
  /** forEach tasks: the state of each item. */
  items?: TaskState[];
  /** The outputs came from the task cache; the task's code did not run. */
  cached?: boolean;
  approvals?: ApprovalRecord[];
  /** A `wait.signal` task (or item): the signal it waits (or waited) for, and the schema its payload must match. */
  signal?: SignalWait;
  /** A sub-workflow task: the child run it started, and the digest of that run's receipt once it ended. */
  subWorkflow?: SubWorkflowRun;
}

/** What a `wait.signal` task waits for, as evaluated when it started waiting. */
export interface SignalWait {
  /** The signal's name (`POST /runs/{runId}/signals {name, payload}`). */
  name: string;
  /** The JSON Schema the payload must match; absent: any JSON value. */
  schema?: Record<string, unknown>;
}

/** The child run of a sub-workflow task (or of one forEach item of it). */
export interface SubWorkflowRun {
  /** The child's run id (a run of its own: `GET /runs/{runId}`). */
  runId: string;
  /** `name@version` it runs. */
  workflowRef: string;
  /** `sha256:<hex>` of the child's signed receipt bundle, once it ended (absent when none was written). */
  receiptDigest?: string;
}

/** Live state of a run, returned by the interpreter's `state` query and as its result. */
export interface RunState {
  runId: string;
  workflow: string;
  version: string;
  digest: string;
  status: RunStatus;
  startedAt: string;
  endedAt?: string;
  error?: TaskErrorInfo;
  /** The run's concurrency key (irVersion 3 with `concurrency`). */
  concurrency?: RunConcurrency;
  tasks: TaskState[];
  /** The values of the workflow's `spec.outputs`, once the run SUCCEEDED. */
  outputs?: Record<string, unknown>;
  /** A sub-workflow's run: `sha256:<hex>` of its receipt bundle, for its parent to record. */
  receiptDigest?: string;
  /**
   * How the tasks ended, as `finally` tasks read it (`run.status`, `run.failedTasks`): set when
   * they have all ended, in runs with compensations or finally tasks (irVersion 3). Kept so a
   * receipt recomputes the finally tasks' inputs.
   */
  tasksEnded?: { status: 'SUCCEEDED' | 'FAILED' | 'CANCELLED'; failedTasks: string[] };
}

/** A run's concurrency key as its state shows it. */
export interface RunConcurrency {
  /** The evaluated key. */
  key: string;
  /** The workflow id of the key's lock, which the API asks for the holders and the queue. */
  lockId: string;
}

/** A value that stands for output data kept in the artifact store instead of workflow history. */
export interface ArtifactRef {
  $artifact: { uri: string; sha256: string; size: number };
}

/**
 * Who acts: an authenticated principal with its roles and Maestro namespaces. A run carries the
 * one it acts for (in its history), and the policy decides every run start and task for it; the
 * API's caller extends it (`AuthenticatedPrincipal` in `src/api/auth`).
 */
export interface Principal {
  /** Who it is: shown as the approver, `startedBy`, `createdBy`, the audit log's actor. */
  subject: string;
  /** API roles (`admin`, `operator`) and any roles manifests name (approvers, runbook allow-lists). */
  roles: readonly string[];
  /** Maestro namespaces it may see and touch; `*` stands for all. */
  namespaces: readonly string[];
}

/** What the policy sees of a task attempt, carried in {@link RunTaskInput.policy}. */
export interface TaskPolicyContext {
  principal: Principal;
  workflow: { name: string; version: string; digest: string };
  /** The workflow's policy context (`ir.policy`). */
  context: PolicyContext;
  /** The task's overrides (`TaskNode.policy`). */
  overrides?: Partial<PolicyContext>;
  /** The task's labels (`TaskNode.labels`). */
  labels?: Record<string, string>;
  traceId?: string;
  /**
   * The decision made for this task when the run started ({@link InterpreterInput.taskDecisions}):
   * the attempt's gate may act on it instead of asking the PDP again, once it has checked it in
   * the audit log. @default undefined — decided at the attempt
   */
  startDecisionId?: string;
}

/**
 * Where a run sits in its trace, carried to the worker's spans (task attempts, the run's own span,
 * the receipt's); built by the interpreter from its input.
 */
export interface RunTrace {
  /** The run's trace id ({@link InterpreterInput.traceId}). */
  traceId: string;
  /** {@link InterpreterInput.traceParent}. @default undefined — the run's span is the root */
  parent?: string;
  /** A sub-workflow's run: the parent run, whose span is this run's parent. @default undefined */
  parentRunId?: string;
}

/** Input of the interpreter workflow. */
export interface InterpreterInput {
  ir: WorkflowIR;
  digest: string;
  params: Record<string, unknown>;
  /** Maestro namespace of the run. @default 'default' */
  namespace?: string;
  /** Who started the run. */
  startedBy?: string;
  /** The principal the run acts for; the policy decides each task for it. */
  principal?: Principal;
  /** Trace id correlating the run with its caller (decision log, telemetry). */
  traceId?: string;
  /**
   * The policy decision made for each task at run start, by task id: passed to the task's first
   * attempt ({@link TaskPolicyContext.startDecisionId}). Not trusted as such: the worker acts on a
   * decision only as the audit log holds it. @default undefined — every attempt is decided again
   */
  taskDecisions?: Readonly<Record<string, string>>;
  /**
   * W3C `traceparent` of the span that started the run (the API request's, or its caller's): the
   * parent of the run's span. Only the worker's spans read it, outside the sandbox.
   * @default undefined — the run's span is its trace's root
   */
  traceParent?: string;
  /** @default 'use' */
  cache?: CacheMode;
  /**
   * Continue-as-new once the history has this many events (or when Temporal suggests it).
   * @default 10000
   */
  historyEventLimit?: number;
  /** State carried over by continue-as-new: tasks already finished, by id. */
  carried?: TaskState[];
  /** Carried over by continue-as-new: ids of the succeeded tasks that have a compensation, in completion order. */
  compensable?: string[];
  /** Start time carried over by continue-as-new. */
  startedAt?: string;
  /** Set for a sub-workflow's run: the run and task that started it, and how deep it nests. */
  parent?: ParentRun;
  /**
   * The run's concurrency key, acquired by the run-start path before the run started (only for an
   * IR with `concurrency`): `granted` false means the run waits, QUEUED, until its lock grants it.
   */
  concurrency?: RunConcurrency & { granted: boolean };
  /**
   * How the run records its history. 2: no patch markers — every change the interpreter made
   * under a patch applies —, the first status is the search attribute set at start, and the
   * receipt is written by the worker's sink, not a local activity (a sub-workflow's run excepted).
   * 3 (what `startRun` sets): as 2, and a sub-workflow's run writes its receipt through the sink
   * too; its parent's state then carries no `subWorkflow.receiptDigest`, which the parent's
   * receipt and `GET /runs/{runId}` read from the receipt store. Absent (runs started before
   * formats, or by a client that does not set one): decided by patch markers, as then.
   * @default 1
   */
  historyFormat?: 1 | 2 | 3;
  /**
   * Set for a run a schedule started: the schedule and the time it was scheduled for (not when it
   * actually fired). The interpreter does not read it; `GET /runs/{runId}` shows it.
   * @default undefined — not started by a schedule
   */
  schedule?: ScheduledBy;
}

/** The schedule that started a run ({@link InterpreterInput.schedule}). */
export interface ScheduledBy {
  /** The schedule's id, in the run's namespace. */
  scheduleId: string;
  /** The fire time the run is for (RFC 3339): for a backfill, the past time it stands in for. */
  scheduledTime: string;
}

/** The parent of a sub-workflow's run ({@link InterpreterInput.parent}). */
export interface ParentRun {
  runId: string;
  /** The sub-workflow task (or forEach item) that started this run. */
  taskId: string;
  /** 1 for a child of a top-level run, 2 for a grandchild, … */
  depth: number;
}

/** Argument of the `approve` update. */
export interface ApprovalRequest {
  taskId: string;
  decision: 'approve' | 'reject';
  /** The authenticated principal deciding. */
  approver: string;
  /** Roles the approver holds; one must be in the gate's `approvers`. */
  roles: string[];
  comment?: string;
  /**
   * The API's signature over this decision, which the worker checks before it counts it: without
   * it, anyone who can reach Temporal could approve with any roles.
   */
  proof?: ApiProof;
}

/**
 * Proof that the API authenticated who sent a message to a run (an approval decision, a signal):
 * its signature over the message and when it was made.
 */
export interface ApiProof {
  /** When the API signed (ISO 8601); proofs are good for a few minutes. */
  issuedAt: string;
  /**
   * When the decision expires (ISO 8601): the run refuses it afterwards, by its own (workflow)
   * time, so a decision the API gave up waiting for and recorded as refused can never count
   * later. Absent in proofs of APIs older than this field, which are good for a few minutes.
   */
  expiresAt?: string;
  /** base64url signature by the approval key over the canonical message. */
  signature: string;
}

/** Argument of the `signal` update: a payload for the tasks waiting for `name`. */
export interface SignalRequest {
  name: string;
  /** Any JSON value; it becomes the output of each task that takes it. */
  payload: unknown;
  /** The authenticated principal who sent it. */
  sender: string;
  /** The API's signature over run, name, payload and sender; without it the run refuses the signal. */
  proof?: ApiProof;
}

/** Result of the `signal` update: the tasks (or forEach items) that took the payload. */
export interface SignalDelivery {
  taskIds: string[];
}

/** Input of the `runTask` activity: one attempt of one task (or one forEach item). */
export interface RunTaskInput {
  runId: string;
  /** Task id, or `task[index]` for a forEach item. */
  taskId: string;
  /** Exact catalog reference, `tasks/http.request@0.1.0`. */
  uses: string;
  /** Resolved input (templates evaluated); may hold artifact references. */
  input: Record<string, unknown>;
  /** 1-based attempt number, counted by the interpreter. */
  attempt: number;
  /** Maestro namespace of the run. */
  namespace: string;
  /** Per-attempt time limit enforced inside the activity. */
  timeoutMs?: number;
  runsOn: RunsOn;
  /** What the policy decides this attempt on. */
  policy?: TaskPolicyContext;
  /** The task's cache settings (`TaskNode.cache`). */
  cache?: { enabled: boolean; ttlMs?: number };
  /** `bypass` runs the task and leaves the cache alone (replay). @default 'use' */
  cacheMode?: CacheMode;
  /**
   * The values of the run's secret-typed params (strings as they are, others as JSON), redacted
   * from the attempt's log lines and error messages. Carried here because the activity does not
   * see the params; like the input that holds them, they are encrypted in history by the payload
   * codec. @default undefined — none
   */
  redact?: string[];
  /** The run's trace: the attempt's span is a child of the run's. @default undefined — no span */
  trace?: RunTrace;
}

/** Whether a run reads and fills the task cache (`use`) or bypasses it (`bypass`, for replay). */
export type CacheMode = 'use' | 'bypass';

/** Result of the `runTask` activity: outputs, with large fields replaced by {@link ArtifactRef}s. */
export interface RunTaskResult {
  outputs: unknown;
  /** The outputs came from the task cache. */
  cached?: boolean;
}

/** Input of the `prepareRemoteTask` and `finishRemoteTask` local activities: an attempt of a `remote` task. */
export interface RemoteAttemptInput extends RunTaskInput {
  /** The registration the task node pinned. */
  remote: RemoteTaskRef;
}

/**
 * The one argument of a remote task's activity (`maestro.task:<name>@<version>`), the wire
 * contract with external workers (`docs/python-tasks.md`): the checked input and the attempt's context.
 */
export interface RemoteTaskRequest {
  input: Record<string, unknown>;
  context: { runId: string; taskId: string; attempt: number; namespace: string; grant: string };
}

/** One line a remote task logged (`docs/python-tasks.md`). */
export interface RemoteLogLine {
  ts: string;
  level: 'debug' | 'info' | 'warn' | 'error';
  message: string;
  fields?: Record<string, unknown>;
}

/** What a remote task's activity returns. */
export interface RemoteTaskResult {
  output: unknown;
  logs?: RemoteLogLine[];
  events?: { type: string; [key: string]: unknown }[];
}

/** Result of `prepareRemoteTask`: the cached outputs, or the request to dispatch. */
export type RemotePreparation = { startedMs: number } & ({ cached: true; outputs: unknown } | { cached: false; request: RemoteTaskRequest });

/** How a remote task's attempt failed, as the interpreter saw it (the failure's type, message and details). */
export interface RemoteFailure {
  code: string;
  message: string;
  retryable: boolean;
  logs?: RemoteLogLine[];
  events?: { type: string; [key: string]: unknown }[];
}

/** Input of `finishRemoteTask`: the attempt, when its dispatch started, and its result or failure. */
export interface RemoteFinishInput {
  attempt: RemoteAttemptInput;
  /** When `prepareRemoteTask` began (ms since the epoch, from the activity): the usage row's start. */
  startedMs: number;
  result?: RemoteTaskResult;
  failure?: RemoteFailure;
}

/** Details attached to a task failure raised by `runTask` (the failure's `type` is the code). */
export interface TaskFailureDetails {
  retryable: boolean;
}

/**
 * Input of the `authorizeSubWorkflow` local activity: the start of a sub-workflow's run, decided
 * like any run start (its params checked as `POST /runs` checks them, the policy's run-start
 * decision for the parent's principal in the parent's namespace) before the child starts.
 */
export interface SubWorkflowStartInput {
  /** The child run's id. */
  runId: string;
  /** The parent run and task starting it; `parent.depth` is the child's depth. */
  parent: ParentRun;
  /** The parent run's namespace: the child's. */
  namespace: string;
  /** What the task names, pinned at registration. */
  workflow: SubWorkflowRef;
  /** The child's IR (embedded in the parent's) and its digest. */
  ir: WorkflowIR;
  /** The task's evaluated `with`: the child's params before checking. */
  params: Record<string, unknown>;
  /** The parent's principal: the child acts for it. */
  principal?: Principal;
  traceId?: string;
}

/** Result of `authorizeSubWorkflow`: the child's checked params (defaults applied). */
export interface SubWorkflowStartResult {
  params: Record<string, unknown>;
}
