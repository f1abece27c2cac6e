/**
 * The one run-start path. Every run — started through the API (`POST /runs`, runbook triggers,
 * retries), the CLI (`maestro run`), a replay (API or CLI), and later schedules and triggers —
 * starts through {@link launchRun}, so each gets the same: idempotency key, the policy's run-start
 * decision (recorded in the audit log before anything starts), a replay's audit record, the
 * namespace's budget (the run's price charged, or the start refused), the namespace's admission
 * limit, and the Temporal start itself (run id = workflow id, so a start is idempotent by
 * construction), counted in `maestro_runs_started` by whichever process starts it.
 */
import { randomBytes, randomUUID } from 'node:crypto';
import { WorkflowExecutionAlreadyStartedError, WorkflowNotFoundError, type Client } from '@temporalio/client';
import { cancelOnTemporal, interpreterInput, startInterpreter } from '../client/index.js';
import { MaestroError } from '../errors/index.js';
import { openValue, sealValue, type AesGcmPayloadCodec } from '../codec/index.js';
import type { CacheMode, CompiledWorkflow, Principal, ScheduledBy, TaskState } from '../ir/index.js';
import { checkRunStart, runStartDenial, taskDecisionIds, type PolicyGate } from '../policy/index.js';
import type { Budget, CostModel } from '../config/index.js';
import type { AuditEntry, AuditLog, Store } from '../store/index.js';
import { chargeRun } from './budget.js';
import { activeTraceparent, parseTraceparent, processMetrics, type ProcessMetrics } from '../telemetry/index.js';
import { recordBeforeActing } from './record.js';
import { acquireConcurrencyKey } from './concurrency.js';
import { rememberStartedRun } from './run-inputs.js';
import { describeRun, missingSearchAttribute, type ApiRunStatus } from './temporal.js';

/**
 * Everything needed to start a run; stored while the run waits in the admission queue, its
 * secret-typed params sealed (see {@link sealSecretParams}).
 */
export interface LaunchRequest {
  runId: string;
  compiled: CompiledWorkflow;
  /** Checked params. */
  params: Record<string, unknown>;
  namespace: string;
  /** 1 (highest) to 5; undefined: Temporal's default. */
  priority?: number;
  /** The name of the principal starting the run. */
  startedBy: string;
  /** The principal the run acts for: the worker's policy gate decides each task for it. */
  principal: Principal;
  /** Tasks carried from an earlier run (retry from the failed step). */
  carried?: TaskState[];
  /** Correlates the run's policy decisions and task attempts with the request that started it. */
  traceId?: string;
  /**
   * `traceparent` of the span that started the run (see `InterpreterInput.traceParent`).
   * @default the active span's (the API request's), when its trace is the run's
   */
  traceParent?: string;
  /**
   * The run-start decision of each task, by task id, set by {@link launchRun} once the policy
   * allowed the start (see `InterpreterInput.taskDecisions`).
   * @default undefined — every task attempt is decided again
   */
  taskDecisions?: Record<string, string>;
  /**
   * `bypass` runs every task afresh and leaves the cache alone (a replay).
   * @default undefined — the interpreter's default, `use`
   */
  cache?: CacheMode;
  /**
   * The finished run this one is started from: recorded in the audit log under that run's id once
   * the policy allowed this start and before it is queued or started — a replay (`details.replayRunId`)
   * or a retry (action `retry-from-<from>`, `details.newRunId`).
   * @default undefined — a run of its own
   */
  origin?: RunOrigin;
  /**
   * The schedule that started the run and the time it was scheduled for (`GET /runs/{runId}` shows them).
   * @default undefined — not started by a schedule
   */
  schedule?: ScheduledBy;
}

/** Where a run started from another comes from: see {@link LaunchRequest.origin}. */
export type RunOrigin = { kind: 'replay'; runId: string } | { kind: 'retry'; runId: string; from: 'start' | 'failed'; reason?: string };

/** What the caller learns about the run. */
export interface LaunchResult {
  runId: string;
  status: ApiRunStatus;
  /** False when an idempotency key named a run that existed already. */
  created: boolean;
}

