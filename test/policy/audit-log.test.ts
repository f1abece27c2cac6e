/**
 * The decision and audit log on SQLite and on PostgreSQL (a real throwaway cluster): an intact
 * chain, the database refusing UPDATE / DELETE / TRUNCATE, and tampering behind the triggers'
 * back — a record edited by hand, a record removed — named by `verify()` and by
 * `maestro audit verify`.
 */
import { randomUUID } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { appendAuditEvent, auditRoutes, describeChainReport, listAuditRecords } from '../../src/policy/index.js';
import {
  DECISION_REUSE_KIND,
  GENESIS_HASH,
  auditLogMigrations,
  auditRecordHash,
  auditRecordId,
  canonicalMembers,
  createAuditLog,
  migrate,
  openAuditLog,
  openDatabase,
  type AuditEntry,
  type AuditLog,
  type AuditRecord,
} from '../../src/store/index.js';
import { startPostgres, type PostgresPeer } from '../peers/postgres.js';
import { postgresDatabase, sqliteDatabase } from '../store/databases.js';
import { maestroAudit, tamperSqlite } from './audit-helpers.js';

/** A decision entry as the gate writes one. */
function decision(runId: string, change: Partial<AuditEntry> = {}): AuditEntry {
  return {
    kind: 'decision',
    id: randomUUID(),
    time: new Date().toISOString(),
    namespace: 'default',
    runId,
    taskId: 'greet',
    traceId: 'trace-1',
    actor: 'alice',
    result: 'allow',
    reasons: [],
    inputDigest: `sha256:${'1'.repeat(64)}`,
    bundleRevision: `sha256:${'2'.repeat(64)}`,
    details: { stage: 'task' },
    ...change,
  };
}

interface Backend {
  name: 'sqlite' | 'postgres';
  open(): Promise<AuditLog>;
  /** Runs SQL as the database owner, with the append-only triggers switched off for it. */
  tamper(sql: string): Promise<void>;
  /** Runs SQL as the database owner, triggers as they are. */
  exec(sql: string): Promise<void>;
  /** How many records with this id another connection sees now (SQLite: read at the call, synchronously). */
  committed(id: string): Promise<number>;
  /** The environment `maestro audit verify` needs to find this database. */
  env(): Record<string, string>;
  cleanup(): Promise<void>;
}

function sqlite(): Backend {
  let dir = '';
  return {
    name: 'sqlite',
    async open() {
      dir ||= await mkdtemp(join(tmpdir(), 'maestro-audit-'));
      return openAuditLog({ dataDir: dir });
    },
    tamper(sql) {
      // By hand, as an attacker with the file would: drop the trigger, edit, put the trigger back.
      tamperSqlite(dir, sql);
      return Promise.resolve();
    },
    async exec(sql) {
      const db = new Database(join(dir, 'registry.db'));
      try {
        db.exec(sql);
      } finally {
        db.close();
      }
    },
    committed(id) {
      const db = new Database(join(dir, 'registry.db'), { readonly: true });
      try {
        return Promise.resolve(Number((db.prepare('SELECT count(*) AS n FROM audit_log WHERE id = ?').get(id) as { n: number }).n));
      } finally {
        db.close();
      }
    },
    env: () => ({ MAESTRO_DATA_DIR: dir }),
    cleanup: () => rm(dir, { recursive: true, force: true }),
  };
}

function postgres(): Backend {
  let peer: PostgresPeer | undefined;
  return {
    name: 'postgres',
    async open() {
      peer ??= await startPostgres();
      return openAuditLog({ databaseUrl: peer.url });
    },
    async tamper(sql) {
      const client = new pg.Client({ connectionString: peer!.url });
      await client.connect();
      await client.query('ALTER TABLE audit_log DISABLE TRIGGER USER');
      await client.query(sql);
      await client.query('ALTER TABLE audit_log ENABLE TRIGGER USER');
      await client.end();
    },
    async exec(sql) {
      const client = new pg.Client({ connectionString: peer!.url });
      await client.connect();
      try {
        await client.query(sql);
      } finally {
        await client.end();
      }
    },
    async committed(id) {
      const client = new pg.Client({ connectionString: peer!.url });
      await client.connect();
      try {
        return Number((await client.query<{ n: string }>('SELECT count(*) AS n FROM audit_log WHERE id = $1', [id])).rows[0]?.n);
      } finally {
        await client.end();
      }
    },
    env: () => ({ MAESTRO_DATABASE_URL: peer!.url }),
    cleanup: async () => peer?.stop(),
  };
}

