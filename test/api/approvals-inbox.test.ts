/**
 * `GET /approvals` against the real API, worker and Temporal dev server: the gates waiting across
 * runs, filtered by what the caller may decide (namespace, the gate's approver roles, the
 * self-approval rule, a decision already made).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { manifest, startHarness, TOKENS, type Harness } from './harness.js';

/** An on-call operator: starts runs, and approves gates for sre-oncall — not their own. */
const ONCALL = { name: 'oncall', token: 'oncall-inbox-token-0123456789', roles: ['operator', 'sre-oncall'], namespaces: ['*'] };

let h: Harness;
const runs = { sreGate: '', leadGate: '', ownRun: '' };

/** A workflow whose only task is a gate for `approvers`, started by `as`; resolves once it waits. */
async function gatedRun(approvers: string, as: keyof typeof TOKENS | 'oncall'): Promise<string> {
  const { name, version } = await h.register(manifest(`    - { id: gate, uses: ops/approval.gate@0.1.0, with: { approvers: [${approvers}], minApprovals: 2, message: Ship it? } }`));
  const res = await h.call('POST', '/runs', { ...(as === 'oncall' ? { bearer: ONCALL.token } : { token: as }), json: { workflowRef: `${name}@${version}`, namespace: h.namespace } });
  expect(res.status, res.text).toBe(201);
  await h.waitRun(res.body.runId, (run) => run.status === 'WAITING');
  return res.body.runId as string;
}

/** The run ids of the caller's inbox, restricted to this harness's runs. */
async function inbox(as: keyof typeof TOKENS | 'oncall'): Promise<string[]> {
  const res = await h.call('GET', '/approvals', as === 'oncall' ? { bearer: ONCALL.token } : { token: as });
  expect(res.status, res.text).toBe(200);
  const mine = new Set(Object.values(runs));
  return (res.body.items as { runId: string }[]).map((item) => item.runId).filter((runId) => mine.has(runId));
}

beforeAll(async () => {
  h = await startHarness({ tokens: [ONCALL] });
  runs.sreGate = await gatedRun('sre-oncall', 'operator');
  runs.leadGate = await gatedRun('data-lead', 'operator');
  runs.ownRun = await gatedRun('sre-oncall', 'oncall');
});
afterAll(() => h?.close());

describe('GET /approvals', () => {
  it('lists only the gates the caller may decide, across runs', async () => {
    expect(await inbox('sre')).toEqual([runs.sreGate, runs.ownRun]);
    // The on-call operator approves for sre-oncall, but not the run they started themselves.
    expect(await inbox('oncall')).toEqual([runs.sreGate]);
    expect(await inbox('lead')).toEqual([runs.leadGate]);
    expect(await inbox('outsider')).toEqual([]);
    expect(await inbox('viewer')).toEqual([]);
    const item = (await h.call('GET', `/approvals?namespace=${h.namespace}`, { token: 'sre' })).body.items.find((gate: { runId: string }) => gate.runId === runs.sreGate);
    expect(item).toMatchObject({ namespace: h.namespace, taskId: 'gate', startedBy: 'operator', message: 'Ship it?', approvers: ['sre-oncall'], minApprovals: 2, approvals: [] });
    expect(item.waitingSince).toEqual(expect.any(String));
  });

  it('drops a gate once the caller has decided it, and keeps it for the other approvers', async () => {
    const decided = await h.call('POST', `/runs/${runs.sreGate}/approvals`, { token: 'sre', json: { taskId: 'gate', decision: 'approve' } });
    expect(decided.status, decided.text).toBe(200);
    expect(await inbox('sre')).toEqual([runs.ownRun]);
    expect(await inbox('oncall')).toEqual([runs.sreGate]);
    expect(await inbox('lead')).toEqual([runs.leadGate]);
  });

  it('refuses a namespace the caller has no access to', async () => {
    const res = await h.call('GET', `/approvals?namespace=${h.namespace}`, { token: 'outsider' });
    expect(res.status).toBe(403);
    expect(res.body.code).toBe('FORBIDDEN');
  });
});
