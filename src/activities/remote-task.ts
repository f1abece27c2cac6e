/**
 * The two local activities around an attempt of a `remote` task — one an external (e.g. Python)
 * worker registered with `POST /tasks` and serves as the activity `maestro.task:<name>@<version>`
 * on its task queue (the wire contract: `docs/python-tasks.md`):
 *
 * - `prepareRemoteTask`, before the code runs: the policy decision (recorded before anything
 *   else), the budget, the input checked against the registered schema, and the task-cache lookup
 *   keyed on the registered code digest; returns the cached outputs or the request to dispatch.
 * - `finishRemoteTask`, after it ran: the output checked against the registered schema, the lines
 *   and events it returned written to the run's task log, the cache entry stored, the attempt
 *   counted and recorded in the usage ledger; a failure is raised as `runTask` raises one.
 *
 * The same pieces as `runTask` (`admitAttempt`, the budget guard, the attempt log, `toFailure`).
 */
import { Context } from '@temporalio/activity';
import { cacheKey } from '../cache/index.js';
import { ApplicationFailure } from '@temporalio/common';
import { MaestroError } from '../errors/index.js';
import type { RemoteAttemptInput, RemoteFinishInput, RemoteLogLine, RemotePreparation, RunTaskResult, TaskFailureDetails } from '../ir/index.js';
import { mintTaskGrant } from '../secrets/index.js';
import { validateTaskInput, validateTaskOutput, type TaskDefinition } from '../sdk/index.js';
import { attemptCost, offloadLargeFields, resolveArtifactRefs, type RegisteredTask, type Store } from '../store/index.js';
import { noteCacheHit, processMetrics } from '../telemetry/index.js';
import { createAttemptLog, type AttemptLog } from './attempt-log.js';
import { admitAttempt, countAttempt, toFailure, type ActivityDeps } from './run-task.js';
import { createBudgetGuard, recordAttempt, type AttemptEnding } from './usage.js';

/** What the remote-task activities need besides {@link ActivityDeps}: where registrations are read. */
export interface RemoteTaskDeps extends ActivityDeps {
  /**
   * The registry of tasks external workers registered (the store).
   * @default undefined — every remote task attempt fails with `TASK_NOT_FOUND`
   */
  registeredTasks?: Pick<Store, 'getRegisteredTask'>;
  /**
   * Keys of the attempts' secret grants ({@link taskGrantKeys}; the first signs), shared with the API's `POST /tasks/secrets`.
   * @default undefined — attempts get an empty grant, and their secret requests are refused
   */
  taskGrantKeys?: readonly Buffer[];
}

/** The catalog view of a registration, for the SDK's schema checks. */
function definitionOf(task: RegisteredTask): TaskDefinition {
  return { name: task.name, version: task.version, description: task.description, input: task.inputSchema, output: task.outputSchema, execution: 'remote', remote: { namespace: task.namespace, language: task.language, taskQueue: task.taskQueue, codeDigest: task.codeDigest, timeoutMs: task.timeoutMs } };
}

