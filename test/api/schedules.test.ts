/**
 * Schedules (`/schedules`, Temporal Schedules underneath) through the real API, worker and
 * Temporal: fires and their scheduled times, pause and unpause, backfill, the overlap policy with
 * a slow workflow, namespaces and roles, a principal refused at fire time, the deterministic run id
 * of a fire, and `PUT` / YAML for GitOps.
 */
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createScheduleActivities, scheduledRunId, type StoredSchedule } from '../../src/runs/index.js';
import { openStore } from '../../src/store/index.js';
import { builtinCatalog } from '../../src/tasks/index.js';
import { manifest, startHarness, type Harness } from './harness.js';

let h: Harness;
beforeAll(async () => {
  h = await startHarness();
});
afterAll(() => h.close());

/** A workflow taking a `day` (string) param, which its one task outputs (a new name each time). */
const echoDay = (): string => manifest('    - { id: echo, uses: tasks/transform.map@0.1.0, with: { rows: ["${params.day}"], expression: "$" } }', {
  parameters: '    - { name: day, type: string, required: true }',
});
/** A workflow whose one task sleeps `duration`. */
const slow = (duration: string): string => manifest(`    - { id: nap, uses: tasks/wait.sleep@0.1.0, with: { duration: ${duration} } }`);

let seq = 0;
const newId = (): string => `s${Date.now().toString(36)}-${(seq += 1)}`;

async function create(body: Record<string, unknown>, token: 'operator' | 'admin' | 'outsider' | 'viewer' = 'operator') {
  return h.call('POST', '/schedules', { token, json: { namespace: h.namespace, ...body } });
}

const path = (id: string, suffix = ''): string => `/schedules/${id}${suffix}?namespace=${h.namespace}`;

/** Polls `GET /schedules/{id}` until `predicate` holds on it. */
async function waitSchedule(id: string, predicate: (schedule: any) => boolean, timeoutMs = 30_000): Promise<any> { // eslint-disable-line @typescript-eslint/no-explicit-any -- tests read fields freely
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const res = await h.call('GET', path(id));
    expect(res.status, res.text).toBe(200);
    if (predicate(res.body)) return res.body;
    if (Date.now() > deadline) throw new Error(`timed out waiting for schedule ${id}; last: ${res.text}`);
    await new Promise((resolve) => setTimeout(resolve, 250));
  }
}

const ended = (run: { status: string }): boolean => ['SUCCEEDED', 'FAILED', 'CANCELLED'].includes(run.status);

describe('schedules', () => {
  it('fires every 2 s; each run carries its scheduled time, as the run shows it and as ${schedule.time} in its params', async () => {
    const { name, version } = await h.register(echoDay());
    const id = newId();
    const created = await create({ id, workflowRef: `${name}@${version}`, params: { day: '${schedule.time}' }, spec: { intervals: ['2s'] }, note: 'every two seconds' });
    expect(created.status, created.text).toBe(201);
    expect(created.body).toMatchObject({ id, namespace: h.namespace, overlap: 'skip', paused: false, note: 'every two seconds', actsFor: 'operator' });
    expect(created.body.nextFireTimes).toHaveLength(10);
    const schedule = await waitSchedule(id, (s) => s.recentRuns.filter((r: { status: string }) => r.status === 'SUCCEEDED').length >= 2);
    for (const recent of schedule.recentRuns.filter((r: { status: string }) => r.status === 'SUCCEEDED')) {
      expect(Date.parse(recent.scheduledTime) % 2_000).toBe(0);
      expect(recent.runId).toBe(scheduledRunId(h.namespace, id, recent.scheduledTime));
      const run = await h.call('GET', `/runs/${recent.runId}`, { token: 'viewer' });
      expect(run.body).toMatchObject({ scheduleId: id, scheduledTime: recent.scheduledTime, startedBy: `schedule:${h.namespace}/${id}`, params: { day: recent.scheduledTime } });
      expect(run.body.tasks[0].outputs).toEqual({ rows: [recent.scheduledTime] });
      expect(run.body.policy.principal).toMatchObject({ subject: 'operator' });
    }
    const runs = await h.call('GET', `/runs?scheduleId=${id}&namespace=${h.namespace}`, { token: 'viewer' });
    expect(runs.body.items.length).toBeGreaterThanOrEqual(2);
    expect(runs.body.items.every((run: { runId: string }) => run.runId.startsWith(`sched-${h.namespace}.${id}-`))).toBe(true);
    const list = await h.call('GET', `/schedules?namespace=${h.namespace}`, { token: 'viewer' });
    expect(list.body.items).toContainEqual(expect.objectContaining({ id, namespace: h.namespace, paused: false, nextFireTime: expect.any(String) }));
    const audit = await h.call('GET', `/audit?runId=schedule:${h.namespace}:${id}`);
    expect(audit.body.items.map((r: { result: string }) => r.result)).toEqual(expect.arrayContaining(['created', 'fired']));
    expect((await h.call('DELETE', path(id), { token: 'operator' })).status).toBe(200);
    expect((await h.call('GET', path(id))).status).toBe(404);
  });
});

