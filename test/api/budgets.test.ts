/**
 * Budgets through the real API, worker and Temporal: a task that crosses its namespace's budget
 * fails (`fail`) or pauses its run (`pause`); the next start is refused with 403
 * `BUDGET_EXCEEDED` (POST /runs and a webhook trigger); warnings at 80% and 100% go to the audit
 * log once per period; `GET /usage` (and `maestro usage`) sums what the ledger recorded, and only
 * for a caller with access to the namespace.
 */
import { randomUUID } from 'node:crypto';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { hmacSha256Hex } from '../../src/triggers/index.js';
import { manifest, startHarness, type Harness } from './harness.js';

const FLAKY_TASK_MODULE = fileURLToPath(new URL('../fixtures/tasks/flaky.ts', import.meta.url));
/** 150 ms of `local` costs 1.5: one such task spends a budget of 1. */
const COST_MODEL = { perSecond: { local: 10 }, perRun: 0.01 };
const SECRET = `hook-secret-${randomUUID()}`;
const SRE_OPERATOR = { name: 'sre-operator', token: 'sre-operator-token-budget-0123', roles: ['operator', 'sre'], namespaces: ['*'] };

const SPEND = [
  '    - { id: burn, uses: tests/flaky@0.1.0, with: { ms: 150 }, retry: { maxAttempts: 3, initialInterval: 10ms } }',
  '    - { id: after, uses: tests/flaky@0.1.0, needs: [burn] }',
].join('\n');

