/**
 * The policy decision and audit log (SM-143): every policy decision, approval, cancellation and
 * retry, appended to one table whose records are chained by hash — each record's `hash` covers its
 * content and the previous record's hash — on SQLite or PostgreSQL. The database refuses UPDATE
 * and DELETE (triggers, see migrations/policy-audit-log.ts); {@link AuditLog.verify} finds a record
 * changed behind the triggers' back and names the first one.
 */
import { hash, randomUUID } from 'node:crypto';
import { canonicalJson } from '../canonical/index.js';
import { MaestroError } from '../errors/index.js';
import { auditLogGuardProblems, auditLogMigrations } from './migrations/policy-audit-log.js';
import type { SqlDriver, SqlExecutor, SqlRow, SqlTransaction, SqlValue } from './sql/driver.js';
import { migrate } from './sql/migrations.js';
import { onOwnDatabase, type OpenStoreOptions } from './open-store.js';

/** `prevHash` of the first record. */
export const GENESIS_HASH = `sha256:${'0'.repeat(64)}`;

/**
 * A new audit record id: a UUIDv7 (RFC 9562), its first 48 bits the time in milliseconds, the rest
 * random. Ids made later sort later, so the `id` index grows at its right edge instead of taking a
 * random page on every append (on a log of 300,000 records, an append's mean fell from 130 to
 * 90 µs: checkpoints write back fewer pages).
 *
 * @example
 * const decisionId = auditRecordId(); // '0193a4b2-7c1e-7d4f-9a2b-…'
 */
export function auditRecordId(now = Date.now()): string {
  if (now !== idTime.ms) {
    const hex = now.toString(16).padStart(12, '0');
    idTime.ms = now;
    idTime.prefix = `${hex.slice(0, 8)}-${hex.slice(8, 12)}-7`;
  }
  // randomUUID is a v4 (xxxxxxxx-xxxx-4xxx-yxxx-…): keep its random bits and variant after the version.
  return idTime.prefix + randomUUID().slice(15);
}

/** The time part of the ids of the last millisecond an id was made in (ids come in bursts). */
const idTime = { ms: -1, prefix: '' };

/**
 * Kind of the record a task attempt appends when it acts on the decision made for it at run start
 * instead of asking the PDP again: `details.decisionId` is the decision it acted on.
 */
export const DECISION_REUSE_KIND = 'decision-reuse';

/** What is appended: a policy decision, or an event a person caused (approval, cancellation, retry). */
export interface AuditEntry {
  /** `decision`, `approval`, `cancellation`, `retry`, … */
  kind: string;
  /** Unique id: the decision id for decisions, a fresh one for events ({@link auditRecordId} makes both). */
  id: string;
  /** ISO 8601 time the decision was made or the event happened. */
  time: string;
  /** Maestro namespace of the run. */
  namespace?: string;
  runId?: string;
  /** Task id (`task[index]` for a forEach item); absent for run-level entries. */
  taskId?: string;
  traceId?: string;
  /** Who: the principal asking, approving, cancelling or retrying. */
  actor?: string;
  /** `allow` | `deny` for decisions; `approve` | `reject`, `cancel`, `retry` … for events. */
  result: string;
  /** Why: the policy's reasons, or the person's comment. */
  reasons: string[];
  /** `sha256:` of the RFC 8785 canonical policy input. */
  inputDigest?: string;
  /** Revision of the policy bundle that decided. */
  bundleRevision?: string;
  /** Anything else worth keeping (JSON), e.g. the policy input itself. */
  details?: Record<string, unknown>;
  /**
   * `details` as RFC 8785 canonical JSON text, instead of `details`, when the caller has it (the
   * gate has its input's canonical form from the PDP): it is stored and hashed as is, so it must be
   * canonical — `verify()` recomputes the hash from the parsed details.
   */
  detailsJson?: string;
}

/** A stored entry, with its place in the chain. */
export interface AuditRecord extends AuditEntry {
  /** 1, 2, 3 … in append order. */
  seq: number;
  /** `hash` of the record before ({@link GENESIS_HASH} for the first). */
  prevHash: string;
  /** `sha256:` of the RFC 8785 canonical JSON of every other field, `prevHash` included. */
  hash: string;
}

