/**
 * Server-Sent Events plumbing shared by the streaming routes (`/runs/{runId}/events`,
 * `/runs/{runId}/logs`): headers, keep-alive comments, and stopping when the client goes away or
 * the API shuts down.
 */
import type { RouteContext } from '../context.js';

/** A comment line this often keeps proxies from closing an idle stream. */
const KEEPALIVE_MS = 15_000;

/** An open event stream. */
export interface EventStream {
  /** The client went away or the API is shutting down: stop producing. */
  readonly closed: boolean;
  /** Sends one event; `id` becomes the client's `Last-Event-ID` when it reconnects. */
  send(event: string, data: unknown, id?: number): void;
  /** Waits `ms`, or less when the stream closes meanwhile. */
  pause(ms: number): Promise<void>;
}

/**
 * Answers `200 text/event-stream` and lets `produce` send events until it returns; an error it
 * throws is sent as an `error` event (the headers are gone, the problem middleware cannot answer)
 * and logged. The response ends either way.
 *
 * @param label names the stream in the process log, e.g. `event stream of <runId>`.
 */
export async function serveEventStream(context: RouteContext, label: string, produce: (stream: EventStream) => Promise<void>): Promise<undefined> {
  const { req, res, deps } = context;
  res.status(200).set({ 'Content-Type': 'text/event-stream', 'Cache-Control': 'no-cache', Connection: 'keep-alive', 'X-Accel-Buffering': 'no' });
  res.flushHeaders();
  let closed = deps.shutdown.aborted;
  const wakers = new Set<() => void>();
  const close = (): void => {
    closed = true;
    for (const wake of wakers) wake();
  };
  req.once('close', close);
  deps.shutdown.addEventListener('abort', close, { once: true });
  const keepalive = setInterval(() => res.write(': keep-alive\n\n'), KEEPALIVE_MS);
  const send = (event: string, data: unknown, id?: number): void => {
    res.write(`${id === undefined ? '' : `id: ${id}\n`}event: ${event}\ndata: ${JSON.stringify(data)}\n\n`);
  };
  const stream: EventStream = {
    get closed() {
      return closed;
    },
    send,
    pause: (ms) =>
      new Promise<void>((resolve) => {
        const wake = (): void => {
          clearTimeout(timer);
          wakers.delete(wake);
          resolve();
        };
        const timer = setTimeout(wake, ms);
        wakers.add(wake);
      }),
  };
  try {
    await produce(stream);
  } catch (error) {
    send('error', { message: error instanceof Error ? error.message : String(error) });
    console.error(`maestro api: ${label} failed:`, error);
  } finally {
    clearInterval(keepalive);
    deps.shutdown.removeEventListener('abort', close);
    res.end();
  }
  return undefined;
}
