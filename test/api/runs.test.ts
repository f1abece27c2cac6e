/**
 * `/runs` against the running API, a real worker and the real Temporal dev server.
 */
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { startRun } from '../../src/client/index.js';
import { manifest, startHarness, THREE_TASKS, type Harness } from './harness.js';

let h: Harness;
let threeTasks: string;
let withParams: string;
let failing: string;
let gated: string;
let slow: string;
let selfGated: string;
let selfAllowed: string;

/** Starts runs and holds the gates' approver role. */
const RELEASER = { name: 'releaser', token: 'releaser-token-0123456789', roles: ['operator', 'sre-oncall'], namespaces: ['*'] };

beforeAll(async () => {
  h = await startHarness({ tokens: [RELEASER] });
  threeTasks = `${(await h.register(manifest(THREE_TASKS, { name: 'three' }))).name}@1.0.0`;
  withParams = `${(await h.register(manifest('    - { id: greet, uses: tasks/transform.map@0.1.0, with: { rows: ["${params.who}"], expression: "$" } }', {
    name: 'params',
    parameters: ['    - { name: who, type: string, required: true }', '    - { name: count, type: integer, default: 1 }', '    - { name: password, type: string, secret: true, default: hunter2 }'].join('\n'),
  }))).name}@1.0.0`;
  failing = `${(await h.register(manifest([
    '    - { id: first, uses: tasks/transform.map@0.1.0, with: { rows: [1], expression: "$ + 1" } }',
    '    - { id: check, uses: tasks/schema.validate@0.1.0, needs: [first], with: { schema: { type: string }, data: "${tasks.first.outputs.rows}" } }',
    '    - { id: after, uses: tasks/wait.sleep@0.1.0, needs: [check], with: { duration: 1ms } }',
  ].join('\n'), { name: 'failing' }))).name}@1.0.0`;
  gated = `${(await h.register(manifest([
    '    - { id: gate, uses: ops/approval.gate@0.1.0, with: { approvers: [sre-oncall, data-lead], minApprovals: 2 } }',
    '    - { id: done, uses: tasks/wait.sleep@0.1.0, needs: [gate], with: { duration: 1ms } }',
  ].join('\n'), { name: 'gated' }))).name}@1.0.0`;
  slow = `${(await h.register(manifest('    - { id: nap, uses: tasks/wait.sleep@0.1.0, with: { duration: 1h } }', { name: 'slow' }))).name}@1.0.0`;
  selfGated = `${(await h.register(manifest('    - { id: gate, uses: ops/approval.gate@0.1.0, with: { approvers: [sre-oncall] } }', { name: 'self-gated' }))).name}@1.0.0`;
  selfAllowed = `${(await h.register(manifest('    - { id: gate, uses: ops/approval.gate@0.1.0, with: { approvers: [sre-oncall], allowSelfApproval: true } }', { name: 'self-allowed' }))).name}@1.0.0`;
});
afterAll(() => h.close());

const start = (workflowRef: string, extra: Record<string, unknown> = {}) =>
  h.call('POST', '/runs', { token: 'operator', json: { workflowRef, namespace: h.namespace, ...extra } });

