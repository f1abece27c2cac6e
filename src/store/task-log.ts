/**
 * The task log: what each task attempt logged (`ctx.logger`, `ctx.emit`, the lines runners stream
 * from containers and pods), in the registry's database on SQLite or PostgreSQL. Lines are
 * numbered per run (`seq` 1, 2, 3 … in append order), which is the cursor readers page and follow
 * with. Writers append in batches; the worker bounds what one attempt may write.
 *
 * Retention: {@link TaskLog.prune} deletes lines logged before a time (`maestro logs prune
 * --older-than 30d` by hand, or the API every hour with `MAESTRO_TASK_LOG_RETENTION`). Temporal's
 * retention of the run itself does not remove them (a run Temporal forgot answers 404, its lines
 * stay until pruned).
 */
import { MaestroError } from '../errors/index.js';
import { TASK_LOG_MIGRATIONS } from './migrations/task-log.js';
import type { SqlDriver, SqlRow, SqlValue } from './sql/driver.js';
import { migrate } from './sql/migrations.js';
import { onOwnDatabase, type OpenStoreOptions } from './open-store.js';

/** Level of a task log line, as the task's logger names it. */
export type TaskLogLevel = 'debug' | 'info' | 'warn' | 'error';

/** The levels, least severe first. */
const TASK_LOG_LEVELS: readonly TaskLogLevel[] = ['debug', 'info', 'warn', 'error'];

/** One line as a writer appends it. */
export interface TaskLogEntry {
  /** Task id (`task[index]` for a forEach item). */
  taskId: string;
  /** 1-based attempt number. */
  attempt: number;
  /** ISO 8601 time the line was logged. */
  time: string;
  level: TaskLogLevel;
  message: string;
  /** Structured fields the task passed with the line (JSON). */
  fields?: Record<string, unknown>;
}

/** A stored line, with its place in the run's log. */
export interface TaskLogLine extends TaskLogEntry {
  /** 1, 2, 3 … per run, in append order: pass the last one seen as `after` to read on. */
  seq: number;
}

/** Filter of {@link TaskLog.read}. */
export interface TaskLogQuery {
  runId: string;
  /** Only this task's lines (a forEach task's id includes those of its items). @default every task */
  taskId?: string;
  /** Lines with `seq` greater than this. @default 0 */
  after?: number;
  /** @default 500, at most {@link TASK_LOG_PAGE} */
  limit?: number;
}

/** Most lines one {@link TaskLog.read} returns. */
export const TASK_LOG_PAGE = 1000;

/** The lines of every task attempt, by run. */
export interface TaskLog {
  /** Appends lines of `runId` in order, in one transaction; they get the run's next `seq` numbers. */
  append(runId: string, lines: readonly TaskLogEntry[]): Promise<void>;
  /** Lines of a run in `seq` order. */
  read(query: TaskLogQuery): Promise<TaskLogLine[]>;
  /**
   * Deletes every line logged before `before` (of any run); returns how many were deleted. A run
   * keeps numbering after its newest line left, so a run quiet for longer than the retention
   * whose lines were all pruned numbers its next lines from 1 again.
   */
  prune(before: Date): Promise<number>;
  close(): Promise<void>;
}

const COLUMNS = 'run_id, seq, task_id, attempt, time, level, message, fields';
/** Lines one DELETE of {@link TaskLog.prune} removes: a few milliseconds of SQLite's time. */
const PRUNE_BATCH = 5000;
/** Rows per INSERT: 8 placeholders each, far below either engine's limit on one statement. */
const INSERT_ROWS = 500;

function checkEntry(entry: TaskLogEntry): void {
  if (!entry.taskId) throw new MaestroError('INTERNAL', 'a task log line needs a task id');
  if (!Number.isInteger(entry.attempt) || entry.attempt < 1) throw new MaestroError('INTERNAL', `task log line of ${entry.taskId}: attempt ${entry.attempt} is not a positive integer`);
  if (!TASK_LOG_LEVELS.includes(entry.level)) throw new MaestroError('INTERNAL', `task log line of ${entry.taskId}: level "${String(entry.level)}" is not one of ${TASK_LOG_LEVELS.join(', ')}`);
}