describe('budgets', () => {
  let h: Harness;
  let limited: string;
  beforeAll(async () => {
    process.env.MAESTRO_SECRET_BUDGET_HOOK_KEY = SECRET;
    h = await startHarness({
      tokens: [SRE_OPERATOR],
      config: (namespace) => ({
        taskModules: [FLAKY_TASK_MODULE],
        costModel: COST_MODEL,
        budgets: { [namespace]: { period: 'month', limit: 1, onExceed: 'fail' }, [`${namespace}-limited`]: { period: 'day', limit: 1, onExceed: 'pause' } },
        secrets: { 'budget-hook-key': { namespaces: [namespace] } },
      }),
    });
    limited = `${h.namespace}-limited`;
  }, 120_000);
  afterAll(async () => {
    await h?.close();
    delete process.env.MAESTRO_SECRET_BUDGET_HOOK_KEY;
  });

  async function budgetRecords(namespace: string): Promise<{ result: string; runId?: string; taskId?: string; details: Record<string, unknown> }[]> {
    return (await h.auditLog.list({ kind: 'budget', limit: 1000 })).filter((r) => r.namespace === namespace) as never;
  }

  it('fails the task that crosses a `fail` budget, refuses the next start (POST /runs, webhook), and warns once at 80% and 100%', async () => {
    const wf = await h.register(manifest(SPEND, { parameters: '    - { name: service, type: string }' }));
    const ref = `${wf.name}@${wf.version}`;
    const started = await h.call('POST', '/runs', { json: { workflowRef: ref, namespace: h.namespace }, token: 'operator' });
    expect(started.status, started.text).toBe(201);
    const runId = started.body.runId as string;
    const run = await h.waitRun(runId, (r) => r.status === 'FAILED');
    const burn = run.tasks.find((t: { id: string }) => t.id === 'burn');
    expect(burn).toMatchObject({ status: 'FAILED', attempts: 1, error: { code: 'BUDGET_EXCEEDED' } });
    expect(run.tasks.find((t: { id: string }) => t.id === 'after')?.attempts ?? 0).toBe(0);
    const [row] = await h.store.listTaskAttempts(runId);
    expect(row).toMatchObject({ taskId: 'burn', attempt: 1, outcome: 'failed', errorCode: 'BUDGET_EXCEEDED' });
    expect(row?.cost).toBeGreaterThanOrEqual(1.5);

    const refused = await h.call('POST', '/runs', { json: { workflowRef: ref, namespace: h.namespace }, token: 'operator' });
    expect(refused.status).toBe(403);
    expect(refused.type).toBe('application/problem+json');
    expect(refused.body).toMatchObject({ code: 'BUDGET_EXCEEDED', namespace: h.namespace, period: 'month', limit: 1 });
    expect(refused.body.usage).toBeCloseTo((row?.cost ?? 0) + 0.01, 9);

    // A webhook trigger starts through the same path: refused alike, nothing started.
    const runbook = `rb-${h.namespace}`;
    const rb = await h.call('POST', '/runbooks', {
      yaml: `apiVersion: maestro/v1\nkind: Runbook\nmetadata:\n  name: ${runbook}\n  namespace: ${h.namespace}\n  version: 1.0.0\n  allowList: { roles: [sre] }\nspec:\n  inputs:\n    - { name: service, type: string, required: true }\n  workflowRef: ${ref}\n`,
    });
    expect(rb.status, rb.text).toBe(201);
    const trigger = await h.call('POST', '/triggers', { bearer: SRE_OPERATOR.token, json: { namespace: h.namespace, runbook, name: 'spend-hook', auth: { secret: 'budget-hook-key' }, inputs: { service: 'body.service' } } });
    expect(trigger.status, trigger.text).toBe(201);
    const body = JSON.stringify({ service: 'api' });
    const hook = await fetch(`${h.api.url}/hooks/${h.namespace}/spend-hook`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'x-maestro-signature': `sha256=${hmacSha256Hex(SECRET, Buffer.from(body))}` },
      body,
    });
    const hookBody = (await hook.json()) as Record<string, unknown>;
    expect(hook.status, JSON.stringify(hookBody)).toBe(403);
    expect(hookBody).toMatchObject({ code: 'BUDGET_EXCEEDED', namespace: h.namespace, limit: 1 });

    const records = await budgetRecords(h.namespace);
    expect(records.filter((r) => r.result === 'warning').map((r) => r.details.threshold)).toEqual([80, 100]);
    expect(records.filter((r) => r.result === 'fail')).toMatchObject([{ runId, taskId: 'burn' }]);
    expect(records.filter((r) => r.result === 'refused')).toHaveLength(2);
    const listed = await h.call('GET', `/audit?kind=budget&limit=1000`, { token: 'auditor' });
    expect(listed.status).toBe(200);
  });

  it('pauses the run whose task crosses a `pause` budget, keeping the task\u2019s outputs', async () => {
    const wf = await h.register(manifest(SPEND), limited);
    const started = await h.call('POST', '/runs', { json: { workflowRef: `${wf.name}@${wf.version}`, namespace: limited }, token: 'operator' });
    expect(started.status, started.text).toBe(201);
    const runId = started.body.runId as string;
    const run = await h.waitRun(runId, (r) => r.status === 'PAUSED' && r.tasks.some((t: { id: string; status: string }) => t.id === 'burn' && t.status === 'SUCCEEDED'));
    expect(run.tasks.find((t: { id: string }) => t.id === 'after')?.attempts ?? 0).toBe(0);
    expect((await budgetRecords(limited)).filter((r) => r.result === 'pause')).toMatchObject([{ runId, taskId: 'burn' }]);
    const refused = await h.call('POST', '/runs', { json: { workflowRef: `${wf.name}@${wf.version}`, namespace: limited }, token: 'operator' });
    expect(refused.status).toBe(403);
    expect(refused.body).toMatchObject({ code: 'BUDGET_EXCEEDED', period: 'day' });
    expect((await h.call('POST', `/runs/${runId}/cancel`, { json: {}, token: 'operator' })).status).toBeLessThan(300);
  });

  it('GET /usage sums what the ledger recorded, with the budget; maestro usage prints it; another namespace\u2019s caller is refused', async () => {
    const usage = await h.call('GET', `/usage?namespace=${h.namespace}`, { token: 'viewer' });
    expect(usage.status, usage.text).toBe(200);
    const runs = (await h.call('GET', `/runs?namespace=${h.namespace}&limit=100`)).body.items as { runId: string }[];
    const rows = (await Promise.all(runs.map((r) => h.store.listTaskAttempts(r.runId)))).flat();
    const attemptsCost = rows.reduce((sum, row) => sum + row.cost, 0);
    expect(usage.body.attempts.attempts).toBe(rows.length);
    expect(usage.body.attempts.cost).toBeCloseTo(attemptsCost, 9);
    expect(usage.body.runs).toEqual({ count: runs.length, cost: expect.closeTo(runs.length * 0.01, 9) });
    expect(usage.body.total).toBeCloseTo(attemptsCost + runs.length * 0.01, 9);
    expect(usage.body.byResourceClass).toMatchObject([{ resourceClass: 'local', attempts: rows.length }]);
    expect(usage.body.budget).toMatchObject({ period: 'month', limit: 1, onExceed: 'fail', usage: expect.closeTo(usage.body.total, 9) });
    expect(usage.body.budget.usedRatio).toBeGreaterThanOrEqual(1);

    const cli = await h.cli('viewer', 'usage', '--namespace', h.namespace);
    expect(cli.code, cli.err).toBe(0);
    expect(cli.out).toContain(`budget: `);
    expect(cli.out).toContain('this month');

    const outsider = await h.call('GET', `/usage?namespace=${h.namespace}`, { token: 'outsider' });
    expect(outsider.status).toBe(403);
    expect(outsider.body.code).toBe('FORBIDDEN');
    const bad = await h.call('GET', `/usage?namespace=${h.namespace}&from=2020-01-01T00:00:00Z&to=2026-01-01T00:00:00Z`, { token: 'viewer' });
    expect(bad.status).toBe(400);
  });
});