describe('POST /runs', () => {
  it('starts a run (201) that finishes, with status, params, timings and every task in its detail', async () => {
    const res = await start(threeTasks, { priority: 1 });
    expect(res.status).toBe(201);
    expect(res.body).toMatchObject({ runId: expect.stringMatching(/^run-/), status: 'RUNNING', workflowRef: threeTasks, namespace: h.namespace });
    const run = await h.waitRun(res.body.runId, (r) => r.status === 'SUCCEEDED');
    expect(run).toMatchObject({ workflowRef: threeTasks, namespace: h.namespace, params: {}, priority: 1, startedBy: 'operator' });
    expect(Date.parse(run.endedAt)).toBeGreaterThanOrEqual(Date.parse(run.startedAt));
    expect(run.tasks.map((t: { id: string; status: string; attempts: number }) => [t.id, t.status, t.attempts])).toEqual([
      ['a', 'SUCCEEDED', 1],
      ['b', 'SUCCEEDED', 1],
      ['c', 'SUCCEEDED', 1],
    ]);
    expect(run.tasks[2].outputs).toEqual({ rows: [3, 5] });
  });

  it('returns the same run (200) for the same idempotency key', async () => {
    const first = await start(threeTasks, { idempotencyKey: 'deploy-42' });
    const second = await start(threeTasks, { idempotencyKey: 'deploy-42' });
    expect(first.status).toBe(201);
    expect(second.status).toBe(200);
    expect(second.body.runId).toBe(first.body.runId);
  });

  it('redacts secret params and applies defaults', async () => {
    const res = await start(withParams, { params: { who: 'Ada' } });
    const run = await h.waitRun(res.body.runId, (r) => r.status === 'SUCCEEDED');
    expect(run.params).toEqual({ who: 'Ada', count: 1, password: '[redacted]' });
  });

  it('answers missing or mistyped params with 400 naming each, and starts nothing', async () => {
    const before = await h.call('GET', `/runs?namespace=${h.namespace}&workflowRef=params&limit=100`);
    const res = await start(withParams, { params: { count: 'many', extra: 1 } });
    expect(res.status).toBe(400);
    expect(res.body.code).toBe('PARAMS_INVALID');
    expect(res.body.errors).toEqual(
      expect.arrayContaining([
        { path: 'params.extra', message: expect.stringContaining('unknown parameter') },
        { path: 'params.who', message: 'is required' },
        { path: 'params.count', message: expect.any(String) },
      ]),
    );
    const after = await h.call('GET', `/runs?namespace=${h.namespace}&workflowRef=params&limit=100`);
    expect(after.body.items).toHaveLength(before.body.items.length);
  });

  it('answers an unknown workflow with 404, a bad body with 400, another namespace with 403', async () => {
    const unknown = await start('nope@1.0.0');
    expect(unknown.status).toBe(404);
    expect(unknown.body).toMatchObject({ code: 'NOT_FOUND', detail: `workflow nope@1.0.0 is not registered in namespace ${h.namespace}` });
    const bad = await h.call('POST', '/runs', { token: 'operator', json: { workflowRef: 'no-version', priority: 7 } });
    expect(bad.status).toBe(400);
    expect(bad.body.errors.map((e: { path: string }) => e.path).sort()).toEqual(['body.priority', 'body.workflowRef']);
    const forbidden = await h.call('POST', '/runs', { token: 'operator', json: { workflowRef: threeTasks, namespace: 'not-mine' } });
    expect(forbidden.status).toBe(403);
    expect(forbidden.body.code).toBe('FORBIDDEN');
    const viewer = await h.call('POST', '/runs', { token: 'viewer', json: { workflowRef: threeTasks, namespace: h.namespace } });
    expect(viewer.status).toBe(403);
  });
});