/** What {@link launchRun} needs; the API and the CLI build it from the same settings. */
export interface LaunchContext {
  client: Client;
  /** Idempotency keys and the admission queue. */
  store: Store;
  /** Where replays are recorded (run-start decisions go through `policy`, which records them too). */
  auditLog: AuditLog;
  taskQueue: string;
  /** Concurrent-run limit of each namespace that has one. */
  runLimits: Readonly<Record<string, number>>;
  /** Seals secret-typed params while a run waits in the admission queue (the Temporal client's codec). */
  payloadCodec: AesGcmPayloadCodec;
  /**
   * Decides every start once the run id is known and before the run is queued or started: the
   * run and each task that will execute, every decision recorded; a denial refuses the run
   * (`POLICY_DENIED`, or `POLICY_UNAVAILABLE`) and nothing starts.
   * @default undefined — runs start unchecked (the workers' task gate still decides every task)
   */
  policy?: PolicyGate;
  /**
   * Prices the run charges when it is accepted (its row in the usage ledger).
   * @default {} — runs cost nothing
   */
  costModel?: CostModel;
  /**
   * Budget of each namespace that has one: a start that would exceed it is refused (`BUDGET_EXCEEDED`).
   * @default {} — no budgets
   */
  budgets?: Readonly<Record<string, Budget>>;
  /**
   * Where runs started, their admission-queue waits and run-start denials are counted.
   * @default processMetrics() — this process's metrics
   */
  metrics?: ProcessMetrics;
}

/**
 * The `started_by_kind` label of a run: a retry or replay of another run, a schedule's fire, a
 * trigger's (webhook or message), or a user's start (API, CLI). Never the principal itself.
 */
export function startedByKind(request: Pick<LaunchRequest, 'origin' | 'schedule' | 'startedBy'>): string {
  if (request.origin !== undefined) return request.origin.kind;
  if (request.schedule !== undefined) return 'schedule';
  return request.startedBy.startsWith('trigger:') ? 'trigger' : 'user';
}

/** The key of the one-field object that replaces a sealed param's value in the admission queue. */
const SEALED = '$sealed';

/**
 * The request as the admission queue stores it: each secret-typed param's value replaced by
 * `{ $sealed: <encrypted payload> }`, encrypted with the payload codec's current key, so the
 * store (SQLite file, PostgreSQL table, their backups) never holds it in clear. The other params
 * stay readable: `GET /runs` shows queued runs from the store.
 */
export function sealSecretParams(codec: AesGcmPayloadCodec, request: LaunchRequest): LaunchRequest {
  const secret = new Set(request.compiled.ir.parameters.filter((p) => p.secret).map((p) => p.name));
  const params = Object.fromEntries(Object.entries(request.params).map(([name, value]) => [name, secret.has(name) ? { [SEALED]: sealValue(codec, value) } : value]));
  return { ...request, params };
}

/**
 * Reverses {@link sealSecretParams} (a request queued before sealing existed is returned as is).
 * @throws MaestroError `PAYLOAD_UNDECRYPTABLE` when no configured key opens a sealed param.
 */
export function openSecretParams(codec: AesGcmPayloadCodec, request: LaunchRequest): LaunchRequest {
  const secret = new Set(request.compiled.ir.parameters.filter((p) => p.secret).map((p) => p.name));
  const opened = (name: string, value: unknown): unknown => {
    if (!secret.has(name) || typeof value !== 'object' || value === null || Array.isArray(value)) return value;
    const sealed = (value as Record<string, unknown>)[SEALED];
    return typeof sealed === 'string' && Object.keys(value).length === 1 ? openValue(codec, sealed) : value;
  };
  return { ...request, params: Object.fromEntries(Object.entries(request.params).map(([name, value]) => [name, opened(name, value)])) };
}

/**
 * The run's trace id and parent span: as given, else the active span's (a run started while an API
 * request is handled is its child), else a new trace — a schedule's or a message trigger's fire.
 */
function runTrace({ traceId, traceParent }: Pick<LaunchRequest, 'traceId' | 'traceParent'>): Pick<LaunchRequest, 'traceId' | 'traceParent'> {
  const parent = traceParent ?? activeTraceparent();
  const parentTraceId = parseTraceparent(parent)?.traceId;
  const id = traceId ?? parentTraceId ?? randomBytes(16).toString('hex');
  return { traceId: id, ...(parent !== undefined && parentTraceId === id ? { traceParent: parent } : {}) };
}

/** A fresh run id. */
export function newRunId(): string {
  return `run-${randomUUID()}`;
}

/**
 * Starts the run on Temporal unless a run with its id exists already; a workflow with
 * `spec.concurrency` first acquires its key (see `acquireConcurrencyKey`).
 * @param enqueuedAt when the run entered its namespace's admission queue (its wait is recorded)
 * @returns `started` when this call started it (`queued`: started, waiting for its key), else `exists`.
 * @throws MaestroError `CONCURRENCY_LIMIT` when the key is taken and `onConflict` is `reject`.
 */
