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
export const IR_VERSION = 2 as const;

/** The IR versions this code runs: 1, and 2 (adds {@link TaskNode.runIf}). */
export type IrVersion = 1 | typeof IR_VERSION;

/** Whether the interpreter can run an IR of this version. */
export const isSupportedIrVersion = (version: unknown): version is IrVersion => version === 1 || version === IR_VERSION;

/**
 * Names a task's `error` in an expression: `tasks.a.error`, `tasks['a'].error`, `tasks.a['error']`.
 * Read over a task node's JSON, so it errs only towards version 2 (a literal mentioning it).
 */
const TASK_ERROR_REFERENCE = /\btasks\s*(?:\.\s*[A-Za-z_][\w-]*|\[[^\]]*\])\s*(?:\.\s*error\b|\[\s*\\?["']error\\?["']\s*\])/;

/**
 * The lowest IR version that can express these tasks: 2 once a task has a `runIf` or an expression
 * reads a task's `error` (bound only in version 2, so runs of version 1 evaluate as they always did),
 * else 1 — a workflow using neither keeps its digest.
 */
export const irVersionFor = (tasks: readonly TaskNode[]): IrVersion =>
  tasks.some((task) => task.runIf !== undefined || TASK_ERROR_REFERENCE.test(JSON.stringify(task))) ? IR_VERSION : 1;

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
 * - `approval`: a human gate (`ops/approval.gate`) answered through the `approve` update.
 */
export type TaskExecution = 'activity' | 'local-activity' | 'timer' | 'approval';

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
  /** Tasks in a deterministic topological order (ties broken by declaration order). */
  tasks: TaskNode[];
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

/** Status of a run as the user sees it. */
export type RunStatus = 'RUNNING' | 'WAITING' | 'SUCCEEDED' | 'FAILED' | 'CANCELLED';

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
  tasks: TaskState[];
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
  /** @default 'use' */
  cache?: CacheMode;
  /**
   * Continue-as-new once the history has this many events (or when Temporal suggests it).
   * @default 10000
   */
  historyEventLimit?: number;
  /** State carried over by continue-as-new: tasks already finished, by id. */
  carried?: TaskState[];
  /** Start time carried over by continue-as-new. */
  startedAt?: string;
  /**
   * How the run records its history. 2 (what `startRun` sets): no patch markers — every change the
   * interpreter made under a patch applies —, the first status is the search attribute set at
   * start, and the receipt is written by the worker's sink, not a local activity. Absent (runs
   * started before it, or by a client that does not set it): decided by patch markers, as then.
   * @default 1
   */
  historyFormat?: 1 | 2;
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
  proof?: ApprovalProof;
}

/** Proof that the API authenticated an approver: its signature over the decision and when it was made. */
export interface ApprovalProof {
  /** When the API signed (ISO 8601); proofs are good for a few minutes. */
  issuedAt: string;
  /**
   * When the decision expires (ISO 8601): the run refuses it afterwards, by its own (workflow)
   * time, so a decision the API gave up waiting for and recorded as refused can never count
   * later. Absent in proofs of APIs older than this field, which are good for a few minutes.
   */
  expiresAt?: string;
  /** base64url signature by the approval key over the canonical decision. */
  signature: string;
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
}

/** Whether a run reads and fills the task cache (`use`) or bypasses it (`bypass`, for replay). */
export type CacheMode = 'use' | 'bypass';

/** Result of the `runTask` activity: outputs, with large fields replaced by {@link ArtifactRef}s. */
export interface RunTaskResult {
  outputs: unknown;
  /** The outputs came from the task cache. */
  cached?: boolean;
}

/** Details attached to a task failure raised by `runTask` (the failure's `type` is the code). */
export interface TaskFailureDetails {
  retryable: boolean;
}
