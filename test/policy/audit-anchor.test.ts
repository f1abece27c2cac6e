/**
 * Chain head anchoring: `maestro audit anchor` signs the head with the provenance signing key, and
 * `maestro audit verify` then sees what walking the chain alone cannot — a tail cut off, or the
 * chain rewritten with fresh hashes — and refuses a checkpoint signed by an untrusted key.
 */
import { randomUUID } from 'node:crypto';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { anchorAuditLog, appendAuditEvent, checkAuditAnchor } from '../../src/policy/index.js';
import { IN_TOTO_STATEMENT_TYPE, generateSigningKey, loadSigningKey, localBundleSigner, signStatement } from '../../src/provenance/index.js';
import { auditRecordHash, openAuditLog, type AuditLog } from '../../src/store/index.js';
import { maestroAudit, tamperSqlite } from './audit-helpers.js';

let dir: string;
let log: AuditLog;
const env = () => ({ MAESTRO_DATA_DIR: dir });

const append = (n: number) =>
  Promise.all(Array.from({ length: n }, () => appendAuditEvent(log, { kind: 'approval', runId: `run-${randomUUID()}`, namespace: 'default', taskId: 'gate', actor: 'sre', action: 'approve' })));

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'maestro-anchor-'));
  log = await openAuditLog({ dataDir: dir });
  await append(3);
});
afterAll(async () => {
  await log?.close();
  await rm(dir, { recursive: true, force: true });
});

describe('maestro audit anchor and verify', () => {
  it('anchors the head, and verify checks it: records appended since are fine', async () => {
    const anchored = await maestroAudit(['anchor'], env());
    expect(anchored.code, anchored.stderr).toBe(0);
    const [third] = await log.list({ after: 2, limit: 1 });
    expect(anchored.stdout.trim()).toBe(`anchored record #3 (head ${third!.hash}) in ${join(dir, 'audit-anchor.json')}`);
    await append(2);
    const verified = await maestroAudit(['verify'], env());
    expect(verified.code, verified.stderr).toBe(0);
    expect(verified.stdout).toContain('audit log intact: 5 record(s)');
    expect(verified.stdout).toMatch(/anchor holds: record #3 still has the hash anchored on \d{4}-/);
  });

  it('names a tail cut off behind the triggers, which the chain walk alone calls intact', async () => {
    tamperSqlite(dir, 'DELETE FROM audit_log WHERE seq >= 3');
    expect((await log.verify()).ok).toBe(true);
    const verified = await maestroAudit(['verify'], env());
    expect(verified.code).toBe(1);
    expect(verified.stdout).toContain('audit log intact: 2 record(s)');
    expect(verified.stdout).toMatch(/anchor BROKEN: record #3, anchored on .+, is gone: the log was cut short after it was anchored/);
  });

  it('names a chain rebuilt with fresh hashes up to the anchored record', async () => {
    // The attacker puts back a different record #3 with a correct hash: the chain verifies again.
    const [second] = await log.list({ after: 1, limit: 1 });
    const forged = { seq: 3, id: randomUUID(), kind: 'approval', time: new Date().toISOString(), namespace: 'default', runId: 'run-forged', actor: 'mallory', result: 'approve', reasons: [], prevHash: second!.hash };
    const hash = auditRecordHash(forged);
    tamperSqlite(
      dir,
      `INSERT INTO audit_log (seq, id, kind, time, namespace, run_id, actor, result, reasons, prev_hash, hash) VALUES (3, '${forged.id}', 'approval', '${forged.time}', 'default', 'run-forged', 'mallory', 'approve', '[]', '${second!.hash}', '${hash}')`,
    );
    expect(await log.verify()).toMatchObject({ ok: true, records: 3 });
    const verified = await maestroAudit(['verify', '--json'], env());
    expect(verified.code).toBe(1);
    const report = JSON.parse(verified.stdout) as { ok: boolean; anchor: { ok: boolean; problem: string } };
    expect(report.ok).toBe(true);
    expect(report.anchor.ok).toBe(false);
    expect(report.anchor.problem).toContain(`record #3 has hash ${hash}, not the`);
  });

  it('refuses a checkpoint signed by a key it does not trust, and one that is not a checkpoint', async () => {
    const forged = await anchorAuditLog(log, localBundleSigner(generateSigningKey()));
    const file = join(dir, 'forged-anchor.json');
    await writeFile(file, JSON.stringify(forged.bundle));
    const verified = await maestroAudit(['verify', '--anchor', file], env());
    expect(verified.code).toBe(1);
    expect(verified.stdout).toMatch(/anchor BROKEN: the checkpoint does not verify \(UNTRUSTED_KEY\)/);
    const key = await loadSigningKey(join(dir, 'keys', 'receipt-signing.key'));
    const other = await signStatement(
      { _type: IN_TOTO_STATEMENT_TYPE, subject: [{ name: 'x', digest: { sha256: '0'.repeat(64) } }], predicateType: 'urn:example:other', predicate: {} },
      localBundleSigner(key),
    );
    expect(await checkAuditAnchor(log, other, [key.publicKey])).toEqual({
      ok: false,
      problem: 'the signed statement is not a usable checkpoint: it is a urn:example:other statement, not an audit log checkpoint',
    });
  });

  it('does not anchor a log the database no longer guards', async () => {
    const trigger = `CREATE TRIGGER audit_log_refuses_delete BEFORE DELETE ON audit_log
   BEGIN SELECT RAISE(ABORT, 'audit_log is append-only: DELETE refused'); END`;
    const db = new Database(join(dir, 'registry.db'));
    db.exec('DROP TRIGGER audit_log_refuses_delete');
    try {
      await expect(anchorAuditLog(log, localBundleSigner(generateSigningKey()))).rejects.toMatchObject({
        code: 'CONFLICT',
        message: expect.stringContaining('trigger audit_log_refuses_delete is missing: the database no longer refuses DELETE of audit_log\na broken or unguarded audit log is not anchored'),
      });
    } finally {
      db.exec(trigger);
      db.close();
    }
    expect((await log.verify()).ok).toBe(true);
  });
});