/** Filter of {@link AuditLog.list}. */
export interface AuditQuery {
  runId?: string;
  kind?: string;
  /** Only these namespaces (a principal's); `*` or undefined for all. */
  namespaces?: readonly string[];
  /** Records with `seq` greater than this (paging). @default 0 */
  after?: number;
  /** Records at or after this ISO 8601 time (UTC, as `toISOString()` writes it). @default undefined — no lower bound */
  from?: string;
  /** Records before this ISO 8601 time (UTC, as `toISOString()` writes it). @default undefined — no upper bound */
  to?: string;
  /** @default 100, at most 1000 */
  limit?: number;
}

/** Outcome of {@link AuditLog.verify}. */
export interface ChainReport {
  /** The chain is whole and the database still refuses changes to it. */
  ok: boolean;
  /** Records checked. */
  records: number;
  /** Hash of the last record: write it down elsewhere to detect a rewrite of the whole tail. */
  head: string;
  /** The first record that does not fit the chain. */
  firstBroken?: { seq: number; id: string; problem: string };
  /**
   * The append-only triggers missing, switched off or changed, one sentence each: the chain may
   * still be whole, but the database would no longer refuse an UPDATE or DELETE of it.
   */
  unguarded?: string[];
}

/** The append-only, hash-chained log. */
export interface AuditLog {
  /** Appends an entry at the end of the chain and returns it as stored. */
  append(entry: AuditEntry): Promise<AuditRecord>;
  /**
   * Appends entries at the end of the chain, in their order and in one transaction — all or none —
   * and returns them as stored: what a run start decides for its tasks is recorded in one write.
   */
  appendAll(entries: readonly AuditEntry[]): Promise<AuditRecord[]>;
  /** Records in append order. */
  list(query?: AuditQuery): Promise<AuditRecord[]>;
  /** The record with this id, if there is one. */
  find(id: string): Promise<AuditRecord | undefined>;
  /**
   * The ids of a run's `decision` records (and the task each was for), in append order: what the
   * run's receipt lists, read without the records' bodies. An attempt that acted on its run-start
   * decision ({@link DECISION_REUSE_KIND}) comes as that decision's id with `reused: true`.
   */
  decisionRefs(runId: string): Promise<{ id: string; taskId?: string; reused?: true }[]>;
  /** Walks the whole chain, recomputing every hash, and checks that the database still refuses changes to it. */
  verify(): Promise<ChainReport>;
  close(): Promise<void>;
}

/**
 * The fields a record's hash covers, absent ones as null, in a fixed shape. With `withDetails`
 * false, `details` is left null unread (the caller has its JSON).
 */
function hashedContent(record: Omit<AuditRecord, 'hash'>, withDetails = true): Record<string, unknown> {
  return {
    seq: record.seq,
    id: record.id,
    kind: record.kind,
    time: record.time,
    namespace: record.namespace ?? null,
    runId: record.runId ?? null,
    taskId: record.taskId ?? null,
    traceId: record.traceId ?? null,
    actor: record.actor ?? null,
    result: record.result,
    reasons: record.reasons,
    inputDigest: record.inputDigest ?? null,
    bundleRevision: record.bundleRevision ?? null,
    details: withDetails ? (record.details ?? null) : null,
    prevHash: record.prevHash,
  };
}

/**
 * The RFC 8785 canonical JSON of an object whose members' canonical JSON is known: RFC 8785
 * orders members by their names' UTF-16 code units, as sort() does.
 *
 * @example
 * canonicalMembers({ stage: '"task"', input: inputJson }) // '{"input":…,"stage":"task"}'
 */
export function canonicalMembers(members: Readonly<Record<string, string>>): string {
  const names = Object.keys(members).sort();
  return `{${names.map((name) => `${JSON.stringify(name)}:${members[name]}`).join(',')}}`;
}

/**
 * `sha256:` of the canonical JSON of a record without its hash. `detailsJson`, the canonical JSON
 * of `record.details` when the caller has it already, is spliced in rather than serialised again:
 * the hash is the same, and the details (which hold a decision's whole policy input) are the
 * record's largest part.
 */
export function auditRecordHash(record: Omit<AuditRecord, 'hash'>, detailsJson?: string): string {
  const content = hashedContent(record, detailsJson === undefined);
  const text = HASHED_MEMBERS.map(({ name, prefix }) => prefix + (name === 'details' && detailsJson !== undefined ? detailsJson : canonicalJson(content[name]))).join(',');
  return `sha256:${hash('sha256', `{${text}}`)}`;
}

