/**
 * Every way to start a run goes through one path (issue 19): a replay (API) and a CLI run get the
 * same run-start policy decision, audit record, admission limit and metrics as `POST /runs`, and a
 * replay of an approved run asks its approval gate again. Real API, real Temporal, the embedded
 * PDP with the shipped policy (namespace `default`, which it lets run `testing` workflows, with a
 * limit of one concurrent run so the admission queue shows).
 */
import { randomUUID } from 'node:crypto';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { main } from '../../src/cli/main.js';
import { startHarness, type ApiResponse, type Harness } from './harness.js';

const PEOPLE = {
  alice: { name: 'alice', token: 'alice-path-token-0123456789', roles: ['operator'], namespaces: ['default'] },
  rita: { name: 'rita', token: 'rita-path-token-0123456789', roles: ['operator', 'release-manager'], namespaces: ['default'] },
  sam: { name: 'sam', token: 'sam-path-token-0123456789', roles: ['sre'], namespaces: ['default'] },
  audrey: { name: 'audrey', token: 'audrey-path-token-0123456789', roles: ['auditor'], namespaces: ['default'] },
};
type Person = keyof typeof PEOPLE;
const as = (person: Person) => ({ bearer: PEOPLE[person].token });

let h: Harness;
beforeAll(async () => {
  h = await startHarness({ policy: true, tokens: Object.values(PEOPLE), config: { namespaceRunLimits: { default: 1 } } });
});
afterAll(() => h?.close());

/** A workflow of `tasks` under `authority`, with a unique name. */
function workflow(tasks: string[], authority = 'tests'): string {
  return [
    'apiVersion: maestro/v1',
    'kind: Workflow',
    `metadata: { name: path-${randomUUID().slice(0, 8)}, version: 1.0.0, namespace: default }`,
    'spec:',
    `  policy: { purpose: testing, authority: ${authority}, license: internal }`,
    '  tasks:',
    ...tasks.map((task) => `    - ${task}`),
  ].join('\n');
}

const GATED = [
  '{ id: gate, uses: ops/approval.gate@0.1.0, with: { approvers: [sre] } }',
  '{ id: after, uses: tasks/transform.map@0.1.0, needs: [gate], with: { rows: [1], expression: "$" } }',
];
const QUICK = ['{ id: one, uses: tasks/transform.map@0.1.0, with: { rows: [1], expression: "$ + 1" } }'];

/** Registers, starts as `person` in `default`, waits until it has ended, and until its receipt is written. */
async function finishedRun(yaml: string, person: Person, approve = false): Promise<{ name: string; runId: string }> {
  const { name, version } = await h.register(yaml);
  const started = await h.call('POST', '/runs', { ...as(person), json: { workflowRef: `${name}@${version}`, namespace: 'default' } });
  expect(started.status, started.text).toBe(201);
  const runId = started.body.runId as string;
  if (approve) {
    await h.waitRun(runId, (r) => r.status === 'WAITING');
    expect((await h.call('POST', `/runs/${runId}/approvals`, { ...as('sam'), json: { taskId: 'gate', decision: 'approve' } })).status).toBe(200);
  }
  await h.waitRun(runId, (r) => r.status === 'SUCCEEDED');
  await expect.poll(async () => (await h.call('GET', `/runs/${runId}/receipt`)).status, { timeout: 10_000 }).toBe(200);
  return { name, runId };
}

const audit = async (query: string): Promise<ApiResponse['body'][]> => (await h.call('GET', `/audit?${query}`, as('audrey'))).body.items;

async function runsStarted(workflow: string): Promise<number> {
  const text = (await h.call('GET', '/metrics')).text;
  // One series per started_by_kind (user, replay, retry …): their sum.
  return [...text.matchAll(new RegExp(`maestro_runs_started_total\\{[^}]*workflow="${workflow}"[^}]*\\} (\\d+)`, 'g'))].reduce((sum, match) => sum + Number(match[1]), 0);
}

/** Runs the CLI in this process against the harness's Temporal, store, audit log and run limits. */
async function cli(...argv: string[]): Promise<{ code: number; out: string }> {
  const env = {
    TEMPORAL_ADDRESS: h.config.temporalAddress,
    MAESTRO_DATA_DIR: h.config.dataDir,
    MAESTRO_TASK_QUEUE: h.config.taskQueue,
    MAESTRO_NAMESPACE_RUN_LIMITS: 'default=1',
  };
  const saved = Object.fromEntries(Object.keys(env).map((key) => [key, process.env[key]]));
  Object.assign(process.env, env);
  const out: string[] = [];
  const write = vi.spyOn(process.stdout, 'write').mockImplementation((chunk: string | Uint8Array) => (out.push(String(chunk)), true));
  try {
    return { code: await main(argv), out: out.join('') };
  } finally {
    write.mockRestore();
    for (const [key, value] of Object.entries(saved)) {
      if (value === undefined) delete process.env[key];
      else process.env[key] = value;
    }
  }
}

