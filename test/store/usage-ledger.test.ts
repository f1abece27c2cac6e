/**
 * The usage ledger on SQLite and on PostgreSQL (a real throwaway cluster): an attempt recorded
 * twice is one row, a run is charged once when accepted and completed at its end with its
 * attempts' cost, usage sums by window, concurrent starts under a budget are charged one by one
 * (never past the limit), and prune keeps running runs.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openStore, type Store, type TaskAttemptRecord } from '../../src/store/index.js';
import { postgresDatabase, sqliteDatabase } from './databases.js';

function attempt(overrides: Partial<TaskAttemptRecord> = {}): TaskAttemptRecord {
  return {
    namespace: 'team-a',
    runId: 'run-1',
    workflow: 'etl',
    workflowVersion: '1.0.0',
    taskId: 'fetch',
    uses: 'tasks/http.request@0.1.0',
    attempt: 1,
    runner: 'local',
    resourceClass: 'local',
    queuedAt: '2026-12-06T10:00:00.000Z',
    startedAt: '2026-12-06T10:00:01.000Z',
    endedAt: '2026-12-06T10:00:03.000Z',
    durationMs: 2000,
    outcome: 'succeeded',
    cacheHit: false,
    cost: 0.5,
    connectorCalls: 2,
    ...overrides,
  };
}

const start = { namespace: 'team-a', workflow: 'etl', workflowVersion: '1.0.0', startedBy: 'alice', createdAt: '2026-12-06T09:59:59.000Z', runPrice: 0.25 };

describe.each([sqliteDatabase('maestro-usage-'), postgresDatabase()])('usage ledger on $name', (backend) => {
  let store: Store;
  beforeAll(async () => {
    store = await openStore(await backend.options());
  }, 120_000);
  afterAll(async () => {
    await store?.close();
    await backend.cleanup();
  });

  it('records an attempt written twice (a retried activity) as one row, the last write winning', async () => {
    await store.recordTaskAttempt(attempt({ outcome: 'failed', errorCode: 'TASK_FAILED' }));
    await store.recordTaskAttempt(attempt());
    await store.recordTaskAttempt(attempt({ taskId: 'each[0]', outcome: 'cached', cacheHit: true, cost: 0, connectorCalls: 0, queuedAt: undefined }));
    const rows = await store.listTaskAttempts('run-1');
    expect(rows).toEqual([attempt({ taskId: 'each[0]', outcome: 'cached', cacheHit: true, cost: 0, connectorCalls: 0, queuedAt: undefined }), attempt()].map((row) => JSON.parse(JSON.stringify(row)) as TaskAttemptRecord));
  });

  it('charges a run once when accepted and completes its row at the end with its attempts\u2019 cost', async () => {
    expect(await store.chargeRunStart({ ...start, runId: 'run-1' })).toEqual({ charged: true, usage: 0 });
    expect(await store.chargeRunStart({ ...start, runId: 'run-1', createdAt: '2026-12-06T11:00:00.000Z' })).toEqual({ charged: true, usage: 0 });
    expect(await store.getRunRecord('run-1')).toEqual({ ...start, runId: 'run-1', status: 'RUNNING', cost: 0.25 });
    const end = { namespace: 'team-a', runId: 'run-1', workflow: 'etl', workflowVersion: '1.0.0', status: 'FAILED', workflowStartedAt: '2026-12-06T10:00:00.000Z', endedAt: '2026-12-06T10:00:09.000Z', errorCode: 'TASK_FAILED', runPrice: 9 } as const;
    await store.recordRunEnd(end);
    await store.recordRunEnd(end);
    expect(await store.getRunRecord('run-1')).toEqual({
      ...start,
      runId: 'run-1',
      status: 'FAILED',
      startedAt: '2026-12-06T10:00:01.000Z',
      endedAt: '2026-12-06T10:00:09.000Z',
      durationMs: 10_000,
      queueMs: 2000,
      errorCode: 'TASK_FAILED',
      cost: 0.75,
    });
  });

  it('charges a free run in a namespace without a budget once, however often it is started', async () => {
    const free = { ...start, namespace: 'team-f', runId: 'free-1', runPrice: 0 };
    expect(await store.chargeRunStart(free)).toEqual({ charged: true, usage: 0 });
    expect(await store.chargeRunStart({ ...free, createdAt: '2026-12-06T11:00:00.000Z', startedBy: 'bob' })).toEqual({ charged: true, usage: 0 });
    expect(await store.getRunRecord('free-1')).toEqual({ ...free, status: 'RUNNING', cost: 0 });
    await store.releaseRunCharge('free-1');
    expect(await store.getRunRecord('free-1')).toBeUndefined();
  });

  it('hands a successful run the run of its workflow that ended last before it: the recovery a failure made', async () => {
    const end = { namespace: 'team-r', workflow: 'etl', workflowVersion: '1.0.0', workflowStartedAt: '2026-12-06T10:00:00.000Z', runPrice: 0 } as const;
    expect(await store.recordRunEnd({ ...end, runId: 'r-1', status: 'SUCCEEDED', endedAt: '2026-12-06T10:00:01.000Z' })).toEqual({});
    expect(await store.recordRunEnd({ ...end, runId: 'r-2', status: 'FAILED', endedAt: '2026-12-06T10:00:02.000Z', errorCode: 'TASK_FAILED' })).toEqual({});
    // Another workflow's and another namespace's runs are not its previous run.
    await store.recordRunEnd({ ...end, runId: 'r-x', workflow: 'other', status: 'SUCCEEDED', endedAt: '2026-12-06T10:00:03.000Z' });
    await store.recordRunEnd({ ...end, runId: 'r-y', namespace: 'team-s', status: 'SUCCEEDED', endedAt: '2026-12-06T10:00:03.500Z' });
    const fixed = { ...end, runId: 'r-3', status: 'SUCCEEDED', endedAt: '2026-12-06T10:00:04.000Z' } as const;
    expect(await store.recordRunEnd(fixed)).toEqual({ previous: { runId: 'r-2', status: 'FAILED', endedAt: '2026-12-06T10:00:02.000Z' } });
    // Recorded again (a retried receipt): the same answer, never itself.
    expect(await store.recordRunEnd(fixed)).toEqual({ previous: { runId: 'r-2', status: 'FAILED', endedAt: '2026-12-06T10:00:02.000Z' } });
  });

  it('records a run launchRun never charged (a sub-workflow\u2019s) at its end', async () => {
    await store.recordRunEnd({ namespace: 'team-a', runId: 'child-1', workflow: 'child', workflowVersion: '2.0.0', status: 'SUCCEEDED', workflowStartedAt: '2026-12-06T10:00:00.000Z', endedAt: '2026-12-06T10:00:01.500Z', runPrice: 0.25 });
    expect(await store.getRunRecord('child-1')).toEqual({ namespace: 'team-a', runId: 'child-1', workflow: 'child', workflowVersion: '2.0.0', status: 'SUCCEEDED', createdAt: '2026-12-06T10:00:00.000Z', endedAt: '2026-12-06T10:00:01.500Z', durationMs: 1500, runPrice: 0.25, cost: 0.25 });
  });

  it('sums usage by window, workflow, task and resource class, one namespace only', async () => {
    await store.recordTaskAttempt(attempt({ runId: 'run-2', workflow: 'report', taskId: 'render', uses: 'tasks/shell@1.0.0', runner: 'container', resourceClass: 'container', cost: 2, endedAt: '2026-12-06T12:00:00.000Z' }));
    await store.recordTaskAttempt(attempt({ runId: 'run-3', namespace: 'team-b', cost: 100 }));
    await store.recordTaskAttempt(attempt({ runId: 'run-4', cost: 100, endedAt: '2026-11-30T23:59:59.999Z' }));
    const report = await store.usageReport('team-a', '2026-12-01T00:00:00.000Z', '2027-01-01T00:00:00.000Z');
    // Attempts: 0.5 + 0 (run-1), 2 (run-2); run prices: run-1 and child-1, 0.25 each (child-1 by its created_at).
    expect(report.total).toBeCloseTo(3);
    expect(report.runs).toEqual({ count: 2, cost: 0.5 });
    expect(report.attempts).toEqual({ cost: 2.5, attempts: 3, durationMs: 6000, connectorCalls: 4 });
    expect(report.byWorkflow.map(({ workflow, cost, runs, runCost }) => ({ workflow, cost, runs, runCost }))).toEqual([
      { workflow: 'report', cost: 2, runs: 0, runCost: 0 },
      { workflow: 'etl', cost: 0.5, runs: 1, runCost: 0.25 },
      { workflow: 'child', cost: 0, runs: 1, runCost: 0.25 },
    ]);
    expect(report.byResourceClass.map(({ resourceClass, cost }) => [resourceClass, cost])).toEqual([
      ['container', 2],
      ['local', 0.5],
    ]);
    expect(report.byTask.map(({ uses, attempts }) => [uses, attempts])).toEqual([
      ['tasks/shell@1.0.0', 1],
      ['tasks/http.request@0.1.0', 2],
    ]);
    expect(await store.usageTotal('team-a', '2026-12-01T00:00:00.000Z', '2027-01-01T00:00:00.000Z')).toBeCloseTo(3);
    expect(await store.usageTotal('team-b', '2026-12-01T00:00:00.000Z', '2027-01-01T00:00:00.000Z')).toBeCloseTo(100);
  });

  it('keeps the daily totals a budget period sums equal to the rows, through rewrites and released charges', async () => {
    const ns = 'team-d';
    const day = { from: '2026-09-01T00:00:00.000Z', to: '2026-10-01T00:00:00.000Z' };
    await store.recordTaskAttempt(attempt({ namespace: ns, runId: 'd-1', cost: 2, endedAt: '2026-09-10T10:00:00.000Z' }));
    // A retried activity writes the row again, with another end and cost: only the last counts.
    await store.recordTaskAttempt(attempt({ namespace: ns, runId: 'd-1', cost: 3, endedAt: '2026-09-11T10:00:00.000Z' }));
    // A free attempt written once, then again with a cost, then free again: it ends costing nothing.
    await store.recordTaskAttempt(attempt({ namespace: ns, runId: 'd-4', cost: 0, endedAt: '2026-09-13T10:00:00.000Z' }));
    await store.recordTaskAttempt(attempt({ namespace: ns, runId: 'd-4', cost: 7, endedAt: '2026-09-13T10:00:00.000Z' }));
    await store.recordTaskAttempt(attempt({ namespace: ns, runId: 'd-4', cost: 0, endedAt: '2026-09-14T10:00:00.000Z' }));
    expect((await store.listTaskAttempts('d-4')).map((row) => [row.cost, row.endedAt])).toEqual([[0, '2026-09-14T10:00:00.000Z']]);
    await store.chargeRunStart({ ...start, namespace: ns, runId: 'd-1', createdAt: '2026-09-10T09:59:00.000Z', runPrice: 0.5 });
    await store.chargeRunStart({ ...start, namespace: ns, runId: 'd-2', createdAt: '2026-09-12T00:00:00.000Z', runPrice: 0.5 });
    await store.releaseRunCharge('d-2');
    await store.recordRunEnd({ namespace: ns, runId: 'd-3', workflow: 'child', workflowVersion: '1.0.0', status: 'SUCCEEDED', workflowStartedAt: '2026-09-30T23:59:59.000Z', endedAt: '2026-10-01T00:00:01.000Z', runPrice: 0.25 });
    // Whole days read the daily totals; any other window scans the rows: both say the same.
    expect(await store.usageTotal(ns, day.from, day.to)).toBeCloseTo(3.75, 9);
    expect(await store.usageTotal(ns, '2026-09-01T00:00:00.001Z', day.to)).toBeCloseTo(3.75, 9);
    expect(await store.usageTotal(ns, '2026-09-11T00:00:00.000Z', '2026-09-12T00:00:00.000Z')).toBeCloseTo(3, 9);
    expect(await store.usageTotal(ns, '2026-09-10T00:00:00.000Z', '2026-09-11T00:00:00.000Z')).toBeCloseTo(0.5, 9);
  });

  it('charges concurrent starts one by one, never past the budget', async () => {
    const budget = { limit: 10, from: '2026-10-01T00:00:00.000Z', to: '2026-11-01T00:00:00.000Z' };
    const results = await Promise.all(
      Array.from({ length: 50 }, (_, index) => store.chargeRunStart({ ...start, namespace: 'team-c', runId: `c-${index}`, createdAt: '2026-10-15T00:00:00.000Z', runPrice: 1 }, budget)),
    );
    expect(results.filter((result) => result.charged)).toHaveLength(10);
    expect(results.filter((result) => !result.charged).every((result) => result.usage === 10)).toBe(true);
    await store.releaseRunCharge('c-0');
    expect(await store.usageTotal('team-c', budget.from, budget.to)).toBe(9);
  });

  it('prunes attempts and finished runs that ended before a time, keeping running runs', async () => {
    await store.chargeRunStart({ ...start, runId: 'old-running', createdAt: '2020-01-01T00:00:00.000Z' });
    await store.recordTaskAttempt(attempt({ runId: 'old', endedAt: '2020-01-01T00:00:00.000Z' }));
    await store.recordRunEnd({ namespace: 'team-a', runId: 'old', workflow: 'etl', workflowVersion: '1.0.0', status: 'SUCCEEDED', workflowStartedAt: '2020-01-01T00:00:00.000Z', endedAt: '2020-01-01T00:00:01.000Z', runPrice: 0 });
    expect(await store.pruneUsage(new Date('2021-01-01T00:00:00.000Z'))).toBe(2);
    expect(await store.listTaskAttempts('old')).toEqual([]);
    expect(await store.getRunRecord('old')).toBeUndefined();
    expect((await store.getRunRecord('old-running'))?.status).toBe('RUNNING');
  });
});
