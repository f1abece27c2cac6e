/**
 * `GET /runs/{runId}/events`: a run's progress as Server-Sent Events, pushed as it happens: the
 * stream re-reads the run when the store tells that its interpreter published a new state
 * (PostgreSQL NOTIFY from any worker; on SQLite, from a worker in this process), and at the
 * latest every {@link RESYNC_MS} (a run Temporal ended itself, a notification lost while the
 * database connection was re-made, a worker in another process on SQLite).
 */
import { caller, stringParam, type RouteHandler } from '../context.js';
import { locateRun, namespaceOf, runDetail, type RunDetail } from '../../runs/index.js';
import { assertNamespace } from './access.js';
import { serveEventStream, type EventStream } from './event-stream.js';

/** How long a live run's stream waits for a notification before it reads the run anyway. */
const RESYNC_MS = 1_000;
const FINAL: ReadonlySet<string> = new Set(['SUCCEEDED', 'FAILED', 'CANCELLED']);

/** The run-level fields of a detail (status, timings, error), without tasks and params. */
function runEvent(detail: RunDetail): Record<string, unknown> {
  return Object.fromEntries(Object.entries(detail).filter(([key]) => key !== 'tasks' && key !== 'params'));
}

/** Sends the run and the tasks whose JSON differs from what `seen` holds, and remembers them. */
function sendChanges(stream: EventStream, detail: RunDetail, seen: Map<string, string>): void {
  const run = JSON.stringify(runEvent(detail));
  if (seen.get('$run') !== run) {
    seen.set('$run', run);
    stream.send('run', runEvent(detail));
  }
  for (const task of detail.tasks) {
    const text = JSON.stringify(task);
    if (seen.get(task.id) === text) continue;
    seen.set(task.id, text);
    stream.send('task', task);
  }
}

/** `GET /runs/{runId}/events`. */
export const streamRunEvents: RouteHandler = async (context) => {
  const { deps } = context;
  const runId = stringParam(context.path, 'runId');
  const first = await locateRun(deps.client, deps.store, runId);
  assertNamespace(caller(context), namespaceOf(first));
  // Watch before the first read: a state published while the run is read (a task's RUNNING, say)
  // wakes the stream's first wait instead of being lost until the next resync.
  const change = { told: false, wake: undefined as (() => void) | undefined };
  const unwatch = deps.store.watchRunProgress(runId, () => {
    change.told = true;
    change.wake?.();
  });
  try {
    let detail = await runDetail(deps, first, deps.config);
    return await serveEventStream(context, `event stream of ${runId}`, async (stream) => {
      const seen = new Map<string, string>();
      for (;;) {
        sendChanges(stream, detail, seen);
        await stream.drained();
        if (FINAL.has(detail.status) || stream.closed) break;
        if (!change.told) {
          await stream.pause(RESYNC_MS, (wake) => {
            change.wake = wake;
            return () => void (change.wake = undefined);
          });
        }
        change.told = false;
        if (stream.closed) break;
        detail = await runDetail(deps, await locateRun(deps.client, deps.store, runId), deps.config);
      }
      if (!stream.closed) stream.send('end', { runId, status: detail.status });
    });
  } finally {
    unwatch();
  }
};
