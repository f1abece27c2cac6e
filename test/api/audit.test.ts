/**
 * `GET /audit` and what people do to runs through the API: approvals, cancellations and retries
 * are appended to the audit log (who, when, why), readable by auditors in their namespaces.
 */
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { manifest, startHarness, type Harness } from './harness.js';

let h: Harness;
let gated: string;
let failing: string;

beforeAll(async () => {
  // Decisions expire 2 s after the API signs them (the API answers 503 10 s later without a worker).
  h = await startHarness({ approvalWaitMs: 2_000 });
  gated = `${(await h.register(manifest('    - { id: gate, uses: ops/approval.gate@0.1.0, with: { approvers: [sre-oncall] } }'))).name}@1.0.0`;
  failing = `${(await h.register(manifest('    - { id: check, uses: tasks/schema.validate@0.1.0, with: { schema: { type: string }, data: 1 } }'))).name}@1.0.0`;
});
afterAll(() => h.close());

const start = async (workflowRef: string): Promise<string> => {
  const res = await h.call('POST', '/runs', { token: 'operator', json: { workflowRef, namespace: h.namespace } });
  expect(res.status, res.text).toBe(201);
  return res.body.runId as string;
};

interface Row {
  kind: string;
  runId: string;
  taskId?: string;
  actor: string;
  result: string;
  reasons: string[];
  time: string;
  details?: Record<string, unknown>;
}

const audit = async (query: string, token: 'auditor' | 'admin' = 'auditor'): Promise<Row[]> => {
  const res = await h.call('GET', `/audit?${query}`, { token });
  expect(res.status, res.text).toBe(200);
  return res.body.items as Row[];
};

describe('the audit log of runs', () => {
  it('records an approval with the approver, the time and the comment', async () => {
    const runId = await start(gated);
    await h.waitRun(runId, (r) => r.status === 'WAITING');
    const before = Date.now();
    const res = await h.call('POST', `/runs/${runId}/approvals`, { token: 'sre', json: { taskId: 'gate', decision: 'approve', comment: 'change window open' } });
    expect(res.status, res.text).toBe(200);
    const [record] = await audit(`runId=${runId}`);
    expect(record).toMatchObject({ kind: 'approval', runId, taskId: 'gate', actor: 'sre', result: 'approve', reasons: ['change window open'], namespace: h.namespace });
    expect(Date.parse(record!.time)).toBeGreaterThanOrEqual(before - 1000);
  });

  it('records a cancellation with its reason, and none for a refused one', async () => {
    const runId = await start(gated);
    expect((await h.call('POST', `/runs/${runId}/cancel`, { token: 'operator', json: { reason: 'wrong window' } })).status).toBe(202);
    expect((await h.call('POST', `/runs/${runId}/cancel`, { token: 'viewer' })).status).toBe(403);
    expect((await audit(`runId=${runId}`)).map((r) => [r.kind, r.actor, r.result, r.reasons])).toEqual([['cancellation', 'operator', 'cancel', ['wrong window']]]);
  });

  it('records a retry under the original run, naming the new one', async () => {
    const runId = await start(failing);
    await h.waitRun(runId, (r) => r.status === 'FAILED');
    const retry = await h.call('POST', `/runs/${runId}/retry`, { token: 'operator', json: { from: 'failed', reason: 'schema fixed' } });
    expect(retry.status, retry.text).toBe(201);
    expect(await audit(`runId=${runId}&kind=retry`)).toMatchObject([
      { kind: 'retry', actor: 'operator', result: 'retry-from-failed', reasons: ['schema fixed'], details: { newRunId: retry.body.runId } },
    ]);
    await h.waitRun(retry.body.runId as string, (r) => r.status === 'FAILED');
  });
});

/** Makes the audit log's SQLite table refuse every new record (as a full disk or a revoked grant would) while `act` runs. */
async function withAuditRefusing<T>(act: () => Promise<T>): Promise<T> {
  const db = new Database(join(h.config.dataDir, 'registry.db'));
  db.exec(`CREATE TRIGGER test_refuse_audit BEFORE INSERT ON audit_log BEGIN SELECT RAISE(ABORT, 'database or disk is full'); END`);
  try {
    return await act();
  } finally {
    db.exec('DROP TRIGGER test_refuse_audit');
    db.close();
  }
}

