/**
 * Remote tasks end to end on the real Temporal server, through the real API and worker, against a
 * stand-in remote worker (`test/peers/remote-task-worker.ts`, the Python worker's wire contract):
 * a workflow mixing a registered task and `tasks/schema.validate` runs, its task log holds what the
 * remote task logged; bad input fails before the remote code runs; a deterministic task is served
 * from the cache on the second run; a remote failure carries its code; a cancelled run's
 * cancellation reaches the remote task within seconds.
 */
import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { REMOTE_TASKS, startRemoteTaskWorker, type RemoteTaskWorker } from '../peers/remote-task-worker.js';
import { manifest, startHarness, type Harness } from './harness.js';

let h: Harness;
let remote: RemoteTaskWorker;
const taskQueue = `maestro-py-${randomUUID().slice(0, 8)}`;

beforeAll(async () => {
  h = await startHarness();
  remote = await startRemoteTaskWorker({ temporalAddress: inject('temporalAddress'), taskQueue, payloadCodec: h.payloadCodec });
  for (const task of REMOTE_TASKS) {
    const res = await h.call('POST', '/tasks', { token: 'operator', json: { ...task, namespace: h.namespace, taskQueue, timeoutMs: 60_000 } });
    expect(res.status, res.text).toBe(201);
  }
}, 120_000);
afterAll(async () => {
  await remote?.stop();
  await h?.close();
});

const start = async (workflowRef: string, params: Record<string, unknown> = {}): Promise<string> => {
  const res = await h.call('POST', '/runs', { token: 'operator', json: { workflowRef, namespace: h.namespace, params } });
  expect(res.status, res.text).toBe(201);
  return res.body.runId as string;
};
/** The run's signed receipt statement (written as the run ends). */
async function receipt(runId: string): Promise<any> { // eslint-disable-line @typescript-eslint/no-explicit-any -- tests read fields freely
  let res = await h.call('GET', `/runs/${runId}/receipt`);
  for (let i = 0; res.status === 404 && i < 50; i += 1) {
    await new Promise((resolve) => setTimeout(resolve, 100));
    res = await h.call('GET', `/runs/${runId}/receipt`);
  }
  expect(res.status, res.text).toBe(200);
  return JSON.parse(Buffer.from(res.body.dsseEnvelope.payload, 'base64').toString());
}
const ref = async (yaml: string): Promise<string> => {
  const { name, version } = await h.register(yaml);
  return `${name}@${version}`;
};