describe('one run-start path', () => {
  it('a replay of an approved run waits for approval again, and is audited as a replay with its run-start decision and counted', async () => {
    const { name, runId } = await finishedRun(workflow(GATED), 'alice', true);
    expect(await runsStarted(name)).toBe(1);
    const replay = await h.call('POST', `/runs/${runId}/replay`, as('alice'));
    expect(replay.status, replay.text).toBe(202);
    const replayRunId = replay.body.replayRunId as string;
    const settled = await h.waitRun(replayRunId, (r) => r.status !== 'RUNNING' && r.status !== 'QUEUED');
    expect(settled.status).toBe('WAITING');
    expect(settled.tasks.map((t: { id: string; status: string }) => [t.id, t.status])).toEqual([
      ['gate', 'WAITING'],
      ['after', 'PENDING'],
    ]);
    const [record, ...more] = await audit(`runId=${runId}&kind=replay`);
    expect(more).toEqual([]);
    expect(record).toMatchObject({ kind: 'replay', runId, namespace: 'default', actor: 'alice', result: 'replay', details: { replayRunId } });
    const decisions = await audit(`runId=${replayRunId}&kind=decision`);
    expect(decisions.find((d: { details: { stage: string } }) => d.details.stage === 'run')).toMatchObject({ result: 'allow', actor: 'alice' });
    expect(await runsStarted(name)).toBe(2);
    expect((await h.call('POST', `/runs/${replayRunId}/approvals`, { ...as('sam'), json: { taskId: 'gate', decision: 'approve' } })).status).toBe(200);
    await h.waitRun(replayRunId, (r) => r.status === 'SUCCEEDED');
  });

  it('a replay the policy denies is refused like a start, and nothing starts', async () => {
    // release-management authority: rita holds its role, alice does not.
    const { name, runId } = await finishedRun(workflow(QUICK, 'release-management'), 'rita');
    const denied = await h.call('POST', `/runs/${runId}/replay`, as('alice'));
    expect(denied.status, denied.text).toBe(403);
    expect(denied.type).toBe('application/problem+json');
    expect(denied.body.code).toBe('POLICY_DENIED');
    expect(denied.body.reasons.join(' ')).toContain('release-management');
    expect(await audit(`runId=${runId}&kind=replay`)).toEqual([]);
    expect(await runsStarted(name)).toBe(1);
    const runs = (await h.call('GET', `/runs?namespace=default&workflowRef=${name}&limit=100`)).body.items;
    expect(runs.map((r: { runId: string }) => r.runId)).toEqual([runId]);
  });

  it('a repeated request with the same idempotency key gets its run back, decided, audited and counted once', async () => {
    const { name, version } = await h.register(workflow(QUICK));
    const body = { workflowRef: `${name}@${version}`, namespace: 'default', idempotencyKey: `deploy-${randomUUID()}` };
    const first = await h.call('POST', '/runs', { ...as('alice'), json: body });
    expect(first.status, first.text).toBe(201);
    const runId = first.body.runId as string;
    const again = await h.call('POST', '/runs', { ...as('rita'), json: body });
    expect(again.status, again.text).toBe(200);
    expect(again.body.runId).toBe(runId);
    await h.waitRun(runId, (r) => r.status === 'SUCCEEDED', 60_000);
    const after = await h.call('POST', '/runs', { ...as('alice'), json: body });
    expect(after.status, after.text).toBe(200);
    expect(after.body).toMatchObject({ runId, status: 'SUCCEEDED' });
    const decisions = (await audit(`runId=${runId}&kind=decision`)).filter((d: { details: { stage: string } }) => d.details.stage === 'run');
    expect(decisions).toHaveLength(1);
    expect(decisions[0]).toMatchObject({ result: 'allow', actor: 'alice' });
    expect(await runsStarted(name)).toBe(1);
  });

  it('a CLI-started run and a replay take the admission queue like API runs, with a run-start decision', async () => {
    const { runId: done } = await finishedRun(workflow(QUICK), 'alice');
    const { name, version } = await h.register(workflow(['{ id: nap, uses: tasks/wait.sleep@0.1.0, with: { duration: 1h } }']));
    const holder = await h.call('POST', '/runs', { ...as('alice'), json: { workflowRef: `${name}@${version}`, namespace: 'default' } });
    // The finished run's slot is freed by the admission loop's next pass: the holder may queue briefly.
    await h.waitRun(holder.body.runId, (r) => r.status === 'RUNNING');

    const file = join(h.config.dataDir, 'cli-run.yaml');
    await writeFile(file, workflow(QUICK));
    const started = await cli('run', file, '--namespace', 'default', '--json');
    expect(started.code).toBe(0);
    const cliRun = JSON.parse(started.out) as { runId: string; status: string };
    expect(cliRun.status).toBe('QUEUED');
    const replay = await h.call('POST', `/runs/${done}/replay`, as('alice'));
    expect(replay.status, replay.text).toBe(202);
    expect(replay.body.status).toBe('QUEUED');
    const queued = (await h.call('GET', '/runs?namespace=default&status=QUEUED')).body.items.map((r: { runId: string }) => r.runId);
    expect(queued).toEqual(expect.arrayContaining([cliRun.runId, replay.body.replayRunId]));
    const [decision] = await audit(`runId=${cliRun.runId}&kind=decision`);
    expect(decision).toMatchObject({ result: 'allow', actor: expect.stringMatching(/^local:/), details: { stage: 'run' } });

    // Once the slot frees, the API's admission loop starts them in order: the CLI's run too.
    expect((await h.call('POST', `/runs/${holder.body.runId}/cancel`, as('alice'))).status).toBe(202);
    await h.waitRun(cliRun.runId, (r) => r.status === 'SUCCEEDED', 60_000);
    await h.waitRun(replay.body.replayRunId, (r) => r.status === 'SUCCEEDED', 60_000);
  });
});
