/**
 * A trigger's runs go through the one run-start path for the principal recorded with the trigger:
 * the policy's run-start decision is asked for that principal at every event (a denial is refused,
 * audited, and starts nothing), and whoever replaces the trigger becomes the principal it acts for.
 * Real API, Temporal and the embedded PDP with the shipped policy (namespace `default`: the
 * `release-management` authority needs the `release-manager` role).
 */
import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { hmacSha256Hex } from '../../src/triggers/index.js';
import { startHarness, type Harness } from './harness.js';

const SECRET = `policy-hook-${randomUUID()}`;
const PEOPLE = {
  alice: { name: 'alice', token: 'alice-hook-token-0123456789', roles: ['operator'], namespaces: ['default'] },
  rita: { name: 'rita', token: 'rita-hook-token-0123456789', roles: ['operator', 'release-manager'], namespaces: ['default'] },
};

let h: Harness;
beforeAll(async () => {
  process.env.MAESTRO_SECRET_POLICY_HOOK = SECRET;
  h = await startHarness({ policy: true, tokens: Object.values(PEOPLE) });
});
afterAll(async () => {
  await h?.close();
  delete process.env.MAESTRO_SECRET_POLICY_HOOK;
});

async function deliver(name: string, body: string): Promise<{ status: number; body: { code?: string; outcome?: string; runIds?: string[] } }> {
  const res = await fetch(`${h.api.url}/hooks/default/${name}`, { method: 'POST', headers: { 'x-maestro-signature': `sha256=${hmacSha256Hex(SECRET, Buffer.from(body))}` }, body });
  return { status: res.status, body: (await res.json()) as never };
}

describe('a trigger under the policy', () => {
  it('is decided for the principal that wrote it: alice is denied (refused, audited), rita after replacing it is allowed', async () => {
    const suffix = randomUUID().slice(0, 8);
    const workflow = `apiVersion: maestro/v1
kind: Workflow
metadata: { name: release-${suffix}, version: 1.0.0, namespace: default }
spec:
  policy: { purpose: testing, authority: release-management, license: internal }
  tasks:
    - { id: one, uses: tasks/transform.map@0.1.0, with: { rows: [1], expression: "$ + 1" } }
`;
    await h.register(workflow);
    const runbook = `apiVersion: maestro/v1\nkind: Runbook\nmetadata: { name: release-rb-${suffix}, version: 1.0.0, namespace: default, allowList: { roles: [operator] } }\nspec: { inputs: [], workflowRef: release-${suffix}@1.0.0 }\n`;
    expect((await h.call('POST', '/runbooks', { yaml: runbook })).status).toBe(201);
    const definition = { runbook: `release-rb-${suffix}`, auth: { secret: 'policy-hook' } };
    const name = `release-${suffix}`;
    expect((await h.call('PUT', `/triggers/${name}?namespace=default`, { bearer: PEOPLE.alice.token, json: definition })).body.outcome).toBe('created');

    const denied = await deliver(name, '{"n":1}');
    expect(denied.status).toBe(403);
    expect(denied.body.code).toBe('POLICY_DENIED');
    const records = (await h.auditLog.list({ kind: 'trigger', limit: 1000 })).filter((r) => r.details?.trigger === name);
    const refusal = records.find((r) => r.result === 'refused');
    expect(refusal).toMatchObject({ actor: `trigger:default/${name}`, details: { code: 'POLICY_DENIED' } });
    const [decision] = (await h.auditLog.list({ runId: refusal?.runId as string, kind: 'decision' })).filter((d) => d.details?.stage === 'run');
    expect(decision).toMatchObject({ result: 'deny', actor: 'alice' });

    // Rita writes the same definition: it now acts for her (so it is an update, not "unchanged").
    expect((await h.call('PUT', `/triggers/${name}?namespace=default`, { bearer: PEOPLE.rita.token, json: definition })).body.outcome).toBe('updated');
    const allowed = await deliver(name, '{"n":2}');
    expect(allowed.status).toBe(202);
    const runId = allowed.body.runIds?.[0] as string;
    const run = await h.waitRun(runId, (r) => r.status === 'SUCCEEDED');
    expect(run.startedBy).toBe(`trigger:default/${name}`);
    const [allow] = (await h.auditLog.list({ runId, kind: 'decision' })).filter((d) => d.details?.stage === 'run');
    expect(allow).toMatchObject({ result: 'allow', actor: 'rita' });
  });
});
