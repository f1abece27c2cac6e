/**
 * Waiting for a signal (`ops/wait.signal`, `POST /runs/{runId}/signals`) and pausing a run
 * (`POST /runs/{runId}/pause|resume`), through the real API, worker and Temporal; the CLI commands
 * against the same API; and what anyone who can reach Temporal can (not) do with a raw client.
 */
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { sendSignal } from '../../src/client/index.js';
import type { SignalRequest } from '../../src/ir/index.js';
import { generateSigningKey, loadApprovalKey, signSignal } from '../../src/provenance/index.js';
import { manifest, startHarness, type Harness } from './harness.js';

let h: Harness;
beforeAll(async () => {
  h = await startHarness();
});
afterAll(() => h.close());

const byId = (run: { tasks: { id: string }[] }, id: string): any => run.tasks.find((task) => task.id === id); // eslint-disable-line @typescript-eslint/no-explicit-any -- tests read fields freely
const ended = (run: { status: string }): boolean => ['SUCCEEDED', 'FAILED', 'CANCELLED'].includes(run.status);

/** wait (for `release`, whose payload needs a string `version`) → ship, which reads the payload. */
const RELEASE = [
  '    - id: wait',
  '      uses: ops/wait.signal@0.1.0',
  '      with:',
  '        name: release',
  '        timeout: TIMEOUT',
  '        schema: { type: object, required: [version], properties: { version: { type: string } } }',
  '    - id: ship',
  '      uses: tasks/transform.map@0.1.0',
  '      needs: [wait]',
  '      with: { rows: ["${tasks.wait.outputs.version}"], expression: "$" }',
].join('\n');

/** Registers RELEASE with `timeout` and starts it; resolves once the wait is WAITING. */
async function startRelease(timeout = '2m'): Promise<string> {
  const { name, version } = await h.register(manifest(RELEASE.replace('TIMEOUT', timeout)));
  const started = await h.call('POST', '/runs', { token: 'operator', json: { workflowRef: `${name}@${version}`, namespace: h.namespace } });
  expect(started.status, started.text).toBe(201);
  const runId = started.body.runId as string;
  await h.waitRun(runId, (run) => byId(run, 'wait')?.status === 'WAITING');
  return runId;
}

const signal = (runId: string, json: unknown, token: 'operator' | 'viewer' | 'outsider' = 'operator') => h.call('POST', `/runs/${runId}/signals`, { token, json });

