/**
 * `GET /tasks` against the real API: the catalog with each task's schemas, and `usedBy` from the
 * caller's namespaces only.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { manifest, startHarness, type Harness } from './harness.js';

let h: Harness;
let workflowRef = '';

beforeAll(async () => {
  h = await startHarness({ worker: false });
  const { name, version } = await h.register(manifest('    - { id: double, uses: tasks/transform.map@^0.1.0, with: { rows: [1], expression: "$ * 2" } }'));
  workflowRef = `${name}@${version}`;
});
afterAll(() => h?.close());

describe('GET /tasks', () => {
  it('lists every task with its schemas and the workflows of the caller’s namespaces that use it', async () => {
    const res = await h.call('GET', '/tasks', { token: 'viewer' });
    expect(res.status, res.text).toBe(200);
    const map = res.body.items.find((task: { name: string }) => task.name === 'tasks/transform.map');
    expect(map).toMatchObject({ version: '0.1.0', execution: expect.any(String), builtin: true, input: { type: 'object' }, usedBy: [{ namespace: h.namespace, workflowRef }] });
    const gate = res.body.items.find((task: { name: string }) => task.name === 'ops/approval.gate');
    expect(gate).toMatchObject({ execution: 'approval', input: { required: ['approvers'] }, usedBy: [] });
  });

  it('shows no other namespace’s workflows, and refuses a namespace the caller cannot see', async () => {
    const res = await h.call('GET', '/tasks', { token: 'outsider' });
    expect(res.status).toBe(200);
    const map = res.body.items.find((task: { name: string }) => task.name === 'tasks/transform.map');
    expect(map.usedBy).toEqual([]);
    const refused = await h.call('GET', `/tasks?namespace=${h.namespace}`, { token: 'outsider' });
    expect(refused.status).toBe(403);
    expect(refused.body.code).toBe('FORBIDDEN');
  });
});
