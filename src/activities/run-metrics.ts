/**
 * The run metrics a run's end feeds, recorded in the worker that ends the run — where its final
 * state already is, beside its receipt — rather than by every API replica listing Temporal's
 * visibility and reading each finished run's result back (which cost each replica ~7% of its CPU
 * at 10 runs/s and counted every run once per replica):
 *
 * - `maestro_runs_finished` by namespace, workflow and status (SUCCEEDED, FAILED, CANCELLED);
 * - `maestro_task_duration_seconds` of each task that ran, by task (a forEach's items under their
 *   task's id) and status;
 * - `maestro_workflow_recovery_seconds` for a run that succeeded right after a failed run of its
 *   workflow: the time between their ends, the previous run read from the usage ledger in the
 *   transaction that records this run's end (so it survives restarts and holds across workers).
 *
 * Each run is counted by one worker: sum over the workers' series (counted again only when the
 * workflow task that ended it is retried after this ran, as its receipt is written again: a worker
 * lost in between). A run Temporal ends itself (terminated, execution timeout) writes no receipt,
 * so it is not counted here.
 */
import type { WriteReceiptInput } from '../provenance/index.js';
import type { RunEndRecorded } from '../store/index.js';
import { taskLabel, type ProcessMetrics } from '../telemetry/index.js';

/** Run statuses counted as finished (the endings a receipt is written for). */
const FINISHED = new Set(['SUCCEEDED', 'FAILED', 'CANCELLED']);

/** Records the metrics of a run that ended (see the file's comment); `recorded` is what the ledger saw. */
export function recordRunMetrics(metrics: ProcessMetrics, { ir, state, namespace = 'default' }: WriteReceiptInput, recorded: RunEndRecorded = {}): void {
  if (!FINISHED.has(state.status)) return;
  const workflow = ir.name;
  metrics.add('maestro_runs_finished', 1, { namespace, workflow, status: state.status });
  for (const task of state.tasks) {
    if (task.startedAt === undefined || task.endedAt === undefined) continue;
    const seconds = (Date.parse(task.endedAt) - Date.parse(task.startedAt)) / 1000;
    metrics.record('maestro_task_duration_seconds', seconds, { namespace, workflow, task: taskLabel(task.id), status: task.status });
  }
  const { previous } = recorded;
  if (state.status === 'SUCCEEDED' && state.endedAt !== undefined && previous?.status === 'FAILED') {
    metrics.record('maestro_workflow_recovery_seconds', (Date.parse(state.endedAt) - Date.parse(previous.endedAt)) / 1000, { namespace, workflow });
  }
}