describe('schedule state, backfill and overlap', () => {
  it('stops firing while paused and fires again once unpaused (both audited)', async () => {
    const { name, version } = await h.register(echoDay());
    const id = newId();
    expect((await create({ id, workflowRef: `${name}@${version}`, params: { day: '${schedule.id}' }, spec: { intervals: ['2s'] } })).status).toBe(201);
    await waitSchedule(id, (s) => s.recentRuns.length >= 1);
    const paused = await h.call('POST', path(id, '/pause'), { token: 'operator', json: { reason: 'maintenance' } });
    expect(paused.status, paused.text).toBe(200);
    expect(paused.body).toMatchObject({ paused: true });
    // Temporal takes the pause a moment after it accepted it; a fire may be under way meanwhile.
    await waitSchedule(id, (s) => s.paused === true);
    await new Promise((resolve) => setTimeout(resolve, 2_500));
    const before = (await h.call('GET', path(id))).body.recentRuns.length as number;
    await new Promise((resolve) => setTimeout(resolve, 5_000));
    const still = await h.call('GET', path(id));
    expect(still.body.paused).toBe(true);
    expect(still.body.recentRuns).toHaveLength(before);
    const unpaused = await h.call('POST', path(id, '/unpause'), { token: 'operator' });
    expect(unpaused.body).toMatchObject({ paused: false });
    await waitSchedule(id, (s) => s.recentRuns.length > before);
    const audit = await h.call('GET', `/audit?runId=schedule:${h.namespace}:${id}&kind=schedule`);
    expect(audit.body.items.map((r: { result: string }) => r.result)).toEqual(expect.arrayContaining(['created', 'fired', 'paused', 'unpaused']));
    expect(audit.body.items.find((r: { result: string }) => r.result === 'paused').reasons).toEqual(['maintenance']);
    await h.call('DELETE', path(id), { token: 'operator' });
  });

  it('backfills a past hour at 10-minute intervals with exactly 6 runs, each processing its own past time', async () => {
    const { name, version } = await h.register(echoDay());
    const id = newId();
    expect((await create({ id, workflowRef: `${name}@${version}`, params: { day: '${schedule.time}' }, spec: { intervals: ['10m'] } })).status).toBe(201);
    const tenMinutes = 600_000;
    const from = Math.floor(Date.now() / tenMinutes) * tenMinutes - 2 * 3_600_000;
    const to = from + 3_600_000;
    const backfill = await h.call('POST', path(id, '/backfill'), { token: 'operator', json: { from: new Date(from).toISOString(), to: new Date(to).toISOString() } });
    expect(backfill.status, backfill.text).toBe(202);
    const inRange = (s: any) => s.recentRuns.filter((r: { scheduledTime: string }) => Date.parse(r.scheduledTime) >= from && Date.parse(r.scheduledTime) < to); // eslint-disable-line @typescript-eslint/no-explicit-any
    const schedule = await waitSchedule(id, (s) => inRange(s).filter((r: { status: string }) => r.status === 'SUCCEEDED').length >= 6, 60_000);
    const times = inRange(schedule).map((r: { scheduledTime: string }) => Date.parse(r.scheduledTime)).sort();
    expect(times).toEqual([0, 1, 2, 3, 4, 5].map((i) => from + i * tenMinutes));
    for (const recent of inRange(schedule)) {
      const run = await h.call('GET', `/runs/${recent.runId}`);
      expect(run.body.tasks[0].outputs).toEqual({ rows: [recent.scheduledTime] });
    }
    const future = await h.call('POST', path(id, '/backfill'), { token: 'operator', json: { from: new Date().toISOString(), to: new Date(Date.now() + 3_600_000).toISOString() } });
    expect(future.status).toBe(400);
    await h.call('DELETE', path(id), { token: 'operator' });
  });

  it('with overlap skip, starts no second run while a slow run goes on', async () => {
    // The run outlasts the whole check, however late a loaded machine shows it in recentRuns.
    const { name, version } = await h.register(slow('1h'));
    const id = newId();
    expect((await create({ id, workflowRef: `${name}@${version}`, spec: { intervals: ['2s'] }, overlap: 'skip' })).status).toBe(201);
    const first = await waitSchedule(id, (s) => s.recentRuns.length >= 1);
    await new Promise((resolve) => setTimeout(resolve, 5_000));
    const later = await h.call('GET', path(id));
    expect(later.body.recentRuns).toHaveLength(1);
    expect(later.body.recentRuns[0]).toMatchObject({ runId: first.recentRuns[0].runId, status: 'RUNNING' });
    const described = await h.client.schedule.getHandle(`maestro-schedule:${h.namespace}:${id}`).describe();
    expect(described.info.numActionsSkippedOverlap).toBeGreaterThanOrEqual(1);
    await h.call('DELETE', path(id), { token: 'operator' });
    expect((await h.call('POST', `/runs/${first.recentRuns[0].runId}/cancel`, { token: 'operator' })).status).toBe(202);
  });
  it('with overlap cancel-other, a new fire cancels the running run, recorded as a cancellation by the schedule', async () => {
    const { name, version } = await h.register(slow('1h'));
    const id = newId();
    expect((await create({ id, workflowRef: `${name}@${version}`, spec: { intervals: ['3s'] }, overlap: 'cancel-other' })).status).toBe(201);
    const first = (await waitSchedule(id, (s) => s.recentRuns.some((r: { status: string }) => r.status === 'RUNNING'))).recentRuns.find((r: { status: string }) => r.status === 'RUNNING');
    const cancelled = await h.waitRun(first.runId, (run) => run.status === 'CANCELLED', 30_000);
    expect(cancelled.tasks[0].status).toBe('CANCELLED');
    const audit = await h.call('GET', `/audit?runId=${first.runId}&kind=cancellation`);
    expect(audit.body.items).toEqual([expect.objectContaining({ actor: `schedule:${h.namespace}/${id}`, result: 'cancel', reasons: [expect.stringContaining('cancel-other')] })]);
    await h.call('POST', path(id, '/pause'), { token: 'operator' });
    const latest = (await h.call('GET', path(id))).body.recentRuns[0];
    await h.call('DELETE', path(id), { token: 'operator' });
    if (latest.status === 'RUNNING') await h.call('POST', `/runs/${latest.runId}/cancel`, { token: 'operator' });
  });
});

