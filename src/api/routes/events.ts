/**
 * `GET /runs/{runId}/events`: a run's progress as Server-Sent Events, from the interpreter's state
 * query polled while the run is live.
 */
import { caller, stringParam, type RouteHandler } from '../context.js';
import { locateRun, namespaceOf, runDetail, type RunDetail } from '../../runs/index.js';
import { assertNamespace } from './access.js';
import { serveEventStream, type EventStream } from './event-stream.js';

/** How often a live run's state is read. */
const POLL_MS = 500;
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
  let detail = await runDetail(deps.client, first, deps.config);
  return serveEventStream(context, `event stream of ${runId}`, async (stream) => {
    const seen = new Map<string, string>();
    for (;;) {
      sendChanges(stream, detail, seen);
      await stream.drained();
      if (FINAL.has(detail.status) || stream.closed) break;
      await stream.pause(POLL_MS);
      if (stream.closed) break;
      detail = await runDetail(deps.client, await locateRun(deps.client, deps.store, runId), deps.config);
    }
    if (!stream.closed) stream.send('end', { runId, status: detail.status });
  });
};
