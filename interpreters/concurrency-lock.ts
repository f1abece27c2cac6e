/**
 * The lock of one concurrency key of one namespace (workflow id `maestro-concurrency:<namespace>:<sha256
 * of key>`): a Temporal workflow, so that every API replica and every run sees the same holders and
 * queue, and updates to it are serialised by Temporal. The Temporal shell around {@link KeyLock}:
 * `acquire` (update), `confirm` and `release` (signals) and the `lock` query go to it; grants go
 * to the runs. It watches its holders (a local activity describing them, on a
 * backoff from {@link PROBE_MIN_MS} to {@link PROBE_MAX_MS}) so that a run Temporal ended without a
 * release — terminated from the UI, timed out — frees its place. It ends once idle for {@link IDLE_MS}.
 */
import {
  ApplicationFailure,
  allHandlersFinished,
  condition,
  continueAsNew,
  getExternalWorkflowHandle,
  log,
  proxyLocalActivities,
  setHandler,
  workflowInfo,
} from '@temporalio/workflow';
import type { Activities } from '../src/activities/index.js';
import {
  CONCURRENCY_LIMIT_MAX,
  acquireUpdate,
  confirmSignal,
  grantedSignal,
  lockQuery,
  releaseSignal,
  type AcquireRequest,
  type LockInput,
} from '../src/ir/index.js';
import { KeyLock, type LockCommand } from './key-lock.js';

/** The first look at the holders after a change, and the longest pause between two looks. */
const PROBE_MIN_MS = 2_000;
const PROBE_MAX_MS = 60_000;
/** An idle lock ends after this long (the next acquire starts it again). */
const IDLE_MS = 10 * 60_000;
/** Continue as new past this many events (a lock lives as long as its key is busy). */
const HISTORY_LIMIT = 5_000;

const { probeRuns } = proxyLocalActivities<Activities>({ startToCloseTimeout: '30s', retry: { maximumAttempts: 3 } });

/** Runs the lock until it has been idle for {@link IDLE_MS}. */
export async function concurrencyLock(input: LockInput): Promise<void> {
  const { namespace, key } = input;
  const lock = new KeyLock(input.holders, input.queue);
  /** Bumped by every change: the watch starts its backoff again. */
  let changes = 0;

  function execute(commands: LockCommand[]): void {
    changes += 1;
    for (const command of commands) {
      // A run not started yet (its API is about to start it) or already ended cannot take the
      // grant: it confirms once it starts, and the watch drops one that never does.
      getExternalWorkflowHandle(command.runId)
        .signal(grantedSignal)
        .catch((error: unknown) => log.info('a concurrency grant did not reach its run', { runId: command.runId, error: String(error) }));
    }
  }

  setHandler(
    acquireUpdate,
    (request) => {
      const { result, commands } = lock.acquire(request, Date.now());
      execute(commands);
      return result;
    },
    { validator: validateAcquire },
  );
  setHandler(confirmSignal, ({ runId, limit }) => execute(lock.confirm(runId, Math.min(Math.max(1, Math.trunc(limit)), CONCURRENCY_LIMIT_MAX), Date.now())));
  setHandler(releaseSignal, ({ runId }) => execute(lock.release(runId, Date.now())));
  setHandler(lockQuery, () => lock.view(namespace, key));

  for (let pause = PROBE_MIN_MS; ; ) {
    if (lock.idle) {
      if (!(await condition(() => !lock.idle, IDLE_MS))) {
        // An acquire that reached the lock as it was about to end is handled first: then it stays.
        await condition(allHandlersFinished);
        if (lock.idle) break;
      }
      pause = PROBE_MIN_MS;
      continue;
    }
    const seen = changes;
    const changed = await condition(() => changes !== seen, pause);
    if (changed) {
      pause = PROBE_MIN_MS;
    } else {
      const probes = await probeRuns({ runIds: lock.holders.map((h) => h.runId) });
      execute(lock.probed(probes, Date.now()));
      pause = Math.min(pause * 2, PROBE_MAX_MS);
    }
    if (workflowInfo().continueAsNewSuggested || workflowInfo().historyLength > HISTORY_LIMIT) {
      await condition(allHandlersFinished);
      return continueAsNew<typeof concurrencyLock>({ namespace, key, holders: lock.holders, queue: lock.queue });
    }
  }
}

/** Refuses a malformed `acquire` before it is recorded. */
function validateAcquire(request: AcquireRequest): void {
  const { runId, limit, onConflict } = request;
  if (typeof runId !== 'string' || runId === '' || runId.length > 200) throw ApplicationFailure.nonRetryable('runId must be a non-empty string', 'BAD_REQUEST');
  if (!Number.isInteger(limit) || limit < 1 || limit > CONCURRENCY_LIMIT_MAX) throw ApplicationFailure.nonRetryable(`limit must be an integer from 1 to ${CONCURRENCY_LIMIT_MAX}`, 'BAD_REQUEST');
  if (onConflict !== 'queue' && onConflict !== 'reject' && onConflict !== 'cancel-running') throw ApplicationFailure.nonRetryable('onConflict must be queue, reject or cancel-running', 'BAD_REQUEST');
}