describe('who may see and change schedules', () => {
  it('hides a schedule from another namespace (403 there, 404 elsewhere) and refuses viewers and outsiders', async () => {
    const { name, version } = await h.register(echoDay());
    const id = newId();
    const body = { id, workflowRef: `${name}@${version}`, params: { day: 'x' }, spec: { cron: ['0 3 * * *'] } };
    expect((await create(body, 'viewer')).status).toBe(403);
    expect((await create(body, 'outsider')).status).toBe(403);
    expect((await create(body)).status).toBe(201);
    expect((await h.call('GET', path(id), { token: 'viewer' })).status).toBe(200);
    for (const [method, suffix] of [['GET', ''], ['DELETE', ''], ['POST', '/pause'], ['POST', '/trigger']] as const) {
      const res = await h.call(method, path(id, suffix), { token: 'outsider' });
      expect(res.status, `${method} ${suffix}`).toBe(403);
    }
    expect((await h.call('GET', `/schedules/${id}?namespace=elsewhere`, { token: 'outsider' })).status).toBe(404);
    expect((await h.call('PATCH', `/schedules/${id}?namespace=elsewhere`, { token: 'outsider', json: { note: 'mine' } })).status).toBe(404);
    expect((await h.call('GET', '/schedules', { token: 'outsider' })).body.items.map((s: { id: string }) => s.id)).not.toContain(id);
    expect((await h.call('POST', path(id, '/pause'), { token: 'viewer' })).status).toBe(403);
    expect((await h.call('GET', path(id), { token: 'admin' })).body).toMatchObject({ paused: false });
    await h.call('DELETE', path(id), { token: 'operator' });
  });

  it('refuses a fire, audited, once the principal lost the runbook allow-list role (a new runbook version); nothing starts', async () => {
    const { name, version } = await h.register(echoDay());
    const runbook = (v: string, role: string): string =>
      [
        'apiVersion: maestro/v1',
        'kind: Runbook',
        `metadata: { name: rb-${name}, version: ${v}, namespace: ${h.namespace}, allowList: { roles: [${role}] } }`,
        `spec: { workflowRef: ${name}@${version}, inputs: [{ name: day, type: string, required: true }] }`,
      ].join('\n');
    expect((await h.call('POST', '/runbooks', { yaml: runbook('1.0.0', 'operator') })).status).toBe(201);
    const id = newId();
    const created = await create({ id, runbook: `rb-${name}`, inputs: { day: '${schedule.time}' }, spec: { cron: ['0 3 * * *'] } });
    expect(created.status, created.text).toBe(201);
    expect((await h.call('POST', path(id, '/trigger'), { token: 'operator' })).status).toBe(202);
    const fired = await waitSchedule(id, (s) => s.recentRuns.some((r: { status: string }) => r.status === 'SUCCEEDED'));
    expect(fired.recentRuns).toHaveLength(1);
    expect((await h.call('POST', '/runbooks', { yaml: runbook('2.0.0', 'sre') })).status).toBe(201);
    // Fire times are whole seconds: a second trigger within the same second is the same fire.
    await new Promise((resolve) => setTimeout(resolve, 1_100));
    expect((await h.call('POST', path(id, '/trigger'), { token: 'operator' })).status).toBe(202);
    const audited = async () => (await h.call('GET', `/audit?runId=schedule:${h.namespace}:${id}`)).body.items as { result: string; reasons: string[]; details?: { runId?: string } }[];
    const deadline = Date.now() + 45_000;
    while (!(await audited()).some((r) => r.result === 'refused') && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 250));
    const refused = (await audited()).find((r) => r.result === 'refused');
    expect(refused?.reasons[0]).toContain('may be triggered by the roles sre');
    const schedule = await waitSchedule(id, (s) => s.recentRuns.length === 2);
    expect(schedule.recentRuns[0]).toMatchObject({ runId: refused?.details?.runId, status: 'NOT_STARTED' });
    expect((await h.call('GET', `/runs/${refused?.details?.runId}`)).status).toBe(404);
    // Creating one now is refused at once: the caller does not pass the allow-list.
    const again = await create({ id: newId(), runbook: `rb-${name}`, inputs: { day: 'x' }, spec: { cron: ['0 3 * * *'] } });
    expect(again.status).toBe(403);
    expect(again.body.code).toBe('RUNBOOK_NOT_ALLOWED');
    await h.call('DELETE', path(id), { token: 'operator' });
  });
});

