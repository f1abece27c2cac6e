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

/** The table; the first version had UNIQUE `prev_hash` and `hash` (`chainUnique`), see V2 below. */
const TABLE = (seqType: string, name = 'audit_log', { chainUnique = true } = {}) => `CREATE TABLE ${name} (
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
  prev_hash TEXT NOT NULL${chainUnique ? ' UNIQUE' : ''},
  hash TEXT NOT NULL${chainUnique ? ' UNIQUE' : ''})`;

const INDEXES = [`CREATE INDEX audit_log_by_run ON audit_log (run_id, seq)`, `CREATE INDEX audit_log_by_namespace ON audit_log (namespace, seq)`];

const SQLITE_REFUSE_UPDATE = `CREATE TRIGGER audit_log_refuses_update BEFORE UPDATE ON audit_log
   BEGIN SELECT RAISE(ABORT, 'audit_log is append-only: UPDATE refused'); END`;
const SQLITE_REFUSE_DELETE = `CREATE TRIGGER audit_log_refuses_delete BEFORE DELETE ON audit_log
   BEGIN SELECT RAISE(ABORT, 'audit_log is append-only: DELETE refused'); END`;
const SQLITE_TRIGGERS: readonly string[] = [SQLITE_REFUSE_UPDATE, SQLITE_REFUSE_DELETE];

const SQLITE: readonly string[] = [TABLE('INTEGER'), ...INDEXES, ...SQLITE_TRIGGERS];

/** The body of the PostgreSQL function the triggers run. */
const POSTGRES_REFUSE_BODY = `
   BEGIN
     RAISE EXCEPTION 'audit_log is append-only: % refused', TG_OP USING ERRCODE = 'insufficient_privilege';
   END
   `;

const POSTGRES: readonly string[] = [
  TABLE('BIGINT'),
  ...INDEXES,
  `CREATE FUNCTION maestro_audit_log_refuse() RETURNS trigger LANGUAGE plpgsql AS $body$${POSTGRES_REFUSE_BODY}$body$`,
  `CREATE TRIGGER audit_log_refuses_update_delete BEFORE UPDATE OR DELETE ON audit_log
   FOR EACH ROW EXECUTE FUNCTION maestro_audit_log_refuse()`,
  `CREATE TRIGGER audit_log_refuses_truncate BEFORE TRUNCATE ON audit_log
   FOR EACH STATEMENT EXECUTE FUNCTION maestro_audit_log_refuse()`,
];

/**
 * Version 2 drops the UNIQUE indexes on `prev_hash` and `hash`. They guarded against a fork of the
 * chain, which `seq PRIMARY KEY` already refuses (two records cannot take the same place, and each
 * place's `prevHash` is checked by `verify()`), and each cost a random-key B-tree page written on
 * every append — a third of an append's time. SQLite cannot drop a column constraint, so the
 * table is rebuilt (DROP TABLE removes the triggers before its implicit delete, so they do not
 * refuse it) and its indexes and triggers are made again.
 */
const V2_SQLITE: readonly string[] = [
  TABLE('INTEGER', 'audit_log_v2', { chainUnique: false }),
  // Both tables come from TABLE: the same columns in the same order.
  'INSERT INTO audit_log_v2 SELECT * FROM audit_log',
  'DROP TABLE audit_log',
  'ALTER TABLE audit_log_v2 RENAME TO audit_log',
  ...INDEXES,
  ...SQLITE_TRIGGERS,
];

const V2_POSTGRES: readonly string[] = ['ALTER TABLE audit_log DROP CONSTRAINT IF EXISTS audit_log_prev_hash_key, DROP CONSTRAINT IF EXISTS audit_log_hash_key'];

/** The audit log's migrations for one database engine, oldest first. Append; never edit one that shipped. */
export function auditLogMigrations(dialect: SqlDriver['dialect']): Migration[] {
  return [
    {
      version: AUDIT_LOG_MIGRATION_BASE,
      name: 'policy decision and audit log (append-only, hash-chained)',
      statements: dialect === 'sqlite' ? SQLITE : POSTGRES,
    },
    {
      version: AUDIT_LOG_MIGRATION_BASE + 1,
      name: 'audit log without UNIQUE prev_hash and hash (seq orders the chain)',
      statements: dialect === 'sqlite' ? V2_SQLITE : V2_POSTGRES,
    },
  ];
}

