/**
 * `/runbooks` and the seed's contract tests, against the real API (not nock).
 */
import { readFile } from 'node:fs/promises';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { manifest, startHarness, type Harness } from './harness.js';

let h: Harness;
let runbookName: string;

const runbook = (name: string, workflowRef: string, extra: { dryRun?: boolean; version?: string; roles?: string[] } = {}) => `apiVersion: maestro/v1
kind: Runbook
metadata:
  name: ${name}
  namespace: ${h.namespace}
  version: ${extra.version ?? '1.0.0'}
  approvals: { required: true, approvers: [sre-oncall, data-lead], minApprovals: 2 }
  allowList: { roles: [${(extra.roles ?? ['sre']).join(', ')}] }
spec:
  inputs:
    - { name: since, type: datetime, required: true }
    - { name: until, type: datetime }
  workflowRef: ${workflowRef}
  dryRun: ${extra.dryRun ?? false}
`;

/** On call and allow-listed to trigger, but no approver: triggers the run the approvers decide on. */
const ONCALL = { name: 'oncall', token: 'oncall-token-0123456789', roles: ['sre'], namespaces: ['*'] };

beforeAll(async () => {
  h = await startHarness({ tokens: [ONCALL] });
  const target = await h.register(
    manifest(
      [
        '    - { id: window, uses: tasks/transform.map@0.1.0, with: { rows: ["${params.since}"], expression: "$" } }',
        '    - { id: settle, uses: tasks/wait.sleep@0.1.0, with: { duration: 1ms } }',
        '    - { id: report, uses: tasks/wait.sleep@0.1.0, needs: [window, settle], with: { duration: 1ms } }',
      ].join('\n'),
      { name: 'backfill-target', parameters: ['    - { name: since, type: datetime, required: true }', '    - { name: until, type: datetime }'].join('\n') },
    ),
  );
  runbookName = `rb-${h.namespace}`;
  const res = await h.call('POST', '/runbooks', { yaml: runbook(runbookName, `${target.name}@${target.version}`) });
  expect(res.status).toBe(201);
});
afterAll(() => h.close());

const trigger = (body: Record<string, unknown>, token: 'sre' | 'viewer' | 'outsider' | 'admin' = 'sre') =>
  h.call('POST', '/runbooks/trigger', { token, json: { namespace: h.namespace, ...body } });

describe('the seed contract tests, against the running API', () => {
  it('validates the example runbook', async () => {
    const json = await readFile('test/manifests/valid/backfill-entity-resolver.json', 'utf8');
    const document = JSON.parse(json) as { metadata: Record<string, unknown> };
    const res = await h.call('POST', '/runbooks', { json: { ...document, metadata: { ...document.metadata, namespace: h.namespace } } });
    expect([200, 201]).toContain(res.status);
    expect(res.body).toMatchObject({ name: 'backfill-entity-resolver', version: '0.9.0', digest: expect.stringMatching(/^sha256:/) });
  });

  it('rejects a trigger of a runbook the caller is not allow-listed for with 403 RUNBOOK_NOT_ALLOWED', async () => {
    const res = await trigger({ runbook: 'backfill-entity-resolver', inputs: { since: '2025-01-01T00:00:00Z' } }, 'viewer');
    expect(res.status).toBe(403);
    expect(res.body).toMatchObject({ code: 'RUNBOOK_NOT_ALLOWED', status: 403, type: 'urn:maestro:error:RUNBOOK_NOT_ALLOWED' });
    expect(res.body.detail).toContain('sre, platform-engineer');
  });
});