describe('a fire started twice', () => {
  it('starts one run: the run id comes from (namespace, schedule, scheduled time), so a retried fire (a worker lost mid-fire) finds its run', async () => {
    const { name, version } = await h.register(echoDay());
    const store = await openStore({ dataDir: h.config.dataDir });
    try {
      const { fireSchedule } = createScheduleActivities({ client: h.client, store, auditLog: h.auditLog, taskQueue: h.config.taskQueue, runLimits: {}, payloadCodec: h.payloadCodec, catalog: builtinCatalog });
      const stored: StoredSchedule = {
        definition: { id: 'twice', namespace: h.namespace, workflowRef: `${name}@${version}`, params: { day: '${schedule.time}' }, spec: { cron: ['0 3 * * *'], intervals: [], timezone: 'UTC' }, overlap: 'skip', catchupWindow: '1m', paused: false, note: '' },
        principal: { subject: 'operator', roles: ['operator'], namespaces: [h.namespace] },
      };
      const scheduledTime = '2026-01-06T03:00:00.000Z';
      const [one, two] = [await fireSchedule({ stored, scheduledTime }), await fireSchedule({ stored, scheduledTime })];
      expect(one).toEqual({ runId: scheduledRunId(h.namespace, 'twice', scheduledTime), status: 'RUNNING' });
      expect(two).toMatchObject({ runId: scheduledRunId(h.namespace, 'twice', scheduledTime) });
      const runs = await h.call('GET', `/runs?workflowRef=${name}&namespace=${h.namespace}`);
      expect(runs.body.items.map((r: { runId: string }) => r.runId)).toEqual([scheduledRunId(h.namespace, 'twice', scheduledTime)]);
      await h.waitRun(scheduledRunId(h.namespace, 'twice', scheduledTime), ended);
    } finally {
      await store.close();
    }
  });
});

