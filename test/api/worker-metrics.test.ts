/**
 * The worker's `GET /metrics` after real runs through the real worker (`runWorker`, as
 * `workers/worker.ts` runs it) with the embedded OPA and the repository's policy: task attempts by
 * outcome and code (succeeded, failed with its code, cached, denied by the task gate), policy
 * denials by stage, schedule-to-start latency, runs started by kind, and Temporal's own `temporal_*`
 * worker metrics on the same endpoint.
 */
import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { extendConfig } from '../../src/config/index.js';
import { launchRun, newRunId } from '../../src/runs/index.js';
import { runWorker, type RunningWorker } from '../../src/worker/index.js';
import { CHATTY_TASK_MODULE, policyWorkflow as workflow, startHarness, type Harness } from './harness.js';

const PEOPLE = {
  alice: { name: 'alice', token: 'alice-metrics-token-0123456789', roles: ['operator'], namespaces: ['default'] },
};
const alice = { bearer: PEOPLE.alice.token };

let h: Harness;
let worker: RunningWorker;
beforeAll(async () => {
  h = await startHarness({ policy: true, worker: false, tokens: Object.values(PEOPLE), config: { taskModules: [CHATTY_TASK_MODULE] } });
  worker = await runWorker(extendConfig(h.config, { workerMetricsPort: 0, triggerConsumers: false, logLevel: 'error' }));
});
afterAll(async () => {
  await worker?.shutdown();
  await h?.close();
});

async function scrape(): Promise<string> {
  const res = await fetch(`${worker.metricsUrl ?? ''}/metrics`);
  expect(res.status).toBe(200);
  return res.text();
}

/** The value of the one series of `name` whose labels include each of `labels`. */
function value(text: string, name: string, labels: Record<string, string>): number | undefined {
  const line = text.split('\n').find((l) => l.startsWith(`${name}{`) && Object.entries(labels).every(([k, v]) => l.includes(`${k}="${v}"`)));
  return line === undefined ? undefined : Number(line.slice(line.lastIndexOf(' ') + 1));
}

async function run(name: string, as: { bearer: string } | { token: 'admin' } = alice): Promise<{ status: string; tasks: { id: string; error?: { code: string } }[] }> {
  const started = await h.call('POST', '/runs', { ...as, json: { workflowRef: `${name}@1.0.0`, namespace: 'default' } });
  expect(started.status, started.text).toBe(201);
  return h.waitRun(started.body.runId, (r) => r.status === 'SUCCEEDED' || r.status === 'FAILED');
}

describe("the worker's /metrics", () => {
  it('counts attempts that succeed, fail with their code, and come from the cache, with durations and schedule-to-start', async () => {
    const name = `metered-${randomUUID().slice(0, 8)}`;
    // transform.map runs as a local activity and is cached; chatty is a regular activity (schedule-to-start).
    await h.register(workflow(name, 'tests', ['{ id: double, uses: tasks/transform.map@0.1.0, with: { rows: [1, 2], expression: "$ * 2" } }', '{ id: talk, uses: tests/chatty@0.1.0, with: { lines: 1 } }']), 'default');
    expect((await run(name)).status).toBe('SUCCEEDED');
    expect((await run(name)).status).toBe('SUCCEEDED');
    const broken = `broken-${randomUUID().slice(0, 8)}`;
    await h.register(workflow(broken, 'tests', ['{ id: clock, uses: tasks/transform.map@0.1.0, with: { rows: [1], expression: "$now()" } }']), 'default');
    const failed = await run(broken);
    expect(failed.status).toBe('FAILED');
    const code = failed.tasks[0]?.error?.code ?? '';
    expect(code).toBe('TASK_INPUT_INVALID');

    const text = await scrape();
    const scope = { namespace: 'default', workflow: name, task: 'double' };
    expect(value(text, 'maestro_task_attempts_total', { ...scope, uses: 'tasks/transform.map@0.1.0', runner: 'local', outcome: 'succeeded', code: '' })).toBe(1);
    expect(value(text, 'maestro_task_attempts_total', { ...scope, outcome: 'cached' })).toBe(1);
    expect(value(text, 'maestro_task_cache_hits_total', scope)).toBe(1);
    expect(value(text, 'maestro_task_attempt_duration_seconds_count', { ...scope, runner: 'local', outcome: 'succeeded' })).toBe(1);
    expect(value(text, 'maestro_task_attempts_total', { workflow: broken, task: 'clock', outcome: 'failed', code })).toBe(1);
    expect(value(text, 'maestro_task_schedule_to_start_seconds_count', { task_queue: h.config.taskQueue })).toBeGreaterThanOrEqual(2);
    expect(value(text, 'maestro_runs_started_total', { namespace: 'default', workflow: name, started_by_kind: 'user' })).toBe(2);
    // Temporal's own worker metrics, merged into the same exposition.
    expect(text).toMatch(/^temporal_[a-z_]+(\{[^}]*\})? \d/m);
    expect(text).toContain('temporal_activity_schedule_to_start_latency');
    // Never a run id as a label.
    expect(text).not.toMatch(/run-[0-9a-f]{8}-/);
  });

  it('counts policy denials at the run start (the API) and at a task attempt (the worker gate)', async () => {
    const name = `gated-${randomUUID().slice(0, 8)}`;
    await h.register(workflow(name, 'release-management', ['{ id: ship, uses: tasks/transform.map@0.1.0, with: { rows: [1], expression: "$" } }']), 'default');
    const refused = await h.call('POST', '/runs', { ...alice, json: { workflowRef: `${name}@1.0.0`, namespace: 'default' } });
    expect(refused.status).toBe(403);
    expect(refused.body.code).toBe('POLICY_DENIED');

    // Started without the run-start check (a launch context with no policy): the worker's gate decides the attempt.
    const compiled = (await h.store.getWorkflow('default', name, '1.0.0'))!;
    const runId = newRunId();
    await launchRun(
      { client: h.client, store: h.store, auditLog: h.auditLog, taskQueue: h.config.taskQueue, runLimits: {}, payloadCodec: h.payloadCodec },
      { runId, compiled, params: {}, namespace: 'default', startedBy: 'alice', principal: { subject: 'alice', roles: ['operator'], namespaces: ['default'] } },
    );
    const denied = await h.waitRun(runId, (r) => r.status === 'FAILED');
    expect(denied.tasks[0].error.code).toBe('POLICY_DENIED');

    const text = await scrape();
    expect(value(text, 'maestro_policy_denials_total', { namespace: 'default', workflow: name, stage: 'run_start' })).toBe(1);
    expect(value(text, 'maestro_policy_denials_total', { namespace: 'default', workflow: name, stage: 'task_attempt' })).toBe(1);
    expect(value(text, 'maestro_task_attempts_total', { workflow: name, task: 'ship', outcome: 'denied', code: 'POLICY_DENIED' })).toBe(1);
  });
});
