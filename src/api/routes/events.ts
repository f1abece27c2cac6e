/**
 * `GET /runs/{runId}/events`: a run's progress as Server-Sent Events, from the interpreter's state
 * query polled while the run is live.
 */
import type { Response } from 'express';
import { caller, stringParam, type RouteHandler } from '../context.js';
import { locateRun, namespaceOf, runDetail, type RunDetail } from '../runs/detail.js';
import { assertNamespace } from './access.js';

/** How often a live run's state is read. */
const POLL_MS = 500;
/** A comment line this often keeps proxies from closing an idle stream. */
const KEEPALIVE_MS = 15_000;
const FINAL: ReadonlySet<string> = new Set(['SUCCEEDED', 'FAILED', 'CANCELLED']);

function send(res: Response, event: string, data: unknown): void {
  res.write(`event: ${event}\ndata: ${JSON.stringify(data)}\n\n`);
}

/** The run-level fields of a detail (status, timings, error), without tasks and params. */
function runEvent(detail: RunDetail): Record<string, unknown> {
  return Object.fromEntries(Object.entries(detail).filter(([key]) => key !== 'tasks' && key !== 'params'));
}

/** Sends the run and the tasks whose JSON differs from what `seen` holds, and remembers them. */
function sendChanges(res: Response, detail: RunDetail, seen: Map<string, string>): void {
  const run = JSON.stringify(runEvent(detail));
  if (seen.get('$run') !== run) {
    seen.set('$run', run);
    send(res, 'run', runEvent(detail));
  }
  for (const task of detail.tasks) {
    const text = JSON.stringify(task);
    if (seen.get(task.id) === text) continue;
    seen.set(task.id, text);
    send(res, 'task', task);
  }
}

/** `GET /runs/{runId}/events`. */
export const streamRunEvents: RouteHandler = async (context) => {
  const { req, res, deps } = context;
  const runId = stringParam(context.path, 'runId');
  const first = await locateRun(deps.client, deps.store, runId);
  assertNamespace(caller(context), namespaceOf(first));
  let detail = await runDetail(deps.client, first);
  res.status(200).set({ 'Content-Type': 'text/event-stream', 'Cache-Control': 'no-cache', Connection: 'keep-alive', 'X-Accel-Buffering': 'no' });
  res.flushHeaders();
  let closed = deps.shutdown.aborted;
  const close = (): void => void (closed = true);
  req.once('close', close);
  deps.shutdown.addEventListener('abort', close, { once: true });
  const keepalive = setInterval(() => res.write(': keep-alive\n\n'), KEEPALIVE_MS);
  const seen = new Map<string, string>();
  try {
    for (;;) {
      sendChanges(res, detail, seen);
      if (FINAL.has(detail.status) || closed) break;
      await new Promise((resolve) => setTimeout(resolve, POLL_MS));
      if (closed) break;
      detail = await runDetail(deps.client, await locateRun(deps.client, deps.store, runId));
    }
    if (!closed) send(res, 'end', { runId, status: detail.status });
  } catch (error) {
    // Headers are sent: the problem middleware cannot answer any more, so the error goes in the stream.
    send(res, 'error', { message: error instanceof Error ? error.message : String(error) });
    console.error(`maestro api: event stream of ${runId} failed:`, error);
  } finally {
    clearInterval(keepalive);
    deps.shutdown.removeEventListener('abort', close);
    res.end();
  }
  return undefined;
};
