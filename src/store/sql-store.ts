/**
 * The {@link Store} over a {@link SqlDriver}: the same statements on SQLite and PostgreSQL.
 */
import { createHash } from 'node:crypto';
import semver from 'semver';
import { canonicalJson } from '../canonical/index.js';
import { MaestroError } from '../errors/index.js';
import type { Principal, WorkflowIR } from '../ir/index.js';
import type { RunbookManifest } from '../manifest/index.js';
import { readOperations } from './operations.js';
import type { SqlDriver, SqlExecutor, SqlRow } from './sql/driver.js';
import { namespaceClause } from './sql/namespace-clause.js';
import { createRegisteredTaskStore } from './registered-tasks.js';
import { createRunProgressStore } from './run-progress.js';
import { createUsageLedger } from './usage-ledger.js';
import { TRIGGER_RECENT_RUNS, type AdmissionEntry, type PutOutcome, type RunbookEntry, type RunbookRecord, type Store, type TriggerKeyClaim, type TriggerKeyClaimRequest, type TriggerRecord, type WorkflowEntry, type WorkflowRecord } from './types.js';

function sha256(text: string): string {
  return `sha256:${createHash('sha256').update(text).digest('hex')}`;
}

function text(row: SqlRow, column: string): string {
  const value = row[column];
  if (typeof value !== 'string') throw new MaestroError('INTERNAL', `store: column ${column} is ${typeof value}, not text`);
  return value;
}

function workflowRecord(row: SqlRow): WorkflowRecord {
  return {
    namespace: text(row, 'namespace'),
    name: text(row, 'name'),
    version: text(row, 'version'),
    digest: text(row, 'digest'),
    createdAt: text(row, 'created_at'),
    createdBy: text(row, 'created_by'),
  };
}

function runbookRecord(row: SqlRow): RunbookRecord {
  const document = JSON.parse(text(row, 'document')) as RunbookManifest;
  return {
    namespace: text(row, 'namespace'),
    name: text(row, 'name'),
    version: text(row, 'version'),
    digest: text(row, 'digest'),
    workflowRef: document.spec.workflowRef,
    createdAt: text(row, 'created_at'),
    createdBy: text(row, 'created_by'),
  };
}

function admission(row: SqlRow): AdmissionEntry {
  const state = text(row, 'state');
  if (state !== 'queued' && state !== 'admitted') throw new MaestroError('INTERNAL', `store: unknown admission state ${state}`);
  return {
    runId: text(row, 'run_id'),
    namespace: text(row, 'namespace'),
    state,
    enqueuedAt: text(row, 'enqueued_at'),
    request: JSON.parse(text(row, 'request')) as unknown,
  };
}

function triggerRecord(row: SqlRow): TriggerRecord {
  const lastFiredAt = row.last_fired_at;
  return {
    namespace: text(row, 'namespace'),
    name: text(row, 'name'),
    definition: JSON.parse(text(row, 'definition')) as Record<string, unknown>,
    principal: JSON.parse(text(row, 'principal')) as Principal,
    message: Number(row.message) === 1,
    paused: Number(row.paused) === 1,
    createdAt: text(row, 'created_at'),
    updatedAt: text(row, 'updated_at'),
    ...(typeof lastFiredAt === 'string' ? { lastFiredAt } : {}),
    recentRuns: JSON.parse(text(row, 'recent_runs')) as TriggerRecord['recentRuns'],
  };
}

