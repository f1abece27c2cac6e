/**
 * Versioned schema migrations, applied in order, each once, in a transaction that also records it
 * in `maestro_migrations`. Append new migrations; never edit one that has shipped.
 */
import type { SqlDriver } from './driver.js';

/** One schema change. */
export interface Migration {
  /** 1, 2, 3 … in order, no gaps. */
  version: number;
  name: string;
  /** Statements, run one by one; the SQL must suit both SQLite and PostgreSQL. */
  statements: readonly string[];
}

/** Every migration, oldest first. */
export const MIGRATIONS: readonly Migration[] = [
  {
    version: 1,
    name: 'registry, idempotency keys and admission queue',
    statements: [
      // Manifest sources and IRs are content-addressed: the same content is stored once.
      `CREATE TABLE manifests (digest TEXT PRIMARY KEY, source TEXT NOT NULL)`,
      `CREATE TABLE irs (digest TEXT PRIMARY KEY, ir TEXT NOT NULL)`,
      `CREATE TABLE workflows (
         name TEXT NOT NULL, version TEXT NOT NULL,
         digest TEXT NOT NULL REFERENCES irs (digest),
         manifest_digest TEXT NOT NULL REFERENCES manifests (digest),
         created_at TEXT NOT NULL, created_by TEXT NOT NULL,
         PRIMARY KEY (name, version))`,
      `CREATE TABLE runbooks (
         name TEXT NOT NULL, version TEXT NOT NULL,
         digest TEXT NOT NULL,
         manifest_digest TEXT NOT NULL REFERENCES manifests (digest),
         document TEXT NOT NULL,
         created_at TEXT NOT NULL, created_by TEXT NOT NULL,
         PRIMARY KEY (name, version))`,
      `CREATE TABLE idempotency_keys (
         namespace TEXT NOT NULL, key TEXT NOT NULL, run_id TEXT NOT NULL, created_at TEXT NOT NULL,
         PRIMARY KEY (namespace, key))`,
      `CREATE TABLE admissions (
         run_id TEXT PRIMARY KEY, namespace TEXT NOT NULL, state TEXT NOT NULL,
         seq INTEGER NOT NULL, enqueued_at TEXT NOT NULL, request TEXT NOT NULL)`,
      `CREATE INDEX admissions_by_namespace ON admissions (namespace, state, seq)`,
    ],
  },
  {
    version: 2,
    name: 'registry keyed by namespace (existing entries go to namespace default)',
    // Neither engine can change a primary key in place (SQLite cannot at all), so each table is
    // copied into one keyed by namespace, then swapped in; the copy runs in the migration's
    // transaction, so a failure leaves the old tables as they were.
    statements: [
      `CREATE TABLE workflows_by_namespace (
         namespace TEXT NOT NULL, name TEXT NOT NULL, version TEXT NOT NULL,
         digest TEXT NOT NULL REFERENCES irs (digest),
         manifest_digest TEXT NOT NULL REFERENCES manifests (digest),
         created_at TEXT NOT NULL, created_by TEXT NOT NULL,
         PRIMARY KEY (namespace, name, version))`,
      `INSERT INTO workflows_by_namespace (namespace, name, version, digest, manifest_digest, created_at, created_by)
         SELECT 'default', name, version, digest, manifest_digest, created_at, created_by FROM workflows`,
      `DROP TABLE workflows`,
      `ALTER TABLE workflows_by_namespace RENAME TO workflows`,
      `CREATE TABLE runbooks_by_namespace (
         namespace TEXT NOT NULL, name TEXT NOT NULL, version TEXT NOT NULL,
         digest TEXT NOT NULL,
         manifest_digest TEXT NOT NULL REFERENCES manifests (digest),
         document TEXT NOT NULL,
         created_at TEXT NOT NULL, created_by TEXT NOT NULL,
         PRIMARY KEY (namespace, name, version))`,
      `INSERT INTO runbooks_by_namespace (namespace, name, version, digest, manifest_digest, document, created_at, created_by)
         SELECT 'default', name, version, digest, manifest_digest, document, created_at, created_by FROM runbooks`,
      `DROP TABLE runbooks`,
      `ALTER TABLE runbooks_by_namespace RENAME TO runbooks`,
    ],
  },
  {
    version: 3,
    name: 'triggers, their deduplication keys and rate windows',
    statements: [
      `CREATE TABLE triggers (
         namespace TEXT NOT NULL, name TEXT NOT NULL,
         definition TEXT NOT NULL, principal TEXT NOT NULL,
         message INTEGER NOT NULL, paused INTEGER NOT NULL,
         created_at TEXT NOT NULL, updated_at TEXT NOT NULL, last_fired_at TEXT,
         recent_runs TEXT NOT NULL DEFAULT '[]',
         PRIMARY KEY (namespace, name))`,
      // The primary key is what makes a key start one run: concurrent claims conflict on it.
      `CREATE TABLE trigger_keys (
         namespace TEXT NOT NULL, trigger_name TEXT NOT NULL, key TEXT NOT NULL,
         run_id TEXT NOT NULL, expires_at TEXT NOT NULL,
         PRIMARY KEY (namespace, trigger_name, key))`,
      `CREATE INDEX trigger_keys_by_expiry ON trigger_keys (namespace, trigger_name, expires_at)`,
      `CREATE TABLE trigger_windows (
         namespace TEXT NOT NULL, trigger_name TEXT NOT NULL, window_start TEXT NOT NULL, count INTEGER NOT NULL,
         PRIMARY KEY (namespace, trigger_name, window_start))`,
    ],
  },
  {
    version: 4,
    name: 'usage ledger: task attempts, run records, daily usage and budget warnings sent',
    // The columns, their units and who writes them are documented in `src/store/usage-ledger.ts`.
    // Times are ISO 8601 UTC text (`toISOString`), so text order is time order on both engines;
    // durations are integer milliseconds (BIGINT: a run may last longer than 24 days); costs are DOUBLE PRECISION (REAL on SQLite), in the cost model's unit.
    statements: [
      // The primary key makes a retried activity (a worker killed after the write) record once.
      `CREATE TABLE task_attempts (
         run_id TEXT NOT NULL, task_id TEXT NOT NULL, attempt INTEGER NOT NULL,
         namespace TEXT NOT NULL, workflow TEXT NOT NULL, workflow_version TEXT NOT NULL,
         uses TEXT NOT NULL, runner TEXT NOT NULL, resource_class TEXT NOT NULL,
         queued_at TEXT, started_at TEXT NOT NULL, ended_at TEXT NOT NULL, duration_ms BIGINT NOT NULL,
         outcome TEXT NOT NULL, error_code TEXT, cache_hit INTEGER NOT NULL,
         cost DOUBLE PRECISION NOT NULL, connector_calls INTEGER NOT NULL,
         PRIMARY KEY (run_id, task_id, attempt))`,
      `CREATE INDEX task_attempts_by_time ON task_attempts (namespace, ended_at)`,
      `CREATE INDEX task_attempts_by_workflow ON task_attempts (namespace, workflow, ended_at)`,
      `CREATE INDEX task_attempts_by_end ON task_attempts (ended_at)`,
      // A row is written when the run is accepted (ended_at NULL, status RUNNING) and completed
      // when it ends, so the per-run price counts against the budget from the start.
      `CREATE TABLE run_records (
         run_id TEXT PRIMARY KEY, namespace TEXT NOT NULL,
         workflow TEXT NOT NULL, workflow_version TEXT NOT NULL,
         status TEXT NOT NULL, started_by TEXT,
         created_at TEXT NOT NULL, started_at TEXT, ended_at TEXT,
         duration_ms BIGINT, queue_ms BIGINT, error_code TEXT,
         run_price DOUBLE PRECISION NOT NULL, cost DOUBLE PRECISION NOT NULL)`,
      `CREATE INDEX run_records_by_time ON run_records (namespace, created_at)`,
      `CREATE INDEX run_records_by_end ON run_records (namespace, ended_at)`,
      `CREATE INDEX run_records_by_workflow ON run_records (namespace, workflow, ended_at)`,
      // Each namespace's usage per UTC day (attempts by ended_at, run prices by created_at), kept
      // with the rows above in their transactions: a budget's period sums at most 31 rows.
      `CREATE TABLE usage_daily (
         namespace TEXT NOT NULL, day TEXT NOT NULL, cost DOUBLE PRECISION NOT NULL,
         PRIMARY KEY (namespace, day))`,
      // One row per budget warning sent (80 and 100 percent) per namespace and period: the primary
      // key makes every API replica and worker send each one once.
      `CREATE TABLE budget_alerts (
         namespace TEXT NOT NULL, period_start TEXT NOT NULL, threshold INTEGER NOT NULL, sent_at TEXT NOT NULL,
         PRIMARY KEY (namespace, period_start, threshold))`,
    ],
  },
  {
    version: 5,
    name: 'run progress: the latest state each running run published',
    // The columns and who writes them are documented in `src/store/run-progress.ts`.
    statements: [
      `CREATE TABLE run_progress (
         run_id TEXT PRIMARY KEY, namespace TEXT NOT NULL,
         execution TEXT NOT NULL, seq BIGINT NOT NULL,
         status TEXT NOT NULL, state TEXT NOT NULL,
         updated_at TEXT NOT NULL, ended_at TEXT)`,
      `CREATE INDEX run_progress_by_end ON run_progress (ended_at)`,
    ],
  },
  {
    version: 6,
    name: 'registered tasks: tasks served by external (e.g. Python) workers, per namespace',
    // The columns and who writes them are documented in `src/store/registered-tasks.ts`.
    statements: [
      `CREATE TABLE registered_tasks (
         namespace TEXT NOT NULL, name TEXT NOT NULL, version TEXT NOT NULL,
         content_digest TEXT NOT NULL, definition TEXT NOT NULL,
         registered_at TEXT NOT NULL, registered_by TEXT NOT NULL,
         PRIMARY KEY (namespace, name, version))`,
    ],
  },
];

/**
 * Brings the database up to the newest migration. Safe to run from several processes at once:
 * the first takes the migration lock and applies, the others then find nothing left to do.
 *
 * @returns the versions applied now (empty when the schema was current).
 */
export async function migrate(db: SqlDriver, migrations: readonly Migration[] = MIGRATIONS): Promise<number[]> {
  await db.transaction(async (tx) => {
    await tx.lock('maestro_migrations');
    await tx.run(`CREATE TABLE IF NOT EXISTS maestro_migrations (version INTEGER PRIMARY KEY, name TEXT NOT NULL, applied_at TEXT NOT NULL)`);
  });
  const applied: number[] = [];
  for (const migration of migrations) {
    const done = await db.transaction(async (tx) => {
      await tx.lock('maestro_migrations');
      const rows = await tx.all('SELECT version FROM maestro_migrations WHERE version = $1', [migration.version]);
      if (rows.length > 0) return false;
      for (const statement of migration.statements) await tx.run(statement);
      await tx.run('INSERT INTO maestro_migrations (version, name, applied_at) VALUES ($1, $2, $3)', [
        migration.version,
        migration.name,
        new Date().toISOString(),
      ]);
      return true;
    });
    if (done) applied.push(migration.version);
  }
  return applied;
}