describe('create-or-replace and manifests (GitOps)', () => {
  const yaml = (id: string, workflowRef: string, cron: string, note = ''): string =>
    [
      'apiVersion: maestro/v1',
      'kind: Schedule',
      `metadata: { name: ${id}, namespace: ${h.namespace} }`,
      'spec:',
      `  workflowRef: ${workflowRef}`,
      '  params: { day: "${schedule.time}" }',
      `  schedule: { cron: ["${cron}"], timezone: Europe/Paris }`,
      ...(note ? [`  note: ${note}`] : []),
    ].join('\n');

  it('PUT answers created, then unchanged for the same definition and principal, then updated; POST of a taken id is 409', async () => {
    const { name, version } = await h.register(echoDay());
    const id = newId();
    const created = await h.call('PUT', path(id), { token: 'operator', yaml: yaml(id, `${name}@${version}`, '0 2 * * *') });
    expect(created.status, created.text).toBe(201);
    expect(created.body).toMatchObject({ outcome: 'created', spec: { cron: ['0 2 * * *'], timezone: 'Europe/Paris', intervals: [] }, overlap: 'skip' });
    const same = await h.call('PUT', path(id), { token: 'operator', yaml: yaml(id, `${name}@${version}`, '0 2 * * *') });
    expect(same.status).toBe(200);
    expect(same.body.outcome).toBe('unchanged');
    const asJson = await h.call('PUT', path(id), { token: 'operator', json: { workflowRef: `${name}@${version}`, params: { day: '${schedule.time}' }, spec: { cron: ['0 2 * * *'], timezone: 'Europe/Paris' }, overlap: 'skip' } });
    expect(asJson.body.outcome).toBe('unchanged');
    // The same definition written by someone else changes whom its runs act for.
    const byAdmin = await h.call('PUT', path(id), { token: 'admin', yaml: yaml(id, `${name}@${version}`, '0 2 * * *') });
    expect(byAdmin.body.outcome).toBe('updated');
    expect(byAdmin.body.actsFor).not.toBe(same.body.actsFor);
    const changed = await h.call('PUT', path(id), { token: 'operator', yaml: yaml(id, `${name}@${version}`, '30 2 * * *', 'later') });
    expect(changed.status).toBe(200);
    expect(changed.body).toMatchObject({ outcome: 'updated', note: 'later', spec: { cron: ['30 2 * * *'] } });
    const taken = await create({ id, workflowRef: `${name}@${version}`, params: { day: 'x' }, spec: { cron: ['0 3 * * *'] } });
    expect(taken.status).toBe(409);
    expect(taken.body.code).toBe('SCHEDULE_EXISTS');
    const patched = await h.call('PATCH', path(id), { token: 'operator', json: { note: 'patched', overlap: 'buffer-one' } });
    expect(patched.body).toMatchObject({ note: 'patched', overlap: 'buffer-one', spec: { cron: ['30 2 * * *'] } });
    const audit = await h.call('GET', `/audit?runId=schedule:${h.namespace}:${id}`);
    expect(audit.body.items.map((r: { result: string }) => r.result)).toEqual(['created', 'changed', 'changed', 'changed']);
    await h.call('DELETE', path(id), { token: 'operator' });
  });

  it('refuses what cannot fire: bad YAML (line and column), a cron Temporal cannot parse, a 500 ms interval, a long note, an unknown workflow, bad params, both targets', async () => {
    const { name, version } = await h.register(echoDay());
    const ref = `${name}@${version}`;
    const badYaml = await h.call('PUT', path('bad'), { token: 'operator', yaml: yaml('bad', ref, '0 2 * * *').replace('schedule: {', 'schedule: { every: 3,') });
    expect(badYaml.status).toBe(400);
    expect(badYaml.body.errors[0]).toMatchObject({ line: 7, column: 15, path: 'spec.schedule.every' });
    const cases: [Record<string, unknown>, string][] = [
      [{ workflowRef: ref, params: { day: 'x' }, spec: { cron: ['61 * * * *'] } }, 'spec'],
      [{ workflowRef: ref, params: { day: 'x' }, spec: { intervals: ['500ms'] } }, 'spec.intervals[0].every'],
      [{ workflowRef: ref, params: { day: 'x' }, spec: { cron: ['0 3 * * *'], timezone: 'Mars/Olympus' } }, 'spec.timezone'],
      [{ workflowRef: ref, params: { day: 'x' }, spec: { cron: ['0 3 * * *'] }, note: 'é'.repeat(600) }, 'note'],
      [{ workflowRef: ref, params: { day: '${schedule.' }, spec: { cron: ['0 3 * * *'] } }, 'params.day'],
      [{ workflowRef: ref, runbook: 'x', spec: { cron: ['0 3 * * *'] } }, ''],
      [{ workflowRef: ref, params: {}, spec: {} }, 'spec'],
    ];
    for (const [body, at] of cases) {
      const res = await create({ id: newId(), ...body });
      expect(res.status, JSON.stringify(body)).toBe(400);
      expect(res.body.errors?.[0]?.path, JSON.stringify(res.body)).toBe(at);
    }
    expect((await create({ id: newId(), workflowRef: `${name}@9.9.9`, spec: { cron: ['0 3 * * *'] } })).status).toBe(404);
    expect((await create({ id: newId(), workflowRef: ref, params: { day: 3 }, spec: { cron: ['0 3 * * *'] } })).body.code).toBe('PARAMS_INVALID');
    expect((await create({ id: newId(), workflowRef: ref, spec: { cron: Array.from({ length: 21 }, () => '0 3 * * *') } })).status).toBe(400);
  });
});

