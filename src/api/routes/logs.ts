/**
 * `GET /runs/{runId}/logs`: what a run's task attempts logged, from the task log. As JSON, one
 * page after a cursor; with `Accept: text/event-stream`, the lines so far and then new ones as they
 * are written, until the run has ended and every line is sent.
 */
import { MaestroError } from '../../errors/index.js';
import { TASK_LOG_PAGE, type TaskLogQuery } from '../../store/index.js';
import { stringParam, type RouteContext, type RouteHandler } from '../context.js';
import { locateRun } from '../../runs/index.js';
import { serveEventStream } from './event-stream.js';
import { ownRun } from './runs.js';

/** How often a live run's log is read for new lines (workers append every 250 ms). */
const POLL_MS = 500;

/** The cursor: `Last-Event-ID` of a reconnecting event stream wins over `after`. */
function cursorOf(context: RouteContext): number {
  const lastEventId = context.req.get('last-event-id');
  if (lastEventId === undefined || lastEventId === '') return context.query.after as number;
  const seq = Number(lastEventId);
  if (!Number.isInteger(seq) || seq < 0) throw new MaestroError('BAD_REQUEST', `Last-Event-ID "${lastEventId}" is not a line's seq`);
  return seq;
}

/** `GET /runs/{runId}/logs?taskId=&after=&limit=` (JSON page, or Server-Sent Events). */
export const getRunLogs: RouteHandler = async (context) => {
  const { deps, query } = context;
  await ownRun(context);
  const runId = stringParam(context.path, 'runId');
  const taskId = typeof query.taskId === 'string' ? { taskId: query.taskId } : {};
  const filter: TaskLogQuery = { runId, ...taskId, after: cursorOf(context) };
  if (context.req.accepts(['application/json', 'text/event-stream']) !== 'text/event-stream') {
    const limit = query.limit as number;
    const items = await deps.taskLog.read({ ...filter, limit });
    const last = items.at(-1);
    return { status: 200, body: { items, ...(items.length === limit && last ? { next: last.seq } : {}) } };
  }
  return serveEventStream(context, `log stream of ${runId}`, async (stream) => {
    let after = filter.after ?? 0;
    for (;;) {
      // Whether the run had ended before reading: its workers flush before an attempt returns,
      // so once it has, what the read below finds is everything.
      const location = await locateRun(deps.client, deps.store, runId);
      const ended = location.kind === 'temporal' && location.execution.closed;
      for (;;) {
        const lines = await deps.taskLog.read({ ...filter, after, limit: TASK_LOG_PAGE });
        for (const line of lines) stream.send('log', line, line.seq);
        after = lines.at(-1)?.seq ?? after;
        // A slow client slows the reading: the API holds at most this page for it.
        await stream.drained();
        if (lines.length < TASK_LOG_PAGE || stream.closed) break;
      }
      if (stream.closed) return;
      if (ended) {
        stream.send('end', { runId, status: location.execution.status });
        return;
      }
      await stream.pause(POLL_MS);
      if (stream.closed) return;
    }
  });
};
