/**
 * Server-Sent Events plumbing shared by the streaming routes (`/runs/{runId}/events`,
 * `/runs/{runId}/logs`): headers, keep-alive comments, and stopping when the client goes away or
 * the API shuts down.
 *
 * Bounds, so no client can make the API hold unbounded connections or memory:
 * - slots: a principal holds at most `streamsPerPrincipal` open streams and the process at most
 *   `streamsTotal`; one more is refused `429 TOO_MANY_STREAMS` with `Retry-After` before anything
 *   is sent (`StreamSlots`).
 * - back-pressure: producers await {@link EventStream.drained} after each batch, so a client that
 *   reads slowly slows its producer and the API buffers at most one batch for it; a client that
 *   reads nothing for `streamStallMs` is disconnected (its stream closes, the producer stops).
 */
import { caller, type RouteContext } from '../context.js';

/** A comment line this often keeps proxies from closing an idle stream. */
const KEEPALIVE_MS = 15_000;
/** How long a client that reads nothing keeps its stream, when `streamStallMs` is unset. */
const DEFAULT_STALL_MS = 30_000;

/** An open event stream. */
export interface EventStream {
  /** The client went away, stalled, or the API is shutting down: stop producing. */
  readonly closed: boolean;
  /** Sends one event; `id` becomes the client's `Last-Event-ID` when it reconnects. */
  send(event: string, data: unknown, id?: number): void;
  /**
   * Resolves once what was sent has left for the client (at once when nothing waits). A client
   * that reads nothing for the stall limit is disconnected: the stream closes and this resolves.
   */
  drained(): Promise<void>;
  /**
   * Waits `ms`, or less when the stream closes meanwhile or `subscribe`'s callback is called (it
   * subscribes to a change and returns how to unsubscribe).
   */
  pause(ms: number, subscribe?: (wake: () => void) => () => void): Promise<void>;
}

/**
 * Answers `200 text/event-stream` and lets `produce` send events until it returns; an error it
 * throws is sent as an `error` event (the headers are gone, the problem middleware cannot answer)
 * and logged. The response ends either way.
 *
 * @param label names the stream in the process log, e.g. `event stream of <runId>`.
 * @throws MaestroError `TOO_MANY_STREAMS` before anything is sent, when the caller or the API
 *   holds as many streams as it may.
 */
export async function serveEventStream(context: RouteContext, label: string, produce: (stream: EventStream) => Promise<void>): Promise<undefined> {
  const { req, res, deps } = context;
  const release = deps.streams.acquire(caller(context).subject);
  const stallMs = deps.config.streamStallMs ?? DEFAULT_STALL_MS;
  res.status(200).set({ 'Content-Type': 'text/event-stream', 'Cache-Control': 'no-cache', Connection: 'keep-alive', 'X-Accel-Buffering': 'no' });
  res.flushHeaders();
  let closed = deps.shutdown.aborted;
  const wakers = new Set<() => void>();
  const close = (): void => {
    closed = true;
    for (const wake of wakers) wake();
  };
  req.once('close', close);
  res.once('close', close);
  deps.shutdown.addEventListener('abort', close, { once: true });
  // A keep-alive is only for an idle stream: one whose client is behind needs none.
  const keepalive = setInterval(() => res.writableNeedDrain || res.write(': keep-alive\n\n'), KEEPALIVE_MS);
  const send = (event: string, data: unknown, id?: number): void => {
    if (closed) return;
    res.write(`${id === undefined ? '' : `id: ${id}\n`}event: ${event}\ndata: ${JSON.stringify(data)}\n\n`);
  };
  /** Resolves on `wake`, after `ms`, or at once when closed; `onTimeout` runs if the time ran out. */
  const waitFor = (ms: number, subscribe: (wake: () => void) => () => void, onTimeout?: () => void): Promise<void> =>
    new Promise<void>((resolve) => {
      if (closed) {
        resolve();
        return;
      }
      const finish = (timedOut: boolean): void => {
        clearTimeout(timer);
        wakers.delete(wake);
        unsubscribe();
        if (timedOut) onTimeout?.();
        resolve();
      };
      const wake = (): void => finish(false);
      const timer = setTimeout(() => finish(true), ms);
      wakers.add(wake);
      const unsubscribe = subscribe(wake);
    });
  const stream: EventStream = {
    get closed() {
      return closed;
    },
    send,
    drained: () =>
      res.writableNeedDrain
        ? waitFor(
            stallMs,
            (wake) => {
              res.once('drain', wake);
              return () => res.off('drain', wake);
            },
            () => {
              // The client read nothing for the stall limit: drop it rather than buffer for it.
              close();
              res.destroy();
            },
          )
        : Promise.resolve(),
    pause: (ms, subscribe = () => () => undefined) => waitFor(ms, subscribe),
  };
  try {
    await produce(stream);
  } catch (error) {
    send('error', { message: error instanceof Error ? error.message : String(error) });
    console.error(`maestro api: ${label} failed:`, error);
  } finally {
    clearInterval(keepalive);
    deps.shutdown.removeEventListener('abort', close);
    release();
    res.end();
  }
  return undefined;
}
