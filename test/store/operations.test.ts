/**
 * The operations view's SQL aggregates on SQLite and on PostgreSQL (a real throwaway cluster),
 * against a plain reference computed here over the same seeded ledger: counts, nearest-rank
 * percentiles, MTTR, failing tasks with their codes, and buckets; rows of another namespace and
 * outside the window never count; the admission queue's backlog is the namespace's own.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { bucketStarts, openStore, successRate, type OperationsReport, type Store } from '../../src/store/index.js';
import { nearestRank } from '../helpers/percentile.js';
import { postgresDatabase, sqliteDatabase } from './databases.js';

const FROM = Date.parse('2026-11-30T00:00:00.000Z');
const TO = FROM + 6 * 3_600_000;
const BUCKET_MS = 30 * 60_000;
const NS = 'ops';
const WORKFLOWS = ['deploy', 'backup', 'report'];
const TASKS = ['fetch', 'build', 'push'];
const CODES = ['TASK_FAILED', 'TASK_TIMEOUT', 'EGRESS_DENIED'];

/** A small deterministic pseudo-random generator (mulberry32), so both databases get the same ledger. */
function random(seed: number): () => number {
  let state = seed;
  return () => {
    state = (state + 0x6d2b79f5) | 0;
    let t = Math.imul(state ^ (state >>> 15), 1 | state);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4_294_967_296;
  };
}

interface SeedRun {
  namespace: string;
  runId: string;
  workflow: string;
  status: 'SUCCEEDED' | 'FAILED' | 'CANCELLED';
  createdAt: number;
  startedAt: number;
  endedAt: number;
  attempts: { taskId: string; attempt: number; startedAt: number; endedAt: number; outcome: 'succeeded' | 'failed' | 'denied' | 'cached'; errorCode?: string }[];
}

/** Runs of three workflows over (and around) the window, some failing, some retried; a few in another namespace. */
function seedRuns(): SeedRun[] {
  const next = random(23);
  const pick = <T,>(items: readonly T[]): T => items[Math.floor(next() * items.length)] as T;
  return Array.from({ length: 240 }, (_, index) => {
    const createdAt = FROM - 3_600_000 + Math.floor(next() * 8 * 3_600_000);
    const queueMs = Math.floor(next() * 20_000);
    const startedAt = createdAt + queueMs;
    const roll = next();
    const status = roll < 0.6 ? 'SUCCEEDED' : roll < 0.93 ? 'FAILED' : 'CANCELLED';
    let clock = startedAt;
    const attempts: SeedRun['attempts'] = [];
    for (const taskId of TASKS.slice(0, 1 + Math.floor(next() * 3))) {
      const tries = status === 'FAILED' || next() < 0.2 ? 1 + Math.floor(next() * 3) : 1;
      for (let attempt = 1; attempt <= tries; attempt += 1) {
        const duration = Math.floor(next() * 5_000);
        const failed = attempt < tries || (status === 'FAILED' && next() < 0.5);
        const outcome = failed ? (next() < 0.1 ? 'denied' : 'failed') : next() < 0.1 ? 'cached' : 'succeeded';
        attempts.push({ taskId, attempt, startedAt: clock, endedAt: clock + duration, outcome, ...(failed ? { errorCode: outcome === 'denied' ? 'POLICY_DENIED' : pick(CODES) } : {}) });
        clock += duration;
      }
    }
    return { namespace: index % 10 === 9 ? 'other' : NS, runId: `run-${String(index).padStart(3, '0')}`, workflow: pick(WORKFLOWS), status, createdAt, startedAt, endedAt: clock + Math.floor(next() * 1_000), attempts };
  });
}

async function seed(store: Store, runs: readonly SeedRun[]): Promise<void> {
  for (const run of runs) {
    const iso = (ms: number): string => new Date(ms).toISOString();
    await store.chargeRunStart({ namespace: run.namespace, runId: run.runId, workflow: run.workflow, workflowVersion: '1.0.0', startedBy: 'ops-test', createdAt: iso(run.createdAt), runPrice: 0 });
    for (const attempt of run.attempts) {
      await store.recordTaskAttempt({
        namespace: run.namespace,
        runId: run.runId,
        workflow: run.workflow,
        workflowVersion: '1.0.0',
        taskId: attempt.taskId,
        uses: 'tasks/wait.sleep@0.1.0',
        attempt: attempt.attempt,
        runner: 'local',
        resourceClass: 'local',
        startedAt: iso(attempt.startedAt),
        endedAt: iso(attempt.endedAt),
        durationMs: attempt.endedAt - attempt.startedAt,
        outcome: attempt.outcome,
        ...(attempt.errorCode === undefined ? {} : { errorCode: attempt.errorCode }),
        cacheHit: attempt.outcome === 'cached',
        cost: 0,
        connectorCalls: 0,
      });
    }
    await store.recordRunEnd({ namespace: run.namespace, runId: run.runId, workflow: run.workflow, workflowVersion: '1.0.0', status: run.status, workflowStartedAt: iso(run.createdAt), endedAt: iso(run.endedAt), runPrice: 0 });
  }
}

