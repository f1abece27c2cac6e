/**
 * The admission loop of namespaces with a concurrent-run limit. The queue lives in the store, not
 * in memory, so queued runs survive an API restart, and several API processes may run the loop
 * side by side (the store admits under a per-namespace lock; Temporal starts are idempotent by run
 * id). Each pass, per limited namespace: frees the slots of runs that have finished, starts any
 * admitted run Temporal does not know yet (an API that died mid-start), then admits queued runs
 * into the free slots, oldest first.
 */
import { MaestroError } from '../errors/index.js';
import { describeRun } from './temporal.js';
import { openSecretParams, startOnTemporal, type LaunchContext, type LaunchRequest } from './launch.js';

/** Options of {@link startAdmissionLoop}. */
export interface AdmissionLoopOptions {
  /**
   * Pause between passes.
   * @default 500
   */
  intervalMs?: number;
  /**
   * Where a failed pass is reported (the loop goes on).
   * @default console.error
   */
  log?: (message: string, error: unknown) => void;
}

/** A running admission loop. */
export interface AdmissionLoop {
  /** Runs a pass now (and waits for it); passes never overlap. */
  pass(): Promise<void>;
  /** Stops after the current pass. */
  stop(): Promise<void>;
}

/** One pass over one namespace. */
async function admitNamespace(context: LaunchContext, namespace: string, limit: number, log: Log): Promise<void> {
  for (const entry of await context.store.listAdmissions({ namespace, state: 'admitted' })) {
    const execution = await describeRun(context.client, entry.runId);
    if (!execution) await start(context, entry.request as LaunchRequest, log, entry.enqueuedAt);
    else if (execution.closed) await context.store.releaseRun(entry.runId);
  }
  for (const entry of await context.store.admitQueuedRuns(namespace, limit)) {
    await start(context, entry.request as LaunchRequest, log, entry.enqueuedAt);
  }
}

/**
 * Starts an admitted run. One whose concurrency key refuses it (`onConflict: reject`) never starts:
 * it leaves the namespace's queue, and the refusal is logged (its caller was answered QUEUED long ago).
 */
async function start(context: LaunchContext, request: LaunchRequest, log: Log, enqueuedAt: string): Promise<void> {
  try {
    await startOnTemporal(context, openSecretParams(context.payloadCodec, request), enqueuedAt);
  } catch (error) {
    if (!(error instanceof MaestroError && error.code === 'CONCURRENCY_LIMIT')) throw error;
    log(`maestro api: run ${request.runId} left the admission queue without starting:`, error);
    await context.store.releaseRun(request.runId);
  }
}

type Log = NonNullable<AdmissionLoopOptions['log']>;

/** Starts the loop over every namespace of `context.runLimits`; a no-op loop when there are none. */
export function startAdmissionLoop(context: LaunchContext, { intervalMs = 500, log = console.error }: AdmissionLoopOptions = {}): AdmissionLoop {
  const limits = Object.entries(context.runLimits);
  let running: Promise<void> = Promise.resolve();
  let stopped = false;
  const pass = (): Promise<void> => {
    running = running.then(async () => {
      for (const [namespace, limit] of limits) {
        try {
          await admitNamespace(context, namespace, limit, log);
        } catch (error) {
          log(`maestro api: admission pass for namespace ${namespace} failed (retrying in ${intervalMs} ms):`, error);
        }
      }
    });
    return running;
  };
  let timer: NodeJS.Timeout | undefined;
  const schedule = (): void => {
    if (stopped || limits.length === 0) return;
    timer = setTimeout(() => void pass().then(schedule), intervalMs);
  };
  schedule();
  return {
    pass,
    async stop() {
      stopped = true;
      clearTimeout(timer);
      await running;
    },
  };
}
