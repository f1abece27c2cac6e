import { EgressGuard, EgressPolicy } from '../egress/index.js';
import { NotFoundError } from '../errors/index.js';
import type { TaskContext, TaskEvent, TaskLogger } from './types.js';

/** One line a task logged through a test context. */
export interface TestLogRecord {
  level: keyof TaskLogger;
  message: string;
  fields?: Record<string, unknown>;
}

/** Options of {@link createTestContext}. */
export interface TestContextOptions {
  /** @default 'test-run' */
  runId?: string;
  /** @default 'test-task' */
  taskId?: string;
  /** @default 1 */
  attempt?: number;
  /** @default 'default' */
  namespace?: string;
  /** Secret values by name; `secrets(name)` rejects with a NotFoundError for any other name. @default {} */
  secrets?: Record<string, string>;
  /** Which addresses the task may connect to (`ctx.egress`). @default public addresses only */
  egress?: EgressPolicy;
  /** Aborts the context's signal too (the context can also be aborted with `abort()`). @default none */
  signal?: AbortSignal;
}

/** A {@link TaskContext} that records what the task did, for tests. */
export interface TestTaskContext extends TaskContext {
  /** Every line logged, in order. */
  readonly logs: TestLogRecord[];
  /** Every event emitted, in order. */
  readonly events: TaskEvent[];
  /** Every heartbeat's details, in order (`undefined` for a heartbeat without details). */
  readonly heartbeats: unknown[];
  /** Aborts `signal`, as a cancellation or attempt timeout would. */
  abort(reason?: unknown): void;
}

/**
 * Creates a context for running a task's `execute` directly in a unit test: nothing is printed or
 * sent anywhere, and what the task logged, emitted and heartbeated is kept for assertions.
 *
 * @example
 * const ctx = createTestContext({ secrets: { TOKEN: 't0k3n' } });
 * const out = await myTask.execute({ url }, ctx);
 * expect(ctx.logs.map((l) => l.message)).toContain('request sent');
 */
export function createTestContext(options: TestContextOptions = {}): TestTaskContext {
  const { runId = 'test-run', taskId = 'test-task', attempt = 1, namespace = 'default', secrets = {} } = options;
  const controller = new AbortController();
  const signal = options.signal ? AbortSignal.any([controller.signal, options.signal]) : controller.signal;
  const logs: TestLogRecord[] = [];
  const record =
    (level: keyof TaskLogger) =>
    (message: string, fields?: Record<string, unknown>): void => {
      logs.push(fields === undefined ? { level, message } : { level, message, fields });
    };
  const events: TaskEvent[] = [];
  const heartbeats: unknown[] = [];
  return {
    runId,
    taskId,
    attempt,
    namespace,
    egress: new EgressGuard(options.egress ?? new EgressPolicy(), namespace),
    signal,
    logger: { debug: record('debug'), info: record('info'), warn: record('warn'), error: record('error') },
    logs,
    events,
    heartbeats,
    heartbeat: (details) => void heartbeats.push(details),
    emit: (event) => void events.push(event),
    secrets: async (name) => {
      const value = Object.hasOwn(secrets, name) ? secrets[name] : undefined;
      if (value === undefined) throw new NotFoundError(`secret "${name}" is not set in this test context`);
      return value;
    },
    abort: (reason) => controller.abort(reason),
  };
}