describe('remote tasks', () => {
  it('runs a workflow mixing a registered task and schema.validate, with the remote task’s lines in the task log, and serves the second run from the cache', async () => {
    const workflowRef = await ref(
      manifest(
        [
          '    - { id: greet, uses: py/noop@^0.1, with: { name: "${params.who}" } }',
          '    - { id: check, uses: tasks/schema.validate@^0.1, needs: [greet], with: { data: "${tasks.greet.outputs}", schema: { type: object, required: [echo] } } }',
        ].join('\n'),
        { parameters: '    - { name: who, type: string }' },
      ),
    );
    const who = `ada-${randomUUID().slice(0, 6)}`;
    const runId = await start(workflowRef, { who });
    const run = await h.waitRun(runId, (r) => r.status !== 'RUNNING' && r.status !== 'PENDING', 60_000);
    expect(run.status, JSON.stringify(run.error)).toBe('SUCCEEDED');
    expect(run.tasks[0]).toMatchObject({ id: 'greet', status: 'SUCCEEDED', outputs: { echo: { name: who } } });
    expect(remote.calls).toContain('py/noop@0.1.0 greet');
    const logs = await h.call('GET', `/runs/${runId}/logs`, { token: 'operator' });
    expect(logs.text).toContain(`hello ${who}`);
    expect(logs.text).toContain('dispatching to task queue');

    const calls = remote.calls.length;
    const againId = await start(workflowRef, { who });
    const again = await h.waitRun(againId, (r) => r.status !== 'RUNNING' && r.status !== 'PENDING', 60_000);
    expect(again.status).toBe('SUCCEEDED');
    expect(again.tasks[0]).toMatchObject({ status: 'SUCCEEDED', cached: true, outputs: { echo: { name: who } } });
    expect(remote.calls).toHaveLength(calls);
    // The receipt names the registered code digest, and says the result came from the cache.
    const statement = await receipt(againId);
    expect(statement.predicate.buildDefinition.resolvedDependencies).toContainEqual(expect.objectContaining({ name: 'py/noop@0.1.0', digest: { sha256: '5'.repeat(64) } }));
    expect(statement.predicate.runDetails.byproducts.find((b: { name: string }) => b.name === 'task/greet')).toMatchObject({ annotations: expect.objectContaining({ cached: true }) });
  });

  it('fails bad input before the remote code runs', async () => {
    const workflowRef = await ref(manifest('    - { id: greet, uses: py/noop@^0.1, with: { name: "${params.n}" } }', { parameters: '    - { name: n, type: integer }' }));
    const calls = remote.calls.length;
    const run = await h.waitRun(await start(workflowRef, { n: 7 }), (r) => r.status === 'FAILED' || r.status === 'SUCCEEDED', 60_000);
    expect(run.status).toBe('FAILED');
    expect(run.tasks[0].error).toMatchObject({ code: 'TASK_INPUT_INVALID' });
    expect(remote.calls).toHaveLength(calls);
  });

  it('fails a task with the code its remote code raised', async () => {
    const workflowRef = await ref(manifest('    - { id: boom, uses: py/fail@^0.1, with: { code: QUOTA_GONE } }'));
    const run = await h.waitRun(await start(workflowRef), (r) => r.status === 'FAILED' || r.status === 'SUCCEEDED', 60_000);
    expect(run.status).toBe('FAILED');
    expect(run.tasks[0]).toMatchObject({ attempts: 1, error: { code: 'QUOTA_GONE', message: 'failed with QUOTA_GONE' } });
  });

  it('carries a cancelled run’s cancellation to the remote task within seconds', async () => {
    const workflowRef = await ref(manifest('    - { id: nap, uses: py/slow@^0.1, with: { ms: 60000 } }'));
    const runId = await start(workflowRef);
    const deadline = Date.now() + 30_000;
    while (!remote.calls.includes('py/slow@0.1.0 nap') && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 100));
    const cancelledAt = Date.now();
    expect((await h.call('POST', `/runs/${runId}/cancel`, { token: 'operator' })).status).toBe(202);
    await h.waitRun(runId, (r) => r.status === 'CANCELLED', 30_000);
    expect(remote.cancelled).toContain('nap');
    expect(Date.now() - cancelledAt).toBeLessThan(10_000);
  });

  it('completes the run when the remote worker is stopped mid-task and started again', async () => {
    const workflowRef = await ref(manifest('    - { id: nap, uses: py/slow@^0.1, with: { ms: 3000 } }'));
    const runId = await start(workflowRef);
    const deadline = Date.now() + 30_000;
    while (!remote.calls.includes('py/slow@0.1.0 nap') && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 100));
    // A shutdown abandons the attempt as a killed worker would: no more heartbeats.
    await remote.stop();
    remote = await startRemoteTaskWorker({ temporalAddress: inject('temporalAddress'), taskQueue, payloadCodec: h.payloadCodec });
    const run = await h.waitRun(runId, (r) => r.status !== 'RUNNING' && r.status !== 'PENDING', 90_000);
    expect(run.status, JSON.stringify(run.tasks)).toBe('SUCCEEDED');
    expect(run.tasks[0]).toMatchObject({ attempts: 1, outputs: { slept: true } });
    expect(remote.calls).toContain('py/slow@0.1.0 nap');
  }, 120_000);
});