describe('GET /runs', () => {
  it('filters by status, workflowRef, namespace and time, pages with pageToken, and agrees with the detail', async () => {
    const ids: string[] = [];
    for (let i = 0; i < 3; i += 1) ids.push((await start(threeTasks)).body.runId);
    await Promise.all(ids.map((id) => h.waitRun(id, (r) => r.status === 'SUCCEEDED')));
    const since = new Date(Date.now() - 60_000).toISOString();
    const query = `/runs?namespace=${h.namespace}&workflowRef=${threeTasks}&status=SUCCEEDED&since=${since}`;
    let items: { runId: string; status: string }[] = [];
    for (let tries = 0; tries < 50; tries += 1) {
      items = (await h.call('GET', `${query}&limit=100`, { token: 'viewer' })).body.items;
      if (ids.every((id) => items.some((run) => run.runId === id))) break;
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
    expect(items.map((run) => run.runId)).toEqual(expect.arrayContaining(ids));
    for (const run of items) expect(run).toMatchObject({ status: 'SUCCEEDED', workflowRef: threeTasks, namespace: h.namespace });
    for (const id of ids) expect((await h.call('GET', `/runs/${id}`)).body.status).toBe('SUCCEEDED');

    const page1 = await h.call('GET', `${query}&limit=2`);
    expect(page1.body.items).toHaveLength(2);
    expect(page1.body.nextPageToken).toEqual(expect.any(String));
    const page2 = await h.call('GET', `${query}&limit=2&pageToken=${page1.body.nextPageToken}`);
    expect(page2.body.items.length).toBeGreaterThan(0);
    expect(page2.body.items.map((r: { runId: string }) => r.runId)).not.toContain(page1.body.items[0].runId);

    const future = await h.call('GET', `/runs?namespace=${h.namespace}&since=${new Date(Date.now() + 3_600_000).toISOString()}`);
    expect(future.body.items).toEqual([]);
    const until = await h.call('GET', `/runs?namespace=${h.namespace}&until=${since}`);
    expect(until.body.items).toEqual([]);
    const running = await h.call('GET', `/runs?namespace=${h.namespace}&workflowRef=three&status=RUNNING`);
    expect(running.body.items).toEqual([]);
  });

  it('lists a run Temporal terminated under FAILED, its detail saying so and why, and no longer under RUNNING', async () => {
    const runId = (await start(slow)).body.runId;
    const listed = async (status: string): Promise<boolean> => {
      const res = await h.call('GET', `/runs?namespace=${h.namespace}&workflowRef=${slow}&status=${status}&limit=100`);
      return res.body.items.some((run: { runId: string }) => run.runId === runId);
    };
    await h.waitRun(runId, (run) => run.tasks[0]?.status === 'RUNNING');
    await vi.waitFor(async () => expect(await listed('RUNNING')).toBe(true), { timeout: 10_000, interval: 100 });
    // As the Temporal Web UI or `temporal workflow terminate` does it: the interpreter never sees it.
    await h.client.workflow.getHandle(runId).terminate('from the Temporal UI');
    // The detail says how it ended; the task stays as the run last saw it.
    const detail = (await h.call('GET', `/runs/${runId}`)).body;
    expect(detail).toMatchObject({ status: 'FAILED', error: { code: 'RUN_TERMINATED', message: 'terminated on Temporal: from the Temporal UI' } });
    expect(detail.tasks[0]).toMatchObject({ id: 'nap', status: 'RUNNING' });
    await vi.waitFor(async () => expect(await listed('FAILED')).toBe(true), { timeout: 10_000, interval: 100 });
    expect(await listed('RUNNING')).toBe(false);
  });

  it('shows a principal only its namespaces: 403 for another one named explicitly', async () => {
    const res = await h.call('GET', '/runs?namespace=elsewhere', { token: 'viewer' });
    expect(res.status).toBe(403);
    const outsider = await h.call('GET', '/runs?limit=100', { token: 'outsider' });
    expect(outsider.status).toBe(200);
    expect(outsider.body.items.filter((r: { namespace: string }) => r.namespace !== 'elsewhere')).toEqual([]);
  });

  it('answers bad filters with 400', async () => {
    const res = await h.call('GET', '/runs?status=DONE&limit=0&since=yesterday');
    expect(res.status).toBe(400);
    expect(res.body.errors.map((e: { path: string }) => e.path).sort()).toEqual(['query.limit', 'query.since', 'query.status']);
    const token = await h.call('GET', '/runs?pageToken=AAAA');
    expect(token.status).toBe(400);
    expect(token.body.errors).toEqual([{ path: 'query.pageToken', message: 'is not a token this API issued' }]);
  });
});

describe('GET /runs/{runId}', () => {
  it('answers 404 for an unknown run and 403 for a run of another namespace', async () => {
    expect((await h.call('GET', '/runs/run-unknown')).status).toBe(404);
    const id = (await start(threeTasks)).body.runId;
    const res = await h.call('GET', `/runs/${id}`, { token: 'outsider' });
    expect(res.status).toBe(403);
    expect((await h.call('GET', '/runs/bad%20id')).status).toBe(400);
  });

  it("answers 503 naming the cause, not 500, while the run's workflow task keeps failing", async () => {
    // An IR the interpreter cannot read (as a bug would): every workflow task fails and is retried,
    // and Temporal refuses queries meanwhile.
    const [name = '', version = ''] = threeTasks.split('@');
    const registered = await h.store.getWorkflow(h.namespace, name, version);
    if (!registered) throw new Error(`${threeTasks} is not in the registry`);
    const broken = { digest: registered.digest, ir: { ...registered.ir, tasks: 42 as unknown as typeof registered.ir.tasks } };
    const runId = await startRun(h.client, { compiled: broken, params: {}, taskQueue: h.config.taskQueue, namespace: h.namespace });
    try {
      let res = await h.call('GET', `/runs/${runId}`);
      for (let tries = 0; tries < 40 && !/workflow task failed/.test(String(res.body.detail)); tries += 1) {
        await new Promise((resolve) => setTimeout(resolve, 250));
        res = await h.call('GET', `/runs/${runId}`);
      }
      expect(res.status).toBe(503);
      expect(res.body).toMatchObject({ code: 'UNAVAILABLE', detail: expect.stringContaining(`run ${runId} cannot be read right now: its workflow task failed or timed out`) });
    } finally {
      await h.client.workflow.getHandle(runId).terminate('test over');
    }
  });

  it('streams progress as Server-Sent Events until the run ends', async () => {
    const id = (await start(threeTasks)).body.runId;
    const res = await fetch(`${h.api.url}/runs/${id}/events`, { headers: { authorization: 'Bearer operator-token-0123456789' } });
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toContain('text/event-stream');
    const text = await res.text();
    const events = text.split('\n\n').filter((block) => block.startsWith('event:')).map((block) => {
      const [eventLine = '', dataLine = ''] = block.split('\n');
      return { event: eventLine.slice('event: '.length), data: JSON.parse(dataLine.slice('data: '.length)) };
    });
    expect(events[0]?.event).toBe('run');
    expect(events.at(-1)).toEqual({ event: 'end', data: { runId: id, status: 'SUCCEEDED' } });
    const taskEvents = events.filter((e) => e.event === 'task');
    expect(taskEvents.filter((e) => e.data.status === 'SUCCEEDED').map((e) => e.data.id).sort()).toEqual(['a', 'b', 'c']);
    expect((await h.call('GET', '/runs/run-unknown/events')).status).toBe(404);
  });
});

describe('POST /runs/{runId}/cancel', () => {
  it('cancels a running run (202), which ends CANCELLED; cancelling again is 409', async () => {
    const id = (await start(slow)).body.runId;
    await h.waitRun(id, (r) => r.tasks[0].status === 'RUNNING');
    const res = await h.call('POST', `/runs/${id}/cancel`, { token: 'operator' });
    expect(res.status).toBe(202);
    expect(res.body).toEqual({ runId: id });
    const run = await h.waitRun(id, (r) => r.status === 'CANCELLED');
    expect(run.tasks[0]).toMatchObject({ status: 'CANCELLED', error: { code: 'RUN_CANCELLED' } });
    const again = await h.call('POST', `/runs/${id}/cancel`, { token: 'operator' });
    expect(again.status).toBe(409);
    expect(again.body.code).toBe('CONFLICT');
    expect((await h.call('POST', '/runs/run-unknown/cancel')).status).toBe(404);
    expect((await h.call('POST', `/runs/${id}/cancel`, { token: 'viewer' })).status).toBe(403);
  });
});

describe('POST /runs/{runId}/retry', () => {
  it('from failed: carries the tasks that succeeded, with their outputs, and runs the rest again', async () => {
    const id = (await start(failing)).body.runId;
    const original = await h.waitRun(id, (r) => r.status === 'FAILED');
    expect(original.tasks.map((t: { status: string }) => t.status)).toEqual(['SUCCEEDED', 'FAILED', 'SKIPPED']);
    const retry = await h.call('POST', `/runs/${id}/retry`, { token: 'operator', json: { from: 'failed' } });
    expect(retry.status).toBe(201);
    expect(retry.body).toMatchObject({ retryOf: id, workflowRef: failing, namespace: h.namespace });
    expect(retry.body.runId).not.toBe(id);
    const again = await h.waitRun(retry.body.runId, (r) => r.status === 'FAILED');
    expect(again.tasks[0]).toEqual(original.tasks[0]);
    expect(again.tasks[1].status).toBe('FAILED');
    expect(Date.parse(again.tasks[1].startedAt)).toBeGreaterThan(Date.parse(original.tasks[1].startedAt));
  });

  it('from start: runs every task again; a succeeded run cannot retry from failed (409); a running one not at all', async () => {
    const id = (await start(threeTasks)).body.runId;
    const original = await h.waitRun(id, (r) => r.status === 'SUCCEEDED');
    const conflict = await h.call('POST', `/runs/${id}/retry`, { token: 'operator', json: { from: 'failed' } });
    expect(conflict.status).toBe(409);
    const retry = await h.call('POST', `/runs/${id}/retry`, { token: 'operator', json: { from: 'start' } });
    expect(retry.status).toBe(201);
    const again = await h.waitRun(retry.body.runId, (r) => r.status === 'SUCCEEDED');
    expect(Date.parse(again.tasks[0].startedAt)).toBeGreaterThan(Date.parse(original.tasks[0].startedAt));
    const running = (await start(slow)).body.runId;
    expect((await h.call('POST', `/runs/${running}/retry`, { token: 'operator', json: { from: 'start' } })).status).toBe(409);
    expect((await h.call('POST', `/runs/${running}/retry`, { token: 'operator', json: { from: 'middle' } })).status).toBe(400);
    await h.call('POST', `/runs/${running}/cancel`);
  });
});

describe('POST /runs/{runId}/approvals', () => {
  it('refuses the starter\'s own approval (403 problem+json) unless the gate sets allowSelfApproval', async () => {
    const started = await h.call('POST', '/runs', { bearer: RELEASER.token, json: { workflowRef: selfGated, namespace: h.namespace } });
    expect(started.status, started.text).toBe(201);
    const id = started.body.runId as string;
    await h.waitRun(id, (r) => r.status === 'WAITING');
    const own = await h.call('POST', `/runs/${id}/approvals`, { bearer: RELEASER.token, json: { taskId: 'gate', decision: 'approve' } });
    expect(own.status).toBe(403);
    expect(own.type).toBe('application/problem+json');
    expect(own.body).toMatchObject({ code: 'FORBIDDEN', detail: expect.stringMatching(/releaser started this run and may not approve it/) });
    const waiting = await h.call('GET', `/runs/${id}`);
    expect(waiting.body.status).toBe('WAITING');
    expect(waiting.body.tasks[0].approvals ?? []).toEqual([]);
    expect((await h.call('POST', `/runs/${id}/approvals`, { token: 'sre', json: { taskId: 'gate', decision: 'approve' } })).status).toBe(200);
    await h.waitRun(id, (r) => r.status === 'SUCCEEDED');

    const allowed = (await h.call('POST', '/runs', { bearer: RELEASER.token, json: { workflowRef: selfAllowed, namespace: h.namespace } })).body.runId as string;
    await h.waitRun(allowed, (r) => r.status === 'WAITING');
    const self = await h.call('POST', `/runs/${allowed}/approvals`, { bearer: RELEASER.token, json: { taskId: 'gate', decision: 'approve' } });
    expect(self.status, self.text).toBe(200);
    await h.waitRun(allowed, (r) => r.status === 'SUCCEEDED');
  });

  it('refuses to register a gate that needs no approval (minApprovals: 0)', async () => {
    const res = await h.call('POST', '/workflows', { yaml: manifest('    - { id: gate, uses: ops/approval.gate@0.1.0, with: { approvers: [sre], minApprovals: 0 } }') });
    expect(res.status).toBe(400);
    expect(res.body.code).toBe('MANIFEST_INVALID');
    expect(res.text).toMatch(/minApprovals.*must be an integer of at least 1/);
  });

  it('records each approver (N-of-M), refuses a second decision, a missing role and an unknown task', async () => {
    const id = (await start(gated)).body.runId;
    await h.waitRun(id, (r) => r.status === 'WAITING');
    const noRole = await h.call('POST', `/runs/${id}/approvals`, { token: 'viewer', json: { taskId: 'gate', decision: 'approve' } });
    expect(noRole.status).toBe(403);
    expect(noRole.body.code).toBe('FORBIDDEN');
    const unknown = await h.call('POST', `/runs/${id}/approvals`, { token: 'sre', json: { taskId: 'done', decision: 'approve' } });
    expect(unknown.status).toBe(404);
    expect(unknown.body.code).toBe('TASK_NOT_FOUND');
    const first = await h.call('POST', `/runs/${id}/approvals`, { token: 'sre', json: { taskId: 'gate', decision: 'approve', comment: 'lgtm' } });
    expect(first.status).toBe(200);
    expect(first.body.task.approvals).toEqual([{ approver: 'sre', decision: 'approve', comment: 'lgtm', at: expect.any(String) }]);
    const twice = await h.call('POST', `/runs/${id}/approvals`, { token: 'sre', json: { taskId: 'gate', decision: 'approve' } });
    expect(twice.status).toBe(409);
    expect((await h.call('GET', `/runs/${id}`)).body.status).toBe('WAITING');
    const second = await h.call('POST', `/runs/${id}/approvals`, { token: 'lead', json: { taskId: 'gate', decision: 'approve' } });
    expect(second.status).toBe(200);
    const run = await h.waitRun(id, (r) => r.status === 'SUCCEEDED');
    expect(run.tasks[0].approvals.map((a: { approver: string }) => a.approver)).toEqual(['sre', 'lead']);
    const late = await h.call('POST', `/runs/${id}/approvals`, { token: 'lead', json: { taskId: 'gate', decision: 'reject' } });
    expect(late.status).toBe(409);
    const bad = await h.call('POST', `/runs/${id}/approvals`, { token: 'lead', json: { taskId: 'gate', decision: 'maybe' } });
    expect(bad.status).toBe(400);
  });
});
