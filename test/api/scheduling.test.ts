/**
 * Scheduling: a per-namespace concurrent-run limit queues the excess (durably: the queue survives
 * an API restart), and run priority orders backlogged runs on Temporal's task queue.
 */
import { Client, Connection } from '@temporalio/client';
import { NativeConnection, Worker } from '@temporalio/worker';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { PRIORITY_DYNAMIC_CONFIG } from '../../src/runs/index.js';
import { maestroDataConverter } from '../../src/codec/index.js';
import { resolveTemporalBin, startDevServer } from '../../src/devserver/index.js';
import { interpreterBundle } from '../helpers/interpreter-bundle.js';
import { manifest, startHarness, type Harness } from './harness.js';

describe('per-namespace concurrent-run limit', () => {
  let h: Harness;
  let limited: string;
  let workflowRef: string;
  beforeAll(async () => {
    h = await startHarness({ config: (namespace) => ({ namespaceRunLimits: { [`${namespace}-limited`]: 1 } }) });
    limited = `${h.namespace}-limited`;
    workflowRef = `${(await h.register(manifest('    - { id: nap, uses: tasks/wait.sleep@0.1.0, with: { duration: 700ms } }', { name: 'limited' }), limited)).name}@1.0.0`;
  });
  afterAll(() => h.close());

  it('queues runs over the limit instead of failing them, keeps the queue across an API restart, and runs them one at a time', async () => {
    const start = () => h.call('POST', '/runs', { token: 'operator', json: { workflowRef, namespace: limited } });
    const responses = [await start(), await start(), await start()];
    expect(responses.map((r) => [r.status, r.body.status])).toEqual([
      [201, 'RUNNING'],
      [201, 'QUEUED'],
      [201, 'QUEUED'],
    ]);
    const ids = responses.map((r) => r.body.runId as string);
    const queued = await h.call('GET', `/runs?namespace=${limited}&status=QUEUED`, { token: 'operator' });
    expect(queued.body.items.map((r: { runId: string }) => r.runId)).toEqual([ids[2], ids[1]]);
    const detail = await h.call('GET', `/runs/${ids[1]}`, { token: 'operator' });
    expect(detail.body).toMatchObject({ status: 'QUEUED', namespace: limited, tasks: [{ id: 'nap', status: 'PENDING', attempts: 0 }] });

    await h.restartApi();

    const runs = [];
    for (const id of ids) runs.push(await h.waitRun(id, (r) => r.status === 'SUCCEEDED', 20_000));
    for (let i = 1; i < runs.length; i += 1) {
      expect(Date.parse(runs[i].tasks[0].startedAt)).toBeGreaterThanOrEqual(Date.parse(runs[i - 1].tasks[0].endedAt));
    }
    expect((await h.call('GET', `/runs?namespace=${limited}&status=QUEUED`)).body.items).toEqual([]);
  });

  it('cancelling a queued run takes it out of the queue', async () => {
    const start = () => h.call('POST', '/runs', { token: 'operator', json: { workflowRef, namespace: limited } });
    const first = await start();
    const second = await start();
    expect(second.body.status).toBe('QUEUED');
    expect((await h.call('POST', `/runs/${second.body.runId}/cancel`, { token: 'operator' })).status).toBe(202);
    expect((await h.call('GET', `/runs/${second.body.runId}`)).status).toBe(404);
    await h.waitRun(first.body.runId, (r) => r.status === 'SUCCEEDED');
  });
});

describe('run priority', () => {
  it('maps priority onto Temporal task-queue priority: backlogged priority-1 runs are dispatched before priority-5 ones', async () => {
    const server = await startDevServer({ bin: resolveTemporalBin(), port: 0, ui: false, dynamicConfig: PRIORITY_DYNAMIC_CONFIG });
    const connection = await Connection.connect({ address: server.address });
    try {
      const h = await startHarness({ address: server.address, worker: false });
      try {
        const { name } = await h.register(manifest('    - { id: nap, uses: tasks/wait.sleep@0.1.0, with: { duration: 1ms } }', { name: 'prioritised' }));
        const order: [string, number][] = [];
        for (const priority of [5, 5, 5, 5, 5, 5, 5, 5, 1, 1, 1]) {
          const res = await h.call('POST', '/runs', { token: 'operator', json: { workflowRef: `${name}@1.0.0`, namespace: h.namespace, priority } });
          order.push([res.body.runId, priority]);
        }
        // No worker yet: the read answers at once, every task still to run.
        const noWorker = await h.call('GET', `/runs/${order[0]?.[0]}`);
        expect(noWorker.status).toBe(200);
        expect(noWorker.body.status).toBe('RUNNING');
        expect(noWorker.body.tasks.map((task: { status: string }) => task.status)).toEqual(['PENDING']);
        // One workflow task at a time, no cache: the completion order is the dispatch order.
        const worker = await Worker.create({
          connection: await NativeConnection.connect({ address: server.address }),
          taskQueue: h.config.taskQueue,
          workflowBundle: await interpreterBundle(),
          maxConcurrentWorkflowTaskExecutions: 2,
          maxCachedWorkflows: 0,
          dataConverter: maestroDataConverter(h.payloadCodec),
        });
        await worker.runUntil(async () => {
          for (const [runId] of order) await h.waitRun(runId, (r) => r.status === 'SUCCEEDED');
        });
        expect((await h.call('GET', `/runs/${order[0]?.[0]}`)).body.priority).toBe(5);
        const client = new Client({ connection });
        const closed = await Promise.all(order.map(async ([runId, priority]) => ({ priority, at: (await client.workflow.getHandle(runId).describe()).closeTime?.getTime() ?? 0 })));
        closed.sort((a, b) => a.at - b.at);
        expect(closed.slice(0, 3).map((c) => c.priority)).toEqual([1, 1, 1]);
      } finally {
        await h.close();
      }
    } finally {
      await connection.close();
      await server.stop();
    }
  });
});