describe('actions on runs are recorded before they are taken', () => {
  it('cancel, approve and retry do nothing and answer 503 problem+json when the audit log refuses their record', async () => {
    const waiting = await start(gated);
    await h.waitRun(waiting, (r) => r.status === 'WAITING');
    const failed = await start(failing);
    await h.waitRun(failed, (r) => r.status === 'FAILED');
    const runsOf = async (): Promise<number> => (await h.call('GET', `/runs?namespace=${h.namespace}&limit=100`)).body.items.length as number;
    const before = await runsOf();
    const [cancel, approve, retry] = await withAuditRefusing(async () => [
      await h.call('POST', `/runs/${waiting}/cancel`, { token: 'operator', json: { reason: 'wrong window' } }),
      await h.call('POST', `/runs/${waiting}/approvals`, { token: 'sre', json: { taskId: 'gate', decision: 'approve' } }),
      await h.call('POST', `/runs/${failed}/retry`, { token: 'operator', json: { from: 'start' } }),
    ]);
    for (const res of [cancel, approve, retry]) {
      expect(res.status, res.text).toBe(503);
      expect(res.type).toBe('application/problem+json');
      expect(res.body).toMatchObject({ code: 'AUDIT_UNAVAILABLE', detail: expect.stringMatching(/audit log cannot record this .*so it was not done/) });
    }
    // Nothing happened: the run still waits with no approval, and no retry run exists.
    await new Promise((resolve) => setTimeout(resolve, 500));
    const run = (await h.call('GET', `/runs/${waiting}`)).body;
    expect(run.status).toBe('WAITING');
    expect(run.tasks[0].approvals ?? []).toEqual([]);
    expect(await runsOf()).toBe(before);
    expect(await audit(`runId=${waiting}`)).toEqual([]);
    // Once the audit log takes records again, the same requests work.
    expect((await h.call('POST', `/runs/${waiting}/cancel`, { token: 'operator' })).status).toBe(202);
    await h.waitRun(waiting, (r) => r.status === 'CANCELLED');
  });

  it('refuses for good a decision no worker takes before it expires: 503, recorded as refused, and it never counts once the worker is back', async () => {
    const runId = await start(gated);
    await h.waitRun(runId, (r) => r.status === 'WAITING');
    await h.stopWorker();
    let late;
    const started = Date.now();
    try {
      late = await h.call('POST', `/runs/${runId}/approvals`, { token: 'sre', json: { taskId: 'gate', decision: 'approve', comment: 'ship it' } });
    } finally {
      await h.startWorker();
    }
    expect(late.status, late.text).toBe(503);
    expect(late.body).toMatchObject({ code: 'UNAVAILABLE', detail: expect.stringMatching(/before it expired at .*the run will refuse it if it arrives later/) });
    // The decision's 2 s, then the 10 s a workflow task may take.
    expect(Date.now() - started).toBeGreaterThanOrEqual(12_000);
    // Temporal still holds the update and delivers it to the worker now: the run refuses it.
    await h.waitRun(runId, (r) => r.status === 'WAITING');
    await new Promise((resolve) => setTimeout(resolve, 2_000));
    const run = (await h.call('GET', `/runs/${runId}`)).body;
    expect(run.tasks[0]).toMatchObject({ id: 'gate', status: 'WAITING' });
    expect(run.tasks[0].approvals ?? []).toEqual([]);
    // The record says what happened: decided, then refused as expired.
    const records = await audit(`runId=${runId}&kind=approval`);
    expect(records.map((r) => [r.actor, r.result])).toEqual([
      ['sre', 'approve'],
      ['sre', 'refused'],
    ]);
    expect(records[1]?.reasons).toEqual([expect.stringMatching(/before it expired at/)]);
    // Deciding again, with a worker, counts as usual.
    const again = await h.call('POST', `/runs/${runId}/approvals`, { token: 'sre', json: { taskId: 'gate', decision: 'approve' } });
    expect(again.status, again.text).toBe(200);
    const done = await h.waitRun(runId, (r) => r.status === 'SUCCEEDED');
    expect(done.tasks[0].approvals).toEqual([{ approver: 'sre', decision: 'approve', at: expect.any(String) }]);
  }, 60_000);

  it('records a decision the run refuses, followed by why', async () => {
    const runId = await start(gated);
    await h.waitRun(runId, (r) => r.status === 'WAITING');
    const refused = await h.call('POST', `/runs/${runId}/approvals`, { token: 'viewer', json: { taskId: 'gate', decision: 'approve' } });
    expect(refused.status).toBe(403);
    expect((await h.call('POST', `/runs/${runId}/approvals`, { token: 'sre', json: { taskId: 'gate', decision: 'approve' } })).status).toBe(200);
    const records = await audit(`runId=${runId}&kind=approval`);
    expect(records.map((r) => [r.actor, r.result])).toEqual([
      ['viewer', 'approve'],
      ['viewer', 'refused'],
      ['sre', 'approve'],
    ]);
    expect(records[1]?.reasons).toEqual([expect.stringMatching(/viewer holds none of the approver roles sre-oncall/)]);
  });
});

