import type { KeyObject } from 'node:crypto';
import { Context } from '@temporalio/activity';
import { ApplicationFailure, CancelledFailure } from '@temporalio/common';
import type { Catalog } from '../catalog/index.js';
import { EgressGuard, connectionCounter, type ConnectionCount } from '../egress/index.js';
import { MaestroError, TaskError, isMaestroError } from '../errors/index.js';
import type { RunTaskInput, RunTaskResult, TaskFailureDetails } from '../ir/index.js';
import { taskPolicyInput, type Admission, type PolicyGate } from '../policy/index.js';
import { runCached, type TaskCache } from '../cache/index.js';
import type { WriteReceiptInput, WriteReceiptResult } from '../provenance/index.js';
import { selectRunner, type Runners } from '../runners/index.js';
import type { SecretResolver } from '../secrets/index.js';
import { errorCodeLabel, inAttemptSpan, inPolicySpan, noteCacheHit, processMetrics, taskLabel, type ProcessMetrics } from '../telemetry/index.js';
import {
  isBuiltinTask,
  validateTaskInput,
  type ExecutableTaskDefinition,
  type TaskContext,
} from '../sdk/index.js';
import { attemptCost, offloadLargeFields, resolveArtifactRefs, type ArtifactStore, type TaskLog } from '../store/index.js';
import { createAttemptLog, type AttemptLog, type AttemptLogOptions } from './attempt-log.js';
import type { SubWorkflowDeps } from './sub-workflow.js';
import { createBudgetGuard, recordAttempt, type AttemptEnding, type UsageDeps } from './usage.js';

/** What the activities need from the worker (the sub-workflow start's settings included). */
export interface ActivityDeps extends SubWorkflowDeps {
  catalog: Catalog;
  artifacts: ArtifactStore;
  runners: Runners;
  /** Outputs whose JSON is larger go to the artifact store. @default 262144 */
  largeOutputBytes?: number;
  /**
   * Resolves a secret for the run's namespace and the task's destination (see
   * `createSecretResolver`); values never enter workflow history.
   */
  secrets: SecretResolver;
  /** How often a running activity heartbeats. @default 1000 */
  heartbeatIntervalMs?: number;
  /** Decides each attempt before the task's code runs; without it, every task may run. */
  policy?: PolicyGate;
  /** Outputs of deterministic tasks by cache key; without it, every task runs. */
  taskCache?: TaskCache;
  /** Code digest of each task by exact `uses`, part of its cache key. */
  taskCodeDigests?: Readonly<Record<string, string>>;
  /**
   * Where the lines of `ctx.logger` (and `ctx.emit`) go besides the process log, for
   * `GET /runs/{runId}/logs`; without it, to the process log only.
   */
  taskLog?: TaskLog;
  /** Buffering of the task log and the bound on what one attempt writes to it. @default see {@link AttemptLogOptions} */
  taskLogOptions?: AttemptLogOptions;
  /**
   * The public half of the approval key: the `verifyApproval` activity accepts only decisions the
   * API signed with it.
   * @default undefined — every approval is refused
   */
  approvalKey?: KeyObject;
  /**
   * The usage ledger each attempt's row goes to, and the cost model that prices it.
   * @default undefined — no usage recorded
   */
  usage?: UsageDeps;
  /** The `writeReceipt` activity: signs and stores a run's provenance receipt. */
  writeReceipt: (input: WriteReceiptInput) => Promise<WriteReceiptResult>;
  /**
   * Where each attempt is counted (outcome, code, duration, cache hit, policy denial) and its
   * schedule-to-start latency recorded.
   * @default processMetrics() — this process's metrics
   */
  metrics?: ProcessMetrics;
}

/**
 * Builds the `runTask` activity: one attempt of one catalog task, through its runner. Task
 * failures are raised as non-retryable `ApplicationFailure`s whose type is the error code and whose
 * details say whether the interpreter may retry; Temporal itself only retries infrastructure loss.
 */
