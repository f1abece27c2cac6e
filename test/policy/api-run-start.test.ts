/**
 * The run-start decision the API asks before a run starts: which inputs (the run, then every task
 * that executes code, as the task gate builds them), how the decisions are recorded, and the
 * refusal they add up to — with the real embedded PDP, an unreachable OPA, and the real audit log.
 */
import { describe, expect, it } from 'vitest';
import { builtinCatalog } from '../../src/tasks/index.js';
import { compileWorkflow } from '../../src/compiler/index.js';
import { parseManifest, type WorkflowManifest } from '../../src/manifest/index.js';
import { openAuditLog } from '../../src/store/index.js';
import { freePort } from '../peers/ports.js';
import { checkRunStart, createPdp, createPolicyGate, createRemotePdp, runStartDenial, runStartInputs, taskPolicyInput } from '../../src/policy/index.js';

const compiled = compileWorkflow(
  parseManifest(
    `apiVersion: maestro/v1
kind: Workflow
metadata: { name: start, version: 1.0.0 }
spec:
  policy: { purpose: demo, authority: tests, license: internal }
  tasks:
    - { id: gate, uses: ops/approval.gate@0.1.0, with: { approvers: [sre] } }
    - { id: fetch, uses: tasks/http.request@0.1.0, needs: [gate], labels: { classification: public }, policy: { purpose: analytics }, with: { url: "http://x" } }
    - { id: nap, uses: tasks/wait.sleep@0.1.0, needs: [fetch], with: { duration: 1s } }
    - { id: shape, uses: tasks/transform.map@0.1.0, needs: [fetch], with: { rows: [1], expression: "$" } }
`,
    'start.yaml',
    { catalog: builtinCatalog },
  ) as WorkflowManifest,
  { catalog: builtinCatalog },
);
const principal = { subject: 'alice', roles: ['operator'], namespaces: ['default'] };
const run = { runId: 'run-1', namespace: 'default' };

describe('runStartInputs', () => {
  it('asks about the run, then each task that executes code, with the input the task gate will build', () => {
    const inputs = runStartInputs({ principal, compiled, run });
    expect(inputs.run).toMatchObject({ stage: 'run', policy: compiled.ir.policy, run });
    expect(inputs.tasks.map((input) => input.task?.id)).toEqual(['fetch', 'shape']);
    const fetch = compiled.ir.tasks.find((task) => task.id === 'fetch')!;
    const gate = taskPolicyInput({
      runId: 'run-1',
      taskId: 'fetch',
      uses: fetch.uses,
      input: {},
      attempt: 1,
      namespace: 'default',
      runsOn: fetch.runsOn,
      policy: { principal, workflow: { name: 'start', version: '1.0.0', digest: compiled.digest }, context: compiled.ir.policy, overrides: fetch.policy!, labels: fetch.labels! },
    });
    expect(inputs.tasks[0]).toEqual(gate);
  });

  it('skips the tasks a retry carries over', () => {
    expect(runStartInputs({ principal, compiled, run, skip: ['fetch'] }).tasks.map((input) => input.task?.id)).toEqual(['shape']);
  });
});

describe('checkRunStart and runStartDenial', () => {
  it('records every decision and refuses with the reasons of each denial, naming its task', async () => {
    const log = await openAuditLog({ sqliteFile: ':memory:' });
    const pdp = await createPdp({ policyMode: 'embedded' });
    const sandbox = { runId: 'run-2', namespace: 'sandbox' };
    const result = await checkRunStart(createPolicyGate({ pdp, log }), { principal: { ...principal, namespaces: ['sandbox'] }, compiled, run: sandbox });
    expect(result.allow).toBe(false);
    expect((await log.list({ runId: 'run-2' })).map((record) => [record.taskId ?? '-', record.result])).toEqual([
      ['-', 'allow'],
      ['fetch', 'deny'],
      ['shape', 'allow'],
    ]);
    const error = runStartDenial(result);
    expect(error.code).toBe('POLICY_DENIED');
    expect(error.reasons).toHaveLength(2);
    expect(error.reasons.join('\n')).toContain('purpose "analytics" is not allowed in namespace "sandbox"');
    expect(error.reasons.join('\n')).toContain('task "fetch" uses tasks/http.request');
    expect(error.decisionId).toBe(result.tasks[0]?.decision.decisionId);
    expect(error.details?.decisions).toEqual([{ taskId: 'fetch', decisionId: error.decisionId, reasons: error.reasons }]);
    await pdp.close();
    await log.close();
  });

  it('stops asking once the PDP cannot answer, and refuses as POLICY_UNAVAILABLE', async () => {
    const log = await openAuditLog({ sqliteFile: ':memory:' });
    const pdp = createRemotePdp({ url: `http://127.0.0.1:${await freePort()}`, timeoutMs: 200 });
    const result = await checkRunStart(createPolicyGate({ pdp, log }), { principal, compiled, run });
    expect(result.tasks).toEqual([]);
    expect((await log.list()).map((record) => record.details?.fallback)).toEqual(['closed']);
    expect(runStartDenial(result).code).toBe('POLICY_UNAVAILABLE');
    await pdp.close();
    await log.close();
  });
});