describe('ops/wait.signal', () => {
  it('compiles to irVersion 3, shows WAITING and what it waits for, refuses an invalid payload (400) and takes a valid one as its output', async () => {
    const runId = await startRelease();
    const waiting = await h.call('GET', `/runs/${runId}`, { token: 'viewer' });
    expect(waiting.body.status).toBe('WAITING');
    expect(byId(waiting.body, 'wait')).toMatchObject({ status: 'WAITING', signal: { name: 'release', schema: { required: ['version'] } } });

    const invalid = await signal(runId, { name: 'release', payload: { version: 3 } });
    expect(invalid.status, invalid.text).toBe(400);
    expect(invalid.type).toBe('application/problem+json');
    expect(invalid.body).toMatchObject({ code: 'SIGNAL_PAYLOAD_INVALID', detail: expect.stringContaining('task "wait": payload does not match the schema: version: must be string') });
    const tooDeep = await signal(runId, { name: 'release', payload: { version: '1', deep: JSON.parse(`${'['.repeat(40)}${']'.repeat(40)}`) } });
    expect(tooDeep.body).toMatchObject({ code: 'SIGNAL_PAYLOAD_INVALID', detail: expect.stringContaining('deeper than 32 levels') });
    const unknown = await signal(runId, { name: 'deploy', payload: {} });
    expect(unknown.status).toBe(409);
    expect(unknown.body.code).toBe('SIGNAL_NOT_AWAITED');
    expect(byId((await h.call('GET', `/runs/${runId}`, { token: 'viewer' })).body, 'wait').status).toBe('WAITING');

    const valid = await signal(runId, { name: 'release', payload: { version: '1.2.3', notes: ['fast'] } });
    expect(valid.status, valid.text).toBe(200);
    expect(valid.body).toEqual({ runId, name: 'release', taskIds: ['wait'] });
    const run = await h.waitRun(runId, ended);
    expect(run.status).toBe('SUCCEEDED');
    expect(byId(run, 'wait').outputs).toEqual({ version: '1.2.3', notes: ['fast'] });
    expect(byId(run, 'ship').outputs).toEqual({ rows: ['1.2.3'] });
    const late = await signal(runId, { name: 'release', payload: { version: '1.2.4' } });
    expect(late.status).toBe(409);
    expect(late.body.code).toBe('CONFLICT');

    const audit = await h.auditLog.list({ runId });
    expect(audit.filter((record) => record.kind === 'signal').map((record) => [record.actor, record.result, record.details])).toEqual([['operator', 'signal', { name: 'release' }]]);
    const workflow = await h.call('GET', `/workflows/${run.workflowRef.split('@')[0]}/versions/1.0.0?namespace=${h.namespace}`, { token: 'viewer' });
    expect(workflow.body.ir.irVersion).toBe(3);
  });

  it('delivers a signal to every task waiting for its name, once the payload matches each schema', async () => {
    const { name, version } = await h.register(
      manifest(
        [
          '    - { id: left, uses: ops/wait.signal@0.1.0, with: { name: go, timeout: 2m, schema: { required: [a] } } }',
          '    - { id: right, uses: ops/wait.signal@0.1.0, with: { name: go, timeout: 2m, schema: { required: [b] } } }',
        ].join('\n'),
      ),
    );
    const started = await h.call('POST', '/runs', { token: 'operator', json: { workflowRef: `${name}@${version}`, namespace: h.namespace } });
    const runId = started.body.runId as string;
    await h.waitRun(runId, (run) => byId(run, 'left')?.status === 'WAITING' && byId(run, 'right')?.status === 'WAITING');
    const half = await signal(runId, { name: 'go', payload: { a: 1 } });
    expect(half.status).toBe(400);
    expect(half.body.detail).toContain('task "right": payload does not match the schema: b: is required');
    const both = await signal(runId, { name: 'go', payload: { a: 1, b: 2 } });
    expect(both.body.taskIds.sort()).toEqual(['left', 'right']);
    const run = await h.waitRun(runId, ended);
    expect([run.status, byId(run, 'left').outputs, byId(run, 'right').outputs]).toEqual(['SUCCEEDED', { a: 1, b: 2 }, { a: 1, b: 2 }]);
  });

  it('fails the task with TIMEOUT when no signal arrives in time', async () => {
    const runId = await startRelease('1s');
    const run = await h.waitRun(runId, ended, 30_000);
    expect(run.status).toBe('FAILED');
    expect(byId(run, 'wait')).toMatchObject({ status: 'FAILED', error: { code: 'TIMEOUT', message: 'no signal "release" within 1s' } });
    expect(byId(run, 'ship').status).toBe('SKIPPED');
  });

  it('refuses a signal sent straight to Temporal without the API\'s proof, with a forged one, or with a payload changed after signing; the task keeps waiting', async () => {
    const runId = await startRelease();
    const forged: SignalRequest = { name: 'release', payload: { version: 'evil' }, sender: 'mallory' };
    // What anyone who can reach the Temporal frontend can send: no proof at all.
    await expect(sendSignal(h.client, runId, forged)).rejects.toMatchObject({ code: 'FORBIDDEN', message: expect.stringMatching(/no proof that the API authenticated/) });
    // A proof made with a key of the attacker's own.
    await expect(sendSignal(h.client, runId, signSignal(generateSigningKey('ed25519'), runId, forged))).rejects.toMatchObject({
      code: 'FORBIDDEN',
      message: expect.stringMatching(/proof does not match/),
    });
    // A genuine proof (as the API signs), its payload replaced afterwards.
    const key = await loadApprovalKey(h.config);
    const genuine = signSignal(key, runId, { name: 'release', payload: { version: '1.0.0' }, sender: 'operator' });
    await expect(sendSignal(h.client, runId, { ...genuine, payload: { version: 'evil' } })).rejects.toMatchObject({ code: 'FORBIDDEN', message: expect.stringMatching(/proof does not match/) });
    // Signed, but a payload the API would have refused: the worker checks the schema again.
    await expect(sendSignal(h.client, runId, signSignal(key, runId, { name: 'release', payload: { version: 7 }, sender: 'operator' }))).rejects.toMatchObject({
      code: 'SIGNAL_PAYLOAD_INVALID',
      message: expect.stringContaining('version: must be string'),
    });
    const run = await h.call('GET', `/runs/${runId}`, { token: 'viewer' });
    expect(run.body.status).toBe('WAITING');
    expect(byId(run.body, 'wait').outputs).toBeUndefined();
    expect((await h.call('POST', `/runs/${runId}/cancel`, { token: 'operator' })).status).toBe(202);
    await h.waitRun(runId, ended);
  });

  it('refuses a schema written as an expression, with its line, column and path', async () => {
    const bad = await h.call('POST', '/workflows', { yaml: manifest(RELEASE.replace('TIMEOUT', '1m').replace('{ type: object, required: [version], properties: { version: { type: string } } }', '"${params.schema}"'), { parameters: '    - { name: schema, type: object }' }) });
    expect(bad.status).toBe(400);
    expect(bad.body.errors).toEqual([{ path: 'spec.tasks[0].with.schema', line: 16, column: 17, message: 'must be a JSON Schema object written out in the manifest, without ${...}' }]);
  });
});

