/**
 * Runbook control flow through the real API, worker and Temporal: run conditions (`runIf`) and the
 * forEach shorthand. deploy → verify → rollback (runIf: failure) → summary (runIf: always).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { manifest, startHarness, type Harness } from './harness.js';

let h: Harness;
beforeAll(async () => {
  h = await startHarness();
});
afterAll(() => h.close());

/** verify fails unless `params.healthy`; the handlers read how it ended. */
const DEPLOY_VERIFY_ROLLBACK = [
  '    - { id: deploy, uses: tasks/wait.sleep@0.1.0, with: { duration: 10ms } }',
  '    - id: verify',
  '      uses: tasks/schema.validate@0.1.0',
  '      needs: [deploy]',
  '      with: { schema: { const: true }, data: "${params.healthy}" }',
  '    - id: rollback',
  '      uses: tasks/transform.map@0.1.0',
  '      needs: [verify]',
  '      runIf: failure',
  "      when: ${tasks.verify.status == 'FAILED'}",
  '      with: { rows: ["${tasks.verify.status}", "${tasks.verify.error.code}"], expression: "$" }',
  '    - id: summary',
  '      uses: tasks/transform.map@0.1.0',
  '      needs: [verify, rollback]',
  '      runIf: always',
  '      with: { rows: ["${tasks.verify.status}", "${tasks.rollback.status}"], expression: "$" }',
].join('\n');

async function runDeploy(healthy: boolean, failurePolicy: 'failFast' | 'continue'): Promise<any> { // eslint-disable-line @typescript-eslint/no-explicit-any -- tests read fields freely
  const yaml = manifest(DEPLOY_VERIFY_ROLLBACK, { parameters: '    - { name: healthy, type: boolean, required: true }' }).replace(
    '  tasks:',
    `  failurePolicy: ${failurePolicy}\n  tasks:`,
  );
  const { name, version } = await h.register(yaml);
  const started = await h.call('POST', '/runs', { token: 'operator', json: { workflowRef: `${name}@${version}`, namespace: h.namespace, params: { healthy } } });
  expect(started.status, started.text).toBe(201);
  return h.waitRun(started.body.runId, (run) => run.status === 'SUCCEEDED' || run.status === 'FAILED');
}

const byId = (run: { tasks: { id: string }[] }, id: string): any => run.tasks.find((task) => task.id === id); // eslint-disable-line @typescript-eslint/no-explicit-any -- tests read fields freely

describe('runIf', () => {
  for (const failurePolicy of ['failFast', 'continue'] as const) {
    it(`rolls back and summarises when verify fails, and the run fails (${failurePolicy})`, async () => {
      const run = await runDeploy(false, failurePolicy);
      expect(run.status).toBe('FAILED');
      expect(run.error).toMatchObject({ code: 'TASK_FAILED', message: expect.stringContaining('task "verify" failed') });
      expect(byId(run, 'verify')).toMatchObject({ status: 'FAILED', error: { code: 'TASK_FAILED' } });
      expect(byId(run, 'rollback')).toMatchObject({ status: 'SUCCEEDED', outputs: { rows: ['FAILED', 'TASK_FAILED'] } });
      expect(byId(run, 'summary')).toMatchObject({ status: 'SUCCEEDED', outputs: { rows: ['FAILED', 'SUCCEEDED'] } });
    });
  }

  it('under failFast, a handler runs on a need that the stop cancelled, while tasks after verify are skipped', async () => {
    const { name, version } = await h.register(
      manifest(
        [
          '    - { id: slow, uses: tasks/wait.sleep@0.1.0, with: { duration: 1h } }',
          '    - { id: verify, uses: tasks/schema.validate@0.1.0, with: { schema: { const: true }, data: false } }',
          '    - { id: report, uses: tasks/wait.sleep@0.1.0, needs: [verify], with: { duration: 1ms } }',
          '    - id: restore',
          '      uses: tasks/transform.map@0.1.0',
          '      needs: [slow]',
          '      runIf: failure',
          '      with: { rows: ["${tasks.slow.status}", "${tasks.slow.error.code}"], expression: "$" }',
        ].join('\n'),
      ),
    );
    const started = await h.call('POST', '/runs', { token: 'operator', json: { workflowRef: `${name}@${version}`, namespace: h.namespace } });
    const run = await h.waitRun(started.body.runId, (r) => r.status === 'SUCCEEDED' || r.status === 'FAILED');
    expect(run.status).toBe('FAILED');
    expect(byId(run, 'slow')).toMatchObject({ status: 'CANCELLED', error: { code: 'FAIL_FAST' } });
    expect(byId(run, 'report')).toMatchObject({ status: 'SKIPPED', error: { code: 'FAIL_FAST' } });
    expect(byId(run, 'restore')).toMatchObject({ status: 'SUCCEEDED', outputs: { rows: ['CANCELLED', 'FAIL_FAST'] } });
  });

  it('skips the rollback when verify passes; the summary runs and the run succeeds', async () => {
    const run = await runDeploy(true, 'failFast');
    expect(run.status).toBe('SUCCEEDED');
    expect(byId(run, 'rollback')).toMatchObject({ status: 'SKIPPED', error: { code: 'RUN_IF_NOT_MET' } });
    expect(byId(run, 'summary')).toMatchObject({ status: 'SUCCEEDED', outputs: { rows: ['SUCCEEDED', 'SKIPPED'] } });
  });

  it('registers a workflow with runIf as irVersion 2, and refuses a bad runIf with its line, column and path', async () => {
    const { name, version } = await h.register(manifest(DEPLOY_VERIFY_ROLLBACK, { parameters: '    - { name: healthy, type: boolean }' }));
    const detail = await h.call('GET', `/workflows/${name}/versions/${version}?namespace=${h.namespace}`, { token: 'viewer' });
    expect(detail.status, detail.text).toBe(200);
    expect(detail.body.ir).toMatchObject({ irVersion: 2, tasks: [{ id: 'deploy' }, { id: 'verify' }, { id: 'rollback', runIf: 'failure' }, { id: 'summary', runIf: 'always' }] });
    const bad = await h.call('POST', '/workflows', { yaml: manifest(DEPLOY_VERIFY_ROLLBACK.replace('runIf: failure', 'runIf: failed'), { parameters: '    - { name: healthy, type: boolean }' }) });
    expect(bad.status).toBe(400);
    expect(bad.body.errors).toEqual([{ line: 19, column: 14, path: 'spec.tasks[2].runIf', message: 'must be one of "success", "failure", "always", got "failed"' }]);
  });
});