describe('POST /runbooks/trigger', () => {
  it('starts the run (201), which waits for the listed approvers before its first task, then runs', async () => {
    // Triggered by someone other than the approvers: whoever starts a run may not approve it.
    const res = await h.call('POST', '/runbooks/trigger', { bearer: ONCALL.token, json: { namespace: h.namespace, runbook: runbookName, inputs: { since: '2025-01-01T00:00:00Z' } } });
    expect(res.status).toBe(201);
    const runId = res.body.runId as string;
    const waiting = await h.waitRun(runId, (r) => r.status === 'WAITING');
    expect(waiting.tasks.map((t: { id: string; status: string }) => [t.id, t.status])).toEqual([
      ['runbook-approval', 'WAITING'],
      ['window', 'PENDING'],
      ['settle', 'PENDING'],
      ['report', 'PENDING'],
    ]);
    expect((await h.call('POST', `/runs/${runId}/approvals`, { token: 'sre', json: { taskId: 'runbook-approval', decision: 'approve' } })).status).toBe(200);
    expect((await h.call('POST', `/runs/${runId}/approvals`, { token: 'lead', json: { taskId: 'runbook-approval', decision: 'approve' } })).status).toBe(200);
    const run = await h.waitRun(runId, (r) => r.status === 'SUCCEEDED');
    expect(run.tasks[1].outputs).toEqual({ rows: ['2025-01-01T00:00:00Z'] });
    expect(run.startedBy).toBe('oncall');
  });

  it('a dry run returns the plan (200) and starts nothing', async () => {
    const before = (await h.call('GET', `/runs?namespace=${h.namespace}&limit=100`)).body.items.length;
    const res = await trigger({ runbook: `${runbookName}@1.0.0`, inputs: { since: '2025-01-01T00:00:00Z' }, dryRun: true });
    expect(res.status).toBe(200);
    expect(res.body).toMatchObject({ dryRun: true, runbook: `${runbookName}@1.0.0`, namespace: h.namespace, params: { since: '2025-01-01T00:00:00Z' } });
    expect(res.body.tasks).toEqual([
      { id: 'runbook-approval', uses: 'ops/approval.gate@0.1.0', needs: [] },
      { id: 'window', uses: 'tasks/transform.map@0.1.0', needs: ['runbook-approval'] },
      { id: 'settle', uses: 'tasks/wait.sleep@0.1.0', needs: ['runbook-approval'] },
      { id: 'report', uses: 'tasks/wait.sleep@0.1.0', needs: ['window', 'settle'] },
    ]);
    await new Promise((resolve) => setTimeout(resolve, 300));
    expect((await h.call('GET', `/runs?namespace=${h.namespace}&limit=100`)).body.items).toHaveLength(before);
  });

  it('checks inputs, datetime included (400), and answers unknown runbooks with 404', async () => {
    const bad = await trigger({ runbook: runbookName, inputs: { since: 'last tuesday', until: 5 } });
    expect(bad.status).toBe(400);
    expect(bad.body.code).toBe('PARAMS_INVALID');
    expect(bad.body.errors.map((e: { path: string }) => e.path).sort()).toEqual(['params.since', 'params.until']);
    const missing = await trigger({ runbook: runbookName, inputs: {} });
    expect(missing.body.errors).toEqual([{ path: 'params.since', message: 'is required' }]);
    expect((await trigger({ runbook: 'no-such-runbook', inputs: {} })).status).toBe(404);
    expect((await trigger({ runbook: 'Bad Name' })).status).toBe(400);
  });

  it('answers 403 when an allow-listed caller has no access to the namespace', async () => {
    const res = await trigger({ runbook: runbookName, inputs: { since: '2025-01-01T00:00:00Z' } }, 'outsider');
    expect(res.status).toBe(403);
    expect(res.body.code).toBe('FORBIDDEN');
  });
});

describe('POST and GET /runbooks', () => {
  it('registers idempotently, refuses other content under the same version (409) and lists versions', async () => {
    const text = runbook(runbookName, 'backfill-target@1.0.0');
    expect((await h.call('POST', '/runbooks', { yaml: text })).status).toBe(200);
    const conflict = await h.call('POST', '/runbooks', { yaml: text.replace('[sre]', '[sre, admin]') });
    expect(conflict.status).toBe(409);
    expect(conflict.body.code).toBe('CONFLICT');
    const invalid = await h.call('POST', '/runbooks', { yaml: text.replace('workflowRef: backfill-target@1.0.0', 'workflowRef: 42') });
    expect(invalid.status).toBe(400);
    expect(invalid.body.errors[0]).toMatchObject({ path: 'spec.workflowRef', line: 13, column: 16 });
    expect((await h.call('POST', '/runbooks', { token: 'sre', yaml: text })).status).toBe(403);
    const list = await h.call('GET', '/runbooks', { token: 'viewer' });
    expect(list.body.items).toContainEqual(expect.objectContaining({ name: runbookName, version: '1.0.0', workflowRef: 'backfill-target@1.0.0', createdBy: 'admin' }));
  });

  it('lists each runbook with its inputs, the roles that may trigger it and whether the caller may, never a secret input’s default', async () => {
    const name = `rb-secret-${h.namespace}`;
    const text = runbook(name, 'backfill-target@1.0.0').replace('    - { name: until, type: datetime }', '    - { name: until, type: datetime }\n    - { name: key, type: string, secret: true, default: hidden-default-value }');
    expect((await h.call('POST', '/runbooks', { yaml: text })).status).toBe(201);
    const mine = (token: 'sre' | 'viewer') => h.call('GET', `/runbooks?namespace=${h.namespace}`, { token }).then((res) => res.body.items.find((item: { name: string }) => item.name === name));
    const forSre = await mine('sre');
    expect(forSre).toMatchObject({ allowedRoles: ['sre'], mayTrigger: true, approvers: ['sre-oncall', 'data-lead'], inputs: [{ name: 'since', type: 'datetime', required: true }, { name: 'until', type: 'datetime' }, { name: 'key', secret: true }] });
    expect(forSre.inputs[2]).not.toHaveProperty('default');
    expect(JSON.stringify(forSre)).not.toContain('hidden-default-value');
    expect(await mine('viewer')).toMatchObject({ allowedRoles: ['sre'], mayTrigger: false });
  });
});