/** a (a short durable timer) → b, which must wait for a resume when the run is paused while a runs. */
const TWO_STEPS = ['    - { id: a, uses: tasks/wait.sleep@0.1.0, with: { duration: DURATION } }', '    - { id: b, uses: tasks/transform.map@0.1.0, needs: [a], with: { rows: [1], expression: "$" } }'].join('\n');

async function startTwoSteps(duration: string): Promise<string> {
  const { name, version } = await h.register(manifest(TWO_STEPS.replace('DURATION', duration)));
  const started = await h.call('POST', '/runs', { token: 'operator', json: { workflowRef: `${name}@${version}`, namespace: h.namespace } });
  expect(started.status, started.text).toBe(201);
  const runId = started.body.runId as string;
  await h.waitRun(runId, (run) => byId(run, 'a')?.status === 'RUNNING');
  return runId;
}

describe('pause and resume', () => {
  it('holds back the next task while the one in flight finishes, shows PAUSED (also in list filters), then resumes to success', async () => {
    const runId = await startTwoSteps('1500ms');
    // Resuming a run that is not paused changes nothing.
    expect((await h.call('POST', `/runs/${runId}/resume`, { token: 'operator' })).body).toEqual({ runId, status: 'RUNNING' });
    const paused = await h.call('POST', `/runs/${runId}/pause`, { token: 'operator', json: { reason: 'change freeze' } });
    expect(paused.status, paused.text).toBe(200);
    expect(paused.body).toEqual({ runId, status: 'PAUSED' });
    expect((await h.call('POST', `/runs/${runId}/pause`, { token: 'operator' })).body).toEqual({ runId, status: 'PAUSED' });
    // The timer in flight runs out; b does not start.
    const held = await h.waitRun(runId, (run) => byId(run, 'a')?.status === 'SUCCEEDED', 30_000);
    await new Promise((resolve) => setTimeout(resolve, 1_000));
    const still = await h.call('GET', `/runs/${runId}`, { token: 'viewer' });
    expect(held.status).toBe('PAUSED');
    expect(still.body.status).toBe('PAUSED');
    expect(byId(still.body, 'b')).toMatchObject({ status: 'PENDING', attempts: 0 });
    await expect
      .poll(async () => (await h.call('GET', `/runs?namespace=${h.namespace}&status=PAUSED`, { token: 'viewer' })).body.items.map((r: { runId: string }) => r.runId), { timeout: 15_000 })
      .toContain(runId);

    const resumed = await h.call('POST', `/runs/${runId}/resume`, { token: 'operator' });
    expect(resumed.status, resumed.text).toBe(200);
    const run = await h.waitRun(runId, ended);
    expect(run.status).toBe('SUCCEEDED');
    expect(byId(run, 'b')).toMatchObject({ status: 'SUCCEEDED', outputs: { rows: [1] } });
    expect(Date.parse(byId(run, 'b').startedAt)).toBeGreaterThanOrEqual(Date.parse(byId(run, 'a').endedAt) + 1_000);
    const audit = await h.auditLog.list({ runId });
    expect(audit.filter((record) => record.kind === 'pause').map((record) => [record.result, record.reasons])).toEqual([
      ['resume', []],
      ['pause', ['change freeze']],
      ['pause', []],
      ['resume', []],
    ]);
    const over = await h.call('POST', `/runs/${runId}/pause`, { token: 'operator' });
    expect(over.status).toBe(409);
    expect(over.body.code).toBe('CONFLICT');
  });

  it('cancels a paused run', async () => {
    const runId = await startTwoSteps('200ms');
    expect((await h.call('POST', `/runs/${runId}/pause`, { token: 'operator' })).status).toBe(200);
    await h.waitRun(runId, (run) => byId(run, 'a')?.status === 'SUCCEEDED');
    expect((await h.call('POST', `/runs/${runId}/cancel`, { token: 'operator' })).status).toBe(202);
    const run = await h.waitRun(runId, ended);
    expect(run.status).toBe('CANCELLED');
    expect(byId(run, 'b')).toMatchObject({ status: 'CANCELLED', attempts: 0 });
  });

  it('refuses a viewer and an operator of another namespace (403), for signals, pause and resume', async () => {
    const runId = await startRelease();
    for (const token of ['viewer', 'outsider'] as const) {
      for (const [path, json] of [['signals', { name: 'release', payload: { version: '1' } }], ['pause', {}], ['resume', {}]] as const) {
        const response = await h.call('POST', `/runs/${runId}/${path}`, { token, json });
        expect(response.status, `${token} ${path}`).toBe(403);
      }
    }
    const run = await h.call('GET', `/runs/${runId}`, { token: 'viewer' });
    expect(run.body.status).toBe('WAITING');
    await h.call('POST', `/runs/${runId}/cancel`, { token: 'operator' });
    await h.waitRun(runId, ended);
  });
});

