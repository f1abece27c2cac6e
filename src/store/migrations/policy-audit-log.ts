/**
 * Schema of the policy decision and audit log (SM-143): one append-only table whose rows are
 * chained by hash, and triggers that make the database itself refuse UPDATE, DELETE (and, on
 * PostgreSQL, TRUNCATE) of it. Applied through the store's {@link migrate} with versions from
 * {@link AUDIT_LOG_MIGRATION_BASE} on, a range the registry's own migrations (1, 2, 3 …) never
 * reach, recorded in the same `maestro_migrations` table.
 *
 * The two engines need different trigger syntax, so the statements are chosen per dialect; the
 * table itself is the same on both.
 */
import type { SqlDriver } from '../sql/driver.js';
import type { Migration } from '../sql/migrations.js';

/** First version number of the audit log's migrations. */
export const AUDIT_LOG_MIGRATION_BASE = 1001;

const TABLE = (seqType: string) => `CREATE TABLE audit_log (
  seq ${seqType} PRIMARY KEY,
  id TEXT NOT NULL UNIQUE,
  kind TEXT NOT NULL,
  time TEXT NOT NULL,
  namespace TEXT,
  run_id TEXT,
  task_id TEXT,
  trace_id TEXT,
  actor TEXT,
  result TEXT NOT NULL,
  reasons TEXT NOT NULL,
  input_digest TEXT,
  bundle_revision TEXT,
  details TEXT,
  prev_hash TEXT NOT NULL UNIQUE,
  hash TEXT NOT NULL UNIQUE)`;

const INDEXES = [`CREATE INDEX audit_log_by_run ON audit_log (run_id, seq)`, `CREATE INDEX audit_log_by_namespace ON audit_log (namespace, seq)`];

const SQLITE: readonly string[] = [
  TABLE('INTEGER'),
  ...INDEXES,
  `CREATE TRIGGER audit_log_refuses_update BEFORE UPDATE ON audit_log
   BEGIN SELECT RAISE(ABORT, 'audit_log is append-only: UPDATE refused'); END`,
  `CREATE TRIGGER audit_log_refuses_delete BEFORE DELETE ON audit_log
   BEGIN SELECT RAISE(ABORT, 'audit_log is append-only: DELETE refused'); END`,
];

const POSTGRES: readonly string[] = [
  TABLE('BIGINT'),
  ...INDEXES,
  `CREATE FUNCTION maestro_audit_log_refuse() RETURNS trigger LANGUAGE plpgsql AS $body$
   BEGIN
     RAISE EXCEPTION 'audit_log is append-only: % refused', TG_OP USING ERRCODE = 'insufficient_privilege';
   END
   $body$`,
  `CREATE TRIGGER audit_log_refuses_update_delete BEFORE UPDATE OR DELETE ON audit_log
   FOR EACH ROW EXECUTE FUNCTION maestro_audit_log_refuse()`,
  `CREATE TRIGGER audit_log_refuses_truncate BEFORE TRUNCATE ON audit_log
   FOR EACH STATEMENT EXECUTE FUNCTION maestro_audit_log_refuse()`,
];

/** The audit log's migrations for one database engine, oldest first. Append; never edit one that shipped. */
export function auditLogMigrations(dialect: SqlDriver['dialect']): Migration[] {
  return [
    {
      version: AUDIT_LOG_MIGRATION_BASE,
      name: 'policy decision and audit log (append-only, hash-chained)',
      statements: dialect === 'sqlite' ? SQLITE : POSTGRES,
    },
  ];
}
