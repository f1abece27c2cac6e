/**
 * The usage ledger through the real API, worker and Temporal: every task attempt of a run is one
 * `task_attempts` row (retries, forEach items, cached and failed attempts) priced by the cost
 * model, and the run's row carries who started it, its status and its cost.
 */
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { manifest, startHarness, type Harness } from './harness.js';

const FLAKY_TASK_MODULE = fileURLToPath(new URL('../fixtures/tasks/flaky.ts', import.meta.url));
const COST_MODEL = { perSecond: { local: 1 }, perConnectorCall: 0.5, perRun: 0.25 };

describe('usage ledger', () => {
  let h: Harness;
  beforeAll(async () => {
    h = await startHarness({ config: (namespace) => ({ taskModules: [FLAKY_TASK_MODULE], costModel: COST_MODEL, namespaceRunLimits: { [`${namespace}-queued`]: 1 } }) });
  }, 120_000);
  afterAll(async () => {
    await h?.close();
  });

  it('records one row per attempt, retries and forEach items included, matching the run\u2019s task states', async () => {
    const wf = await h.register(
      manifest(
        [
          '    - { id: flaky, uses: tests/flaky@0.1.0, with: { succeedOn: 3, ms: 50 }, retry: { maxAttempts: 3, initialInterval: 10ms } }',
          '    - id: each',
          '      uses: tasks/transform.map@0.1.0',
          '      needs: [flaky]',
          '      forEach: "${[1, 2]}"',
          '      with: { rows: ["${item}"], expression: "$ * 2" }',
          '    - { id: broken, uses: tests/flaky@0.1.0, needs: [each], with: { succeedOn: 9 } }',
        ].join('\n'),
      ),
    );
    const started = await h.call('POST', '/runs', { json: { workflowRef: `${wf.name}@${wf.version}`, namespace: h.namespace }, token: 'operator' });
    expect(started.status).toBe(201);
    const runId = started.body.runId as string;
    const run = await h.waitRun(runId, (r) => r.status === 'FAILED');
    const rows = await h.store.listTaskAttempts(runId);
    // Every attempt the run's state counts is a row, and nothing else.
    const expected = (run.tasks as { id: string; attempts: number; items?: { id: string; attempts: number }[] }[])
      .flatMap((task) => task.items ?? [task])
      .flatMap((task) => Array.from({ length: task.attempts }, (_, index) => `${task.id}#${index + 1}`))
      .sort();
    expect(rows.map((row) => `${row.taskId}#${row.attempt}`).sort()).toEqual(expected);
    expect(rows.filter((row) => row.taskId === 'flaky').map((row) => [row.attempt, row.outcome, row.errorCode])).toEqual([
      [1, 'failed', 'TASK_FAILED'],
      [2, 'failed', 'TASK_FAILED'],
      [3, 'succeeded', undefined],
    ]);
    for (const row of rows) {
      expect(row).toMatchObject({ namespace: h.namespace, runId, workflow: wf.name, workflowVersion: wf.version, runner: 'local', resourceClass: 'local', connectorCalls: 0, cacheHit: false });
      // One second of `local` costs 1.
      expect(row.cost).toBeCloseTo(row.durationMs / 1000, 6);
      expect(Date.parse(row.endedAt) - Date.parse(row.startedAt)).toBe(row.durationMs);
      expect(Date.parse(row.queuedAt ?? '')).toBeLessThanOrEqual(Date.parse(row.startedAt));
    }
    expect(rows.filter((row) => row.taskId === 'flaky').every((row) => row.durationMs >= 50)).toBe(true);
    const record = await h.store.getRunRecord(runId);
    const attemptsCost = rows.reduce((sum, row) => sum + row.cost, 0);
    expect(record).toMatchObject({ namespace: h.namespace, runId, workflow: wf.name, workflowVersion: wf.version, status: 'FAILED', startedBy: 'operator', errorCode: 'TASK_FAILED', runPrice: 0.25 });
    expect(record?.cost).toBeCloseTo(0.25 + attemptsCost, 9);
    expect(record?.startedAt).toBe(rows.map((row) => row.startedAt).sort()[0]);
    expect(record?.queueMs).toBe(Date.parse(record?.startedAt ?? '') - Date.parse(record?.createdAt ?? ''));
  });

  it('charges a queued run when accepted and takes the charge back when it is cancelled before it starts', async () => {
    const queuedNamespace = `${h.namespace}-queued`;
    const wf = await h.register(manifest('    - { id: nap, uses: tasks/wait.sleep@0.1.0, with: { duration: 1h } }'), queuedNamespace);
    const start = () => h.call('POST', '/runs', { json: { workflowRef: `${wf.name}@${wf.version}`, namespace: queuedNamespace } });
    const running = (await start()).body.runId as string;
    const queued = await start();
    expect(queued.body.status).toBe('QUEUED');
    const queuedId = queued.body.runId as string;
    expect(await h.store.getRunRecord(queuedId)).toMatchObject({ status: 'RUNNING', runPrice: 0.25, startedBy: 'admin' });
    expect((await h.call('POST', `/runs/${queuedId}/cancel`, { json: {} })).status).toBe(202);
    expect(await h.store.getRunRecord(queuedId)).toBeUndefined();
    expect((await h.call('POST', `/runs/${running}/cancel`, { json: {} })).status).toBe(202);
    await h.waitRun(running, (r) => r.status === 'CANCELLED');
    await expect.poll(async () => (await h.store.getRunRecord(running))?.status).toBe('CANCELLED');
  });
});