/** Builds `prepareRemoteTask` and `finishRemoteTask`. */
export function createRemoteTaskActivities(deps: RemoteTaskDeps) {
  const { artifacts, policy, taskCache, taskLog, taskLogOptions, usage, registeredTasks, taskGrantKeys: grantKeys, largeOutputBytes = 256 * 1024, metrics = processMetrics() } = deps;
  const budgets = usage?.budgets === undefined || Object.keys(usage.budgets).length === 0 ? undefined : createBudgetGuard(usage, (message, meta) => Context.current().log.error(message, meta));

  function attemptLog(input: RemoteAttemptInput): AttemptLog {
    const activity = Context.current();
    return createAttemptLog(
      {
        runId: input.runId,
        taskId: input.taskId,
        attempt: input.attempt,
        processLog: activity.log,
        // The remote worker resolves its secrets itself (`POST /tasks/secrets`); none are resolved here.
        secrets: () => Promise.reject(new MaestroError('INTERNAL', 'a remote task resolves its secrets in its own worker')),
        ...(input.redact === undefined ? {} : { redact: input.redact }),
        ...(taskLog === undefined ? {} : { taskLog }),
      },
      taskLogOptions,
    );
  }

  /** The registration the node pinned, checked to be the one registered in the run's namespace. */
  async function registration(input: RemoteAttemptInput): Promise<TaskDefinition> {
    const at = input.uses.lastIndexOf('@');
    const [name, version] = [input.uses.slice(0, at), input.uses.slice(at + 1)];
    if (input.remote.namespace !== input.namespace) {
      throw new MaestroError('FORBIDDEN', `${input.uses} was registered in namespace ${input.remote.namespace}, not in this run's namespace ${input.namespace}`, { retryable: false });
    }
    const task = await registeredTasks?.getRegisteredTask(input.namespace, name, version);
    if (!task) throw new MaestroError('TASK_NOT_FOUND', `task ${input.uses} is not registered in namespace ${input.namespace}`, { retryable: false });
    if (task.codeDigest !== input.remote.codeDigest) {
      throw new MaestroError('TASK_NOT_FOUND', `task ${input.uses} is registered with code ${task.codeDigest}, not the ${input.remote.codeDigest} the workflow was compiled against`, { retryable: false });
    }
    return definitionOf(task);
  }

  const cacheUsed = (input: RemoteAttemptInput): boolean => taskCache !== undefined && input.cache?.enabled === true && input.cacheMode !== 'bypass';
  const keyOf = (input: RemoteAttemptInput): string => cacheKey({ uses: input.uses, codeDigest: input.remote.codeDigest, input: input.input });

  /** Ends an attempt's bookkeeping: metrics, the task log, the usage row. */
  async function settle(input: RemoteAttemptInput, log: AttemptLog, ending: AttemptEnding): Promise<void> {
    countAttempt(metrics, input, ending, (Date.now() - ending.startedMs) / 1000);
    await Promise.all([log.close(), usage && recordAttempt(usage, input, ending, (message, meta) => Context.current().log.error(message, meta))]);
  }

  async function prepareRemoteTask(input: RemoteAttemptInput): Promise<RemotePreparation> {
    const activity = Context.current();
    const startedMs = Date.now();
    const log = attemptLog(input);
    const ending: AttemptEnding = { startedMs, scheduledMs: activity.info.currentAttemptScheduledTimestampMs, outcome: 'failed', errorCode: 'INTERNAL', connectorCalls: 0 };
    let dispatched = false;
    try {
      const admission = await admitAttempt(policy, input, activity, log);
      await budgets?.beforeAttempt(input, activity.cancellationSignal, () => activity.heartbeat());
      const definition = await registration(input);
      const taskInput = (await resolveArtifactRefs(input.input, artifacts)) as Record<string, unknown>;
      validateTaskInput(definition as Parameters<typeof validateTaskInput>[0], taskInput);
      await admission?.recorded;
      if (cacheUsed(input)) {
        const hit = await taskCache?.get(keyOf(input)).catch((error: unknown) => void log.logger.warn('task cache get failed; running the task', { error: String(error) }));
        if (hit) {
          noteCacheHit(true);
          ending.outcome = 'cached';
          delete ending.errorCode;
          return { startedMs, cached: true, outputs: hit.outputs };
        }
      }
      log.logger.info(`dispatching to task queue ${input.remote.taskQueue} (${input.remote.language}, code ${input.remote.codeDigest})`);
      dispatched = true;
      // The grant the remote worker resolves secrets with: this attempt, this namespace, for as long as the attempt may run.
      const claims = { runId: input.runId, taskId: input.taskId, attempt: input.attempt, namespace: input.namespace, task: input.uses, exp: Date.now() + input.remote.timeoutMs };
      const grant = grantKeys?.[0] === undefined ? '' : mintTaskGrant(grantKeys[0], claims);
      const context = { runId: input.runId, taskId: input.taskId, attempt: input.attempt, namespace: input.namespace, grant };
      return { startedMs, cached: false, request: { input: taskInput, context } };
    } catch (error) {
      const failure = toFailure(error, log.redact);
      ending.outcome = failure.type === 'POLICY_DENIED' ? 'denied' : 'failed';
      ending.errorCode = failure.type ?? 'TASK_FAILED';
      throw failure;
    } finally {
      // A dispatched attempt is settled by `finishRemoteTask`; the rest end here.
      if (dispatched) await log.close();
      else await settle(input, log, ending);
    }
  }

  async function finishRemoteTask({ attempt: input, startedMs, result, failure }: RemoteFinishInput): Promise<RunTaskResult> {
    const log = attemptLog(input);
    const ending: AttemptEnding = { startedMs, outcome: 'failed', errorCode: 'INTERNAL', connectorCalls: 0 };
    try {
      writeRemoteLines(log, result?.logs ?? failure?.logs, result?.events ?? failure?.events);
      // The remote task's own code (`TaskError(code=…)` may name any): the run's error says it as given.
      if (failure) throw ApplicationFailure.create({ message: log.redact(failure.message), type: failure.code, nonRetryable: true, details: [{ retryable: failure.retryable } satisfies TaskFailureDetails] });
      if (!result) throw new MaestroError('INTERNAL', `finishRemoteTask of ${input.uses} got neither a result nor a failure`);
      validateTaskOutput((await registration(input)) as Parameters<typeof validateTaskOutput>[0], result.output);
      const outputs = await offloadLargeFields(result.output ?? null, artifacts, largeOutputBytes);
      if (cacheUsed(input)) {
        const ttlMs = input.cache?.ttlMs;
        await taskCache?.put({ key: keyOf(input), uses: input.uses, outputs, ...(ttlMs === undefined ? {} : { ttlMs }) }).catch((error: unknown) => log.logger.warn('task cache put failed', { error: String(error) }));
      }
      noteCacheHit(false);
      ending.outcome = 'succeeded';
      delete ending.errorCode;
      await budgets?.afterAttempt(input, attemptCost(usage?.costModel ?? {}, { resourceClass: input.runsOn, durationMs: Date.now() - startedMs, connectorCalls: 0, ran: true }));
      return { outputs };
    } catch (error) {
      const raised = error instanceof ApplicationFailure ? error : toFailure(error, log.redact);
      ending.errorCode = raised.type ?? 'TASK_FAILED';
      throw raised;
    } finally {
      await settle(input, log, ending);
    }
  }

  return { prepareRemoteTask, finishRemoteTask };
}