export async function startOnTemporal(context: LaunchContext, request: LaunchRequest, enqueuedAt?: string): Promise<'started' | 'queued' | 'exists'> {
  const acquired = await acquireConcurrencyKey(context.client, context.taskQueue, request);
  const concurrency = acquired && { key: acquired.key, lockId: acquired.lockId, granted: acquired.granted };
  const input = interpreterInput({
    compiled: request.compiled,
    params: request.params,
    namespace: request.namespace,
    startedBy: request.startedBy,
    principal: request.principal,
    ...(request.carried === undefined ? {} : { carried: request.carried }),
    ...(request.traceId === undefined ? {} : { traceId: request.traceId }),
    ...(request.traceParent === undefined ? {} : { traceParent: request.traceParent }),
    ...(request.taskDecisions === undefined ? {} : { taskDecisions: request.taskDecisions }),
    ...(request.cache === undefined ? {} : { cache: request.cache }),
    ...(concurrency === undefined ? {} : { concurrency }),
    ...(request.schedule === undefined ? {} : { schedule: request.schedule }),
  });
  try {
    await startInterpreter(context.client, request.runId, input, { taskQueue: context.taskQueue, ...(request.priority === undefined ? {} : { priority: request.priority }) });
  } catch (error) {
    if (error instanceof WorkflowExecutionAlreadyStartedError) return 'exists';
    throw missingSearchAttribute(error, context.client.options.namespace) ?? error;
  }
  rememberStartedRun(request.runId, input, request.priority);
  const metrics = context.metrics ?? processMetrics();
  const workflow = request.compiled.ir.name;
  metrics.add('maestro_runs_started', 1, { namespace: request.namespace, workflow, started_by_kind: startedByKind(request) });
  if (enqueuedAt !== undefined) metrics.record('maestro_run_queue_seconds', Math.max(0, Date.now() - Date.parse(enqueuedAt)) / 1000, { namespace: request.namespace });
  for (const holder of acquired?.cancel ?? []) await cancelHolder(context, request, holder);
  return concurrency?.granted === false ? 'queued' : 'started';
}

/**
 * Cancels a run holding the key a `cancel-running` run takes, recorded first in the audit log as
 * any cancellation is (by the new run's starter, `details.by` the new run). A holder that has
 * ended meanwhile has nothing to cancel.
 */
async function cancelHolder(context: LaunchContext, request: LaunchRequest, holder: string): Promise<void> {
  await recordBeforeActing(context.auditLog, {
    kind: 'cancellation',
    runId: holder,
    namespace: request.namespace,
    actor: request.startedBy,
    action: 'cancel',
    reason: `concurrency key taken by run ${request.runId} (onConflict: cancel-running)`,
    details: { by: request.runId },
    ...(request.traceId === undefined ? {} : { traceId: request.traceId }),
  });
  try {
    await cancelOnTemporal(context.client, holder);
  } catch (error) {
    if (!(error instanceof WorkflowNotFoundError)) throw error;
  }
}

/**
 * The policy's run-start decision on a request: every decision is recorded (after `preceding`, in
 * the same write); a denial throws `PolicyDeniedError`. {@link launchRun} asks it for every run; the worker asks it for a
 * sub-workflow's run before the interpreter starts it as a child workflow.
 * @returns the id of each task's decision, by task id (see {@link LaunchRequest.taskDecisions})
 */
export async function authorizeRunStart(
  gate: PolicyGate,
  request: Pick<LaunchRequest, 'runId' | 'principal' | 'compiled' | 'namespace' | 'traceId' | 'carried'>,
  metrics: ProcessMetrics = processMetrics(),
  preceding: readonly AuditEntry[] = [],
): Promise<Record<string, string>> {
  const result = await checkRunStart(gate, {
    principal: request.principal,
    compiled: request.compiled,
    run: { runId: request.runId, namespace: request.namespace, ...(request.traceId === undefined ? {} : { traceId: request.traceId }) },
    ...(request.carried === undefined ? {} : { skip: request.carried.map((task) => task.id) }),
    ...(preceding.length === 0 ? {} : { preceding }),
  });
  if (!result.allow) {
    const denial = runStartDenial(result);
    if (denial.code === 'POLICY_DENIED') metrics.add('maestro_policy_denials', 1, { namespace: request.namespace, workflow: request.compiled.ir.name, stage: 'run_start' });
    throw denial;
  }
  return taskDecisionIds(result);
}

/**
 * Records where `request` comes from, under the original run's id.
 * @throws MaestroError `AUDIT_UNAVAILABLE` (503) when the audit log refuses the record.
 */
async function recordOrigin(log: AuditLog, request: LaunchRequest, origin: RunOrigin): Promise<void> {
  const common = { runId: origin.runId, namespace: request.namespace, actor: request.startedBy, ...(request.traceId === undefined ? {} : { traceId: request.traceId }) };
  await recordBeforeActing(
    log,
    origin.kind === 'replay'
      ? { ...common, kind: 'replay', action: 'replay', details: { replayRunId: request.runId } }
      : { ...common, kind: 'retry', action: `retry-from-${origin.from}`, ...(origin.reason === undefined ? {} : { reason: origin.reason }), details: { newRunId: request.runId } },
  );
}