describe.each([sqlite(), postgres()])('audit log on $name', (backend) => {
  let log: AuditLog;
  beforeAll(async () => {
    log = await backend.open();
  });
  afterAll(async () => {
    await log?.close();
    await backend.cleanup();
  });

  it('chains records by hash from the genesis hash', async () => {
    const first = await log.append(decision('run-a'));
    const second = await log.append(decision('run-a', { result: 'deny', reasons: ['purpose "x" is not allowed'] }));
    expect(first).toMatchObject({ seq: 1, prevHash: GENESIS_HASH });
    expect(second).toMatchObject({ seq: 2, prevHash: first.hash });
    expect(second.hash).toMatch(/^sha256:[0-9a-f]{64}$/);
    expect(await log.verify()).toEqual({ ok: true, records: 2, head: second.hash });
  });

  it('keeps the chain whole under concurrent appends', async () => {
    await Promise.all(Array.from({ length: 40 }, (_, i) => log.append(decision(`run-c${i % 4}`))));
    const report = await log.verify();
    expect(report).toMatchObject({ ok: true, records: 42 });
  });

  it('writes the appends of one turn together, answering each once its record is committed', async () => {
    // As a worker's task attempts arrive: one callback each, a fan-out's in the same turn.
    const entries = Array.from({ length: 30 }, (_, i) => decision('run-turn', { taskId: `fan${i}` }));
    const answered = await Promise.all(
      entries.map(
        (entry) =>
          new Promise<{ record: AuditRecord; seen: number }>((resolve, reject) => {
            setImmediate(() => {
              log.append(entry).then(async (record) => resolve({ record, seen: await backend.committed(record.id) }), reject);
            });
          }),
      ),
    );
    expect(answered.map(({ seen }) => seen)).toEqual(entries.map(() => 1));
    // In the order the calls were made, each on the one before.
    const records = answered.map(({ record }) => record);
    expect(records.map(({ taskId }) => taskId)).toEqual(entries.map(({ taskId }) => taskId));
    records.slice(1).forEach((record, i) => expect(record).toMatchObject({ seq: records[i]!.seq + 1, prevHash: records[i]!.hash }));
    expect(await log.list({ runId: 'run-turn' })).toEqual(records);
    expect((await log.verify()).ok).toBe(true);
  });

  it('appends several entries in one write, all or none', async () => {
    const [head] = (await log.list({ after: 0, limit: 1000 })).slice(-1);
    const batch = await log.appendAll([decision('run-batch'), decision('run-batch', { taskId: 'second', details: { stage: 'task', at: new Date(0), gone: undefined } })]);
    expect(batch.map((record) => record.seq)).toEqual([head!.seq + 1, head!.seq + 2]);
    expect(batch[1]?.prevHash).toBe(batch[0]?.hash);
    // Returned as stored: what JSON keeps.
    expect(batch[1]?.details).toEqual({ stage: 'task', at: '1970-01-01T00:00:00.000Z' });
    expect(await log.list({ runId: 'run-batch' })).toEqual(batch);

    // The second entry's id is taken: neither is appended.
    await expect(log.appendAll([decision('run-batch'), decision('run-batch', { id: batch[0]!.id })])).rejects.toThrow();
    expect(await log.list({ runId: 'run-batch' })).toHaveLength(2);
    expect(await log.verify()).toMatchObject({ ok: true, records: head!.seq + 2 });
  });

  it('appends more entries than one statement holds, in order, all or none', async () => {
    // 70 entries: three INSERTs of up to 32 rows, in one transaction.
    const [head] = (await log.list({ after: 0, limit: 1000 })).slice(-1);
    const entries = Array.from({ length: 70 }, (_, i) => decision('run-wide', { taskId: `task${i}` }));
    const batch = await log.appendAll(entries);
    expect(batch.map((record) => record.seq)).toEqual(entries.map((_, i) => head!.seq + 1 + i));
    expect(batch.map((record) => record.id)).toEqual(entries.map((entry) => entry.id));
    batch.slice(1).forEach((record, i) => expect(record.prevHash).toBe(batch[i]?.hash));
    expect(await log.list({ runId: 'run-wide', limit: 100 })).toEqual(batch);

    // An id taken in the third statement's rows: none of the 70 is appended.
    const refused = Array.from({ length: 70 }, (_, i) => decision('run-wide-refused', i === 66 ? { id: batch[0]!.id } : {}));
    await expect(log.appendAll(refused)).rejects.toThrow();
    expect(await log.list({ runId: 'run-wide-refused' })).toEqual([]);
    expect(await log.verify()).toMatchObject({ ok: true, records: head!.seq + 70 });
  });

  it('fails only the call with a bad entry when calls made together are written together', async () => {
    const [taken] = await log.list({ after: 0, limit: 1 });
    const calls = [
      log.appendAll([decision('run-group'), decision('run-group')]),
      log.appendAll([decision('run-group', { id: taken!.id })]),
      log.append(decision('run-group')),
    ];
    const [first, second, third] = await Promise.allSettled(calls);
    expect(second?.status).toBe('rejected');
    expect(first?.status).toBe('fulfilled');
    expect(third?.status).toBe('fulfilled');
    const written = [...(first as PromiseFulfilledResult<AuditRecord[]>).value, (third as PromiseFulfilledResult<AuditRecord>).value];
    // A call's entries stay together and in order.
    expect(written[1]!.seq).toBe(written[0]!.seq + 1);
    expect(await log.list({ runId: 'run-group' })).toEqual(written);
    expect((await log.verify()).ok).toBe(true);
  });

  it('stores and hashes details given as canonical JSON text as it would the object', async () => {
    const details = { stage: 'task', input: { b: [1, 'two'], a: { z: null, y: true } } };
    const detailsJson = canonicalMembers({ stage: '"task"', input: '{"a":{"y":true,"z":null},"b":[1,"two"]}' });
    const record = await log.append({ ...decision('run-json'), details: undefined, detailsJson });
    expect(record.details).toEqual(details);
    expect(record.hash).toBe(auditRecordHash({ ...record, details }));
    expect(await log.list({ runId: 'run-json' })).toEqual([record]);
    await expect(log.append({ ...decision('run-json'), details, detailsJson })).rejects.toThrow(/exclusive/);
    expect((await log.verify()).ok).toBe(true);
  });

  it('keeps approvals, cancellations and retries in the same chain', async () => {
    await appendAuditEvent(log, { kind: 'approval', runId: 'run-a', namespace: 'default', taskId: 'gate', actor: 'bob', action: 'approve', reason: 'looks good' });
    await appendAuditEvent(log, { kind: 'cancellation', runId: 'run-a', namespace: 'default', actor: 'carol', action: 'cancel', reason: 'wrong env' });
    await appendAuditEvent(log, { kind: 'retry', runId: 'run-a', namespace: 'default', actor: 'carol', action: 'retry-from-failed', details: { newRunId: 'run-b' } });
    const records = await log.list({ runId: 'run-a' });
    expect(records.map((r) => [r.kind, r.actor, r.result, r.reasons])).toEqual([
      ['decision', 'alice', 'allow', []],
      ['decision', 'alice', 'deny', ['purpose "x" is not allowed']],
      ['approval', 'bob', 'approve', ['looks good']],
      ['cancellation', 'carol', 'cancel', ['wrong env']],
      ['retry', 'carol', 'retry-from-failed', []],
    ]);
    expect(records.at(-1)?.details).toEqual({ newRunId: 'run-b' });
    expect((await log.verify()).ok).toBe(true);
  });

  it("lists a run's decision ids, in order and by task, without the other kinds", async () => {
    const runStart = await log.append(decision('run-refs', { taskId: undefined }));
    const first = await log.append(decision('run-refs'));
    await appendAuditEvent(log, { kind: 'approval', runId: 'run-refs', namespace: 'default', taskId: 'greet', actor: 'bob', action: 'approve', reason: 'ok' });
    const second = await log.append(decision('run-refs', { taskId: 'other' }));
    expect(await log.decisionRefs('run-refs')).toEqual([{ id: runStart.id }, { id: first.id, taskId: 'greet' }, { id: second.id, taskId: 'other' }]);
    expect(await log.decisionRefs('run-none')).toEqual([]);
  });

  it('finds a record by id, and lists an attempt that acted on its run-start decision as that decision, reused', async () => {
    const start = await log.append(decision('run-reuse'));
    const reuse = await log.append({ ...decision('run-reuse'), kind: DECISION_REUSE_KIND, id: auditRecordId(), details: { attempt: 1, decisionId: start.id } });
    expect(await log.find(start.id)).toEqual(start);
    expect(await log.find(reuse.id)).toMatchObject({ kind: DECISION_REUSE_KIND, details: { attempt: 1, decisionId: start.id } });
    expect(await log.find(randomUUID())).toBeUndefined();
    expect(await log.decisionRefs('run-reuse')).toEqual([
      { id: start.id, taskId: 'greet' },
      { id: start.id, taskId: 'greet', reused: true },
    ]);
  });

  it('serves auditors only, and only their namespaces', async () => {
    await log.append(decision('run-other', { namespace: 'ops' }));
    const auditor = { subject: 'audrey', roles: ['auditor'], namespaces: ['ops'] };
    const page = await listAuditRecords(log, auditor, {});
    expect(page.items.map((r) => r.runId)).toEqual(['run-other']);
    expect((await listAuditRecords(log, { ...auditor, namespaces: ['*'] }, { runId: 'run-a', limit: 2 })).next).toBe(2);
    await expect(listAuditRecords(log, { subject: 'eve', roles: ['operator'], namespaces: ['*'] })).rejects.toMatchObject({ code: 'FORBIDDEN' });
    const { listAudit } = auditRoutes({ log });
    const response = await listAudit({ principal: auditor, query: { runId: 'run-other', limit: '10' } });
    expect(response).toMatchObject({ status: 200, body: { items: [expect.objectContaining({ runId: 'run-other', namespace: 'ops' })] } });
    await expect(listAudit({ principal: undefined, query: {} })).rejects.toMatchObject({ code: 'UNAUTHENTICATED' });
  });

  it('refuses UPDATE and DELETE in the database itself', async () => {
    await expect(backend.exec(`UPDATE audit_log SET result = 'allow' WHERE seq = 2`)).rejects.toThrow(/append-only: UPDATE refused/);
    await expect(backend.exec(`DELETE FROM audit_log WHERE seq = 1`)).rejects.toThrow(/append-only: DELETE refused/);
    if (backend.name === 'postgres') await expect(backend.exec('TRUNCATE audit_log')).rejects.toThrow(/append-only: TRUNCATE refused/);
    expect((await log.verify()).ok).toBe(true);
  });

  it('reports a log the database no longer guards — a trigger dropped, switched off or changed — in verify() and in `maestro audit verify`', async () => {
    const refuse = `RAISE EXCEPTION 'audit_log is append-only: % refused', TG_OP USING ERRCODE = 'insufficient_privilege'`;
    // Each: what a careless DBA or an intruder does, what verify() then says, and how it is put back.
    const cases =
      backend.name === 'sqlite'
        ? [
            {
              change: 'DROP TRIGGER audit_log_refuses_delete',
              unguarded: ['trigger audit_log_refuses_delete is missing: the database no longer refuses DELETE of audit_log'],
              restore: `CREATE TRIGGER audit_log_refuses_delete BEFORE DELETE ON audit_log
   BEGIN SELECT RAISE(ABORT, 'audit_log is append-only: DELETE refused'); END`,
            },
            {
              change: `DROP TRIGGER audit_log_refuses_update; CREATE TRIGGER audit_log_refuses_update BEFORE UPDATE ON audit_log BEGIN SELECT 1; END`,
              unguarded: [
                'trigger audit_log_refuses_update is not as Maestro made it (CREATE TRIGGER audit_log_refuses_update BEFORE UPDATE ON audit_log BEGIN SELECT 1; END): the database may no longer refuse UPDATE of audit_log',
              ],
              restore: `DROP TRIGGER audit_log_refuses_update; CREATE TRIGGER audit_log_refuses_update BEFORE UPDATE ON audit_log
   BEGIN SELECT RAISE(ABORT, 'audit_log is append-only: UPDATE refused'); END`,
            },
          ]
        : [
            {
              change: 'ALTER TABLE audit_log DISABLE TRIGGER audit_log_refuses_update_delete',
              unguarded: ['trigger audit_log_refuses_update_delete is disabled: the database no longer refuses UPDATE and DELETE of audit_log'],
              restore: 'ALTER TABLE audit_log ENABLE TRIGGER audit_log_refuses_update_delete',
            },
            {
              change: 'DROP TRIGGER audit_log_refuses_truncate ON audit_log',
              unguarded: ['trigger audit_log_refuses_truncate is missing: the database no longer refuses TRUNCATE of audit_log'],
              restore: 'CREATE TRIGGER audit_log_refuses_truncate BEFORE TRUNCATE ON audit_log FOR EACH STATEMENT EXECUTE FUNCTION maestro_audit_log_refuse()',
            },
            {
              // The function both triggers run, made to let everything through.
              change: 'CREATE OR REPLACE FUNCTION maestro_audit_log_refuse() RETURNS trigger LANGUAGE plpgsql AS $body$ BEGIN RETURN OLD; END $body$',
              unguarded: [expect.stringMatching(/^trigger audit_log_refuses_update_delete is not as Maestro made it \(.*RETURN OLD.*\): the database may no longer refuse UPDATE and DELETE of audit_log$/), expect.stringMatching(/^trigger audit_log_refuses_truncate is not as Maestro made it/)],
              restore: `CREATE OR REPLACE FUNCTION maestro_audit_log_refuse() RETURNS trigger LANGUAGE plpgsql AS $body$ BEGIN ${refuse}; END $body$`,
            },
          ];
    const { records, head } = await log.verify();
    for (const [i, { change, unguarded, restore }] of cases.entries()) {
      await backend.exec(change);
      const report = await log.verify();
      // The chain itself is untouched: only the guard is gone.
      expect(report).toEqual({ ok: false, records, head, unguarded });
      if (i === 0) {
        const cli = await maestroAudit(['verify'], backend.env());
        expect(cli.code).toBe(1);
        expect(cli.stdout.trim()).toBe(describeChainReport(report));
        expect(cli.stdout).toContain(`audit log UNGUARDED (its chain is whole): ${records} record(s), head ${head}\n${unguarded[0] as string}`);
      }
      await backend.exec(restore);
      expect(await log.verify()).toEqual({ ok: true, records, head });
    }
  });

  it('names the record changed by hand behind the triggers, in verify() and in `maestro audit verify`', async () => {
    // The attack worth hiding: turn a denial into an allow.
    const [target] = await log.list({ after: 1, limit: 1 });
    expect(target).toMatchObject({ seq: 2, result: 'deny' });
    await backend.tamper(`UPDATE audit_log SET result = 'allow', reasons = '[]' WHERE seq = 2`);
    const report = await log.verify();
    expect(report).toMatchObject({ ok: false, records: 1, firstBroken: { seq: 2, id: target!.id } });
    expect(report.firstBroken?.problem).toContain('its content does not match its hash');

    const cli = await maestroAudit(['verify'], backend.env());
    expect(cli.code).toBe(1);
    expect(cli.stdout.trim()).toBe(describeChainReport(report));
    expect(cli.stdout).toContain(`audit log BROKEN at record #2 (id ${target!.id})`);
  });

  it('names a removed record', async () => {
    // Put record 2 back as it was, so only the removal is seen.
    await backend.tamper(`UPDATE audit_log SET result = 'deny', reasons = '["purpose \\"x\\" is not allowed"]' WHERE seq = 2`);
    expect((await log.verify()).ok).toBe(true);
    await backend.tamper(`DELETE FROM audit_log WHERE seq = 3`);
    const report = await log.verify();
    expect(report).toMatchObject({ ok: false, records: 2, firstBroken: { seq: 3, id: '(missing)' } });
    expect(report.firstBroken?.problem).toBe('record #3 is missing (the next one is #4)');
  });
});

