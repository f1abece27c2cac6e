/**
 * A pool of threads for work that must never hold the process's event loop: an evaluation that
 * may run away (a JSONata regular expression that backtracks for minutes, a CEL expression near
 * its cost limit) runs on a thread, and a thread that makes no progress within its job's time
 * limit is terminated and replaced. The caller's event loop — the API's and the worker's under
 * `npm start` — only ever waits on a message.
 *
 * The pool knows nothing of the jobs: a job is a message to the thread, and the caller reads the
 * thread's answers. A thread's script posts one message once it is ready, then answers jobs.
 */
import { Worker } from 'node:worker_threads';

/** Options of {@link ThreadPool}. */
export interface ThreadPoolOptions {
  /**
   * The thread's module. A `.mjs`/`.js` file runs as it is (a thread starts faster without a
   * loader); a `.ts` module is loaded through tsx, as Maestro's own sources are.
   */
  module: URL;
  /** Most threads at once. */
  size: number;
  /** Heap of one thread, so a job that builds a huge value kills its thread, not the process. @default 256 */
  heapMb?: number;
}

/** Why a job ended without its thread's answer. */
export type ThreadStop =
  /** No message from the thread within the job's `timeoutMs`: the thread was terminated. */
  | { kind: 'timeout' }
  /** The thread died (out of memory, or a bug): its message. */
  | { kind: 'crashed'; message: string };

/** How a caller runs one job: see {@link ThreadPool.run}. */
export interface ThreadJob<T> {
  /** The message that starts the job on the thread. */
  message: unknown;
  /** Longest the thread may go without a message; it is terminated past it. */
  timeoutMs: number;
  /** Aborting it terminates the thread at once; `run` then rejects with the signal's reason. */
  signal?: AbortSignal;
  /** Reads a message of the thread: the job's outcome, or `undefined` while it is still under way. */
  onMessage(message: unknown): T | undefined;
  /** The job's outcome when its thread stopped before answering. */
  onStop(stop: ThreadStop): T;
}

/** The bootstrap that loads a TypeScript thread module through tsx (see `ts-thread.mjs`). */
const TS_BOOTSTRAP = new URL('./ts-thread.mjs', import.meta.url);

/** Threads that run jobs, each terminated and replaced when a job overruns its limit. */
export class ThreadPool {
  /** Threads waiting for a job. */
  private readonly idle: Worker[] = [];
  /** Jobs waiting for a thread. */
  private readonly waiting: ((thread: Promise<Worker>) => void)[] = [];
  /** Threads alive, idle or busy. */
  private alive = 0;

  constructor(private readonly options: ThreadPoolOptions) {}

  /**
   * Runs one job on a thread of the pool: posts `message`, hands each answer to `onMessage` until
   * it returns the outcome, and re-arms the time limit at each answer (so a long job that reports
   * progress lives on). A thread that overruns the limit, dies or is aborted is terminated and
   * replaced; one that finishes its job serves the next.
   */
  async run<T>({ message, timeoutMs, signal, onMessage, onStop }: ThreadJob<T>): Promise<T> {
    signal?.throwIfAborted();
    const thread = await this.acquire();
    return new Promise<T>((resolve, reject) => {
      let watchdog: NodeJS.Timeout | undefined;
      const arm = () => {
        clearTimeout(watchdog);
        watchdog = setTimeout(() => finish(() => onStop({ kind: 'timeout' }), true), timeoutMs);
      };
      const onAnswer = (answer: unknown) => {
        let outcome: T | undefined;
        try {
          outcome = onMessage(answer);
        } catch (error) {
          finish(() => {
            throw error;
          }, false);
          return;
        }
        if (outcome === undefined) arm();
        else finish(() => outcome, false);
      };
      const onError = (error: Error) => finish(() => onStop({ kind: 'crashed', message: error.message }), true);
      const onExit = (code: number) => finish(() => onStop({ kind: 'crashed', message: `the thread exited with code ${code}` }), true);
      const onAbort = () =>
        finish(() => {
          throw signal?.reason;
        }, true);
      const finish = (outcome: () => T, discard: boolean) => {
        clearTimeout(watchdog);
        thread.off('message', onAnswer).off('error', onError).off('exit', onExit);
        signal?.removeEventListener('abort', onAbort);
        if (discard) this.discard(thread);
        else this.release(thread);
        try {
          resolve(outcome());
        } catch (error) {
          reject(error as Error);
        }
      };
      thread.on('message', onAnswer).on('error', onError).on('exit', onExit);
      signal?.addEventListener('abort', onAbort, { once: true });
      arm();
      thread.postMessage(message);
    });
  }

  private async acquire(): Promise<Worker> {
    const thread = this.idle.pop();
    if (thread) return thread;
    if (this.alive < this.options.size) {
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

  /** A new thread, once it has loaded its module and says it is ready. */
  private async spawn(): Promise<Worker> {
    const { module, heapMb = 256 } = this.options;
    const typescript = module.pathname.endsWith('.ts');
    // No inherited loader flags (`--import tsx`): a plain script starts faster without, and a
    // TypeScript module registers tsx itself (the bootstrap), which works under vitest too.
    const thread = new Worker(typescript ? TS_BOOTSTRAP : module, {
      execArgv: [],
      resourceLimits: { maxOldGenerationSizeMb: heapMb },
      ...(typescript ? { workerData: { module: module.href } } : {}),
    });
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
