import type { TaskContext } from '../../sdk/index.js';

/**
 * Runs `operation` until it settles or `ctx.signal` aborts, whichever comes first. On abort,
 * `release` runs (close the client, end the connection: whatever makes the library give up) and
 * the promise rejects with `signal.reason`, so the activity sees the cancellation it asked for.
 * For clients that take no `AbortSignal` of their own (kafkajs, nats, pg).
 */
export async function untilAborted<T>(ctx: Pick<TaskContext, 'signal' | 'logger'>, operation: () => Promise<T>, release: () => unknown): Promise<T> {
  const { signal, logger } = ctx;
  signal.throwIfAborted();
  let onAbort: (() => void) | undefined;
  const aborted = new Promise<never>((_, reject) => {
    onAbort = () => {
      reject(signal.reason);
      Promise.resolve()
        .then(release)
        .catch((error: unknown) => logger.warn('releasing the connection after cancellation failed', { error: String(error) }));
    };
    signal.addEventListener('abort', onAbort, { once: true });
  });
  const running = operation();
  // After an abort the torn-down client rejects `running`; the cancellation is the outcome reported.
  running.catch((error: unknown) => {
    if (signal.aborted) logger.debug('operation ended after cancellation', { error: String(error) });
  });
  try {
    return await Promise.race([running, aborted]);
  } finally {
    if (onAbort) signal.removeEventListener('abort', onAbort);
  }
}