describe('audit record ids', () => {
  it('are UUIDv7s that sort in the order they were made, so the id index grows at its end', () => {
    const t = Date.UTC(2026, 0, 1);
    const ids = [auditRecordId(t), auditRecordId(t + 1), auditRecordId(t + 60_000), auditRecordId()];
    for (const id of ids) expect(id).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-7[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
    expect([...ids].sort()).toEqual(ids);
    expect(ids[0]?.replace(/-/g, '').slice(0, 12)).toBe(t.toString(16).padStart(12, '0'));
    expect(new Set(Array.from({ length: 1000 }, () => auditRecordId(t))).size).toBe(1000);
  });
});

describe('audit logs on one SQLite file in one process (the worker and the API of `npm start`)', () => {
  it('append at the same time without locking each other out, and each closes on its own', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'maestro-audit-shared-'));
    const worker = await openAuditLog({ dataDir: dir });
    const api = await openAuditLog({ dataDir: dir });
    try {
      // Before they shared a connection, one log's write lock held across an await made the other
      // wait in SQLite's sleeping busy handler, on the thread that held the lock: 'database is locked'.
      const records = await Promise.all(Array.from({ length: 40 }, (_, i) => (i % 2 === 0 ? worker : api).append(decision(`run-shared-${i}`))));
      expect(records.map((record) => record.seq).sort((x, y) => x - y)).toEqual(Array.from({ length: 40 }, (_, i) => i + 1));
      await worker.close();
      await api.append(decision('run-after-close'));
      expect(await api.verify()).toMatchObject({ ok: true, records: 41 });
      // The folder removed and made again while a log is open: a new, empty database.
      await rm(dir, { recursive: true, force: true });
      const fresh = await openAuditLog({ dataDir: dir });
      await fresh.append(decision('run-fresh'));
      expect(await fresh.verify()).toMatchObject({ ok: true, records: 1 });
      await fresh.close();
    } finally {
      await worker.close();
      await api.close();
      await rm(dir, { recursive: true, force: true });
    }
  });

  it('take turns appending: each extends the chain the other moved on', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'maestro-audit-turns-'));
    const worker = await openAuditLog({ dataDir: dir });
    const api = await openAuditLog({ dataDir: dir });
    try {
      // A log appends a lone entry onto the head it last wrote; after the other's append that head
      // is stale, the row is refused by its seq, and the entry goes in under the lock instead.
      const records: AuditRecord[] = [];
      for (let i = 0; i < 12; i += 1) records.push(await (i % 3 === 0 ? api : worker).append(decision(`run-turn-${i}`)));
      expect(records.map((record) => record.seq)).toEqual(Array.from({ length: 12 }, (_, i) => i + 1));
      records.slice(1).forEach((record, i) => expect(record.prevHash).toBe(records[i]?.hash));
      expect(await worker.verify()).toEqual({ ok: true, records: 12, head: records[11]?.hash });
    } finally {
      await worker.close();
      await api.close();
      await rm(dir, { recursive: true, force: true });
    }
  });

  it('take turns appending several entries at once: all of a call, in order, onto the chain the other moved on', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'maestro-audit-turns-'));
    const worker = await openAuditLog({ dataDir: dir });
    const api = await openAuditLog({ dataDir: dir });
    try {
      // A run start's decisions go onto the head the log last wrote in one statement; after the
      // other's append that head is stale, all of them are refused, and they go in under the lock.
      const calls: AuditRecord[][] = [];
      for (let i = 0; i < 8; i += 1) calls.push(await (i % 3 === 0 ? worker : api).appendAll(Array.from({ length: 1 + (i % 4) }, (_, task) => decision(`run-turns-${i}`, { taskId: `t${task}` }))));
      const records = calls.flat();
      expect(records.map((record) => record.seq)).toEqual(Array.from({ length: records.length }, (_, i) => i + 1));
      records.slice(1).forEach((record, i) => expect(record.prevHash).toBe(records[i]?.hash));
      calls.forEach((call, i) => expect(call.map((record) => record.taskId)).toEqual(Array.from({ length: 1 + (i % 4) }, (_, task) => `t${task}`)));
      expect(await api.list({ after: 0, limit: 100 })).toEqual(records);
      expect(await worker.verify()).toEqual({ ok: true, records: records.length, head: records.at(-1)?.hash });
    } finally {
      await worker.close();
      await api.close();
      await rm(dir, { recursive: true, force: true });
    }
  });
});

