/**
 * The API's run metrics through the real API, worker and Temporal: the admission queue's depth and
 * wait in a namespace with a run limit, and the recovery time (MTTR) of a workflow whose failed run
 * is followed by a successful one.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { manifest, startHarness, type Harness } from './harness.js';

let h: Harness;
beforeAll(async () => {
  h = await startHarness({ config: (namespace) => ({ namespaceRunLimits: { [namespace]: 1 } }) });
});
afterAll(() => h?.close());

async function metrics(): Promise<string> {
  return (await h.call('GET', '/metrics')).text;
}

/** The value of the one series of `name` whose labels include each of `labels`. */
function value(text: string, name: string, labels: Record<string, string>): number | undefined {
  const line = text.split('\n').find((l) => l.startsWith(`${name}{`) && Object.entries(labels).every(([k, v]) => l.includes(`${k}="${v}"`)));
  return line === undefined ? undefined : Number(line.slice(line.lastIndexOf(' ') + 1));
}

async function start(workflowRef: string, params: Record<string, unknown> = {}): Promise<{ runId: string; status: string }> {
  const res = await h.call('POST', '/runs', { json: { workflowRef, namespace: h.namespace, params } });
  expect(res.status, res.text).toBe(201);
  return res.body;
}

describe('run metrics', () => {
  it('shows the admission queue depth while a run waits, and records how long it waited', async () => {
    const { name } = await h.register(manifest('    - { id: nap, uses: tasks/wait.sleep@0.1.0, with: { duration: 1500ms } }'));
    const first = await start(`${name}@1.0.0`);
    const second = await start(`${name}@1.0.0`);
    expect(second.status).toBe('QUEUED');
    expect(value(await metrics(), 'maestro_admission_queue_depth', { namespace: h.namespace })).toBe(1);
    await h.waitRun(first.runId, (r) => r.status === 'SUCCEEDED');
    await h.waitRun(second.runId, (r) => r.status === 'SUCCEEDED');
    const text = await metrics();
    expect(value(text, 'maestro_admission_queue_depth', { namespace: h.namespace })).toBe(0);
    expect(value(text, 'maestro_run_queue_seconds_count', { namespace: h.namespace })).toBe(2);
    // The second waited for the first's 1.5 s nap.
    expect(value(text, 'maestro_run_queue_seconds_sum', { namespace: h.namespace })).toBeGreaterThan(1);
  });

  it('records the time from a failed run to the next successful run of its workflow, also after an earlier success', async () => {
    const { name } = await h.register(
      manifest('    - { id: compute, uses: tasks/transform.map@0.1.0, with: { rows: [1], expression: "${params.expression}" } }', {
        parameters: '    - { name: expression, type: string, required: true }',
      }),
    );
    // A success first: the recovery is measured from the failure, not from the earlier success.
    const earlier = await start(`${name}@1.0.0`, { expression: '$ + 2' });
    await h.waitRun(earlier.runId, (r) => r.status === 'SUCCEEDED');
    const failed = await start(`${name}@1.0.0`, { expression: '$now()' });
    await h.waitRun(failed.runId, (r) => r.status === 'FAILED');
    const fixed = await start(`${name}@1.0.0`, { expression: '$ + 1' });
    await h.waitRun(fixed.runId, (r) => r.status === 'SUCCEEDED');
    let text = '';
    await expect
      .poll(async () => value((text = await metrics()), 'maestro_workflow_recovery_seconds_count', { namespace: h.namespace, workflow: name }), { timeout: 20_000, interval: 300 })
      .toBe(1);
    // Measured between the runs' ends as each run's own record says them (`GET /runs/{runId}`).
    const endedAt = async (runId: string) => Date.parse((await h.call('GET', `/runs/${runId}`)).body.endedAt as string);
    const expected = ((await endedAt(fixed.runId)) - (await endedAt(failed.runId))) / 1000;
    expect(value(text, 'maestro_workflow_recovery_seconds_sum', { namespace: h.namespace, workflow: name })).toBeCloseTo(expected, 2);
    expect(value(text, 'maestro_runs_finished_total', { namespace: h.namespace, workflow: name, status: 'FAILED' })).toBe(1);
    expect(value(text, 'maestro_runs_finished_total', { namespace: h.namespace, workflow: name, status: 'SUCCEEDED' })).toBe(2);
  });
});
