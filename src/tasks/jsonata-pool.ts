/**
 * A pool of threads evaluating JSONata for `tasks/transform.map`. JSONata runs on the thread that
 * calls it, and one evaluation can hold that thread for as long as it likes (a regular expression
 * that backtracks catastrophically never returns to JSONata's own timeout check): on the worker's
 * main thread — the API's too under `npm start` — that stalls every run and `/healthz`. Here a
 * thread that makes no progress within the row limit is terminated and replaced, and the rest of
 * the process never waits on it.
 */
import { availableParallelism } from 'node:os';
import { ThreadPool } from '../threads/index.js';

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
  private readonly threads: ThreadPool;

  /** @param size most threads at once. */
  constructor(size: number) {
    this.threads = new ThreadPool({ module: SCRIPT, size, heapMb: THREAD_HEAP_MB });
  }

  /**
   * Evaluates `expression` on each row (`$index` bound to `firstIndex` + its position) on a
   * thread of the pool. Rows that yield nothing are left out. Aborting `signal` terminates the
   * thread at once.
   */
  async map(expression: string, rows: readonly unknown[], limits: JsonataLimits, signal: AbortSignal, firstIndex = 0): Promise<JsonataOutcome> {
    const results: unknown[] = [];
    let next = firstIndex;
    // The thread reports progress at least every few rows, so the time limit applies to each row.
    return this.threads.run<JsonataOutcome>({
      message: { expression, rows, firstIndex, limits },
      timeoutMs: limits.timeoutMs,
      signal,
      onMessage: (message) => {
        const progress = message as Progress;
        for (const result of progress.results) results.push(result);
        next = progress.index;
        if (progress.error) return { failure: fromThread(progress.error), index: next };
        return progress.done ? { rows: results } : undefined;
      },
      onStop: (stop) => ({ failure: stop, index: next }),
    });
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