describe('maestro schedules', () => {
  it('creates from a kind: Schedule file, lists, shows, pauses, unpauses, fires, backfills and deletes through the API', async () => {
    const { name, version } = await h.register(echoDay());
    const id = newId();
    const dir = await mkdtemp(join(tmpdir(), 'maestro-schedules-'));
    const file = join(dir, 'nightly.yaml');
    await writeFile(
      file,
      [
        'apiVersion: maestro/v1',
        'kind: Schedule',
        `metadata: { name: ${id}, namespace: ${h.namespace} }`,
        'spec:',
        `  workflowRef: ${name}@${version}`,
        '  params: { day: "${schedule.time}" }',
        '  schedule: { cron: ["0 2 * * *"] }',
      ].join('\n'),
    );
    const ns = ['--namespace', h.namespace];
    const created = await h.cli('operator', 'schedules', 'create', '-f', file);
    expect(created, created.err).toMatchObject({ code: 0, out: expect.stringContaining(`${h.namespace}/${id}  active`) });
    expect((await h.cli('operator', 'schedules', 'create', '-f', file)).code).toBe(1);
    expect((await h.cli('viewer', 'schedules', 'list', ...ns)).out).toContain(`${h.namespace}/${id}  active  next `);
    expect((await h.cli('operator', 'schedules', 'pause', id, ...ns, '--reason', 'freeze')).out).toBe(`${h.namespace}/${id} paused`);
    expect((await h.cli('operator', 'schedules', 'unpause', id, ...ns)).out).toBe(`${h.namespace}/${id} active`);
    expect((await h.cli('operator', 'schedules', 'trigger', id, ...ns)).code).toBe(0);
    const day = Date.UTC(2026, 0, 5, 2);
    expect((await h.cli('operator', 'schedules', 'backfill', id, ...ns, '--from', new Date(day - 3_600_000).toISOString(), '--to', new Date(day + 3_600_000).toISOString())).code).toBe(0);
    const schedule = await waitSchedule(id, (s) => s.recentRuns.filter((r: { status: string }) => r.status === 'SUCCEEDED').length >= 2);
    expect(schedule.recentRuns.map((r: { scheduledTime: string }) => r.scheduledTime)).toContain(new Date(day).toISOString());
    const shown = await h.cli('viewer', 'schedules', 'get', id, ...ns);
    expect(shown.out).toContain(`${new Date(day).toISOString()}  SUCCEEDED   ${scheduledRunId(h.namespace, id, new Date(day).toISOString())}`);
    expect((await h.cli('operator', 'schedules', 'delete', id, ...ns)).code).toBe(0);
    expect((await h.cli('viewer', 'schedules', 'get', id, ...ns)).code).toBe(2);
    await writeFile(file, 'apiVersion: maestro/v1\nkind: Schedule\nmetadata: { name: x }\nspec: { schedule: { crons: [] } }\n');
    const invalid = await h.cli('operator', 'schedules', 'create', '-f', file);
    expect(invalid.code).toBe(2);
    expect(invalid.err).toContain(`${file}:4:`);
    await rm(dir, { recursive: true, force: true });
  });
});