describe.each([sqliteDatabase('maestro-audit-v1-'), postgresDatabase()])('an audit log written before version 2 of its schema, on $name', (backend) => {
  afterAll(() => backend.cleanup());

  it('keeps its records, its chain and its triggers', async () => {
    // The log as version 1 of the schema holds it: UNIQUE prev_hash and hash, rows written then.
    const db = openDatabase(await backend.options());
    await migrate(db, auditLogMigrations(db.dialect).slice(0, 1));
    let prevHash = GENESIS_HASH;
    const written: AuditRecord[] = [];
    for (const [index, entry] of [decision('run-old'), decision('run-old', { result: 'deny', reasons: ['no'] })].entries()) {
      const unhashed = { ...entry, seq: index + 1, prevHash };
      const record: AuditRecord = { ...unhashed, hash: auditRecordHash(unhashed) };
      await db.run(
        'INSERT INTO audit_log (seq, id, kind, time, namespace, run_id, task_id, trace_id, actor, result, reasons, input_digest, bundle_revision, details, prev_hash, hash) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16)',
        [record.seq, record.id, record.kind, record.time, record.namespace!, record.runId!, record.taskId!, record.traceId!, record.actor!, record.result, JSON.stringify(record.reasons), record.inputDigest!, record.bundleRevision!, JSON.stringify(record.details), record.prevHash, record.hash],
      );
      written.push(record);
      prevHash = record.hash;
    }

    const log = await createAuditLog(db, { ownsDb: true });
    try {
      expect(await log.list({ runId: 'run-old' })).toEqual(written);
      const next = await log.append(decision('run-new'));
      expect(next).toMatchObject({ seq: 3, prevHash: written[1]!.hash });
      expect(await log.verify()).toEqual({ ok: true, records: 3, head: next.hash });
      // Still append-only, and a second record in a place already taken is refused.
      await expect(db.run(`UPDATE audit_log SET result = 'allow' WHERE seq = 2`)).rejects.toThrow(/append-only: UPDATE refused/);
      await expect(db.run(`DELETE FROM audit_log WHERE seq = 1`)).rejects.toThrow(/append-only: DELETE refused/);
      await expect(
        db.run('INSERT INTO audit_log (seq, id, kind, time, result, reasons, prev_hash, hash) VALUES ($1, $2, $3, $4, $5, $6, $7, $8)', [3, randomUUID(), 'decision', next.time, 'allow', '[]', written[1]!.hash, 'sha256:forged']),
      ).rejects.toThrow();
    } finally {
      await log.close();
    }
  });
});