/**
 * The members {@link hashedContent} always has, in RFC 8785 order, each with its `"name":` written
 * once: a record's canonical JSON is then one pass over them, as {@link canonicalMembers} would write it.
 */
const HASHED_MEMBERS = Object.keys(hashedContent({} as Omit<AuditRecord, 'hash'>))
  .sort()
  .map((name) => ({ name, prefix: `${JSON.stringify(name)}:` }));

/** The optional text members of a record and their columns. */
const OPTIONAL_COLUMNS = {
  namespace: 'namespace',
  runId: 'run_id',
  taskId: 'task_id',
  traceId: 'trace_id',
  actor: 'actor',
  inputDigest: 'input_digest',
  bundleRevision: 'bundle_revision',
} as const;
type OptionalField = keyof typeof OPTIONAL_COLUMNS;

function optionalText(row: SqlRow, column: string): string | undefined {
  const value = row[column];
  return value === null || value === undefined ? undefined : String(value);
}

function requiredText(row: SqlRow, column: string): string {
  const value = optionalText(row, column);
  if (value === undefined) throw new MaestroError('INTERNAL', `audit_log: column ${column} is empty`);
  return value;
}

/** A row back into a record; JSON columns that no longer parse keep their text, so verify can flag them. */
function fromRow(row: SqlRow): AuditRecord {
  const json = (column: string): unknown => {
    const text = optionalText(row, column);
    if (text === undefined) return undefined;
    try {
      return JSON.parse(text) as unknown;
    } catch (error) {
      // A hand-edited column: keep the raw text so the hash check reports the record.
      if (!(error instanceof SyntaxError)) throw error;
      return text;
    }
  };
  const reasons = json('reasons');
  const details = json('details');
  const record: AuditRecord = {
    seq: Number(row.seq),
    id: requiredText(row, 'id'),
    kind: requiredText(row, 'kind'),
    time: requiredText(row, 'time'),
    result: requiredText(row, 'result'),
    reasons: Array.isArray(reasons) ? reasons.map(String) : [String(reasons)],
    prevHash: requiredText(row, 'prev_hash'),
    hash: requiredText(row, 'hash'),
  };
  for (const [field, column] of Object.entries(OPTIONAL_COLUMNS) as [OptionalField, string][]) {
    const value = optionalText(row, column);
    if (value !== undefined) record[field] = value;
  }
  if (details !== undefined) record.details = (details !== null && typeof details === 'object' ? details : { raw: details }) as Record<string, unknown>;
  return record;
}

const COLUMNS = 'seq, id, kind, time, namespace, run_id, task_id, trace_id, actor, result, reasons, input_digest, bundle_revision, details, prev_hash, hash';
const COLUMN_COUNT = COLUMNS.split(',').length;

/**
 * The most records one INSERT writes (see `insertChained`): a run start of up to 31 gated tasks in
 * one; 512 values, far below SQLite's 32,766 and PostgreSQL's 65,535.
 */
const ROWS_PER_INSERT = 32;

/** The INSERT statements of {@link insertRows}, by row count. */
const insertTexts = new Map<number, string>();

/** The INSERT of `count` records' rows (see {@link toRow}): `$1 … $16` for the first, and so on. */
function insertRows(count: number): string {
  let text = insertTexts.get(count);
  if (text === undefined) {
    const rows = Array.from({ length: count }, (_, row) => `(${Array.from({ length: COLUMN_COUNT }, (_, column) => `$${row * COLUMN_COUNT + column + 1}`).join(', ')})`);
    text = `INSERT INTO audit_log (${COLUMNS}) VALUES ${rows.join(', ')}`;
    insertTexts.set(count, text);
  }
  return text;
}

/** A record as the row's values; `json` holds its reasons and details as canonical JSON text. */
function toRow(record: AuditRecord, json: { reasons: string; details: string | null }): SqlValue[] {
  return [
    record.seq,
    record.id,
    record.kind,
    record.time,
    record.namespace ?? null,
    record.runId ?? null,
    record.taskId ?? null,
    record.traceId ?? null,
    record.actor ?? null,
    record.result,
    json.reasons,
    record.inputDigest ?? null,
    record.bundleRevision ?? null,
    json.details,
    record.prevHash,
    record.hash,
  ];
}