/** Incidents, recoveries and total repair time of runs ordered by end (then run id). */
function recoveryOf(runs: readonly SeedRun[]): { incidents: number; recovered: number; repairMs: number } {
  const ordered = runs.filter((run) => run.status !== 'CANCELLED').sort((a, b) => a.endedAt - b.endedAt || a.runId.localeCompare(b.runId));
  let open: number | undefined;
  const result = { incidents: 0, recovered: 0, repairMs: 0 };
  for (const run of ordered) {
    if (run.status === 'FAILED' && open === undefined) {
      open = run.endedAt;
      result.incidents += 1;
    } else if (run.status === 'SUCCEEDED' && open !== undefined) {
      result.recovered += 1;
      result.repairMs += run.endedAt - open;
      open = undefined;
    }
  }
  return result;
}

/** What the report must say, computed plainly over the seeded runs. */
function expectedReport(all: readonly SeedRun[]) {
  const runs = all.filter((run) => run.namespace === NS && run.endedAt >= FROM && run.endedAt < TO);
  const attempts = all.filter((run) => run.namespace === NS).flatMap((run) => run.attempts.map((attempt) => ({ ...attempt, workflow: run.workflow }))).filter((attempt) => attempt.endedAt >= FROM && attempt.endedAt < TO);
  const count = (items: readonly SeedRun[], status: SeedRun['status']): number => items.filter((run) => run.status === status).length;
  const counts = (items: readonly SeedRun[]) => ({ runs: items.length, succeeded: count(items, 'SUCCEEDED'), failed: count(items, 'FAILED'), cancelled: count(items, 'CANCELLED'), successRate: successRate(count(items, 'SUCCEEDED'), count(items, 'FAILED')) });
  const durations = (items: readonly SeedRun[]) => ({ p50Ms: nearestRank(items.map((run) => run.endedAt - run.createdAt), 50), p95Ms: nearestRank(items.map((run) => run.endedAt - run.createdAt), 95) });
  const mttr = (items: readonly SeedRun[]) => {
    const { incidents, recovered, repairMs } = recoveryOf(items);
    return { incidents, recovered, mttrMs: recovered === 0 ? null : Math.round(repairMs / recovered) };
  };
  const byWorkflow = WORKFLOWS.map((workflow) => runs.filter((run) => run.workflow === workflow));
  const totalRecovery = byWorkflow.map(recoveryOf).reduce((sum, item) => ({ incidents: sum.incidents + item.incidents, recovered: sum.recovered + item.recovered, repairMs: sum.repairMs + item.repairMs }));
  const failed = (outcome: string): boolean => outcome === 'failed' || outcome === 'denied';
  const taskKeys = [...new Set(attempts.map((attempt) => `${attempt.workflow}/${attempt.taskId}`))];
  const tasks = taskKeys.map((key) => {
    const own = attempts.filter((attempt) => `${attempt.workflow}/${attempt.taskId}` === key);
    const [workflow = '', taskId = ''] = key.split('/');
    const values = own.map((attempt) => attempt.endedAt - attempt.startedAt);
    const codes = new Map<string, number>();
    for (const attempt of own.filter((item) => failed(item.outcome))) codes.set(attempt.errorCode ?? '', (codes.get(attempt.errorCode ?? '') ?? 0) + 1);
    return { workflow, taskId, attempts: own.length, failures: own.filter((item) => failed(item.outcome)).length, p50Ms: nearestRank(values, 50), p95Ms: nearestRank(values, 95), codes };
  });
  const queue = (items: readonly SeedRun[]) => ({ p50: nearestRank(items.map((run) => run.startedAt - run.createdAt), 50), p95: nearestRank(items.map((run) => run.startedAt - run.createdAt), 95) });
  return {
    runs: { ...counts(runs), ...durations(runs), incidents: totalRecovery.incidents, recovered: totalRecovery.recovered, mttrMs: totalRecovery.recovered === 0 ? null : Math.round(totalRecovery.repairMs / totalRecovery.recovered) },
    queue: { p50Ms: queue(runs).p50, p95Ms: queue(runs).p95 },
    workflows: WORKFLOWS.map((workflow, index) => ({ workflow, ...counts(byWorkflow[index] ?? []), ...durations(byWorkflow[index] ?? []), ...mttr(byWorkflow[index] ?? []) })),
    tasks: tasks.map(({ workflow, taskId, attempts, failures, p50Ms, p95Ms }) => ({ workflow, taskId, attempts, failures, p50Ms, p95Ms })),
    failing: tasks.filter((task) => task.failures > 0).map((task) => ({ workflow: task.workflow, taskId: task.taskId, attempts: task.attempts, failures: task.failures, codes: [...task.codes].map(([code, n]) => ({ code, count: n })).sort((a, b) => b.count - a.count || a.code.localeCompare(b.code)) })),
    series: bucketStarts(new Date(FROM), new Date(TO), BUCKET_MS).map((start) => {
      const own = runs.filter((run) => run.endedAt >= start && run.endedAt < start + BUCKET_MS);
      return { start: new Date(start).toISOString(), succeeded: count(own, 'SUCCEEDED'), failed: count(own, 'FAILED'), cancelled: count(own, 'CANCELLED'), queueP50Ms: queue(own).p50, queueP95Ms: queue(own).p95 };
    }),
  };
}

