/**
 * `spec.finally` and compensations (saga) through the real API, worker and Temporal: finally tasks
 * after success, failure, cancellation and the run timeout; `finallyFailsRun`; the compensations of
 * a 4-step saga failing at step 4, in reverse order, each its own task in state, logs and receipt;
 * compensation on cancel; manifest errors located by line, column and path.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CHATTY_TASK_MODULE, manifest, startHarness, type Harness } from './harness.js';

let h: Harness;
beforeAll(async () => {
  h = await startHarness({ config: { taskModules: [CHATTY_TASK_MODULE] } });
});
afterAll(() => h.close());

const byId = (run: { tasks: { id: string }[] }, id: string): any => run.tasks.find((task) => task.id === id); // eslint-disable-line @typescript-eslint/no-explicit-any -- tests read fields freely
const ended = (run: { status: string }): boolean => ['SUCCEEDED', 'FAILED', 'CANCELLED'].includes(run.status);

/** A finally task that reports what it sees of the run. */
const REPORT = ['  finally:', '    - { id: report, uses: tasks/transform.map@0.1.0, with: { rows: ["${run.status}", "${size(run.failedTasks) == 0 ? \'none\' : run.failedTasks[0]}"], expression: "$" } }'].join('\n');

/** Registers `tasks` (+ `extra` spec lines after them) and starts a run; returns its id. */
async function start(tasks: string, extra = '', spec = ''): Promise<string> {
  const yaml = manifest(`${tasks}\n${extra}`).replace('  tasks:', `${spec}  tasks:`);
  const { name, version } = await h.register(yaml);
  const started = await h.call('POST', '/runs', { token: 'operator', json: { workflowRef: `${name}@${version}`, namespace: h.namespace } });
  expect(started.status, started.text).toBe(201);
  return started.body.runId as string;
}

/** A task's byproduct in the run's signed receipt (written as the run ends). */
async function receiptTask(runId: string, taskId: string): Promise<any> { // eslint-disable-line @typescript-eslint/no-explicit-any -- tests read fields freely
  let receipt = await h.call('GET', `/runs/${runId}/receipt`);
  for (let i = 0; receipt.status === 404 && i < 50; i += 1) {
    await new Promise((resolve) => setTimeout(resolve, 100));
    receipt = await h.call('GET', `/runs/${runId}/receipt`);
  }
  expect(receipt.status, receipt.text).toBe(200);
  const statement = JSON.parse(Buffer.from(receipt.body.dsseEnvelope.payload, 'base64').toString());
  return statement.predicate.runDetails.byproducts.find((b: { name: string }) => b.name === `task/${taskId}`);
}

const FAILING = '    - { id: verify, uses: tasks/schema.validate@0.1.0, with: { schema: { const: true }, data: false } }';
const SLOW = '    - { id: slow, uses: tasks/wait.sleep@0.1.0, with: { duration: 1h } }';

