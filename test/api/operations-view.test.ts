/**
 * `GET /operations` through the real API, worker and Temporal: real runs — a steady workflow, and
 * one that fails (its task retried to exhaustion), then recovers on a retried attempt — give the
 * success rate, MTTR, durations, failing tasks with their codes, buckets and backlog those runs
 * imply; a caller sees only their namespaces, and a bad window is a problem, not a 500.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { RunRecord } from '../../src/store/index.js';
import { manifest, startHarness, type Harness } from './harness.js';
import { nearestRank } from '../helpers/percentile.js';
import { FLAKY_TASK_MODULE, seedOperationsRuns, type OperationsRuns } from './operations-runs.js';

describe('GET /operations', () => {
  let h: Harness;
  let limited: string;
  let from: string;
  let runs: OperationsRuns;

  beforeAll(async () => {
    h = await startHarness({ config: (namespace) => ({ taskModules: [FLAKY_TASK_MODULE], namespaceRunLimits: { [`${namespace}-limited`]: 1 } }) });
    limited = `${h.namespace}-limited`;
    from = new Date(Date.now() - 60_000).toISOString();
    runs = await seedOperationsRuns(h);
    // A slow workflow in another namespace, which runs one at a time (the backlog test).
    await h.register(manifest('    - { id: nap, uses: tasks/wait.sleep@0.1.0, with: { duration: 30s } }', { name: 'napper' }), limited);
  }, 180_000);
  afterAll(async () => {
    await h?.close();
  });

  it('reports the success rate, MTTR, durations, failing tasks and buckets the runs imply', async () => {
    const to = new Date(Date.now() + 1_000).toISOString();
    const res = await h.call('GET', `/operations?namespace=${h.namespace}&from=${from}&to=${to}&bucket=60`, { token: 'viewer' });
    expect(res.status).toBe(200);
    const report = res.body;
    const all = [...runs.steady, ...runs.recovering];
    const durations = (items: readonly RunRecord[]) => ({ p50Ms: nearestRank(items.map((r) => r.durationMs ?? 0), 50), p95Ms: nearestRank(items.map((r) => r.durationMs ?? 0), 95) });
    const [failedRun, recoveredRun] = runs.recovering;
    const mttrMs = Date.parse(recoveredRun.endedAt ?? '') - Date.parse(failedRun.endedAt ?? '');
    expect(mttrMs).toBeGreaterThan(0);
    expect(report).toMatchObject({ namespace: h.namespace, from, to, bucketSeconds: 60 });
    expect(report.runs).toEqual({ runs: 5, succeeded: 4, failed: 1, cancelled: 0, successRate: 0.8, ...durations(all), incidents: 1, recovered: 1, mttrMs });
    expect(report.queue).toEqual({ backlog: 0, oldestWaitMs: null, p50Ms: nearestRank(all.map((r) => r.queueMs ?? 0), 50), p95Ms: nearestRank(all.map((r) => r.queueMs ?? 0), 95) });
    expect(report.workflows).toEqual([
      { workflow: runs.names.steady, runs: 3, succeeded: 3, failed: 0, cancelled: 0, successRate: 1, ...durations(runs.steady), incidents: 0, recovered: 0, mttrMs: null },
      { workflow: runs.names.recovering, runs: 2, succeeded: 1, failed: 1, cancelled: 0, successRate: 0.5, ...durations(runs.recovering), incidents: 1, recovered: 1, mttrMs },
    ]);
    // Attempts: steady's task 3 (all succeeded); recovering's 2 + 2, of which 3 failed.
    const attempts = await Promise.all(all.map((r) => h.store.listTaskAttempts(r.runId)));
    const taskDurations = (taskId: string) => {
      const values = attempts.flat().filter((a) => a.taskId === taskId).map((a) => a.durationMs);
      return { p50Ms: nearestRank(values, 50), p95Ms: nearestRank(values, 95) };
    };
    expect(report.tasks).toEqual([
      { workflow: runs.names.recovering, taskId: 'deploy', attempts: 4, failures: 3, ...taskDurations('deploy') },
      { workflow: runs.names.steady, taskId: 'work', attempts: 3, failures: 0, ...taskDurations('work') },
    ]);
    expect(report.failingTasks).toEqual([{ workflow: runs.names.recovering, taskId: 'deploy', attempts: 4, failures: 3, codes: [{ code: 'TASK_FAILED', count: 3 }] }]);
    // Every run ended in one of the minute buckets, the failed one where it ended.
    const sum = (key: string): number => report.series.reduce((total: number, bucket: Record<string, number>) => total + (bucket[key] ?? 0), 0);
    expect([sum('succeeded'), sum('failed'), sum('cancelled')]).toEqual([4, 1, 0]);
    const failedBucket = Math.floor(Date.parse(failedRun.endedAt ?? '') / 60_000) * 60_000;
    expect(report.series.find((bucket: { start: string }) => bucket.start === new Date(failedBucket).toISOString()).failed).toBe(1);
  });

  it('prints the headline figures with maestro ops', async () => {
    const printed = await h.cli('viewer', 'ops', '--namespace', h.namespace, '--since', '1h');
    expect(printed.code, printed.err).toBe(0);
    expect(printed.out).toContain(`${h.namespace}, last 1h (`);
    expect(printed.out).toContain('5 runs ended, 4 succeeded, 1 failed, 0 cancelled');
    expect(printed.out).toContain('success rate 80.0%; MTTR ');
    expect(printed.out).toContain('(1 of 1 incidents recovered)');
    expect(printed.out).toContain(`  ${runs.names.recovering}/deploy: 3 of 4 attempts failed (TASK_FAILED × 3)`);
    expect(JSON.parse((await h.cli('viewer', 'ops', '--namespace', h.namespace, '--json')).out).runs.runs).toBe(5);
    const refused = await h.cli('viewer', 'ops', '--namespace', h.namespace, '--since', '40d');
    expect(refused.code).toBe(2);
    expect(refused.err).toContain('at most 31');
    expect((await h.cli('viewer', 'ops', '--since', 'soon')).code).toBe(2);
  });

  it('counts runs waiting in the admission queue now as the backlog of their namespace', async () => {
    const start = () => h.call('POST', '/runs', { json: { workflowRef: 'napper@1.0.0', namespace: limited }, token: 'operator' });
    const first = await start();
    const second = await start();
    expect(second.body.status).toBe('QUEUED');
    const res = await h.call('GET', `/operations?namespace=${limited}`, { token: 'operator' });
    expect(res.status).toBe(200);
    expect(res.body.queue.backlog).toBe(1);
    expect(res.body.queue.oldestWaitMs).toBeGreaterThanOrEqual(0);
    expect((await h.call('GET', `/operations?namespace=${h.namespace}`, { token: 'operator' })).body.queue.backlog).toBe(0);
    for (const runId of [second.body.runId, first.body.runId]) expect((await h.call('POST', `/runs/${runId}/cancel`, { token: 'operator', json: {} })).status).toBeLessThan(300);
  });

  it('shows a namespace only to its members', async () => {
    const outsider = await h.call('GET', `/operations?namespace=${h.namespace}`, { token: 'outsider' });
    expect(outsider.status).toBe(403);
    expect(outsider.type).toBe('application/problem+json');
    expect(outsider.body.code).toBe('FORBIDDEN');
    // Without a namespace the request is for `default`, which the viewer is not a member of.
    expect((await h.call('GET', '/operations', { token: 'viewer' })).status).toBe(403);
    expect((await h.call('GET', '/operations?namespace=elsewhere', { token: 'outsider' })).body.runs.runs).toBe(0);
    expect((await h.call('GET', `/operations?namespace=${h.namespace}`, { token: null })).status).toBe(401);
  });

  it('computes two reports at a time and answers a flood beyond with 429 and Retry-After', async () => {
    const from31 = new Date(Date.now() - 31 * 86_400_000 + 60_000).toISOString();
    const answers = await Promise.all(Array.from({ length: 20 }, () => h.call('GET', `/operations?namespace=${h.namespace}&from=${from31}`, { token: 'viewer' })));
    const statuses = answers.map((res) => res.status);
    expect(statuses.filter((status) => status !== 200 && status !== 429)).toEqual([]);
    expect(statuses).toContain(200);
    expect(statuses).toContain(429);
    for (const res of answers.filter((answer) => answer.status === 429)) {
      expect(res.body.code).toBe('RATE_LIMITED');
      expect(res.headers.get('retry-after')).toBe('1');
    }
    // Nothing stays counted: the next request is computed.
    expect((await h.call('GET', `/operations?namespace=${h.namespace}`, { token: 'viewer' })).status).toBe(200);
  });

  it('answers a bad window with a problem', async () => {
    const now = Date.now();
    const iso = (ms: number): string => new Date(ms).toISOString();
    const cases = [
      [`from=${iso(now)}&to=${iso(now - 1000)}`, 'must be before'],
      [`from=${iso(now - 40 * 86_400_000)}&to=${iso(now)}`, 'at most 31'],
      [`from=${iso(now - 86_400_000)}&to=${iso(now)}&bucket=60`, 'at most 500'],
      ['bucket=30', ''],
      ['from=yesterday', ''],
    ] as const;
    for (const [query, detail] of cases) {
      const res = await h.call('GET', `/operations?namespace=${h.namespace}&${query}`, { token: 'viewer' });
      expect(res.status, query).toBe(400);
      expect(res.type).toBe('application/problem+json');
      expect(res.body.detail).toContain(detail);
    }
  });
});
