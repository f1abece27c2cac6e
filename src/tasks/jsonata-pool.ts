/**
 * A pool of threads evaluating JSONata for `tasks/transform.map`. JSONata runs on the thread that
 * calls it, and one evaluation can hold that thread for as long as it likes (a regular expression
 * that backtracks catastrophically never returns to JSONata's own timeout check): on the worker's
 * main thread — the API's too under `npm start` — that stalls every run and `/healthz`. Here a
 * thread that makes no progress within the row limit is terminated and replaced, and the rest of
 * the process never waits on it.
 */
import { availableParallelism } from 'node:os';
import { Worker } from 'node:worker_threads';

/** Limits of one evaluation, sent with each job. */
export interface JsonataLimits {
  /** Longest one row may take; the thread is terminated past it. */
  timeoutMs: number;
  /** JSONata's evaluation-stack limit. */
  maxDepth: number;
  /** Functions refused when called (named without `$`). */
  forbidden: readonly string[];
  /** Most bytes (as JSON) the results may take together. */
  maxOutputBytes: number;
}

/** Why a job stopped before its last row. */
export type JsonataFailure =
  /** JSONata's own error, as it threw it. */
  | { kind: 'jsonata'; code: string; message: string; position?: number; token?: string }
  /** A row took longer than `timeoutMs`: its thread was terminated. */
  | { kind: 'timeout' }
  /** The expression called a function in `forbidden`. */
  | { kind: 'forbidden'; name: string }
  /** A result holds a function, which is not JSON. */
  | { kind: 'not-json' }
  /** The results passed `maxOutputBytes`. */
  | { kind: 'too-large'; bytes: number }
  /** The thread died (out of memory, or a bug): its message. */
  | { kind: 'crashed'; message: string };

/** What a job produced: every row's result, or the failure at row `index`. */
export type JsonataOutcome = { rows: unknown[] } | { failure: JsonataFailure; index: number };

/** A message from the thread: results since the last message, and the index of the next row. */
interface Progress {
  results: unknown[];
  index: number;
  done?: boolean;
  error?: { jsonata?: { code: string; message: string; position?: number; token?: string }; forbidden?: string; notJson?: true; tooLarge?: number; internal?: string };
}

const SCRIPT = new URL('./jsonata-worker.mjs', import.meta.url);
/** Heap of one thread: an expression that builds a huge value kills its thread, not the worker. */
const THREAD_HEAP_MB = 256;

/** Threads that evaluate JSONata, each terminated and replaced when a row overruns its limit. */
export class JsonataPool {
  /** Threads waiting for a job. */
  private readonly idle: Worker[] = [];
  /** Jobs waiting for a thread. */
  private readonly waiting: ((thread: Promise<Worker>) => void)[] = [];
  /** Threads alive, idle or busy. */
  private alive = 0;

  /** @param size most threads at once. */
  constructor(private readonly size: number) {}

  /**
   * Evaluates `expression` on each row (`$index` bound to `firstIndex` + its position) on a
   * thread of the pool. Rows that yield nothing are left out. Aborting `signal` terminates the
   * thread at once.
   */
  async map(expression: string, rows: readonly unknown[], limits: JsonataLimits, signal: AbortSignal, firstIndex = 0): Promise<JsonataOutcome> {
    signal.throwIfAborted();
    const thread = await this.acquire();
    return new Promise<JsonataOutcome>((resolve, reject) => {
      const results: unknown[] = [];
      let next = firstIndex;
      let watchdog: NodeJS.Timeout | undefined;
      const arm = () => {
        clearTimeout(watchdog);
        watchdog = setTimeout(() => finish({ failure: { kind: 'timeout' }, index: next }, true), limits.timeoutMs);
      };
      const onMessage = (progress: Progress) => {
        for (const result of progress.results) results.push(result);
        next = progress.index;
        if (progress.error) finish({ failure: fromThread(progress.error), index: next }, false);
        else if (progress.done) finish({ rows: results }, false);
        else arm();
      };
      const onError = (error: Error) => finish({ failure: { kind: 'crashed', message: error.message }, index: next }, true);
      const onExit = (code: number) => finish({ failure: { kind: 'crashed', message: `the thread exited with code ${code}` }, index: next }, true);
      const onAbort = () => finish(undefined, true);
      const finish = (outcome: JsonataOutcome | undefined, discard: boolean) => {
        clearTimeout(watchdog);
        thread.off('message', onMessage).off('error', onError).off('exit', onExit);
        signal.removeEventListener('abort', onAbort);
        if (discard) this.discard(thread);
        else this.release(thread);
        if (outcome) resolve(outcome);
        else reject(signal.reason as Error);
      };
      thread.on('message', onMessage).on('error', onError).on('exit', onExit);
      signal.addEventListener('abort', onAbort, { once: true });
      arm();
      thread.postMessage({ expression, rows, firstIndex, limits });
    });
  }

  private async acquire(): Promise<Worker> {
    const thread = this.idle.pop();
    if (thread) return thread;
    if (this.alive < this.size) {
      this.alive += 1;
      return this.spawn();
    }
    return new Promise((resolve) => this.waiting.push(resolve));
  }

  private release(thread: Worker): void {
    const job = this.waiting.shift();
    if (job) job(Promise.resolve(thread));
    else this.idle.push(thread);
  }

  /** Terminates a thread (it may be stuck in a regular expression) and gives a waiting job a new one. */
  private discard(thread: Worker): void {
    void thread.terminate();
    this.alive -= 1;
    const job = this.waiting.shift();
    if (job) {
      this.alive += 1;
      job(this.spawn());
    }
  }

  /** A new thread, once it has loaded JSONata and says it is ready. */
  private async spawn(): Promise<Worker> {
    // No loader flags (`--import tsx`): the script is plain JavaScript, and a thread starts faster without.
    const thread = new Worker(SCRIPT, { execArgv: [], resourceLimits: { maxOldGenerationSizeMb: THREAD_HEAP_MB } });
    // An idle thread must not keep the process alive.
    thread.unref();
    // A thread that dies while idle leaves the pool (a busy one is handled by its job).
    thread.once('exit', () => {
      const at = this.idle.indexOf(thread);
      if (at < 0) return;
      this.idle.splice(at, 1);
      this.alive -= 1;
    });
    try {
      await new Promise<void>((resolve, reject) => {
        thread.once('message', () => resolve()).once('error', reject);
      });
    } catch (error) {
      // It never became ready: it no longer counts, and the job that waits for it fails.
      this.alive -= 1;
      throw error;
    } finally {
      thread.removeAllListeners('error');
    }
    return thread;
  }
}

function fromThread(error: NonNullable<Progress['error']>): JsonataFailure {
  if (error.jsonata) return { kind: 'jsonata', ...error.jsonata };
  if (error.forbidden !== undefined) return { kind: 'forbidden', name: error.forbidden };
  if (error.notJson) return { kind: 'not-json' };
  if (error.tooLarge !== undefined) return { kind: 'too-large', bytes: error.tooLarge };
  return { kind: 'crashed', message: error.internal ?? 'unknown failure' };
}

let shared: JsonataPool | undefined;

/** The process's pool: as many threads as cores, at most 4, started on first use. */
export function jsonataPool(): JsonataPool {
  shared ??= new JsonataPool(Math.min(4, availableParallelism()));
  return shared;
}