/** Most lines and bytes of one attempt's returned log kept (the contract's bound; the worker trims first). */
const MAX_REMOTE_LINES = 1_000;
const MAX_REMOTE_LOG_BYTES = 256 * 1024;

/** Writes what the remote task logged and emitted to its attempt log, as `ctx.logger` lines are written. */
function writeRemoteLines(log: AttemptLog, lines: readonly RemoteLogLine[] | undefined, events: readonly { type: string }[] | undefined): void {
  let bytes = 0;
  let dropped = 0;
  for (const line of (lines ?? []).slice(0, MAX_REMOTE_LINES)) {
    const size = Buffer.byteLength(JSON.stringify(line));
    if (bytes + size > MAX_REMOTE_LOG_BYTES) {
      dropped += 1;
      continue;
    }
    bytes += size;
    const level = line.level === 'debug' || line.level === 'warn' || line.level === 'error' ? line.level : 'info';
    log.logger[level](String(line.message), { ...(typeof line.fields === 'object' && line.fields !== null ? line.fields : {}), ts: String(line.ts) });
  }
  dropped += Math.max(0, (lines?.length ?? 0) - MAX_REMOTE_LINES);
  if (dropped > 0) log.logger.warn(`${dropped} log lines of the remote task were dropped (more than ${MAX_REMOTE_LINES} lines or ${MAX_REMOTE_LOG_BYTES} bytes)`);
  for (const event of (events ?? []).slice(0, MAX_REMOTE_LINES)) log.logger.info(`event ${String(event.type)}`, { event });
}
