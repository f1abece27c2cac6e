/**
 * The gate's reuse rules on their own, with the embedded PDP and a SQLite audit log (no Temporal):
 * a reused decision keeps the obligations it was made with, a denial's id is never acted on, and an
 * audit log that cannot be read makes the PDP decide.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildPolicyInput, createPdp, createPolicyGate, type PolicyDecisionPoint, type PolicyInputSource } from '../../src/policy/index.js';
import { openAuditLog, type AuditLog } from '../../src/store/index.js';

let dir: string;
let pdp: PolicyDecisionPoint;
let log: AuditLog;
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'maestro-gate-reuse-'));
  pdp = await createPdp({ policyMode: 'embedded' });
  log = await openAuditLog({ dataDir: dir });
});
afterAll(async () => {
  await log?.close();
  await pdp?.close();
  await rm(dir, { recursive: true, force: true });
});

/** A task-stage input of run `runId` (a container task in `ops`, whose images must be signed, unless changed). */
function taskInput(runId: string, change: Partial<PolicyInputSource> = {}) {
  return buildPolicyInput({
    principal: { subject: 'sam', roles: ['sre'], namespaces: ['ops'] },
    workflow: { name: 'deploy', version: '1.0.0', digest: `sha256:${'cd'.repeat(32)}`, policy: { purpose: 'release', authority: 'tasking:ops', license: 'internal' } },
    task: { id: 'push', uses: 'tasks/container.run@0.1.0', runsOn: 'container' },
    run: { runId, namespace: 'ops' },
    ...change,
  });
}

describe('the policy gate acting on a run-start decision', () => {
  it('keeps the obligations the run-start decision attached', async () => {
    const gate = createPolicyGate({ pdp, log });
    const start = await gate.check(taskInput('run-obliged'));
    expect(start).toMatchObject({ allow: true, obligations: { requireSignedImage: true } });
    const admission = await gate.admit(taskInput('run-obliged'), { decisionId: start.decisionId, attempt: 1 });
    await admission.recorded;
    expect(admission).toMatchObject({ reused: true, decision: { decisionId: start.decisionId, obligations: { requireSignedImage: true } } });
  });

  it("never acts on a denial's id: the PDP decides, and denies again", async () => {
    const gate = createPolicyGate({ pdp, log });
    const outsider = taskInput('run-denied', { principal: { subject: 'eve', roles: ['viewer'], namespaces: ['ops'] } });
    const start = await gate.check(outsider);
    expect(start.allow).toBe(false);
    await expect(gate.admit(outsider, { decisionId: start.decisionId, attempt: 1 })).rejects.toMatchObject({ code: 'POLICY_DENIED' });
    const records = await log.list({ runId: 'run-denied' });
    expect(records.map((record) => [record.kind, record.result])).toEqual([
      ['decision', 'deny'],
      ['decision', 'deny'],
    ]);
  });

  it('decides when the audit log cannot be read, and says why', async () => {
    const gate = createPolicyGate({ pdp, log: { ...log, find: () => Promise.reject(new Error('connection reset')) } });
    const start = await gate.check(taskInput('run-unread'));
    const admission = await gate.admit(taskInput('run-unread'), { decisionId: start.decisionId, attempt: 1 });
    await admission.recorded;
    expect(admission.reused).toBeUndefined();
    expect(admission.decision.decisionId).not.toBe(start.decisionId);
    expect(admission.decidedAgain).toBe('the run-start decision could not be read from the audit log: connection reset');
  });
});