export function createRunTask(deps: ActivityDeps): (input: RunTaskInput) => Promise<RunTaskResult> {
  const { catalog, artifacts, runners, secrets, policy, taskCache, taskLog, taskLogOptions, usage, taskCodeDigests = {}, largeOutputBytes = 256 * 1024, heartbeatIntervalMs = 1000, metrics = processMetrics() } = deps;
  const initialised = new Map<ExecutableTaskDefinition, Promise<void>>();
  const budgets = usage?.budgets === undefined || Object.keys(usage.budgets).length === 0 ? undefined : createBudgetGuard(usage, (message, meta) => Context.current().log.error(message, meta));

  // Each attempt runs in its span (a child of the run's) when this worker exports traces, and the
  // connections its connectors open are counted wherever they are checked (see `connectionCounter`).
  return (input) =>
    inAttemptSpan(input, () => {
      const calls: ConnectionCount = { connections: 0 };
      return connectionCounter.run(calls, () => runAttempt(input, calls));
    });

  async function runAttempt(input: RunTaskInput, calls: ConnectionCount): Promise<RunTaskResult> {
    const startedMs = Date.now();
    const activity = Context.current();
    const began = performance.now();
    if (!activity.info.isLocal) {
      metrics.record('maestro_task_schedule_to_start_seconds', Math.max(0, startedMs - activity.info.currentAttemptScheduledTimestampMs) / 1000, { task_queue: activity.info.taskQueue });
    }
    const ending: AttemptEnding = { startedMs, scheduledMs: activity.info.currentAttemptScheduledTimestampMs, outcome: 'failed', errorCode: 'INTERNAL', connectorCalls: 0 };
    const timeout = input.timeoutMs === undefined ? undefined : AbortSignal.timeout(input.timeoutMs);
    const signal = timeout ? AbortSignal.any([activity.cancellationSignal, timeout]) : activity.cancellationSignal;
    const beat = activity.info.isLocal ? undefined : setInterval(() => activity.heartbeat(), heartbeatIntervalMs);
    const log = createAttemptLog({ runId: input.runId, taskId: input.taskId, attempt: input.attempt, processLog: activity.log, secrets: (name, use) => secrets(name, { ...use, namespace: input.namespace, signal }), ...(input.redact === undefined ? {} : { redact: input.redact }), ...(taskLog === undefined ? {} : { taskLog }) }, taskLogOptions);
    try {
      // Before anything else: a denied task has no side effect, not even reading its inputs.
      const admission = await admitAttempt(policy, input, activity, log);
      const decision = admission?.decision;
      // A spent budget stops the attempt before it reads its inputs (or pauses the run and waits).
      await budgets?.beforeAttempt(input, activity.cancellationSignal, () => activity.heartbeat());
      const definition = executable(catalog, input.uses);
      const taskInput = (await resolveArtifactRefs(input.input, artifacts)) as Record<string, unknown>;
      validateTaskInput(definition, taskInput);
      definition.validate?.(taskInput);
      // The decision is in the audit log before the task's code runs or its cached outputs are
      // used. On PostgreSQL, reading and checking the input above went on while it was written.
      await admission?.recorded;
      if (definition.init) {
        const init = initialised.get(definition) ?? definition.init();
        initialised.set(definition, init);
        await init;
      }
      const ctx = taskContext(catalog, input, activity, signal, log);
      const codeDigest = taskCodeDigests[input.uses];
      // A task whose code cannot be digested is never cached: its key could not tell versions apart.
      const { outputs, cached } = await runCached(
        codeDigest === undefined ? undefined : taskCache,
        {
          uses: input.uses,
          codeDigest: codeDigest ?? '',
          input: input.input,
          cache: input.cache,
          mode: input.cacheMode ?? 'use',
          onCacheError: (error, operation) => ctx.logger.warn(`task cache ${operation} failed; running the task`, { error: String(error) }),
        },
        async () => offloadLargeFields((await selectRunner(runners, input.runsOn).run(definition, taskInput, ctx, { ...decision?.obligations })) ?? null, artifacts, largeOutputBytes),
      );
      noteCacheHit(cached);
      ending.outcome = cached ? 'cached' : 'succeeded';
      delete ending.errorCode;
      await budgets?.afterAttempt(input, attemptCost(usage?.costModel ?? {}, { resourceClass: input.runsOn, durationMs: Date.now() - startedMs, connectorCalls: calls.connections, ran: !cached }));
      return { outputs, ...(cached ? { cached: true } : {}) };
    } catch (error) {
      if (activity.cancellationSignal.aborted) {
        ending.outcome = 'cancelled';
        delete ending.errorCode;
        throw new CancelledFailure('the run was cancelled', [], redactedError(asError(error), log.redact));
      }
      const failure = timeout?.aborted ? toFailure(new TaskError(`timed out after ${input.timeoutMs} ms`, { code: 'TASK_TIMEOUT', cause: error }), log.redact) : toFailure(error, log.redact);
      ending.outcome = failure.type === 'POLICY_DENIED' ? 'denied' : 'failed';
      ending.errorCode = failure.type ?? 'TASK_FAILED';
      throw failure;
    } finally {
      if (beat) clearInterval(beat);
      ending.connectorCalls = calls.connections;
      countAttempt(metrics, input, ending, (performance.now() - began) / 1000);
      // Beside the task log's flush: the row adds no wait of its own to the attempt's end.
      await Promise.all([log.close(), usage && recordAttempt(usage, input, ending, (message, meta) => activity.log.error(message, meta))]);
    }
  }
}

/**
 * Decides an attempt with the policy (when there is one) and logs the decision in the attempt's
 * log; a denial throws. The first attempt may act on its run-start decision (the gate checks it in
 * the audit log); a retry — the interpreter's or Temporal's after a lost worker — is always decided
 * again. Await the result's `recorded` before the task's code runs or its cached outputs are used.
 */