describe('GET /audit', () => {
  it('answers auditors and admins, pages with next, and refuses everyone else', async () => {
    const first = await h.call('GET', `/audit?limit=1`, { token: 'auditor' });
    expect(first.status).toBe(200);
    expect(first.body.items).toHaveLength(1);
    const second = await h.call('GET', `/audit?limit=1&after=${first.body.next}`, { token: 'admin' });
    expect(second.status).toBe(200);
    expect(second.body.items[0].seq).toBeGreaterThan(first.body.items[0].seq);
    const denied = await h.call('GET', '/audit', { token: 'operator' });
    expect(denied.status).toBe(403);
    expect(denied.body.code).toBe('FORBIDDEN');
    expect((await h.call('GET', '/audit', { token: null })).status).toBe(401);
    expect((await h.call('GET', '/audit?kind=nonsense', { token: 'auditor' })).status).toBe(400);
  });

  it('filters by time range, [from, to)', async () => {
    const cancelled = async (): Promise<Row> => {
      const runId = await start(gated);
      expect((await h.call('POST', `/runs/${runId}/cancel`, { token: 'operator' })).status).toBe(202);
      const [record] = await audit(`runId=${runId}`);
      return record as Row;
    };
    const first = await cancelled();
    await new Promise((resolve) => setTimeout(resolve, 5));
    const second = await cancelled();
    const since = (query: string) => audit(`kind=cancellation&${query}`).then((rows) => rows.map((r) => r.runId));
    expect(await since(`from=${encodeURIComponent(first.time)}`)).toEqual([first.runId, second.runId]);
    expect(await since(`from=${encodeURIComponent(first.time)}&to=${encodeURIComponent(second.time)}`)).toEqual([first.runId]);
    expect(await since(`from=${encodeURIComponent(new Date(Date.parse(second.time) + 1).toISOString())}`)).toEqual([]);
    expect((await h.call('GET', '/audit?from=yesterday', { token: 'auditor' })).status).toBe(400);
  });

  it('reports the chain verified to auditors, and broken once a record is changed behind the triggers', async () => {
    const ok = await h.call('GET', '/audit/verification', { token: 'auditor' });
    expect(ok.status, ok.text).toBe(200);
    expect(ok.body).toMatchObject({ ok: true, records: expect.any(Number), head: expect.stringMatching(/^sha256:/) });
    expect(ok.body.records).toBeGreaterThan(0);
    expect((await h.call('GET', '/audit/verification', { token: 'operator' })).status).toBe(403);
    expect((await h.call('GET', '/audit/verification', { token: null })).status).toBe(401);

    // A record rewritten by someone who switched the update trigger off (then put it all back).
    const db = new Database(join(h.config.dataDir, 'registry.db'));
    const trigger = db.prepare(`SELECT sql FROM sqlite_master WHERE type = 'trigger' AND name = 'audit_log_refuses_update'`).get() as { sql: string };
    const victim = db.prepare('SELECT seq, result FROM audit_log ORDER BY seq LIMIT 1').get() as { seq: number; result: string };
    db.exec('DROP TRIGGER audit_log_refuses_update');
    try {
      db.prepare('UPDATE audit_log SET result = ? WHERE seq = ?').run('forged', victim.seq);
      const broken = await h.call('GET', '/audit/verification', { token: 'auditor' });
      expect(broken.body).toMatchObject({ ok: false, firstBroken: { seq: victim.seq } });
      expect(broken.body.unguarded).toEqual([expect.stringContaining('audit_log_refuses_update')]);
    } finally {
      db.prepare('UPDATE audit_log SET result = ? WHERE seq = ?').run(victim.result, victim.seq);
      db.exec(trigger.sql);
      db.close();
    }
    expect((await h.call('GET', '/audit/verification', { token: 'auditor' })).body.ok).toBe(true);
  });
});