/**
 * Appends the records that precede a start decided without a policy gate.
 * @throws MaestroError `AUDIT_UNAVAILABLE` (503) when the audit log refuses them.
 */
async function appendPreceding(log: AuditLog, preceding: readonly AuditEntry[]): Promise<void> {
  try {
    await log.appendAll(preceding);
  } catch (error) {
    throw new MaestroError('AUDIT_UNAVAILABLE', `the audit log cannot record what led to this run start (${preceding.map((entry) => entry.result).join(', ')}), so it was not done; try again later`, { cause: error });
  }
}

/** The run a repeated request's key is bound to, when it was started or queued. */
async function existingRun(context: LaunchContext, runId: string): Promise<LaunchResult | undefined> {
  const started = await describeRun(context.client, runId);
  if (started) return { runId, status: started.status, created: false };
  return (await context.store.getAdmission(runId))?.state === 'queued' ? { runId, status: 'QUEUED', created: false } : undefined;
}

/**
 * Starts (or queues) a run. With an idempotency key, the first request binds the key to its run id
 * and every later one gets that run back (`created: false`) as it is, started or queued, without
 * a second policy decision, audit record or charge; a request that died between binding the key
 * and starting (or was refused) is completed by the next one, decided afresh, because the start is
 * idempotent by run id: an idempotency key bound by a refused request starts its run once a later
 * request with that key is allowed.
 * A replay or a retry (`origin`) is recorded in the audit log after that decision and before it
 * starts; when the record cannot be written, nothing starts (`AUDIT_UNAVAILABLE`).
 * In a namespace with a run limit, the run takes a slot or waits in the store's admission queue,
 * which the admission loop drains as runs finish.
 *
 * @param request without `runId`, a fresh `run-<uuid>`
 * @param preceding audit records of what led to this start (a trigger's fire), appended once the
 *   start is decided and before anything is queued or started: in the policy decisions' write
 *   when there is a policy gate (one write, not two), else on their own.
 * @throws MaestroError `AUDIT_UNAVAILABLE` when there is no policy gate and `preceding` cannot be
 *   recorded (with one, the gate's `UNAVAILABLE`); nothing started then.
 */
export async function launchRun(
  context: LaunchContext,
  request: Omit<LaunchRequest, 'runId'> & { runId?: string },
  idempotencyKey?: string,
  preceding: readonly AuditEntry[] = [],
): Promise<LaunchResult> {
  const fresh = request.runId ?? newRunId();
  const runId = idempotencyKey === undefined ? fresh : await context.store.claimIdempotencyKey(request.namespace, idempotencyKey, fresh);
  if (runId !== fresh) {
    // A repeated request: the run its key is bound to answers it. (A finished run must not take,
    // or be refused, its concurrency key a second time either.)
    const existing = await existingRun(context, runId);
    if (existing) return existing;
  }
  const traced: LaunchRequest = { ...request, ...runTrace(request), runId };
  const taskDecisions = context.policy === undefined ? undefined : await authorizeRunStart(context.policy, traced, context.metrics, preceding);
  if (context.policy === undefined && preceding.length > 0) await appendPreceding(context.auditLog, preceding);
  const full: LaunchRequest = taskDecisions === undefined ? traced : { ...traced, taskDecisions };
  if (full.origin !== undefined) await recordOrigin(context.auditLog, full, full.origin);
  await chargeRun(context, full);
  const limit = context.runLimits[request.namespace];
  const enqueuedAt = limit === undefined ? undefined : new Date().toISOString();
  if (limit !== undefined) {
    const state = await context.store.enqueueRun({ runId, namespace: request.namespace, enqueuedAt: enqueuedAt ?? '', request: sealSecretParams(context.payloadCodec, full) }, limit);
    if (state === 'queued') return { runId, status: 'QUEUED', created: runId === fresh };
  }
  let started;
  try {
    started = await startOnTemporal(context, full, enqueuedAt);
  } catch (error) {
    // Refused by its concurrency key: the namespace slot it was admitted to is free again.
    if (limit !== undefined && error instanceof MaestroError && error.code === 'CONCURRENCY_LIMIT') await context.store.releaseRun(runId);
    // A run that did not start is not charged (a repeated request charges it again).
    await context.store.releaseRunCharge(runId);
    throw error;
  }
  if (started !== 'exists' || runId === fresh) return { runId, status: started === 'queued' ? 'QUEUED' : 'RUNNING', created: runId === fresh };
  const existing = await describeRun(context.client, runId);
  return { runId, status: existing?.status ?? 'RUNNING', created: false };
}
