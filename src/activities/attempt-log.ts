/**
 * The log of one task attempt: what the task's `ctx.logger` (and `ctx.emit`, and the runners'
 * streamed container and pod lines) write goes to the worker's process log and, buffered, to the
 * run's task log. Secret values the task resolved are redacted from both; one attempt writes at
 * most `maxLines` lines or `maxBytes` bytes to the task log, then one "log truncated" line.
 */
import type { Logger } from '@temporalio/common';
import { secretRedactor } from '../runners/index.js';
import type { TaskContext, TaskLogger } from '../sdk/index.js';
import type { TaskLog, TaskLogEntry, TaskLogLevel } from '../store/index.js';

/** Limits and buffering of {@link createAttemptLog}. */
export interface AttemptLogOptions {
  /** Buffered lines are appended at least this often. @default 250 */
  flushIntervalMs?: number;
  /** A buffer this long is appended at once. @default 500 */
  flushLines?: number;
  /** Lines one attempt may write to the task log. @default 10000 */
  maxLines?: number;
  /** Bytes (message and fields JSON, UTF-8) one attempt may write to the task log. @default 1048576 */
  maxBytes?: number;
  /** How long closing waits for pending appends before the attempt returns without them (a hung database must not hold the task). @default 5000 */
  closeTimeoutMs?: number;
}

/** What {@link createAttemptLog} needs to know of the attempt. */
export interface AttemptLogTarget {
  runId: string;
  taskId: string;
  attempt: number;
  /** The worker's process log (`Context.current().log`). */
  processLog: Logger;
  /** The task log; without it, lines go to the process log only. */
  taskLog?: TaskLog;
  /** Resolves a secret; the values it returns are redacted from then on. */
  secrets: TaskContext['secrets'];
  /** Values redacted from the start (the run's secret-typed params). @default [] */
  redact?: readonly string[];
}

/** The log of one attempt. */
export interface AttemptLog {
  /** The task's `ctx.logger`. */
  logger: TaskLogger;
  /** The task's `ctx.secrets`: resolves through the worker's resolver and remembers the value to redact it. */
  secrets: TaskContext['secrets'];
  /**
   * A line Maestro itself writes about the attempt (its policy decision): `info` in the task log,
   * `debug` in the process log, where one line per attempt at `info` cost ~0.3 ms of the attempt's
   * time (the runtime logger formats its fields) to repeat what the audit log already holds.
   */
  note(message: string, fields: Record<string, unknown>): void;
  /** Replaces every secret value known so far (resolved secrets, secret-typed params) in `text`. */
  redact(text: string): string;
  /**
   * Appends what is buffered and waits for every append (at most `closeTimeoutMs`); never throws
   * (a failed append is reported in the process log, the task goes on). Lines written afterwards
   * reach the process log only.
   */
  close(): Promise<void>;
}

/** Error objects keep their message in JSON (they would become `{}`); BigInts become strings. */
function jsonSafe(scrub: (text: string) => string): (key: string, value: unknown) => unknown {
  return (_key, value) => {
    if (typeof value === 'string') return scrub(value);
    if (value instanceof Error) return scrub(`${value.name}: ${value.message}`);
    if (typeof value === 'bigint') return value.toString();
    return value;
  };
}

/**
 * Creates the log of one attempt.
 *
 * @example
 * const log = createAttemptLog({ runId, taskId, attempt, processLog: activity.log, taskLog, secrets });
 * try { await task.execute(input, { ...ctx, logger: log.logger, secrets: log.secrets }); } finally { await log.close(); }
 */
export function createAttemptLog(target: AttemptLogTarget, options: AttemptLogOptions = {}): AttemptLog {
  const { runId, taskId, attempt, processLog, taskLog } = target;
  const { flushIntervalMs = 250, flushLines = 500, maxLines = 10_000, maxBytes = 1024 * 1024, closeTimeoutMs = 5000 } = options;
  const context = { runId, taskId, attempt };
  const resolved: string[] = [...(target.redact ?? [])];
  let scrub = secretRedactor(resolved);
  let buffer: TaskLogEntry[] = [];
  let timer: NodeJS.Timeout | undefined;
  /** What `appending` is until the first append: closing then has nothing to wait for. */
  const none = Promise.resolve();
  let appending: Promise<void> = none;
  let lines = 0;
  let bytes = 0;
  let truncated = false;
  let closed = false;

  const flush = (): void => {
    if (timer) clearTimeout(timer);
    timer = undefined;
    if (buffer.length === 0 || !taskLog) return;
    const batch = buffer;
    buffer = [];
    // Chained, so batches land in the order they were written.
    appending = appending.then(() =>
      taskLog.append(runId, batch).catch((error: unknown) => {
        processLog.warn('task log append failed; its lines are in this process log only', { ...context, lines: batch.length, error: error instanceof Error ? error.message : String(error) });
      }),
    );
  };

  const keep = (entry: TaskLogEntry, size: number): void => {
    buffer.push(entry);
    if (buffer.length >= flushLines) flush();
    else timer ??= setTimeout(flush, flushIntervalMs).unref();
    lines += 1;
    bytes += size;
  };

  const write = (level: TaskLogLevel, rawMessage: string, extra: Record<string, unknown> | undefined, processLevel: TaskLogLevel = level): void => {
    const message = scrub(rawMessage);
    let json: string | undefined;
    try {
      json = extra === undefined ? undefined : JSON.stringify(extra, jsonSafe(scrub));
    } catch (error) {
      // Circular fields: say so rather than lose the line.
      json = JSON.stringify({ unserializable: error instanceof Error ? error.message : String(error) });
    }
    const fields = json === undefined ? undefined : (JSON.parse(json) as Record<string, unknown>);
    processLog[processLevel](message, { ...context, ...fields });
    if (!taskLog || closed || truncated) return;
    const time = new Date().toISOString();
    const size = Buffer.byteLength(message) + (json === undefined ? 0 : Buffer.byteLength(json));
    if (lines + 1 > maxLines || bytes + size > maxBytes) {
      truncated = true;
      const notice = `log truncated: this attempt wrote more than ${maxLines} lines or ${maxBytes} bytes; later lines are in the worker's process log only`;
      keep({ taskId, attempt, time, level: 'warn', message: notice }, notice.length);
      processLog.warn(notice, context);
      return;
    }
    keep({ taskId, attempt, time, level, message, ...(fields === undefined ? {} : { fields }) }, size);
  };

  return {
    logger: {
      debug: (message, fields) => write('debug', message, fields),
      info: (message, fields) => write('info', message, fields),
      warn: (message, fields) => write('warn', message, fields),
      error: (message, fields) => write('error', message, fields),
    },
    note: (message, fields) => write('info', message, fields, 'debug'),
    redact: (text) => scrub(text),
    async secrets(name, use) {
      const value = await target.secrets(name, use);
      if (!resolved.includes(value)) {
        resolved.push(value);
        scrub = secretRedactor(resolved);
      }
      return value;
    },
    async close() {
      flush();
      closed = true;
      if (appending === none) return;
      let deadline: NodeJS.Timeout | undefined;
      const late = new Promise<'late'>((resolve) => (deadline = setTimeout(() => resolve('late'), closeTimeoutMs).unref()));
      if ((await Promise.race([appending, late])) === 'late') {
        processLog.warn(`task log append still pending after ${closeTimeoutMs} ms; the attempt ends without waiting for it`, context);
      }
      clearTimeout(deadline);
    },
  };
}
