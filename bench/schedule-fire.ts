/**
 * Schedule fire → first task started, against `POST /runs` → first task started, for the same
 * workflow through the same API in the same run (interleaved, so load drifts hit both alike).
 * Talks only HTTP to a running API and worker, so any suite that starts them can import it:
 *
 * ```ts
 * const result = await benchScheduleFire({ url, token, namespace: 'default', workflowRef: 'hello@1.0.0' });
 * console.log(scheduleFireReport(result));
 * ```
 *
 * A fire's latency is measured from its scheduled time (the whole second Temporal's scheduler
 * fires at) to its run's first task's `startedAt`; a `POST /runs` from just before the request
 * is sent. Both ends are read on this machine's clock (the API's and the worker's are the same).
 */
import { summarize, type Summary } from './stats.js';

/** Options of {@link benchScheduleFire}. */
export interface ScheduleFireOptions {
  /** The API's base URL. */
  url: string;
  /** A bearer token with the operator role in `namespace`. */
  token: string;
  namespace: string;
  /** A registered workflow taking no required params: `name@version`. */
  workflowRef: string;
  /** Fires (and API starts) measured. @default 20 */
  fires?: number;
  /** The schedule's interval. @default '2s' */
  every?: string;
}

/** Latencies in milliseconds, with their summaries. */
export interface ScheduleFireResult {
  schedule: Summary;
  api: Summary;
  /** Median of the schedule's over median of the API's. */
  medianRatio: number;
  samples: { schedule: number[]; api: number[] };
}

interface RunDetail {
  status: string;
  tasks: { startedAt?: string }[];
}

/** Measures {@link ScheduleFireOptions.fires} schedule fires and as many `POST /runs`; deletes its schedule after. */
export async function benchScheduleFire(options: ScheduleFireOptions): Promise<ScheduleFireResult> {
  const { url, token, namespace, workflowRef, fires = 20, every = '2s' } = options;
  const call = async <T>(method: string, path: string, body?: unknown): Promise<T> => {
    const res = await fetch(`${url}${path}`, { method, headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' }, ...(body === undefined ? {} : { body: JSON.stringify(body) }) });
    const text = await res.text();
    if (!res.ok) throw new Error(`${method} ${path}: HTTP ${res.status} ${text}`);
    return JSON.parse(text) as T;
  };
  const firstTaskStarted = async (runId: string): Promise<number> => {
    for (;;) {
      const run = await call<RunDetail>('GET', `/runs/${runId}`);
      const started = run.tasks[0]?.startedAt;
      if (started !== undefined) return Date.parse(started);
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
  };
  const id = `bench-fire-${Date.now().toString(36)}`;
  const path = `/schedules/${id}?namespace=${namespace}`;
  await call('POST', '/schedules', { id, namespace, workflowRef, spec: { intervals: [every] }, overlap: 'allow-all' });
  const schedule: number[] = [];
  const api: number[] = [];
  const seen = new Set<string>();
  try {
    while (schedule.length < fires) {
      const { recentRuns } = await call<{ recentRuns: { runId: string; scheduledTime: string; status: string }[] }>('GET', path);
      for (const recent of recentRuns) {
        // NOT_STARTED: fired, its run not started yet (or refused).
        if (seen.has(recent.runId) || recent.status === 'NOT_STARTED' || schedule.length >= fires) continue;
        seen.add(recent.runId);
        schedule.push((await firstTaskStarted(recent.runId)) - Date.parse(recent.scheduledTime));
        // One API start per fire, between fires.
        const sent = Date.now();
        const { runId } = await call<{ runId: string }>('POST', '/runs', { workflowRef, namespace, params: {} });
        api.push((await firstTaskStarted(runId)) - sent);
      }
      await new Promise((resolve) => setTimeout(resolve, 200));
    }
  } finally {
    await call('DELETE', path);
  }
  const result = { schedule: summarize(schedule), api: summarize(api), samples: { schedule, api } };
  return { ...result, medianRatio: result.schedule.median / result.api.median };
}

/** A markdown table of a result. */
export function scheduleFireReport(result: ScheduleFireResult): string {
  const row = (name: string, s: Summary): string => `| ${name} | ${s.n} | ${s.median.toFixed(0)} | ${s.p95.toFixed(0)} | ${s.max.toFixed(0)} |`;
  return [
    '| start → first task started | n | p50 (ms) | p95 (ms) | max (ms) |',
    '| --- | --- | --- | --- | --- |',
    row('schedule fire (scheduled time →)', result.schedule),
    row('POST /runs (request sent →)', result.api),
    '',
    `median ratio schedule / API: ${result.medianRatio.toFixed(2)}`,
  ].join('\n');
}