function fromRow(row: SqlRow): TaskLogLine {
  const line: TaskLogLine = {
    seq: Number(row.seq),
    taskId: String(row.task_id),
    attempt: Number(row.attempt),
    time: String(row.time),
    level: String(row.level) as TaskLogLevel,
    message: String(row.message),
  };
  if (row.fields !== null && row.fields !== undefined) line.fields = JSON.parse(String(row.fields)) as Record<string, unknown>;
  return line;
}

/**
 * The task log on an open database: applies its migrations, then appends and reads.
 *
 * @param ownsDb close `db` when the log is closed. @default false
 */
export async function createTaskLog(db: SqlDriver, { ownsDb = false }: { ownsDb?: boolean } = {}): Promise<TaskLog> {
  await migrate(db, TASK_LOG_MIGRATIONS);
  return {
    async append(runId: string, lines: readonly TaskLogEntry[]): Promise<void> {
      if (lines.length === 0) return;
      lines.forEach(checkEntry);
      await db.transaction(async (tx) => {
        // Writers of one run take turns, so seq order is commit order and a reader never skips a line.
        await tx.lock(`maestro_task_log:${runId}`);
        const [last] = await tx.all('SELECT MAX(seq) AS last FROM task_log WHERE run_id = $1', [runId]);
        let seq = Number(last?.last ?? 0);
        for (let start = 0; start < lines.length; start += INSERT_ROWS) {
          const chunk = lines.slice(start, start + INSERT_ROWS);
          const values: SqlValue[] = [];
          const rows = chunk.map((line) => {
            seq += 1;
            const fields = line.fields === undefined ? null : JSON.stringify(line.fields);
            const base = values.push(runId, seq, line.taskId, line.attempt, line.time, line.level, line.message, fields) - 8;
            return `(${Array.from({ length: 8 }, (_, index) => `$${base + index + 1}`).join(', ')})`;
          });
          await tx.run(`INSERT INTO task_log (${COLUMNS}) VALUES ${rows.join(', ')}`, values);
        }
      });
    },

    async read({ runId, taskId, after = 0, limit = 500 }: TaskLogQuery): Promise<TaskLogLine[]> {
      const params: SqlValue[] = [runId, after];
      // A forEach task's id also selects its items, `id[0]`, `id[1]` …
      const task = taskId === undefined ? '' : ` AND (task_id = $3 OR substr(task_id, 1, $4) = $5)`;
      if (taskId !== undefined) params.push(taskId, taskId.length + 1, `${taskId}[`);
      const rows = await db.all(
        `SELECT ${COLUMNS} FROM task_log WHERE run_id = $1 AND seq > $2${task} ORDER BY seq LIMIT ${Math.min(Math.max(1, Math.trunc(limit)), TASK_LOG_PAGE)}`,
        params,
      );
      return rows.map(fromRow);
    },

    async prune(before: Date): Promise<number> {
      // `time` is ISO 8601 in UTC (`toISOString`), so text order is time order on both engines.
      // In batches, each its own statement: SQLite runs on the process's one thread, and a
      // million-line DELETE would stop the API (and /healthz) for seconds.
      let deleted = 0;
      for (;;) {
        const batch = await db.run(
          `DELETE FROM task_log WHERE (run_id, seq) IN (SELECT run_id, seq FROM task_log WHERE time < $1 LIMIT ${PRUNE_BATCH})`,
          [before.toISOString()],
        );
        deleted += batch;
        if (batch < PRUNE_BATCH) return deleted;
        await new Promise((resolve) => setImmediate(resolve));
      }
    },

    close: () => (ownsDb ? db.close() : Promise.resolve()),
  };
}

/** Options of {@link openTaskLog}: the same database as the registry's `openStore`. */
export type OpenTaskLogOptions = OpenStoreOptions;

/**
 * Opens the task log in the registry's database (its own connection), applying its migrations.
 *
 * @example
 * const taskLog = await openTaskLog({ databaseUrl: config.databaseUrl, dataDir: config.dataDir });
 * await taskLog.append(runId, [{ taskId: 'fetch', attempt: 1, time: new Date().toISOString(), level: 'info', message: 'started' }]);
 */
export function openTaskLog(options: OpenTaskLogOptions = {}): Promise<TaskLog> {
  return onOwnDatabase(options, (db) => createTaskLog(db, { ownsDb: true }));
}