describe('the CLI', () => {
  it('maestro runs pause, resume and signal (JSON and @file)', async () => {
    const { name, version } = await h.register(
      manifest(
        [
          '    - { id: first, uses: ops/wait.signal@0.1.0, with: { name: go, timeout: 2m } }',
          '    - { id: second, uses: ops/wait.signal@0.1.0, needs: [first], with: { name: go, timeout: 2m, schema: { type: object, required: [n] } } }',
        ].join('\n'),
      ),
    );
    const started = await h.call('POST', '/runs', { token: 'operator', json: { workflowRef: `${name}@${version}`, namespace: h.namespace } });
    const runId = started.body.runId as string;
    await h.waitRun(runId, (run) => byId(run, 'first')?.status === 'WAITING');
    expect((await h.cli('viewer', 'runs', 'get', runId)).out).toContain('first WAITING for signal go');

    expect(await h.cli('operator', 'runs', 'pause', runId, '--reason', 'look first')).toMatchObject({ code: 0, out: `${runId} PAUSED` });
    expect(await h.cli('operator', 'runs', 'signal', runId, 'go', '--payload', '"any JSON"')).toMatchObject({ code: 0, out: `signal go taken by first of ${runId}` });
    expect((await h.cli('operator', 'runs', 'resume', runId)).out).toBe(`${runId} WAITING`);
    await h.waitRun(runId, (run) => byId(run, 'second')?.status === 'WAITING');
    const bad = await h.cli('operator', 'runs', 'signal', runId, 'go', '--payload', '{"m": 1}');
    expect(bad.code).toBe(2);
    expect(bad.err).toContain('task "second": payload does not match the schema: n: is required');
    const file = join(h.config.dataDir, 'payload.json');
    await writeFile(file, JSON.stringify({ n: 2 }));
    expect((await h.cli('operator', 'runs', 'signal', runId, 'go', '--payload', `@${file}`)).code).toBe(0);
    const run = await h.waitRun(runId, ended);
    expect(run.status).toBe('SUCCEEDED');
    expect([byId(run, 'first').outputs, byId(run, 'second').outputs]).toEqual(['any JSON', { n: 2 }]);
    expect((await h.cli('viewer', 'runs', 'pause', runId)).code).not.toBe(0);
  });
});
