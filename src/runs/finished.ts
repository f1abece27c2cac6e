/**
 * Watches Temporal visibility for runs that finish and feeds the run and task metrics: runs
 * finished by namespace, workflow and status, the duration of each of their tasks (from the run's
 * final state, read from its close event), and, for a run that succeeds right after a failed run of
 * its workflow, the time from that failure to this success (`maestro_workflow_recovery_seconds`,
 * MTTR). The previous run is read from visibility, not remembered, so the figure survives a
 * restart of the API (it is read for a workflow's first success after the start, and for each
 * success after a failure; not for a success after a success); every API replica watches, so each counts every run (query one replica, or
 * `max` over them). Counts runs that finish after the watcher starts.
 */
import { WorkflowFailedError, type Client } from '@temporalio/client';
import { waitForRun } from '../client/index.js';
import type { RunState } from '../ir/index.js';
import { taskLabel, type ProcessMetrics } from '../telemetry/index.js';
import { listFromTemporal, visibilityQuery, type RunSummary } from './list.js';

/** Options of {@link watchFinishedRuns}. */
export interface FinishedRunsOptions {
  /**
   * Pause between passes.
   * @default 2000
   */
  intervalMs?: number;
  /**
   * Where a failed pass is reported (the watcher goes on).
   * @default console.error
   */
  log?: (message: string, error: unknown) => void;
}

const PAGE_SIZE = 500;
/**
 * Visibility may show a run a little after a run that closed later: each pass lists the runs closed
 * since the newest close time it has seen, less this. Measured from what visibility shows, not from
 * the clock, so a visibility store that lags as a whole (a busy server) loses nothing; and each pass
 * lists only the runs of this window again, not a minute's worth (6,000 at 100 runs/s).
 */
const LOOKBACK_MS = 15_000;

function recordTasks(metrics: ProcessMetrics, namespace: string, state: RunState): void {
  for (const task of state.tasks) {
    if (task.startedAt === undefined || task.endedAt === undefined) continue;
    const seconds = (Date.parse(task.endedAt) - Date.parse(task.startedAt)) / 1000;
    metrics.record('maestro_task_duration_seconds', seconds, { namespace, workflow: state.workflow, task: taskLabel(task.id), status: task.status });
  }
}

/**
 * The run of `run`'s workflow (same namespace) that closed last before it: SQL visibility lists
 * closed runs newest close first, so the first one closed before `run` is it.
 */
async function previousFinished(client: Client, run: RunSummary, workflow: string, endedAt: string): Promise<RunSummary | undefined> {
  const query = `${visibilityQuery({ namespaces: [run.namespace], workflowRef: workflow })} AND ExecutionStatus != 'Running' AND CloseTime < '${endedAt}'`;
  const page = await listFromTemporal(client, {}, { limit: 1 }, query);
  return page.items[0];
}

/** Starts watching; `stop()` ends it after the current pass. */
export function watchFinishedRuns(client: Client, metrics: ProcessMetrics, { intervalMs = 2_000, log = console.error }: FinishedRunsOptions = {}): { stop(): Promise<void> } {
  const since = Date.now();
  const seen = new Map<string, number>();
  /**
   * Close times (ms) by workflow (namespace and name): the latest success whose previous run was
   * read from visibility, and the latest failure seen. A success that closed after the first with
   * no failure seen since cannot follow a failure, so its previous run is not read: one visibility
   * query per successful run saved, which at 100 runs/s is 100 list calls a second per API replica.
   */
  const checked = new Map<string, { success?: number; failure?: number }>();
  const workflowKey = (run: RunSummary): string => `${run.namespace}/${run.workflowRef.split('@')[0] ?? ''}`;
  /** The newest close time seen (ms). */
  let newest = since;
  let stopped = false;

  async function record(run: RunSummary): Promise<void> {
    const workflow = run.workflowRef.split('@')[0] ?? '';
    metrics.add('maestro_runs_finished', 1, { namespace: run.namespace, workflow, status: run.status });
    if (run.status === 'SUCCEEDED' && run.endedAt !== undefined) {
      const endedAt = Date.parse(run.endedAt);
      const known = checked.get(workflowKey(run));
      const mayFollowFailure = known?.success === undefined || endedAt <= known.success || (known.failure !== undefined && known.failure > known.success);
      if (mayFollowFailure) {
        const previous = await previousFinished(client, run, workflow, run.endedAt);
        if (previous?.status === 'FAILED' && previous.endedAt !== undefined) {
          metrics.record('maestro_workflow_recovery_seconds', (endedAt - Date.parse(previous.endedAt)) / 1000, { namespace: run.namespace, workflow });
        }
        checked.set(workflowKey(run), { ...known, success: Math.max(known?.success ?? endedAt, endedAt) });
      }
    }
    // A cancelled run's final state needs a query (a worker); its task durations are not worth that.
    if (run.status !== 'SUCCEEDED' && run.status !== 'FAILED') return;
    const state = await waitForRun(client, run.runId).catch((error: unknown) => {
      // Terminated or timed out by Temporal: no result carries the task states; the run is counted, its tasks are not.
      if (error instanceof WorkflowFailedError) return undefined;
      throw error;
    });
    if (state !== undefined) recordTasks(metrics, run.namespace, state);
  }

  async function pass(): Promise<void> {
    const from = new Date(Math.max(since, newest - LOOKBACK_MS)).toISOString();
    const query = `${visibilityQuery({})} AND ExecutionStatus != 'Running' AND CloseTime >= '${from}'`;
    let pageToken: string | undefined;
    // Every failure of the pass is known before its successes are recorded: pages list the newest
    // first, so the failure a success follows may come later in the listing.
    const fresh: RunSummary[] = [];
    try {
      do {
        const page = await listFromTemporal(client, {}, { limit: PAGE_SIZE, ...(pageToken === undefined ? {} : { pageToken }) }, query);
        for (const run of page.items) {
          const endedAt = run.endedAt === undefined ? undefined : Date.parse(run.endedAt);
          if (seen.has(run.runId) || endedAt === undefined || endedAt < since) continue;
          seen.set(run.runId, endedAt);
          newest = Math.max(newest, endedAt);
          fresh.push(run);
          if (run.status === 'FAILED') {
            const known = checked.get(workflowKey(run));
            checked.set(workflowKey(run), { ...known, failure: Math.max(known?.failure ?? endedAt, endedAt) });
          }
        }
        pageToken = page.nextPageToken;
      } while (pageToken !== undefined && !stopped);
    } finally {
      for (const run of fresh) await record(run).catch((error: unknown) => log(`maestro api: recording the metrics of run ${run.runId} failed:`, error));
    }
    const horizon = newest - 2 * LOOKBACK_MS;
    for (const [runId, endedAt] of seen) if (endedAt < horizon) seen.delete(runId);
    for (const [key, { success = 0, failure = 0 }] of checked) if (Math.max(success, failure) < horizon) checked.delete(key);
  }

  let current: Promise<void> = Promise.resolve();
  let timer: NodeJS.Timeout | undefined;
  const schedule = (): void => {
    if (stopped) return;
    timer = setTimeout(() => {
      current = pass().catch((error: unknown) => log('maestro api: watching finished runs failed (retrying):', error));
      void current.then(schedule);
    }, intervalMs);
  };
  schedule();
  return {
    async stop() {
      stopped = true;
      clearTimeout(timer);
      await current;
    },
  };
}