/** Checks an entry before it becomes permanent: a bad record can never be taken back. */
function checkEntry(entry: AuditEntry): void {
  if (!entry.kind || !entry.id || !entry.result) throw new MaestroError('INTERNAL', 'an audit entry needs kind, id and result');
  if (Number.isNaN(Date.parse(entry.time))) throw new MaestroError('INTERNAL', `audit entry ${entry.id}: time "${entry.time}" is not ISO 8601`);
  if (!Array.isArray(entry.reasons) || !entry.reasons.every((reason) => typeof reason === 'string')) {
    throw new MaestroError('INTERNAL', `audit entry ${entry.id}: reasons must be strings`);
  }
  if (entry.details !== undefined && entry.detailsJson !== undefined) throw new MaestroError('INTERNAL', `audit entry ${entry.id}: details and detailsJson are exclusive`);
}

/** Calls this close together come in a burst: the next waits for the turn's others (see `appendAll`). */
const BURST_MS = 1;

/** Whether a call now follows the one before (`last`) within {@link BURST_MS}; notes the time. */
function inBurst(last: { at: number }): boolean {
  const now = performance.now();
  const burst = now - last.at < BURST_MS;
  last.at = now;
  return burst;
}

/** Resolves once the event loop's current turn has run its callbacks (setImmediate). */
function nextTurn(): Promise<void> {
  return new Promise((resolve) => setImmediate(resolve));
}

/** An entry with its reasons and details as the canonical JSON the row stores and the hash covers. */
interface Prepared {
  entry: AuditEntry;
  json: { reasons: string; details: string | null };
}

/**
 * An entry as it is stored and read back: absent members dropped, details as their JSON, parsed
 * when first read — the gate, the log's busiest caller, never reads them back.
 */
function stored(entry: AuditEntry, json: { details: string | null }, seq: number, prevHash: string): Omit<AuditRecord, 'hash'> {
  const record: Omit<AuditRecord, 'hash'> = { seq, id: entry.id, kind: entry.kind, time: entry.time, result: entry.result, reasons: [...entry.reasons], prevHash };
  for (const field of Object.keys(OPTIONAL_COLUMNS) as OptionalField[]) {
    const value = entry[field];
    if (value !== undefined) record[field] = value;
  }
  const text = json.details;
  if (text !== null) {
    Object.defineProperty(record, 'details', {
      enumerable: true,
      configurable: true,
      get(): Record<string, unknown> {
        const value = JSON.parse(text) as Record<string, unknown>;
        Object.defineProperty(record, 'details', { value, enumerable: true, writable: true, configurable: true });
        return value;
      },
    });
  }
  return record;
}

/**
 * The audit log on an open database: applies its migrations, then appends and reads.
 *
 * @param ownsDb close `db` when the log is closed. @default false
 */