export async function admitAttempt(policy: PolicyGate | undefined, input: RunTaskInput, activity: Context, log: AttemptLog): Promise<Admission | undefined> {
  if (!policy) return undefined;
  const startDecisionId = input.attempt === 1 && activity.info.attempt === 1 ? input.policy?.startDecisionId : undefined;
  const offer = startDecisionId === undefined ? undefined : { decisionId: startDecisionId, attempt: input.attempt };
  const admission = await inPolicySpan(() => policy.admit(taskPolicyInput(input), offer));
  const { decision } = admission;
  if (decision) {
    const { purpose = '', authority = '', license = '' } = { ...input.policy?.context, ...input.policy?.overrides };
    const obliged = decision.obligations?.requireSignedImage ? ', signed image required' : '';
    const how = admission.reused ? ' (reused from the run start)' : admission.decidedAgain === undefined ? '' : ` (decided again: ${admission.decidedAgain})`;
    log.note(`policy allowed (purpose ${purpose}, authority ${authority}, license ${license}${obliged}) decision ${decision.decisionId}${how}`, {
      decisionId: decision.decisionId,
      ...(admission.reused ? { reused: true } : {}),
      ...decision.obligations,
    });
  }
  return admission;
}

/**
 * Counts one attempt in the metrics. The workflow comes from the attempt's policy context (a run
 * started without a principal has none: `''`); a forEach item counts under its task's id.
 */
export function countAttempt(metrics: ProcessMetrics, input: RunTaskInput, { outcome, errorCode }: AttemptEnding, seconds: number): void {
  const scope = { namespace: input.namespace, workflow: input.policy?.workflow.name ?? '', task: taskLabel(input.taskId) };
  metrics.add('maestro_task_attempts', 1, { ...scope, uses: input.uses, runner: input.runsOn, outcome, code: errorCode === undefined ? '' : errorCodeLabel(errorCode) });
  metrics.record('maestro_task_attempt_duration_seconds', seconds, { ...scope, runner: input.runsOn, outcome });
  if (outcome === 'cached') metrics.add('maestro_task_cache_hits', 1, scope);
  if (outcome === 'denied') metrics.add('maestro_policy_denials', 1, { namespace: scope.namespace, workflow: scope.workflow, stage: 'task_attempt' });
}

function executable(catalog: Catalog, uses: string): ExecutableTaskDefinition {
  const resolved = catalog.resolve(uses);
  if (!resolved.ok) throw new MaestroError('TASK_NOT_FOUND', resolved.message, { retryable: false });
  const { definition } = resolved;
  if (isBuiltinTask(definition)) throw new MaestroError('INTERNAL', `${uses} is carried out by the interpreter, not by an activity`);
  if (definition.execution === 'remote') throw new MaestroError('INTERNAL', `${uses} runs on its registered task queue (${definition.remote.taskQueue}), not in runTask`);
  return definition;
}

function taskContext(catalog: Catalog, input: RunTaskInput, activity: Context, signal: AbortSignal, { logger, secrets }: AttemptLog): TaskContext {
  return {
    runId: input.runId,
    taskId: input.taskId,
    attempt: input.attempt,
    namespace: input.namespace,
    egress: new EgressGuard(catalog.egress, input.namespace),
    signal,
    logger,
    heartbeat: (details) => activity.heartbeat(details),
    secrets,
    emit: (event) => logger.info(`event ${event.type}`, { event }),
  };
}

/**
 * The one place a task error becomes a Temporal failure: type = code, details = retryability.
 * Messages and stacks (the cause's too) go through `redact`: a failure's message and stack are not
 * payloads, so the codec does not encrypt them in history, and the API shows them to the user.
 */
export function toFailure(error: unknown, redact: (text: string) => string): ApplicationFailure {
  const maestro = isMaestroError(error) ? error : new TaskError(asError(error).message, { cause: error });
  const details: TaskFailureDetails = { retryable: maestro.retryable };
  const failure = ApplicationFailure.create({
    message: redact(maestro.message),
    type: maestro.code,
    nonRetryable: true,
    details: [details],
    ...(maestro.cause instanceof Error ? { cause: redactedError(maestro.cause, redact) } : {}),
  });
  if (failure.stack !== undefined) failure.stack = redact(failure.stack);
  return failure;
}

/** A copy of `error` (and its causes, a few deep) with secret values redacted from messages and stacks. */
function redactedError(error: Error, redact: (text: string) => string, depth = 0): Error {
  const cause = error.cause instanceof Error && depth < 5 ? redactedError(error.cause, redact, depth + 1) : undefined;
  const copy = new Error(redact(error.message), cause === undefined ? undefined : { cause });
  copy.name = error.name;
  copy.stack = error.stack === undefined ? undefined : redact(error.stack);
  return copy;
}

function asError(error: unknown): Error {
  return error instanceof Error ? error : new Error(String(error));
}
