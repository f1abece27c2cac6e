/**
 * Schema of the task log: the lines tasks write through `ctx.logger` (and runners stream from
 * containers and pods), one row per line, numbered per run. Applied through the store's
 * {@link migrate} with versions from {@link TASK_LOG_MIGRATION_BASE} on, a range neither the
 * registry's migrations (1, 2, 3 …) nor the audit log's (1001 …) reach, recorded in the same
 * `maestro_migrations` table. The statements suit both SQLite and PostgreSQL.
 */
import type { Migration } from '../sql/migrations.js';

/** First version number of the task log's migrations. */
export const TASK_LOG_MIGRATION_BASE = 2001;

/** The task log's migrations, oldest first. Append; never edit one that shipped. */
export const TASK_LOG_MIGRATIONS: readonly Migration[] = [
  {
    version: TASK_LOG_MIGRATION_BASE,
    name: 'task log (lines of task attempts, numbered per run)',
    statements: [
      // `seq` counts per run (1, 2, 3 …), so a reader's cursor is the run's own: it never skips a
      // line another run's writer committed late, as one global counter could on PostgreSQL.
      `CREATE TABLE task_log (
         run_id TEXT NOT NULL,
         seq INTEGER NOT NULL,
         task_id TEXT NOT NULL,
         attempt INTEGER NOT NULL,
         time TEXT NOT NULL,
         level TEXT NOT NULL,
         message TEXT NOT NULL,
         fields TEXT,
         PRIMARY KEY (run_id, seq))`,
      `CREATE INDEX task_log_by_task ON task_log (run_id, task_id, seq)`,
    ],
  },
  {
    version: TASK_LOG_MIGRATION_BASE + 1,
    name: 'task log by time (retention prunes old lines without a full scan)',
    statements: [`CREATE INDEX task_log_by_time ON task_log (time)`],
  },
];