describe('spec.finally', () => {
  it('runs after success, sees run.status SUCCEEDED, and the run succeeds', async () => {
    const runId = await start('    - { id: work, uses: tasks/wait.sleep@0.1.0, with: { duration: 10ms } }', REPORT);
    const run = await h.waitRun(runId, ended);
    expect(run.status).toBe('SUCCEEDED');
    expect(byId(run, 'report')).toMatchObject({ status: 'SUCCEEDED', outputs: { rows: ['SUCCEEDED', 'none'] } });
    // The receipt recomputes its input, run.status included, from what the run kept.
    expect((await receiptTask(runId, 'report')).annotations).toMatchObject({ status: 'SUCCEEDED', inputDigest: expect.stringMatching(/^sha256:/) });
  });

  it('runs after a failure, sees the failed tasks, and the run still fails', async () => {
    const run = await h.waitRun(await start(FAILING, REPORT), ended);
    expect(run).toMatchObject({ status: 'FAILED', error: { code: 'TASK_FAILED' } });
    expect(byId(run, 'report')).toMatchObject({ status: 'SUCCEEDED', outputs: { rows: ['FAILED', 'verify'] } });
  });

  it('runs after a cancel, and the run ends CANCELLED', async () => {
    const runId = await start(SLOW, REPORT);
    await h.waitRun(runId, (r) => byId(r, 'slow')?.status === 'RUNNING');
    expect((await h.call('POST', `/runs/${runId}/cancel`, { token: 'operator' })).status).toBe(202);
    const run = await h.waitRun(runId, ended, 30_000);
    expect(run.status).toBe('CANCELLED');
    expect(byId(run, 'slow')).toMatchObject({ status: 'CANCELLED', error: { code: 'RUN_CANCELLED' } });
    expect(byId(run, 'report')).toMatchObject({ status: 'SUCCEEDED', outputs: { rows: ['CANCELLED', 'none'] } });
  });

  it('runs after the run timeout, and the run fails with RUN_TIMEOUT', async () => {
    const run = await h.waitRun(await start(SLOW, REPORT, '  timeout: 2s\n'), ended, 30_000);
    expect(run).toMatchObject({ status: 'FAILED', error: { code: 'RUN_TIMEOUT' } });
    expect(byId(run, 'slow')).toMatchObject({ status: 'CANCELLED', error: { code: 'RUN_TIMEOUT' } });
    expect(byId(run, 'report')).toMatchObject({ status: 'SUCCEEDED', outputs: { rows: ['FAILED', 'none'] } });
  });

  it('reports a failed finally task without failing the run, unless finallyFailsRun', async () => {
    const tasks = '    - { id: work, uses: tasks/wait.sleep@0.1.0, with: { duration: 10ms } }';
    const finallyFails = ['  finally:', FAILING].join('\n');
    const lenient = await h.waitRun(await start(tasks, finallyFails), ended);
    expect(lenient.status).toBe('SUCCEEDED');
    expect(byId(lenient, 'verify')).toMatchObject({ status: 'FAILED' });
    const strict = await h.waitRun(await start(tasks, finallyFails, '  finallyFailsRun: true\n'), ended);
    expect(strict).toMatchObject({ status: 'FAILED', error: { message: expect.stringContaining('finally task "verify" failed') } });
  });

  it('waits for a finally approval gate after a cancel, shows WAITING, and ends CANCELLED once it is decided', async () => {
    const runId = await start(SLOW, ['  finally:', '    - { id: confirm, uses: ops/approval.gate@0.1.0, with: { approvers: [sre], message: "run ${run.status}: restored?" } }'].join('\n'));
    await h.waitRun(runId, (r) => byId(r, 'slow')?.status === 'RUNNING');
    expect((await h.call('POST', `/runs/${runId}/cancel`, { token: 'operator' })).status).toBe(202);
    await h.waitRun(runId, (r) => byId(r, 'confirm')?.status === 'WAITING');
    const approved = await h.call('POST', `/runs/${runId}/approvals`, { token: 'sre', json: { taskId: 'confirm', decision: 'approve' } });
    expect(approved.status, approved.text).toBe(200);
    const run = await h.waitRun(runId, ended, 30_000);
    expect(run.status).toBe('CANCELLED');
    expect(byId(run, 'confirm')).toMatchObject({ status: 'SUCCEEDED', approvals: [{ decision: 'approve' }] });
  });

  it('cancels finally tasks still running when their grace period ends', async () => {
    const run = await h.waitRun(await start('    - { id: work, uses: tasks/wait.sleep@0.1.0, with: { duration: 10ms } }', ['  finally:', SLOW].join('\n'), '  finallyTimeout: 1s\n'), ended, 30_000);
    expect(run.status).toBe('SUCCEEDED');
    expect(byId(run, 'slow')).toMatchObject({ status: 'CANCELLED', error: { code: 'FINALLY_TIMEOUT' } });
  });
});

/** s1 → s2 → s3 → s4, each undone by a chatty task logging as many lines as its step's number; s4 fails. */
const SAGA = [1, 2, 3, 4]
  .map((i) =>
    [
      `    - id: s${i}`,
      i === 4 ? '      uses: tasks/schema.validate@0.1.0' : '      uses: tasks/transform.map@0.1.0',
      ...(i === 1 ? [] : [`      needs: [s${i - 1}]`]),
      i === 4 ? '      with: { schema: { const: true }, data: false }' : `      with: { rows: [${i}], expression: "$" }`,
      `      compensate: { uses: tests/chatty@0.1.0, with: { lines: "\${tasks.s${i}.outputs.rows[0]}" } }`,
    ].join('\n'),
  )
  .join('\n');

