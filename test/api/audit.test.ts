/**
 * `GET /audit` and what people do to runs through the API: approvals, cancellations and retries
 * are appended to the audit log (who, when, why), readable by auditors in their namespaces.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { manifest, startHarness, type Harness } from './harness.js';

let h: Harness;
let gated: string;
let failing: string;

beforeAll(async () => {
  h = await startHarness();
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
});