const sortBy = <T extends { workflow: string }>(items: readonly T[], key: (item: T) => string = (item) => item.workflow): T[] => [...items].sort((a, b) => key(a).localeCompare(key(b)));

describe.each([sqliteDatabase('maestro-operations-'), postgresDatabase()])('operations figures on $name', (backend) => {
  let store: Store;
  const runs = seedRuns();
  let report: OperationsReport;
  beforeAll(async () => {
    store = await openStore(await backend.options());
    await seed(store, runs);
    await store.enqueueRun({ runId: 'queued-1', namespace: NS, enqueuedAt: new Date(TO - 60_000).toISOString(), request: {} }, 0);
    await store.enqueueRun({ runId: 'queued-2', namespace: NS, enqueuedAt: new Date(TO - 30_000).toISOString(), request: {} }, 0);
    await store.enqueueRun({ runId: 'queued-other', namespace: 'other', enqueuedAt: new Date(FROM).toISOString(), request: {} }, 0);
    report = await store.readOperations({ namespace: NS, from: new Date(FROM), to: new Date(TO), bucketMs: BUCKET_MS, now: new Date(TO) });
  }, 180_000);
  afterAll(async () => {
    await store?.close();
    await backend.cleanup();
  });

  it('counts runs, their success rate, duration percentiles and MTTR as the ledger implies', () => {
    const expected = expectedReport(runs);
    expect(report.runs).toEqual(expected.runs);
    expect(report.runs.incidents).toBeGreaterThan(0);
    expect(sortBy(report.workflows)).toEqual(sortBy(expected.workflows));
    expect(report.workflows.map((item) => item.runs)).toEqual([...report.workflows.map((item) => item.runs)].sort((a, b) => b - a));
  });

  it('gives queue-time percentiles and the backlog of the namespace only', () => {
    expect(report.queue).toEqual({ ...expectedReport(runs).queue, backlog: 2, oldestWaitMs: 60_000 });
  });

  it('gives per-task attempt durations and the most failing tasks with their codes', () => {
    const expected = expectedReport(runs);
    const key = (item: { workflow: string; taskId: string }): string => `${item.workflow}/${item.taskId}`;
    expect(sortBy(report.tasks, key)).toEqual(sortBy(expected.tasks, key));
    const failing = [...expected.failing].sort((a, b) => b.failures - a.failures || key(a).localeCompare(key(b))).slice(0, 10);
    expect(report.failingTasks).toEqual(failing);
    expect(report.failingTasks.flatMap((task) => task.codes.map((code) => code.code))).toContain('POLICY_DENIED');
  });

  it('buckets runs by when they ended, every bucket of the window present', () => {
    expect(report.series).toEqual(expectedReport(runs).series);
    expect(report.series).toHaveLength(12);
  });

  it('shows nothing of a namespace without rows', async () => {
    const empty = await store.readOperations({ namespace: 'nobody', from: new Date(FROM), to: new Date(TO), bucketMs: 3_600_000 });
    expect(empty.runs).toEqual({ runs: 0, succeeded: 0, failed: 0, cancelled: 0, successRate: null, p50Ms: null, p95Ms: null, incidents: 0, recovered: 0, mttrMs: null });
    expect(empty.workflows).toEqual([]);
    expect(empty.failingTasks).toEqual([]);
    expect(empty.series).toHaveLength(6);
    expect(empty.queue).toEqual({ backlog: 0, oldestWaitMs: null, p50Ms: null, p95Ms: null });
  });
});