describe('runIf, the run timeout and cancellation', () => {
  it('a handler let run by failFast is cancelled by the run timeout, and the run fails with RUN_TIMEOUT', async () => {
    const yaml = manifest(
      [
        '    - { id: verify, uses: tasks/schema.validate@0.1.0, with: { schema: { const: true }, data: false } }',
        '    - { id: cleanup, uses: tasks/wait.sleep@0.1.0, needs: [verify], runIf: always, with: { duration: 1h } }',
      ].join('\n'),
    ).replace('  tasks:', '  timeout: 3s\n  tasks:');
    const { name, version } = await h.register(yaml);
    const started = await h.call('POST', '/runs', { token: 'operator', json: { workflowRef: `${name}@${version}`, namespace: h.namespace } });
    expect(started.status, started.text).toBe(201);
    const run = await h.waitRun(started.body.runId, (r) => r.status === 'SUCCEEDED' || r.status === 'FAILED', 30_000);
    expect(run).toMatchObject({ status: 'FAILED', error: { code: 'RUN_TIMEOUT' } });
    expect(byId(run, 'verify')).toMatchObject({ status: 'FAILED' });
    expect(byId(run, 'cleanup')).toMatchObject({ status: 'CANCELLED', error: { code: 'RUN_TIMEOUT' } });
  });

  it('cancelling the run cancels a running handler, and the run ends CANCELLED', async () => {
    const { name, version } = await h.register(
      manifest(
        [
          '    - { id: verify, uses: tasks/schema.validate@0.1.0, with: { schema: { const: true }, data: false } }',
          '    - { id: cleanup, uses: tasks/wait.sleep@0.1.0, needs: [verify], runIf: failure, with: { duration: 1h } }',
        ].join('\n'),
      ),
    );
    const started = await h.call('POST', '/runs', { token: 'operator', json: { workflowRef: `${name}@${version}`, namespace: h.namespace } });
    const runId = started.body.runId as string;
    await h.waitRun(runId, (r) => byId(r, 'cleanup')?.status === 'RUNNING');
    expect((await h.call('POST', `/runs/${runId}/cancel`, { token: 'operator' })).status).toBe(202);
    const run = await h.waitRun(runId, (r) => r.status === 'CANCELLED', 30_000);
    expect(byId(run, 'cleanup')).toMatchObject({ status: 'CANCELLED', error: { code: 'RUN_CANCELLED' } });
  });
});

describe('forEach shorthand', () => {
  it('runs forEach: "${expr}" one item per element', async () => {
    const { name, version } = await h.register(
      manifest('    - { id: each, uses: tasks/transform.map@0.1.0, forEach: "${[1, 2, 3]}", with: { rows: ["${item}"], expression: "$ * 10" } }'),
    );
    const started = await h.call('POST', '/runs', { token: 'operator', json: { workflowRef: `${name}@${version}`, namespace: h.namespace } });
    expect(started.status, started.text).toBe(201);
    const run = await h.waitRun(started.body.runId, (r) => r.status === 'SUCCEEDED' || r.status === 'FAILED');
    expect(run.status).toBe('SUCCEEDED');
    expect(byId(run, 'each').outputs).toEqual([{ rows: [10] }, { rows: [20] }, { rows: [30] }]);
  });
});