describe('compensations', () => {
  it('undo steps 3, 2, 1 in that order when step 4 fails, each its own task in state, logs and receipt', async () => {
    const runId = await start(SAGA);
    const run = await h.waitRun(runId, ended, 30_000);
    expect(run).toMatchObject({ status: 'FAILED', error: { message: expect.stringContaining('task "s4" failed') } });
    expect(run.tasks.map((task: { id: string; status: string }) => `${task.id} ${task.status}`)).toEqual([
      's1 SUCCEEDED',
      's2 SUCCEEDED',
      's3 SUCCEEDED',
      's4 FAILED',
      's1.compensate SUCCEEDED',
      's2.compensate SUCCEEDED',
      's3.compensate SUCCEEDED',
      's4.compensate SKIPPED',
    ]);
    expect(byId(run, 's2.compensate').outputs).toEqual({ lines: 2 });
    expect(byId(run, 's4.compensate').error).toMatchObject({ code: 'NOT_COMPENSATED' });
    // One at a time, latest first.
    const [c3, c2, c1] = ['s3', 's2', 's1'].map((id) => byId(run, `${id}.compensate`));
    expect(Date.parse(c3.endedAt)).toBeLessThanOrEqual(Date.parse(c2.startedAt));
    expect(Date.parse(c2.endedAt)).toBeLessThanOrEqual(Date.parse(c1.startedAt));
    const logs = await h.call('GET', `/runs/${runId}/logs`);
    expect(logs.status, logs.text).toBe(200);
    const order = (logs.body.items as { taskId: string }[]).map((entry) => entry.taskId).filter((id, i, all) => all.indexOf(id) === i);
    expect(order).toEqual(['s3.compensate', 's2.compensate', 's1.compensate']);
    expect((await receiptTask(runId, 's3.compensate')).annotations).toMatchObject({ id: 's3.compensate', uses: 'tests/chatty@0.1.0', status: 'SUCCEEDED', inputDigest: expect.stringMatching(/^sha256:/) });
  });

  it('undo the steps that succeeded when the run is cancelled, then the run ends CANCELLED', async () => {
    const runId = await start(
      [
        '    - { id: reserve, uses: tasks/transform.map@0.1.0, with: { rows: [7], expression: "$" }, compensate: { uses: tests/chatty@0.1.0, with: { lines: 1 } } }',
        '    - { id: slow, uses: tasks/wait.sleep@0.1.0, needs: [reserve], with: { duration: 1h }, compensate: { uses: tests/chatty@0.1.0, with: { lines: 1 } } }',
      ].join('\n'),
    );
    await h.waitRun(runId, (r) => byId(r, 'slow')?.status === 'RUNNING');
    expect((await h.call('POST', `/runs/${runId}/cancel`, { token: 'operator' })).status).toBe(202);
    const run = await h.waitRun(runId, ended, 30_000);
    expect(run.status).toBe('CANCELLED');
    expect(byId(run, 'reserve.compensate')).toMatchObject({ status: 'SUCCEEDED', outputs: { lines: 1 } });
    expect(byId(run, 'slow.compensate')).toMatchObject({ status: 'SKIPPED', error: { code: 'NOT_COMPENSATED' } });
  });

  it('a retry from failed runs again the steps that were undone, and keeps those never compensated', async () => {
    const runId = await start(
      [
        '    - { id: plain, uses: tasks/transform.map@0.1.0, with: { rows: [1], expression: "$" } }',
        '    - { id: undone, uses: tasks/transform.map@0.1.0, needs: [plain], with: { rows: [2], expression: "$" }, compensate: { uses: tests/chatty@0.1.0, with: { lines: 0 } } }',
        FAILING.replace('verify,', 'verify, needs: [undone],'),
      ].join('\n'),
    );
    const original = await h.waitRun(runId, ended, 30_000);
    expect(byId(original, 'undone.compensate').status).toBe('SUCCEEDED');
    const retry = await h.call('POST', `/runs/${runId}/retry`, { token: 'operator', json: { from: 'failed' } });
    expect(retry.status, retry.text).toBe(201);
    const again = await h.waitRun(retry.body.runId, ended, 30_000);
    expect(byId(again, 'plain')).toEqual(byId(original, 'plain'));
    expect(Date.parse(byId(again, 'undone').startedAt)).toBeGreaterThan(Date.parse(byId(original, 'undone').startedAt));
    expect(byId(again, 'undone.compensate').status).toBe('SUCCEEDED');
  });

  it('compiles to irVersion 3 with the compensation as a node of its own', async () => {
    const { name, version } = await h.register(manifest(SAGA));
    const detail = await h.call('GET', `/workflows/${name}/versions/${version}?namespace=${h.namespace}`, { token: 'viewer' });
    expect(detail.body.ir).toMatchObject({ irVersion: 3, finallyTimeoutMs: 300_000 });
    expect(detail.body.ir.tasks[0]).toMatchObject({ id: 's1', compensate: { id: 's1.compensate', uses: 'tests/chatty@0.1.0', needs: [], with: { lines: '${tasks.s1.outputs.rows[0]}' } } });
  });
});

describe('manifest errors', () => {
  it('locates a finally task needing a task of spec.tasks, a compensate without uses or on forEach, a grace period over 24h', async () => {
    const yaml = manifest(
      [
        '    - { id: deploy, uses: tasks/wait.sleep@0.1.0, compensate: { with: { ms: 1 } } }',
        '    - { id: each, uses: tasks/wait.sleep@0.1.0, forEach: "${[1]}", compensate: { uses: tasks/wait.sleep@0.1.0 } }',
        '  finally:',
        '    - { id: notify, uses: tasks/wait.sleep@0.1.0, needs: [deploy], with: { ms: "${run.stauts}" } }',
      ].join('\n'),
    );
    const bad = await h.call('POST', '/workflows', { yaml: yaml.replace('  tasks:', '  finallyTimeout: 2d\n  tasks:') });
    expect(bad.status).toBe(400);
    expect(bad.body.errors).toEqual([
      { line: 8, column: 19, path: 'spec.finallyTimeout', message: expect.stringContaining('must be at most 24h, got 2d') },
      { line: 10, column: 63, path: 'spec.tasks[0].compensate', message: 'must have required property "uses"' },
      { line: 11, column: 80, path: 'spec.tasks[1].compensate', message: expect.stringContaining('a forEach task cannot have a compensation') },
      { line: 13, column: 59, path: 'spec.finally[0].needs[0]', message: expect.stringContaining('finally task "notify" needs "deploy", a task of spec.tasks') },
      { line: 13, column: 83, path: 'spec.finally[0].with.ms', message: expect.stringContaining('run has no field "stauts"') },
    ]);
  });
});