/** One trigger that keeps the log append-only, as the database describes it once in place. */
interface AuditLogGuard {
  name: string;
  /** What it refuses, for people: `UPDATE`, `UPDATE and DELETE` … */
  refuses: string;
  /** Its definition, whitespace collapsed: see {@link auditLogGuardProblems}. */
  definition: string;
}

/** `text` with every run of whitespace one space, trimmed. */
const collapsed = (text: string): string => text.replace(/\s+/g, ' ').trim();

const SQLITE_GUARDS: readonly AuditLogGuard[] = [
  { name: 'audit_log_refuses_update', refuses: 'UPDATE', definition: collapsed(SQLITE_REFUSE_UPDATE) },
  { name: 'audit_log_refuses_delete', refuses: 'DELETE', definition: collapsed(SQLITE_REFUSE_DELETE) },
];

// As pg_get_triggerdef prints them (events in its own order), then the function's body.
const POSTGRES_GUARDS: readonly AuditLogGuard[] = [
  {
    name: 'audit_log_refuses_update_delete',
    refuses: 'UPDATE and DELETE',
    definition: collapsed(`CREATE TRIGGER audit_log_refuses_update_delete BEFORE DELETE OR UPDATE ON audit_log FOR EACH ROW EXECUTE FUNCTION maestro_audit_log_refuse() ${POSTGRES_REFUSE_BODY}`),
  },
  {
    name: 'audit_log_refuses_truncate',
    refuses: 'TRUNCATE',
    definition: collapsed(`CREATE TRIGGER audit_log_refuses_truncate BEFORE TRUNCATE ON audit_log FOR EACH STATEMENT EXECUTE FUNCTION maestro_audit_log_refuse() ${POSTGRES_REFUSE_BODY}`),
  },
];

/** The triggers on `audit_log` as the database has them: name, definition (see {@link auditLogGuardProblems}), enabled. */
const GUARD_QUERIES: Record<SqlDriver['dialect'], string> = {
  // SQLite keeps a trigger's CREATE text as written, and cannot switch one off.
  sqlite: `SELECT name, sql AS definition, 1 AS enabled FROM sqlite_master WHERE type = 'trigger' AND tbl_name = 'audit_log'`,
  postgres: `SELECT t.tgname AS name, pg_get_triggerdef(t.oid) || ' ' || p.prosrc AS definition, t.tgenabled <> 'D' AS enabled
    FROM pg_trigger t JOIN pg_proc p ON p.oid = t.tgfoid WHERE t.tgrelid = 'audit_log'::regclass AND NOT t.tgisinternal`,
};

/**
 * What is wrong with the triggers that make the database refuse changes to the log, read from its
 * catalog (no write is tried): one sentence per trigger missing, switched off (PostgreSQL's
 * `ALTER TABLE … DISABLE TRIGGER`), or not as the migrations made it (its text, or on PostgreSQL
 * the function it runs). Empty when all are in place. A trigger's definition is compared with
 * whitespace collapsed, and on PostgreSQL without the schema `pg_get_triggerdef` names the table in.
 *
 * @example
 * const problems = await auditLogGuardProblems(db); // ['trigger audit_log_refuses_delete is missing: …']
 */
export async function auditLogGuardProblems(db: Pick<SqlDriver, 'dialect' | 'all'>): Promise<string[]> {
  const rows = await db.all(GUARD_QUERIES[db.dialect]);
  const found = new Map(rows.map((row) => [String(row.name), { definition: collapsed(String(row.definition)).replace(/ ON \S+\.audit_log /, ' ON audit_log '), enabled: Boolean(row.enabled) }]));
  const problems: string[] = [];
  for (const guard of db.dialect === 'sqlite' ? SQLITE_GUARDS : POSTGRES_GUARDS) {
    const trigger = found.get(guard.name);
    const consequence = `the database no longer refuses ${guard.refuses} of audit_log`;
    if (trigger === undefined) problems.push(`trigger ${guard.name} is missing: ${consequence}`);
    else if (!trigger.enabled) problems.push(`trigger ${guard.name} is disabled: ${consequence}`);
    else if (trigger.definition !== guard.definition) problems.push(`trigger ${guard.name} is not as Maestro made it (${trigger.definition}): the database may no longer refuse ${guard.refuses} of audit_log`);
  }
  return problems;
}