/** See {@link Store.claimTriggerKey}: the claim, inside `tx`. */
async function claimTriggerKeyIn(tx: SqlExecutor, { namespace, trigger, key, runId, now, expiresAt }: TriggerKeyClaimRequest): Promise<TriggerKeyClaim> {
  // An expired binding goes first, so the key can bind again; the insert then conflicts only
  // with a live binding, which every concurrent claim reads back.
  await tx.run('DELETE FROM trigger_keys WHERE namespace = $1 AND trigger_name = $2 AND expires_at <= $3', [namespace, trigger, now]);
  const inserted = await tx.run(
    'INSERT INTO trigger_keys (namespace, trigger_name, key, run_id, expires_at) VALUES ($1, $2, $3, $4, $5) ON CONFLICT (namespace, trigger_name, key) DO NOTHING',
    [namespace, trigger, key, runId, expiresAt],
  );
  if (inserted > 0) return { runId, fresh: true };
  const rows = await tx.all('SELECT run_id FROM trigger_keys WHERE namespace = $1 AND trigger_name = $2 AND key = $3', [namespace, trigger, key]);
  const row = rows[0];
  if (!row) throw new MaestroError('INTERNAL', `store: deduplication key of trigger ${namespace}/${trigger} vanished`);
  return { runId: text(row, 'run_id'), fresh: false };
}

/** See {@link Store.countTriggerEvents}: the count, inside `tx`. */
async function countTriggerEventsIn(tx: SqlExecutor, namespace: string, trigger: string, window: string, count: number): Promise<number> {
  const rows = await tx.all(
    `INSERT INTO trigger_windows (namespace, trigger_name, window_start, count) VALUES ($1, $2, $3, $4)
       ON CONFLICT (namespace, trigger_name, window_start) DO UPDATE SET count = trigger_windows.count + $4
       RETURNING count`,
    [namespace, trigger, window, count],
  );
  const total = Number(rows[0]?.count ?? count);
  // The window's first events: the windows before it are over (one statement less on every other event).
  if (total === count) await tx.run('DELETE FROM trigger_windows WHERE namespace = $1 AND trigger_name = $2 AND window_start < $3', [namespace, trigger, window]);
  return total;
}

/** How many registered workflows a store keeps in memory (each with its manifest and IR). */
const WORKFLOW_CACHE_SIZE = 64;

async function putContent(tx: SqlExecutor, table: 'manifests' | 'irs', digest: string, column: 'source' | 'ir', content: string): Promise<void> {
  await tx.run(`INSERT INTO ${table} (digest, ${column}) VALUES ($1, $2) ON CONFLICT (digest) DO NOTHING`, [digest, content]);
}

/**
 * A {@link Store} on an open, migrated database (see `openStore`, which also migrates).
 */
