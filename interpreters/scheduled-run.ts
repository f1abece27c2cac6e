/**
 * The workflow a schedule's Temporal Schedule starts at each fire (`scheduledRun`, see
 * `src/runs/schedules.ts`): one `fireSchedule` activity starts the run for the scheduled time
 * (Temporal's `TemporalScheduledStartTime`) through the one run-start path, with a run id derived
 * from it, so a retried activity or a lost worker never starts a second run; then it waits for the
 * run to end, so that Temporal's overlap policy (`skip`, `buffer-*`) applies to the runs
 * themselves. Cancelled by the overlap policy `cancel-other`, it cancels the run (audited) first.
 * Workflow code: no I/O, no Node imports.
 */
import { CancellationScope, isCancellation, proxyActivities, workflowInfo } from '@temporalio/workflow';
import type { FireOutcome, ScheduleActivities, ScheduledRunInput } from '../src/runs/index.js';
import { TEMPORAL_SCHEDULED_START_TIME } from '../src/ir/index.js';

const { fireSchedule, cancelScheduledRun } = proxyActivities<ScheduleActivities>({
  startToCloseTimeout: '1m',
  // A policy decision point or audit log that cannot answer is retried; refusals are returned.
  retry: { initialInterval: '1s', maximumInterval: '30s', maximumAttempts: 20 },
});
const { awaitScheduledRun } = proxyActivities<ScheduleActivities>({
  // Runs can be long: the heartbeat tells a lost worker apart, and a timed-out wait starts again.
  startToCloseTimeout: '1d',
  heartbeatTimeout: '30s',
  retry: { initialInterval: '1s', maximumInterval: '30s' },
});

/** What a fire did: its run and the status it ended with, or the refusal. */
export type ScheduledRunResult = FireOutcome & { scheduledTime: string; endStatus?: string };

/** Starts the run of one fire of a schedule and waits for it to end. */
export async function scheduledRun(input: ScheduledRunInput): Promise<ScheduledRunResult> {
  const info = workflowInfo();
  const scheduledTime = (info.typedSearchAttributes.get(TEMPORAL_SCHEDULED_START_TIME) ?? new Date(info.startTime)).toISOString();
  const outcome = await fireSchedule({ ...input, scheduledTime });
  if ('refused' in outcome) return { ...outcome, scheduledTime };
  try {
    return { ...outcome, scheduledTime, endStatus: await awaitScheduledRun({ runId: outcome.runId }) };
  } catch (error) {
    if (isCancellation(error)) await CancellationScope.nonCancellable(() => cancelScheduledRun({ ...input, runId: outcome.runId }));
    throw error;
  }
}
