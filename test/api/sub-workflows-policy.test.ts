/**
 * The policy decides a sub-workflow's start like any run start, for the parent's principal in the
 * parent's namespace (real API, worker, Temporal and embedded OPA with the repository's policy).
 */
import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { policyWorkflow as workflow, startHarness, type ApiResponse, type Harness } from './harness.js';

const PEOPLE = {
  alice: { name: 'alice', token: 'alice-child-token-0123456789', roles: ['operator'], namespaces: ['default'] },
  rita: { name: 'rita', token: 'rita-child-token-0123456789', roles: ['operator', 'release-manager'], namespaces: ['default'] },
  audrey: { name: 'audrey', token: 'audrey-child-token-0123456789', roles: ['auditor'], namespaces: ['default'] },
};
const as = (person: keyof typeof PEOPLE) => ({ bearer: PEOPLE[person].token });

let h: Harness;
beforeAll(async () => {
  h = await startHarness({ policy: true, tokens: Object.values(PEOPLE) });
});
afterAll(() => h?.close());

const audit = async (query: string): Promise<ApiResponse['body'][]> => (await h.call('GET', `/audit?${query}`, as('audrey'))).body.items;

describe('the policy and sub-workflows', () => {
  it("decides the child's start for the parent's principal: allowed for rita, denied for alice, and then nothing starts", async () => {
    // The child acts under the release-management authority, which only release managers hold.
    const child = `release-${randomUUID().slice(0, 8)}`;
    await h.register(workflow(child, 'release-management', ['{ id: one, uses: tasks/transform.map@0.1.0, with: { rows: [1], expression: "$" } }']));
    const parent = `parent-${randomUUID().slice(0, 8)}`;
    await h.register(workflow(parent, 'tests', [`{ id: sub, uses: "workflow/${child}@1.0.0" }`]));

    const byRita = await h.call('POST', '/runs', { ...as('rita'), json: { workflowRef: `${parent}@1.0.0`, namespace: 'default' } });
    expect(byRita.status, byRita.text).toBe(201);
    const ritaRun = await h.waitRun(byRita.body.runId, (r) => r.status === 'SUCCEEDED' || r.status === 'FAILED');
    expect(ritaRun.status, JSON.stringify(ritaRun)).toBe('SUCCEEDED');
    const childRunId = ritaRun.tasks[0].subWorkflow.runId as string;
    const decisions = await audit(`runId=${childRunId}&kind=decision`);
    expect(decisions.find((d: { details: { stage: string } }) => d.details.stage === 'run')).toMatchObject({ result: 'allow', actor: 'rita', namespace: 'default' });

    const byAlice = await h.call('POST', '/runs', { ...as('alice'), json: { workflowRef: `${parent}@1.0.0`, namespace: 'default' } });
    expect(byAlice.status, byAlice.text).toBe(201);
    const aliceRun = await h.waitRun(byAlice.body.runId, (r) => r.status === 'SUCCEEDED' || r.status === 'FAILED');
    expect(aliceRun).toMatchObject({ status: 'FAILED', error: { code: 'POLICY_DENIED' } });
    expect(aliceRun.tasks[0]).toMatchObject({ status: 'FAILED', error: { code: 'POLICY_DENIED', message: expect.stringContaining('release-management') } });
    expect(aliceRun.tasks[0].subWorkflow).toBeUndefined();
    const listed = await h.call('GET', `/runs?namespace=default&workflowRef=${child}`, as('alice'));
    expect(listed.body.items.map((r: { runId: string }) => r.runId)).toEqual([childRunId]);
  });
});