export function createSqlStore(db: SqlDriver): Store {
  /** Registered workflows read so far, least recently used first: a registration never changes. */
  const workflows = new Map<string, WorkflowEntry>();
  return {
    backend: db.dialect,
    ...createUsageLedger(db),
    ...createRunProgressStore(db),
    ...createRegisteredTaskStore(db),

    putWorkflow(entry: WorkflowEntry): Promise<PutOutcome> {
      return db.transaction(async (tx) => {
        await tx.lock(`workflow:${entry.namespace}/${entry.name}@${entry.version}`);
        const existing = await tx.all('SELECT digest FROM workflows WHERE namespace = $1 AND name = $2 AND version = $3', [entry.namespace, entry.name, entry.version]);
        const found = existing[0];
        if (found) {
          if (text(found, 'digest') === entry.digest) return 'unchanged';
          throw new MaestroError('CONFLICT', `workflow ${entry.name}@${entry.version} is already registered in namespace ${entry.namespace} with another content (${text(found, 'digest')}); publish a new version`, {
            details: { digest: text(found, 'digest') },
          });
        }
        const manifestDigest = sha256(entry.manifest);
        await putContent(tx, 'manifests', manifestDigest, 'source', entry.manifest);
        await putContent(tx, 'irs', entry.digest, 'ir', JSON.stringify(entry.ir));
        await tx.run(
          'INSERT INTO workflows (namespace, name, version, digest, manifest_digest, created_at, created_by) VALUES ($1, $2, $3, $4, $5, $6, $7)',
          [entry.namespace, entry.name, entry.version, entry.digest, manifestDigest, entry.createdAt, entry.createdBy],
        );
        return 'created';
      });
    },

    async getWorkflow(namespace, name, version) {
      // `/` and `@` appear in neither a namespace (a DNS label) nor a name, so keys never collide.
      const key = `${namespace}/${name}@${version}`;
      const cached = workflows.get(key);
      if (cached !== undefined) {
        // Most recently used last.
        workflows.delete(key);
        workflows.set(key, cached);
        return cached;
      }
      const rows = await db.all(
        `SELECT w.namespace, w.name, w.version, w.digest, w.created_at, w.created_by, m.source, i.ir
           FROM workflows w JOIN manifests m ON m.digest = w.manifest_digest JOIN irs i ON i.digest = w.digest
          WHERE w.namespace = $1 AND w.name = $2 AND w.version = $3`,
        [namespace, name, version],
      );
      const row = rows[0];
      if (!row) return undefined;
      const entry: WorkflowEntry = { ...workflowRecord(row), manifest: text(row, 'source'), ir: JSON.parse(text(row, 'ir')) as WorkflowIR };
      if (workflows.size >= WORKFLOW_CACHE_SIZE) workflows.delete(workflows.keys().next().value as string);
      workflows.set(key, entry);
      return entry;
    },

    async listWorkflows(namespaces) {
      const { where, params } = namespaceClause(namespaces, 'namespace');
      const rows = await db.all(`SELECT namespace, name, version, digest, created_at, created_by FROM workflows ${where} ORDER BY namespace, name, created_at, version`, params);
      return rows.map(workflowRecord);
    },

    putRunbook(entry: RunbookEntry): Promise<PutOutcome> {
      return db.transaction(async (tx) => {
        await tx.lock(`runbook:${entry.namespace}/${entry.name}@${entry.version}`);
        const existing = await tx.all('SELECT digest FROM runbooks WHERE namespace = $1 AND name = $2 AND version = $3', [entry.namespace, entry.name, entry.version]);
        const found = existing[0];
        if (found) {
          if (text(found, 'digest') === entry.digest) return 'unchanged';
          throw new MaestroError('CONFLICT', `runbook ${entry.name}@${entry.version} is already registered in namespace ${entry.namespace} with another content; publish a new version`, {
            details: { digest: text(found, 'digest') },
          });
        }
        const manifestDigest = sha256(entry.manifest);
        await putContent(tx, 'manifests', manifestDigest, 'source', entry.manifest);
        await tx.run(
          'INSERT INTO runbooks (namespace, name, version, digest, manifest_digest, document, created_at, created_by) VALUES ($1, $2, $3, $4, $5, $6, $7, $8)',
          [entry.namespace, entry.name, entry.version, entry.digest, manifestDigest, JSON.stringify(entry.document), entry.createdAt, entry.createdBy],
        );
        return 'created';
      });
    },

    async getRunbook(namespace, name, version) {
      const rows = await db.all(
        `SELECT r.namespace, r.name, r.version, r.digest, r.document, r.created_at, r.created_by, m.source
           FROM runbooks r JOIN manifests m ON m.digest = r.manifest_digest
          WHERE r.namespace = $1 AND r.name = $2 ${version === undefined ? '' : 'AND r.version = $3'}`,
        version === undefined ? [namespace, name] : [namespace, name, version],
      );
      const row = rows.sort((a, b) => semver.rcompare(text(a, 'version'), text(b, 'version')))[0];
      if (!row) return undefined;
      return { ...runbookRecord(row), manifest: text(row, 'source'), document: JSON.parse(text(row, 'document')) as RunbookManifest };
    },

    async listRunbooks(namespaces) {
      const { where, params } = namespaceClause(namespaces, 'namespace');
      const rows = await db.all(`SELECT namespace, name, version, digest, document, created_at, created_by FROM runbooks ${where} ORDER BY namespace, name, created_at, version`, params);
      return rows.map(runbookRecord);
    },

    claimIdempotencyKey(namespace, key, runId) {
      return db.transaction(async (tx) => {
        await tx.run('INSERT INTO idempotency_keys (namespace, key, run_id, created_at) VALUES ($1, $2, $3, $4) ON CONFLICT (namespace, key) DO NOTHING', [
          namespace,
          key,
          runId,
          new Date().toISOString(),
        ]);
        const rows = await tx.all('SELECT run_id FROM idempotency_keys WHERE namespace = $1 AND key = $2', [namespace, key]);
        const row = rows[0];
        if (!row) throw new MaestroError('INTERNAL', `store: idempotency key ${key} vanished`);
        return text(row, 'run_id');
      });
    },

    putTrigger(record, mode, now) {
      return db.transaction(async (tx) => {
        await tx.lock(`trigger:${record.namespace}/${record.name}`);
        const rows = await tx.all('SELECT * FROM triggers WHERE namespace = $1 AND name = $2', [record.namespace, record.name]);
        const found = rows[0];
        const definition = JSON.stringify(record.definition);
        const principal = JSON.stringify(record.principal);
        if (found === undefined) {
          await tx.run(
            'INSERT INTO triggers (namespace, name, definition, principal, message, paused, created_at, updated_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $7)',
            [record.namespace, record.name, definition, principal, record.message ? 1 : 0, record.paused ? 1 : 0, now],
          );
          return 'created';
        }
        if (mode === 'create') throw new MaestroError('TRIGGER_EXISTS', `trigger ${record.name} exists in namespace ${record.namespace}; PUT /triggers/${record.name} replaces it`);
        const current = triggerRecord(found);
        // Canonical comparison: the JSON text of equal definitions may order keys differently.
        const same =
          canonicalJson(current.definition) === canonicalJson(record.definition) &&
          canonicalJson(current.principal) === canonicalJson(record.principal) &&
          current.paused === record.paused;
        if (same) return 'unchanged';
        await tx.run('UPDATE triggers SET definition = $3, principal = $4, message = $5, paused = $6, updated_at = $7 WHERE namespace = $1 AND name = $2', [
          record.namespace,
          record.name,
          definition,
          principal,
          record.message ? 1 : 0,
          record.paused ? 1 : 0,
          now,
        ]);
        return 'updated';
      });
    },

    async getTrigger(namespace, name) {
      const rows = await db.all('SELECT * FROM triggers WHERE namespace = $1 AND name = $2', [namespace, name]);
      return rows[0] ? triggerRecord(rows[0]) : undefined;
    },

    async listTriggers(filter = {}) {
      const { where, params } = namespaceClause(filter.namespaces, 'namespace');
      const clauses = where === '' ? [] : [where.slice('WHERE '.length)];
      if (filter.message !== undefined) clauses.push(`message = ${filter.message ? 1 : 0}`);
      if (filter.paused !== undefined) clauses.push(`paused = ${filter.paused ? 1 : 0}`);
      const rows = await db.all(`SELECT * FROM triggers ${clauses.length > 0 ? `WHERE ${clauses.join(' AND ')}` : ''} ORDER BY namespace, name`, params);
      return rows.map(triggerRecord);
    },

    deleteTrigger(namespace, name) {
      return db.transaction(async (tx) => {
        await tx.run('DELETE FROM trigger_keys WHERE namespace = $1 AND trigger_name = $2', [namespace, name]);
        await tx.run('DELETE FROM trigger_windows WHERE namespace = $1 AND trigger_name = $2', [namespace, name]);
        return (await tx.run('DELETE FROM triggers WHERE namespace = $1 AND name = $2', [namespace, name])) > 0;
      });
    },

    async setTriggerPaused(namespace, name, paused, now) {
      return (await db.run('UPDATE triggers SET paused = $3, updated_at = $4 WHERE namespace = $1 AND name = $2', [namespace, name, paused ? 1 : 0, now])) > 0;
    },

    markTriggerFired(namespace, name, time, runIds) {
      return db.transaction(async (tx) => {
        await tx.lock(`trigger:${namespace}/${name}`);
        const rows = await tx.all('SELECT recent_runs FROM triggers WHERE namespace = $1 AND name = $2', [namespace, name]);
        if (!rows[0]) return;
        const recent = [...runIds.map((runId) => ({ runId, firedAt: time })), ...(JSON.parse(text(rows[0], 'recent_runs')) as TriggerRecord['recentRuns'])];
        await tx.run('UPDATE triggers SET last_fired_at = $3, recent_runs = $4 WHERE namespace = $1 AND name = $2', [namespace, name, time, JSON.stringify(recent.slice(0, TRIGGER_RECENT_RUNS))]);
      });
    },

    claimTriggerKey(claim) {
      return db.transaction((tx) => claimTriggerKeyIn(tx, claim));
    },

    countTriggerEvents(namespace, trigger, window, count) {
      return db.transaction((tx) => countTriggerEventsIn(tx, namespace, trigger, window, count));
    },

    countTriggerEventsAndClaim(window, count, limit, claim) {
      return db.transaction(async (tx) => {
        const total = await countTriggerEventsIn(tx, claim.namespace, claim.trigger, window, count);
        return total > limit ? { total } : { total, claim: await claimTriggerKeyIn(tx, claim) };
      });
    },

    enqueueRun(entry, limit) {
      return db.transaction(async (tx) => {
        await tx.lock(`admission:${entry.namespace}`);
        const existing = await tx.all('SELECT * FROM admissions WHERE run_id = $1', [entry.runId]);
        if (existing[0]) return admission(existing[0]).state;
        const counts = await tx.all(
          `SELECT COUNT(CASE WHEN state = 'admitted' THEN 1 END) AS admitted, COUNT(CASE WHEN state = 'queued' THEN 1 END) AS queued,
                  COALESCE(MAX(seq), 0) AS seq
             FROM admissions WHERE namespace = $1`,
          [entry.namespace],
        );
        const row = counts[0] ?? {};
        const state = Number(row.admitted) < limit && Number(row.queued) === 0 ? 'admitted' : 'queued';
        await tx.run('INSERT INTO admissions (run_id, namespace, state, seq, enqueued_at, request) VALUES ($1, $2, $3, $4, $5, $6)', [
          entry.runId,
          entry.namespace,
          state,
          Number(row.seq) + 1,
          entry.enqueuedAt,
          JSON.stringify(entry.request),
        ]);
        return state;
      });
    },

    admitQueuedRuns(namespace, limit) {
      return db.transaction(async (tx) => {
        await tx.lock(`admission:${namespace}`);
        const held = await tx.all(`SELECT COUNT(*) AS n FROM admissions WHERE namespace = $1 AND state = 'admitted'`, [namespace]);
        const free = limit - Number(held[0]?.n ?? 0);
        if (free <= 0) return [];
        const rows = await tx.all(`SELECT * FROM admissions WHERE namespace = $1 AND state = 'queued' ORDER BY seq LIMIT $2`, [namespace, free]);
        for (const row of rows) await tx.run(`UPDATE admissions SET state = 'admitted' WHERE run_id = $1`, [text(row, 'run_id')]);
        return rows.map((row) => ({ ...admission(row), state: 'admitted' as const }));
      });
    },

    async releaseRun(runId) {
      return (await db.run('DELETE FROM admissions WHERE run_id = $1', [runId])) > 0;
    },

    async getAdmission(runId) {
      const rows = await db.all('SELECT * FROM admissions WHERE run_id = $1', [runId]);
      return rows[0] ? admission(rows[0]) : undefined;
    },

    async listAdmissions(filter = {}) {
      const clauses: string[] = [];
      const params: string[] = [];
      if (filter.namespace !== undefined) {
        params.push(filter.namespace);
        clauses.push(`namespace = $${params.length}`);
      }
      if (filter.state !== undefined) {
        params.push(filter.state);
        clauses.push(`state = $${params.length}`);
      }
      const where = clauses.length > 0 ? `WHERE ${clauses.join(' AND ')}` : '';
      return (await db.all(`SELECT * FROM admissions ${where} ORDER BY namespace, seq`, params)).map(admission);
    },

    readOperations: (query) => readOperations(db, query),

    async countQueuedRuns() {
      const rows = await db.all(`SELECT namespace, COUNT(*) AS n FROM admissions WHERE state = 'queued' GROUP BY namespace`);
      return Object.fromEntries(rows.map((row) => [text(row, 'namespace'), Number(row.n)]));
    },

    async ping() {
      await db.all('SELECT 1 AS ok');
    },

    close: () => db.close(),
  };
}
