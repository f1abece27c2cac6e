/**
 * `POST /tasks/secrets` through the real API: a remote task attempt's grant resolves the secrets
 * of its run's namespace, under that namespace's scopes and host bindings, and nothing else — a
 * grant used for another namespace's secret, an expired, forged or foreign-key grant, a caller
 * without the `worker` role or without the grant's namespace, a secret bound to another host, and
 * a grant of a run that is not running are each refused with problem+json. End to end, the
 * stand-in remote worker resolves a secret with the grant its attempt carried, and the value is
 * neither in the task log nor in the history.
 */
import { randomBytes, randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { payloadKeys } from '../../src/codec/index.js';
import { mintTaskGrant, taskGrantKeys, type TaskGrantClaims } from '../../src/secrets/index.js';
import { REMOTE_TASKS, startRemoteTaskWorker, type RemoteTaskWorker } from '../peers/remote-task-worker.js';
import { manifest, startHarness, type Harness } from './harness.js';

const WORKER = `worker-token-${randomUUID()}`;
const ELSEWHERE_WORKER = `worker-elsewhere-${randomUUID()}`;
const VALUES = { TEAM: `team-${randomUUID()}`, OTHER: `other-${randomUUID()}`, BOUND: `bound-${randomUUID()}` };
const saved = { ...process.env };
let h: Harness;
let key: Buffer;
let remote: RemoteTaskWorker;
const taskQueue = `maestro-py-${randomUUID().slice(0, 8)}`;
/** A run of this namespace kept running while the route's tests use grants of it. */
let runningId: string;

beforeAll(async () => {
  process.env.MAESTRO_SECRET_GRANT_TEAM = VALUES.TEAM;
  process.env.MAESTRO_SECRET_GRANT_OTHER = VALUES.OTHER;
  process.env.MAESTRO_SECRET_GRANT_BOUND = VALUES.BOUND;
  h = await startHarness({
    config: (namespace) => ({
      secrets: {
        'grant-team': { namespaces: [namespace] },
        'grant-other': { namespaces: ['elsewhere'] },
        'grant-bound': { namespaces: [namespace], hosts: ['api.example.com'] },
        'grant-missing': { namespaces: [namespace] },
      },
    }),
    tokens: [
      { name: 'py-worker', token: WORKER, roles: ['worker'], namespaces: ['*'] },
      { name: 'py-worker-elsewhere', token: ELSEWHERE_WORKER, roles: ['worker'], namespaces: ['elsewhere'] },
    ],
  });
  [key] = taskGrantKeys(h.config.taskGrantKey, payloadKeys(h.config)) as [Buffer];
  remote = await startRemoteTaskWorker({ temporalAddress: inject('temporalAddress'), taskQueue, payloadCodec: h.payloadCodec, apiUrl: h.api.url, workerToken: WORKER });
  for (const task of REMOTE_TASKS) {
    const res = await h.call('POST', '/tasks', { token: 'operator', json: { ...task, namespace: h.namespace, taskQueue, timeoutMs: 60_000 } });
    expect(res.status, res.text).toBe(201);
  }
  const { name, version } = await h.register(manifest('    - { id: nap, uses: py/slow@^0.1, with: { ms: 120000 } }'));
  const res = await h.call('POST', '/runs', { token: 'operator', json: { workflowRef: `${name}@${version}`, namespace: h.namespace } });
  expect(res.status, res.text).toBe(201);
  runningId = res.body.runId as string;
}, 120_000);
afterAll(async () => {
  if (runningId !== undefined) await h.call('POST', `/runs/${runningId}/cancel`, { token: 'operator' });
  await remote?.stop();
  await h?.close();
  process.env = saved;
});

const claims = (over: Partial<TaskGrantClaims> = {}): TaskGrantClaims => ({ runId: runningId, taskId: 'fetch', attempt: 1, namespace: h.namespace, task: 'py/secret@0.1.0', exp: Date.now() + 60_000, ...over });
const ask = (grant: string, name: string, extra: { host?: string; bearer?: string } = {}) =>
  h.call('POST', '/tasks/secrets', { bearer: extra.bearer ?? WORKER, json: { grant, name, ...(extra.host === undefined ? {} : { host: extra.host }) } });

describe('POST /tasks/secrets', () => {
  it('resolves a secret of the grant’s namespace, and audits it without the value', async () => {
    const grant = claims({ taskId: 'first' });
    const res = await ask(mintTaskGrant(key, grant), 'grant-team');
    expect(res.status, res.text).toBe(200);
    expect(res.body).toEqual({ value: VALUES.TEAM });
    const audit = await h.call('GET', `/audit?runId=${grant.runId}&kind=secret`, { token: 'admin' });
    expect(audit.status, audit.text).toBe(200);
    expect(audit.body.items.filter((r: { taskId?: string }) => r.taskId === 'first')).toEqual([expect.objectContaining({ kind: 'secret', result: 'allow', actor: 'py-worker', namespace: h.namespace, taskId: 'first', details: expect.objectContaining({ secret: 'grant-team', task: 'py/secret@0.1.0' }) })]);
    expect(audit.text).not.toContain(VALUES.TEAM);
  });

  it('refuses a secret another namespace may use with 403 SECRET_FORBIDDEN, and audits the refusal', async () => {
    const grant = claims({ taskId: 'second' });
    const res = await ask(mintTaskGrant(key, grant), 'grant-other');
    expect(res.status).toBe(403);
    expect(res.type).toContain('application/problem+json');
    expect(res.body).toMatchObject({ code: 'SECRET_FORBIDDEN' });
    expect(res.text).not.toContain(VALUES.OTHER);
    const audit = await h.call('GET', `/audit?runId=${grant.runId}&kind=secret`, { token: 'admin' });
    expect(audit.body.items.filter((r: { taskId?: string }) => r.taskId === 'second')).toEqual([expect.objectContaining({ kind: 'secret', result: 'deny' })]);
  });

  it('refuses a worker whose token is for namespace "elsewhere" a grant of this namespace', async () => {
    const res = await ask(mintTaskGrant(key, claims()), 'grant-team', { bearer: ELSEWHERE_WORKER });
    expect(res.status).toBe(403);
    expect(res.body).toMatchObject({ code: 'FORBIDDEN' });
    expect(res.text).not.toContain(VALUES.TEAM);
  });

  it('refuses an expired grant, and one of a run that is not running (or not in its namespace), with 401 GRANT_EXPIRED', async () => {
    for (const grant of [claims({ exp: Date.now() - 1 }), claims({ runId: `run-${randomUUID()}` }), claims({ namespace: 'elsewhere' })]) {
      const res = await ask(mintTaskGrant(key, grant), 'grant-other');
      expect(res.status, JSON.stringify(grant)).toBe(401);
      expect(res.body).toMatchObject({ code: 'GRANT_EXPIRED' });
    }
  });

  it('refuses a modified, forged or foreign-key grant with 401 GRANT_INVALID', async () => {
    const [version, , mac] = mintTaskGrant(key, claims()).split('.') as [string, string, string];
    const widened = Buffer.from(JSON.stringify(claims({ namespace: 'elsewhere' }))).toString('base64url');
    for (const grant of [`${version}.${widened}.${mac}`, mintTaskGrant(randomBytes(32), claims()), 'g1.e30.AAAA', 'not-a-grant']) {
      const res = await ask(grant, 'grant-team');
      expect(res.status, grant).toBe(401);
      expect(res.body).toMatchObject({ code: 'GRANT_INVALID' });
    }
    expect((await ask('x'.repeat(5000), 'grant-team')).status).toBe(400);
  });

  it('refuses callers without the worker role: none, an operator, an admin-free viewer', async () => {
    const grant = mintTaskGrant(key, claims());
    expect((await h.call('POST', '/tasks/secrets', { token: null, json: { grant, name: 'grant-team' } })).status).toBe(401);
    for (const token of ['operator', 'viewer'] as const) {
      const res = await h.call('POST', '/tasks/secrets', { token, json: { grant, name: 'grant-team' } });
      expect(res.status).toBe(403);
      expect(res.text).not.toContain(VALUES.TEAM);
    }
  });

  it('sends a host-bound secret only to its host: another host or none is 403 SECRET_FORBIDDEN', async () => {
    const grant = mintTaskGrant(key, claims());
    expect((await ask(grant, 'grant-bound', { host: 'api.example.com' })).body).toEqual({ value: VALUES.BOUND });
    for (const host of ['evil.example.net', undefined]) {
      const res = await ask(grant, 'grant-bound', host === undefined ? {} : { host });
      expect(res.status).toBe(403);
      expect(res.body).toMatchObject({ code: 'SECRET_FORBIDDEN' });
    }
  });

  it('says 404 SECRET_NOT_FOUND for a secret the namespace may use that is not set', async () => {
    const res = await ask(mintTaskGrant(key, claims()), 'grant-missing');
    expect(res.status).toBe(404);
    expect(res.body).toMatchObject({ code: 'SECRET_NOT_FOUND' });
  });
});

describe('a remote task resolving its secret with its grant', () => {
  it('gets the value through the stand-in worker; the value is in neither the task log nor the history', async () => {
    const { name, version } = await h.register(manifest('    - { id: fetch, uses: py/secret@^0.1, with: { name: grant-team } }'));
    const res = await h.call('POST', '/runs', { token: 'operator', json: { workflowRef: `${name}@${version}`, namespace: h.namespace } });
    expect(res.status, res.text).toBe(201);
    const runId = res.body.runId as string;
    const run = await h.waitRun(runId, (r) => r.status !== 'RUNNING' && r.status !== 'PENDING', 60_000);
    expect(run.status, JSON.stringify(run.tasks)).toBe('SUCCEEDED');
    expect(run.tasks[0]).toMatchObject({ id: 'fetch', outputs: { length: VALUES.TEAM.length } });
    const logs = await h.call('GET', `/runs/${runId}/logs`, { token: 'operator' });
    expect(logs.text).toContain('resolved secret grant-team');
    expect(logs.text).not.toContain(VALUES.TEAM);
    const history = await h.decodedHistory(runId);
    expect(history).toContain('"grant":"g1.');
    expect(history).not.toContain(VALUES.TEAM);
    const audit = await h.call('GET', `/audit?runId=${runId}&kind=secret`, { token: 'auditor' });
    expect(audit.body.items).toContainEqual(expect.objectContaining({ kind: 'secret', result: 'allow', taskId: 'fetch' }));
    // The run has ended: its grant, though not expired, resolves nothing more.
    const late = await ask(mintTaskGrant(key, claims({ runId, taskId: 'fetch' })), 'grant-team');
    expect(late.status).toBe(401);
    expect(late.body).toMatchObject({ code: 'GRANT_EXPIRED' });
  }, 90_000);

  it('is refused a secret of another namespace, and the run fails with SECRET_FORBIDDEN', async () => {
    const { name, version } = await h.register(manifest('    - { id: steal, uses: py/secret@^0.1, with: { name: grant-other } }'));
    const res = await h.call('POST', '/runs', { token: 'operator', json: { workflowRef: `${name}@${version}`, namespace: h.namespace } });
    const run = await h.waitRun(res.body.runId as string, (r) => r.status === 'FAILED' || r.status === 'SUCCEEDED', 60_000);
    expect(run.status).toBe('FAILED');
    expect(run.tasks[0].error).toMatchObject({ code: 'SECRET_FORBIDDEN' });
  }, 90_000);
});