export async function createAuditLog(db: SqlDriver, { ownsDb = false }: { ownsDb?: boolean } = {}): Promise<AuditLog> {
  await migrate(db, auditLogMigrations(db.dialect));
  const PAGE = 1000;

  /** One appendAll call's entries, serialised, and where its records go. */
  interface Waiting {
    prepared: Prepared[];
    resolve(records: AuditRecord[]): void;
    reject(error: unknown): void;
  }
  /** Calls waiting for the next write (see appendAll). */
  let waiting: Waiting[] = [];

  /** The chain's last record as this log last wrote it, if nothing failed since (see {@link writeWaiting}). */
  let head: { seq: number; hash: string } | undefined;
  /** Writes of this log under way. */
  let writing = 0;
  /** The last write scheduled (see appendAll), which close() lets finish; it never rejects. */
  let flush: Promise<void> = Promise.resolve();

  /** `prepared` as the record after `seq` and `prevHash`, and the INSERT's values. */
  function chained({ entry, json }: Prepared, seq: number, prevHash: string): { record: AuditRecord; row: SqlValue[] } {
    const unhashed = stored(entry, json, seq, prevHash);
    // Added in place (a copy would read the details): the hash comes last, as it is read back.
    const record = Object.assign(unhashed, { hash: auditRecordHash(unhashed, json.details ?? undefined) });
    return { record, row: toRow(record, json) };
  }

  /**
   * Writes `prepared`, in order, as the records after `head`, {@link ROWS_PER_INSERT} rows to a
   * statement: one statement for a run start's decisions, a handful for a fan-out's group commit,
   * where one each cost a statement (and on PostgreSQL a round trip) per record.
   */
  async function insertChained(executor: SqlExecutor, prepared: readonly Prepared[], head: { seq: number; hash: string }): Promise<AuditRecord[]> {
    const records: AuditRecord[] = [];
    let prevHash = head.hash;
    for (let from = 0; from < prepared.length; from += ROWS_PER_INSERT) {
      const values: SqlValue[] = [];
      const chunk = prepared.slice(from, from + ROWS_PER_INSERT);
      for (const one of chunk) {
        const { record, row } = chained(one, head.seq + records.length + 1, prevHash);
        records.push(record);
        values.push(...row);
        prevHash = record.hash;
      }
      await executor.run(insertRows(chunk.length), values);
    }
    return records;
  }

  /** Extends the chain with `prepared`, in order, inside `tx`. */
  async function extend(tx: SqlTransaction, prepared: readonly Prepared[]): Promise<AuditRecord[]> {
    // One writer at a time extends the chain; `seq PRIMARY KEY` would refuse a fork anyway.
    await tx.lock('maestro_audit_log');
    const [last] = await tx.all('SELECT seq, hash FROM audit_log ORDER BY seq DESC LIMIT 1');
    return insertChained(tx, prepared, last ? { seq: Number(last.seq), hash: requiredText(last, 'hash') } : { seq: 0, hash: GENESIS_HASH });
  }

  /**
   * Appends `prepared` (at most {@link ROWS_PER_INSERT}), in order, onto the cached head in one
   * statement: a statement is atomic, so all of them are written or none. Undefined when refused
   * (see {@link head}).
   */
  async function appendOnHead(prepared: readonly Prepared[], known: { seq: number; hash: string }): Promise<AuditRecord[] | undefined> {
    try {
      return await insertChained(db, prepared, known);
    } catch {
      return undefined;
    }
  }

  /**
   * Writes the calls waiting. A lone call (up to {@link ROWS_PER_INSERT} entries: an API's run start
   * and its tasks' decisions), with no other write of this log under way, goes onto the head this
   * log last wrote in one INSERT — no transaction, no lock, no read of the head — and when another
   * writer has appended since (another process, or another log on this database) the `seq` primary
   * key refuses it: it is then written with the others, the careful way. On SQLite only: there the
   * careful way's transaction (BEGIN IMMEDIATE) keeps every other writer out between its read of the
   * head and its INSERT; PostgreSQL's advisory lock would not keep out a plain INSERT. (In the
   * worker, 20% off an append: 0.28 → 0.23 ms per decision in the engine bench.)
   */
  async function writeWaiting(): Promise<void> {
    writing += 1;
    try {
      const [call] = waiting;
      if (db.dialect === 'sqlite' && head !== undefined && writing === 1 && waiting.length === 1 && call !== undefined && call.prepared.length <= ROWS_PER_INSERT) {
        const known = head;
        head = undefined;
        waiting = [];
        const records = await appendOnHead(call.prepared, known);
        const last = records?.at(-1);
        if (records !== undefined && last !== undefined) {
          head = { seq: last.seq, hash: last.hash };
          call.resolve(records);
          return;
        }
        // Refused: another writer moved the head. Appended below, with calls that came meanwhile.
        waiting.unshift(call);
      }
      await writeInTransaction();
    } finally {
      writing -= 1;
    }
  }

  /**
   * Writes every call waiting when its transaction starts, in one transaction. Should that fail,
   * each call is written again on its own, so one bad entry fails only the call that brought it.
   */
  async function writeInTransaction(): Promise<void> {
    let batch: Waiting[] = [];
    try {
      const written = await db.transaction(async (tx) => {
        batch = waiting;
        waiting = [];
        const records = await extend(tx, batch.flatMap((call) => call.prepared));
        return batch.map((call) => records.splice(0, call.prepared.length));
      });
      const last = written.flat().at(-1);
      if (last !== undefined) head = { seq: last.seq, hash: last.hash };
      batch.forEach((call, i) => call.resolve(written[i] ?? []));
    } catch (error) {
      head = undefined;
      // The transaction did not even start: the calls it was to take are still waiting.
      if (batch.length === 0) [batch, waiting] = [waiting, []];
      if (batch.length <= 1) {
        batch.forEach((call) => call.reject(error));
        return;
      }
      for (const call of batch) {
        await db.transaction((tx) => extend(tx, call.prepared)).then(call.resolve, call.reject);
      }
    }
  }

  function appendAll(entries: readonly AuditEntry[]): Promise<AuditRecord[]> {
    entries.forEach(checkEntry);
    // Serialised once, outside the lock: the canonical text is both what the hash covers and what
    // the row stores, and it keeps what JSON keeps (undefined members dropped, dates as strings).
    const prepared = entries.map((entry) => {
      const details = entry.detailsJson ?? (entry.details === undefined ? null : canonicalJson(entry.details));
      return { entry, json: { reasons: canonicalJson(entry.reasons), details } };
    });
    if (prepared.length === 0) return Promise.resolve([]);
    // Group commit: calls made while a write is under way wait together for the next write, and so
    // do the calls of one turn of the event loop once they come in a burst, so concurrent appends
    // cost one transaction, not one each. A worker's task attempts arrive one callback each, and a
    // fan-out's in the same turn: SQLite commits every transaction to the WAL, and an INSERT alone
    // cost ~100 µs of CPU against ~20 µs in a shared one (100 attempts acting on their run-start
    // decisions: 200 → 95 µs of CPU each, lookups grouped too). On PostgreSQL, where a write waits
    // on round trips, 2.2× the appends per second with 10 callers. A call alone (a sequential
    // run's attempt, an API's run start) is written at once: waiting for the turn to end cost a
    // lone attempt ~15 µs of CPU, and as long as the rest of a busy turn in time.
    const burst = inBurst(appended);
    return new Promise((resolve, reject) => {
      waiting.push({ prepared, resolve, reject });
      if (waiting.length > 1) return;
      flush = burst || writing > 0 ? nextTurn().then(writeWaiting) : writeWaiting();
    });
  }

  /** When the last append and the last lookup were asked for (see {@link inBurst}). */
  const appended = { at: -Infinity };
  const found = { at: -Infinity };
  /** Lookups by id waiting to be read together (see {@link findWaiting}). */
  let finding: { id: string; resolve(record: AuditRecord | undefined): void; reject(error: unknown): void }[] = [];
  /** The ids in a JSON array text: `json_each` (SQLite) or `jsonb_array_elements_text` (PostgreSQL). */
  const ID_LIST = db.dialect === 'sqlite' ? 'SELECT value FROM json_each($1)' : 'SELECT jsonb_array_elements_text($1::jsonb)';

  /**
   * Reads the records asked for by id in one turn, once they come in a burst, in one statement: a
   * worker's task attempts arrive one callback each, and a fan-out's, each looking up its
   * run-start decision, in the same turn (one lookup alone cost ~28 µs of CPU, ~7 µs each in a
   * shared one). A lookup alone is read at once.
   */
  async function findWaiting(): Promise<void> {
    const batch = finding;
    finding = [];
    try {
      const [one] = batch;
      const rows = batch.length === 1 && one !== undefined ? await db.all(`SELECT ${COLUMNS} FROM audit_log WHERE id = $1`, [one.id]) : await db.all(`SELECT ${COLUMNS} FROM audit_log WHERE id IN (${ID_LIST})`, [JSON.stringify(batch.map(({ id }) => id))]);
      const found = new Map(rows.map((row) => [requiredText(row, 'id'), fromRow(row)]));
      for (const { id, resolve } of batch) resolve(found.get(id));
    } catch (error) {
      for (const { reject } of batch) reject(error);
    }
  }

  /** The chain from record #1: intact, or its first record that does not fit. */
  async function walkChain(): Promise<ChainReport> {
    let expectedSeq = 1;
    let prevHash = GENESIS_HASH;
    for (;;) {
      const rows = await db.all(`SELECT ${COLUMNS} FROM audit_log WHERE seq >= $1 ORDER BY seq LIMIT ${PAGE}`, [expectedSeq]);
      for (const row of rows) {
        const record = fromRow(row);
        const broken = (problem: string): ChainReport => ({
          ok: false,
          records: expectedSeq - 1,
          head: prevHash,
          firstBroken: { seq: record.seq, id: record.id, problem },
        });
        if (record.seq !== expectedSeq) {
          const problem = `record #${expectedSeq} is missing (the next one is #${record.seq})`;
          return { ok: false, records: expectedSeq - 1, head: prevHash, firstBroken: { seq: expectedSeq, id: '(missing)', problem } };
        }
        if (record.prevHash !== prevHash) return broken(`its prevHash ${record.prevHash} is not the hash of record #${record.seq - 1} (${prevHash}): a record before it was replaced`);
        const { hash, ...unhashed } = record;
        const recomputed = auditRecordHash(unhashed);
        if (recomputed !== hash) return broken(`its content does not match its hash (stored ${hash}, computed ${recomputed}): the record was changed after it was written`);
        prevHash = hash;
        expectedSeq += 1;
      }
      if (rows.length < PAGE) return { ok: true, records: expectedSeq - 1, head: prevHash };
    }
  }

  return {
    async append(entry: AuditEntry): Promise<AuditRecord> {
      const [record] = await appendAll([entry]);
      if (!record) throw new MaestroError('INTERNAL', `audit entry ${entry.id} was not appended`);
      return record;
    },

    appendAll,

    async list(query: AuditQuery = {}): Promise<AuditRecord[]> {
      const { runId, kind, namespaces, after = 0, from, to, limit = 100 } = query;
      const where = ['seq > $1'];
      const params: SqlValue[] = [after];
      if (runId !== undefined) where.push(`run_id = $${params.push(runId)}`);
      if (kind !== undefined) where.push(`kind = $${params.push(kind)}`);
      // Times are stored as toISOString() writes them (checkEntry), so text order is time order.
      if (from !== undefined) where.push(`time >= $${params.push(from)}`);
      if (to !== undefined) where.push(`time < $${params.push(to)}`);
      if (namespaces !== undefined && !namespaces.includes('*')) {
        if (namespaces.length === 0) return [];
        where.push(`namespace IN (${namespaces.map((namespace) => `$${params.push(namespace)}`).join(', ')})`);
      }
      const rows = await db.all(`SELECT ${COLUMNS} FROM audit_log WHERE ${where.join(' AND ')} ORDER BY seq LIMIT ${Math.min(Math.max(1, Math.trunc(limit)), PAGE)}`, params);
      return rows.map(fromRow);
    },

    find(id: string): Promise<AuditRecord | undefined> {
      const burst = inBurst(found);
      return new Promise((resolve, reject) => {
        finding.push({ id, resolve, reject });
        if (finding.length > 1) return;
        void (burst ? nextTurn().then(findWaiting) : findWaiting());
      });
    },

    async decisionRefs(runId: string): Promise<{ id: string; taskId?: string; reused?: true }[]> {
      const rows = await db.all(`SELECT id, kind, task_id, details FROM audit_log WHERE run_id = $1 AND kind IN ('decision', '${DECISION_REUSE_KIND}') ORDER BY seq`, [runId]);
      return rows.map((row) => {
        const taskId = optionalText(row, 'task_id');
        const task = taskId === undefined ? {} : { taskId };
        if (row.kind !== DECISION_REUSE_KIND) return { id: requiredText(row, 'id'), ...task };
        // The decision acted on, from the record's details (written by the policy gate).
        const { decisionId } = JSON.parse(requiredText(row, 'details')) as { decisionId?: unknown };
        return { id: typeof decisionId === 'string' ? decisionId : requiredText(row, 'id'), ...task, reused: true };
      });
    },

    async verify(): Promise<ChainReport> {
      const unguarded = await auditLogGuardProblems(db);
      const report = await walkChain();
      return unguarded.length === 0 ? report : { ...report, ok: false, unguarded };
    },

    async close(): Promise<void> {
      await flush;
      if (ownsDb) await db.close();
    },
  };
}

/** Options of {@link openAuditLog}: the same database as the registry's `openStore`. */
export type OpenAuditLogOptions = OpenStoreOptions;

/**
 * Opens the audit log in the registry's database (its own connection), applying its migrations.
 *
 * @example
 * const log = await openAuditLog({ databaseUrl: config.databaseUrl, dataDir: config.dataDir });
 */
export function openAuditLog(options: OpenAuditLogOptions = {}): Promise<AuditLog> {
  return onOwnDatabase(options, (db) => createAuditLog(db, { ownsDb: true }));
}
