/**
 * `GET /approvals` against the real API, worker and Temporal dev server: the gates waiting across
 * runs, filtered by what the caller may decide (namespace, the gate's approver roles, the
 * self-approval rule, a decision already made), read from the state the runs' interpreters
 * published; a run whose published state is sealed with a key the API lacks is left out and logged.
 */
import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { AesGcmPayloadCodec, sealValue } from '../../src/codec/index.js';
import { parsePayloadKeys } from '../../src/config/index.js';
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

  it('reads the gates from the published state, and leaves out a run sealed with a key the API lacks', async () => {
    const published = await h.store.getRunProgress(runs.leadGate);
    expect(published?.status).toBe('WAITING');
    // Another deployment's worker (another payload key) published the run's latest state.
    const elsewhere = new AesGcmPayloadCodec(parsePayloadKeys(`elsewhere=${randomBytes(32).toString('base64')}`, 'test'));
    const state = { runId: runs.leadGate, workflow: 'w', version: '1.0.0', digest: 'sha256:00', status: 'WAITING', startedAt: new Date().toISOString(), tasks: [{ id: 'gate', status: 'WAITING', attempts: 1 }] };
    await h.store.publishRunProgress({ ...(published as NonNullable<typeof published>), seq: (published?.seq ?? 0) + 1_000_000, state: sealValue(elsewhere, state) });
    const error = vi.spyOn(console, 'error').mockImplementation(() => undefined);
    try {
      expect(await inbox('lead')).toEqual([]);
      expect(error.mock.calls.map(([line]) => String(line)).join('\n')).toContain(`GET /approvals left out run ${runs.leadGate}`);
    } finally {
      error.mockRestore();
    }
  });

  it('refuses a namespace the caller has no access to', async () => {
    const res = await h.call('GET', `/approvals?namespace=${h.namespace}`, { token: 'outsider' });
    expect(res.status).toBe(403);
    expect(res.body.code).toBe('FORBIDDEN');
  });
});
