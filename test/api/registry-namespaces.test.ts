/**
 * Registries are namespaced (issue 19): a workflow or runbook belongs to the namespace it is
 * registered in, registering needs access to that namespace, and names (newest version included)
 * resolve inside the namespace a request acts in, so an operator of another namespace cannot
 * shadow a victim's runbook.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { manifest, startHarness, type Harness } from './harness.js';

let h: Harness;
beforeAll(async () => {
  h = await startHarness();
});
afterAll(() => h.close());

const NAP = (duration: string) => `    - { id: nap, uses: tasks/wait.sleep@0.1.0, with: { duration: ${duration} } }`;

const runbook = (name: string, version: string, namespace: string, workflowRef: string) => `apiVersion: maestro/v1
kind: Runbook
metadata: { name: ${name}, version: ${version}, namespace: ${namespace}, allowList: { roles: [sre] } }
spec:
  inputs: []
  workflowRef: ${workflowRef}
`;

describe('namespaced registries', () => {
  it('a runbook another namespace registers under the same name and a newer version is invisible to the victim', async () => {
    const name = `shadowed-${h.namespace}`;
    // The victim's workflow and runbook, registered by an operator of the victim's namespace.
    const victim = await h.call('POST', '/workflows', { token: 'operator', yaml: manifest(NAP('1ms'), { name: `${name}-wf` }).replace('metadata:', `metadata:\n  namespace: ${h.namespace}`) });
    expect(victim.status, victim.text).toBe(201);
    expect((await h.call('POST', '/runbooks', { token: 'operator', yaml: runbook(name, '1.0.0', h.namespace, `${name}-wf@1.0.0`) })).status).toBe(201);
    // The attacker operates `elsewhere` only: same names, version 99.0.0, a workflow of its own.
    const attacker = manifest(NAP('2ms'), { name: `${name}-wf`, version: '99.0.0' }).replace('metadata:', 'metadata:\n  namespace: elsewhere');
    expect((await h.call('POST', '/workflows', { token: 'outsider', yaml: attacker })).status).toBe(201);
    expect((await h.call('POST', '/runbooks', { token: 'outsider', yaml: runbook(name, '99.0.0', 'elsewhere', `${name}-wf@99.0.0`) })).status).toBe(201);

    const plan = await h.call('POST', '/runbooks/trigger', { token: 'sre', json: { runbook: name, inputs: {}, namespace: h.namespace, dryRun: true } });
    expect(plan.status, plan.text).toBe(200);
    expect(plan.body).toMatchObject({ runbook: `${name}@1.0.0`, workflowRef: `${name}-wf@1.0.0`, namespace: h.namespace });
    const started = await h.call('POST', '/runbooks/trigger', { token: 'sre', json: { runbook: name, inputs: {}, namespace: h.namespace } });
    expect(started.status, started.text).toBe(201);
    const run = await h.waitRun(started.body.runId, (r) => r.status === 'SUCCEEDED');
    expect(run).toMatchObject({ workflowRef: `${name}-wf@1.0.0`, namespace: h.namespace });
    // Named explicitly, the attacker's version is still not found from the victim's namespace.
    const explicit = await h.call('POST', '/runbooks/trigger', { token: 'sre', json: { runbook: `${name}@99.0.0`, inputs: {}, namespace: h.namespace } });
    expect(explicit.status).toBe(404);
    const direct = await h.call('POST', '/runs', { token: 'operator', json: { workflowRef: `${name}-wf@99.0.0`, namespace: h.namespace } });
    expect(direct.status).toBe(404);
  });

  it('refuses to register into a namespace the caller does not operate with a 403 problem', async () => {
    for (const path of ['/workflows', '/runbooks']) {
      const yaml =
        path === '/workflows'
          ? manifest(NAP('1ms'), { name: `intruder-${h.namespace}` }).replace('metadata:', `metadata:\n  namespace: ${h.namespace}`)
          : runbook(`intruder-${h.namespace}`, '1.0.0', h.namespace, 'anything@1.0.0');
      const res = await h.call('POST', path, { token: 'outsider', yaml });
      expect(res.status, res.text).toBe(403);
      expect(res.type).toBe('application/problem+json');
      expect(res.body).toMatchObject({ code: 'FORBIDDEN', status: 403, detail: expect.stringContaining(`namespace "${h.namespace}"`) });
    }
    // Without metadata.namespace a manifest goes to `default`, which the outsider does not operate either.
    const unnamed = await h.call('POST', '/workflows', { token: 'outsider', yaml: manifest(NAP('1ms')) });
    expect(unnamed.status).toBe(403);
    const listed = await h.call('GET', `/workflows?namespace=${h.namespace}`);
    expect(listed.body.items.map((w: { name: string }) => w.name)).not.toContain(`intruder-${h.namespace}`);
  });

  it('keeps the same name@version in two namespaces apart, and lists only the caller’s namespaces', async () => {
    const name = `twin-${h.namespace}`;
    const mine = await h.register(manifest(NAP('1ms'), { name }));
    const theirs = await h.register(manifest(NAP('3ms'), { name }), 'elsewhere');
    expect(theirs.digest).not.toBe(mine.digest);
    const get = (namespace: string, token: 'viewer' | 'outsider') => h.call('GET', `/workflows/${name}/versions/1.0.0?namespace=${namespace}`, { token });
    expect((await get(h.namespace, 'viewer')).body).toMatchObject({ namespace: h.namespace, digest: mine.digest });
    expect((await get('elsewhere', 'outsider')).body).toMatchObject({ namespace: 'elsewhere', digest: theirs.digest });
    expect((await get('elsewhere', 'viewer')).status).toBe(403);
    const seen = async (token: 'viewer' | 'outsider') =>
      (await h.call('GET', '/workflows', { token })).body.items.filter((w: { name: string }) => w.name === name).map((w: { namespace: string; digest: string }) => [w.namespace, w.digest]);
    expect(await seen('viewer')).toEqual([[h.namespace, mine.digest]]);
    expect(await seen('outsider')).toEqual([['elsewhere', theirs.digest]]);
    expect((await h.call('GET', '/runbooks', { token: 'outsider' })).body.items.every((r: { namespace: string }) => r.namespace === 'elsewhere')).toBe(true);
    // Each namespace runs its own.
    const run = await h.call('POST', '/runs', { token: 'outsider', json: { workflowRef: `${name}@1.0.0`, namespace: 'elsewhere' } });
    expect(run.status, run.text).toBe(201);
    expect((await h.waitRun(run.body.runId, (r) => r.status === 'SUCCEEDED')).digest).toBe(theirs.digest);
  });
});
