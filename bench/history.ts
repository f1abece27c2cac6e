/**
 * Where a run's time goes, read from its Temporal history: how many workflow tasks (each a round
 * trip worker ↔ server and a persistence write), activity tasks and local-activity markers it took.
 */
import type { Client } from '@temporalio/client';

/** One history event, as `fetchHistory()` returns it. */
type HistoryEvent = NonNullable<Awaited<ReturnType<ReturnType<Client['workflow']['getHandle']>['fetchHistory']>>['events']>[number];

/** Event counts of one run's history. */
export interface HistoryProfile {
  events: number;
  workflowTasks: number;
  activityTasks: number;
  localActivityMarkers: number;
  timers: number;
  /** WorkflowTaskFailed and WorkflowTaskTimedOut events: retried workflow tasks (0 in a healthy run). */
  workflowTaskRetries: number;
  searchAttributeUpserts: number;
  /** Bytes of the workflow's input and result payloads. */
  inputBytes: number;
  resultBytes: number;
  /** Server timestamps: first event → last event, ms. */
  serverSpanMs: number;
  /** Sum of WorkflowTaskStarted → WorkflowTaskCompleted (the worker's time in workflow code and core), ms. */
  workflowTaskMs: number;
}

const millis = (time: { seconds?: unknown; nanos?: number | null } | null | undefined): number =>
  time ? Number(time.seconds ?? 0) * 1000 + (time.nanos ?? 0) / 1e6 : Number.NaN;

const payloadBytes = (payloads: { payloads?: { data?: Uint8Array | null }[] | null } | null | undefined): number =>
  (payloads?.payloads ?? []).reduce((sum, p) => sum + (p.data?.length ?? 0), 0);

/** Fetches and profiles the history of a (finished) run. */
export async function profileHistory(client: Client, workflowId: string): Promise<HistoryProfile> {
  const history = await client.workflow.getHandle(workflowId).fetchHistory();
  const events = history.events ?? [];
  // Events are told apart by which attributes they carry (no need for the proto enum package).
  const count = (has: (event: HistoryEvent) => unknown): number => events.filter((event) => has(event)).length;
  let workflowTaskMs = 0;
  let startedAt: number | undefined;
  for (const event of events) {
    if (event.workflowTaskStartedEventAttributes) startedAt = millis(event.eventTime);
    if (event.workflowTaskCompletedEventAttributes && startedAt !== undefined) {
      workflowTaskMs += millis(event.eventTime) - startedAt;
      startedAt = undefined;
    }
  }
  const first = events[0];
  const last = events[events.length - 1];
  const started = events.find((e) => e.workflowExecutionStartedEventAttributes);
  const completed = events.find((e) => e.workflowExecutionCompletedEventAttributes);
  return {
    events: events.length,
    workflowTasks: count((e) => e.workflowTaskScheduledEventAttributes),
    activityTasks: count((e) => e.activityTaskScheduledEventAttributes),
    localActivityMarkers: count((e) => e.markerRecordedEventAttributes),
    timers: count((e) => e.timerStartedEventAttributes),
    workflowTaskRetries: count((e) => e.workflowTaskFailedEventAttributes ?? e.workflowTaskTimedOutEventAttributes),
    searchAttributeUpserts: count((e) => e.upsertWorkflowSearchAttributesEventAttributes),
    inputBytes: payloadBytes(started?.workflowExecutionStartedEventAttributes?.input),
    resultBytes: payloadBytes(completed?.workflowExecutionCompletedEventAttributes?.result),
    serverSpanMs: first && last ? millis(last.eventTime) - millis(first.eventTime) : Number.NaN,
    workflowTaskMs,
  };
}

/** Profiles many runs, a few histories at a time. */
export async function profileHistories(client: Client, workflowIds: readonly string[], concurrency = 8): Promise<HistoryProfile[]> {
  const profiles: HistoryProfile[] = new Array(workflowIds.length);
  let next = 0;
  const lane = async (): Promise<void> => {
    for (let i = next++; i < workflowIds.length; i = next++) profiles[i] = await profileHistory(client, workflowIds[i] as string);
  };
  await Promise.all(Array.from({ length: concurrency }, lane));
  return profiles;
}

/** Per-field medians of many profiles; `workflowTaskRetries` is summed instead, so any retry shows. */
export function medianProfile(profiles: readonly HistoryProfile[]): HistoryProfile {
  const median = (values: number[]): number => {
    const sorted = [...values].sort((a, b) => a - b);
    const middle = Math.floor(sorted.length / 2);
    return sorted.length % 2 === 1 ? (sorted[middle] as number) : ((sorted[middle - 1] as number) + (sorted[middle] as number)) / 2;
  };
  const keys = Object.keys(profiles[0] ?? {}) as (keyof HistoryProfile)[];
  const result = {} as HistoryProfile;
  for (const key of keys) {
    const values = profiles.map((profile) => profile[key]);
    result[key] = key === 'workflowTaskRetries' ? values.reduce((sum, x) => sum + x, 0) : median(values);
  }
  return result;
}
