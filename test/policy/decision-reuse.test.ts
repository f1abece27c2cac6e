/**
 * Decision reuse through the real API, the Temporal dev server and a real worker with the embedded
 * PDP: a task's first attempt acts on the decision made for it at run start when the audit log
 * holds it for the same run and task, on the same policy input (digest), under the worker's policy
 * bundle revision and young enough — and says so in the audit log, the receipt and the task log.
 * Anything else decides again: another bundle, another input, an expired decision, a retry, a
 * maximum age of 0, a decision id forged into a workflow started directly on Temporal; and a
 * denial at the attempt still stops the task.
 */
import { execFileSync } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { TokenEntry } from '../../src/api/index.js';
import { startRun } from '../../src/client/index.js';
import { compileWorkflow } from '../../src/compiler/index.js';
import { loadConfig, type ConfigInput } from '../../src/config/index.js';
import type { Principal } from '../../src/ir/index.js';
import { parseManifest, type WorkflowManifest } from '../../src/manifest/index.js';
import { createPdp, createPolicyGate, resolveOpaBin } from '../../src/policy/index.js';
import { authorizeRunStart } from '../../src/runs/index.js';
import { builtinCatalog } from '../../src/tasks/index.js';
import { startHarness, type Harness } from '../api/harness.js';
import { startHttpPeer, type HttpPeer } from '../helpers/http-peer.js';
import { REPO_ROOT } from '../peers/install.js';
import { buildPolicyBundles } from './opa-server.js';

const ALICE = { name: 'alice', token: 'alice-reuse-token-0123456789', roles: ['operator'], namespaces: ['default'] } satisfies TokenEntry;
const AUDREY = { name: 'audrey', token: 'audrey-reuse-token-0123456789', roles: ['auditor'], namespaces: ['default'] } satisfies TokenEntry;
const TESTING = 'purpose: testing, authority: tests, license: confidential';
const MAP = 'uses: tasks/transform.map@0.1.0, with: { rows: [1], expression: "$" }';

let peer: HttpPeer;
let dir: string;
beforeAll(async () => {
  peer = await startHttpPeer();
  dir = await mkdtemp(join(tmpdir(), 'maestro-reuse-'));
});
afterAll(async () => {
  await peer?.close();
  await rm(dir, { recursive: true, force: true });
});

/** A workflow of namespace `default` with a unique name and these task lines. */
function workflow(tasks: string[]): string {
  return ['apiVersion: maestro/v1', 'kind: Workflow', `metadata: { name: reuse-${randomUUID().slice(0, 8)}, version: 1.0.0 }`, 'spec:', `  policy: { ${TESTING} }`, '  tasks:', ...tasks.map((task) => `    - ${task}`)].join('\n');
}

/** A harness deciding with the policy, its settings (and the worker's PDP's) as given. */
function reuseHarness(config: ConfigInput = {}, workerPolicy?: ConfigInput): Promise<Harness> {
  return startHarness({ policy: true, tokens: [ALICE, AUDREY], config: { egressAllow: { '*': ['127.0.0.0/8'] }, ...config }, ...(workerPolicy === undefined ? {} : { workerPolicy }) });
}

/** Registers and starts `tasks` as alice through the API, and waits for the run to end. */
async function runThroughApi(h: Harness, tasks: string[]): Promise<{ runId: string; run: { status: string; tasks: { id: string; error?: { code: string } }[] } }> {
  const { name, version } = await h.register(workflow(tasks), 'default');
  const res = await h.call('POST', '/runs', { bearer: ALICE.token, json: { workflowRef: `${name}@${version}`, namespace: 'default' } });
  expect(res.status, res.text).toBe(201);
  const runId = res.body.runId as string;
  return { runId, run: await h.waitRun(runId, (r) => r.status !== 'RUNNING' && r.status !== 'QUEUED') };
}

interface AuditRow {
  id: string;
  kind: string;
  taskId?: string;
  result: string;
  details: { stage?: string; decisionId?: string; attempt?: number };
}

/**
 * How the run's policy records read, as the auditor gets them: `run allow`, `<task> allow` for a
 * task's decision (its run-start one first), `<task> reused start` when an attempt acted on that
 * task's run-start decision.
 */
async function auditTrail(h: Harness, runId: string): Promise<string[]> {
  const res = await h.call('GET', `/audit?runId=${runId}`, { bearer: AUDREY.token });
  expect(res.status, res.text).toBe(200);
  const rows = res.body.items as AuditRow[];
  const startDecision = new Map<string, string>();
  return rows.map((row) => {
    if (row.kind === 'decision-reuse') return `${row.taskId} reused ${startDecision.get(row.taskId ?? '') === row.details.decisionId ? 'start' : row.details.decisionId} #${row.details.attempt}`;
    if (row.details.stage === 'run') return `run ${row.result}`;
    if (!startDecision.has(row.taskId ?? '')) startDecision.set(row.taskId ?? '', row.id);
    return `${row.taskId} ${row.result}`;
  });
}

/** The task log's policy lines: `<task>#<attempt> reused|decided again: <why>|decided`. */
async function policyLines(h: Harness, runId: string): Promise<string[]> {
  const res = await h.call('GET', `/runs/${runId}/logs`, { bearer: ALICE.token });
  expect(res.status, res.text).toBe(200);
  return (res.body.items as { taskId: string; attempt: number; message: string }[])
    .filter((line) => line.message.startsWith('policy allowed'))
    .map((line) => {
      const how = /\((reused from the run start|decided again: .*)\)$/.exec(line.message)?.[1] ?? 'decided';
      return `${line.taskId}#${line.attempt} ${how === 'reused from the run start' ? 'reused' : how}`;
    });
}

/** The receipt's annotations of `taskId`, once the receipt is written. */
async function receiptTask(h: Harness, runId: string, taskId: string): Promise<Record<string, unknown>> {
  let receipt = await h.call('GET', `/runs/${runId}/receipt`);
  for (let i = 0; receipt.status === 404 && i < 50; i += 1) {
    await new Promise((resolve) => setTimeout(resolve, 100));
    receipt = await h.call('GET', `/runs/${runId}/receipt`);
  }
  expect(receipt.status, receipt.text).toBe(200);
  const statement = JSON.parse(Buffer.from(receipt.body.dsseEnvelope.payload, 'base64').toString()) as { predicate: { runDetails: { byproducts: { name: string; annotations: Record<string, unknown> }[] } } };
  const task = statement.predicate.runDetails.byproducts.find((byproduct) => byproduct.name === `task/${taskId}`);
  expect(task).toBeDefined();
  return task?.annotations ?? {};
}

describe('with the default maximum age', () => {
  let h: Harness;
  beforeAll(async () => {
    h = await reuseHarness();
  });
  afterAll(() => h?.close());

  it('acts on the run-start decision at the first attempt, and the audit log, the receipt and the task log say so', async () => {
    const { runId, run } = await runThroughApi(h, [`{ id: prep, ${MAP} }`, `{ id: tail, needs: [prep], ${MAP} }`]);
    expect(run.status).toBe('SUCCEEDED');
    expect(await auditTrail(h, runId)).toEqual(['run allow', 'prep allow', 'tail allow', 'prep reused start #1', 'tail reused start #1']);
    expect(await policyLines(h, runId)).toEqual(['prep#1 reused', 'tail#1 reused']);
    const rows = (await h.call('GET', `/audit?runId=${runId}`, { bearer: AUDREY.token })).body.items as AuditRow[];
    const prepStart = rows.find((row) => row.kind === 'decision' && row.taskId === 'prep')?.id;
    expect(await receiptTask(h, runId, 'prep')).toMatchObject({ policyDecisionIds: [prepStart], reusedPolicyDecisionIds: [prepStart] });
    const reuses = await h.call('GET', `/audit?runId=${runId}&kind=decision-reuse`, { bearer: AUDREY.token });
    expect(reuses.status, reuses.text).toBe(200);
    expect(reuses.body.items.map((row: AuditRow) => [row.taskId, row.details])).toEqual([
      ['prep', { attempt: 1, decisionId: prepStart }],
      ['tail', { attempt: 1, decisionId: rows.find((row) => row.kind === 'decision' && row.taskId === 'tail')?.id }],
    ]);
  });

  it('decides again on a retry: the second attempt of a task that failed once asks the PDP', async () => {
    const flaky = `${peer.url}/flaky/reuse-${randomUUID()}?failures=1`;
    const { runId, run } = await runThroughApi(h, [`{ id: call, uses: tasks/http.request@0.1.0, retry: { maxAttempts: 2, initialInterval: 100ms }, with: { url: "${flaky}" } }`]);
    expect(run.status, JSON.stringify(run.tasks)).toBe('SUCCEEDED');
    expect(await auditTrail(h, runId)).toEqual(['run allow', 'call allow', 'call reused start #1', 'call allow']);
    expect(await policyLines(h, runId)).toEqual(['call#1 reused', 'call#2 decided']);
  });

  describe('a workflow started directly on Temporal, past the API', () => {
    const compile = (tasks: string[]) => compileWorkflow(parseManifest(workflow(tasks), 'reuse.yaml', { catalog: builtinCatalog }) as WorkflowManifest, { catalog: builtinCatalog });

    /** Decides a run start for `decidedFor` (recorded, as the API would), then starts the run on Temporal acting for `actingFor` with `taskDecisions`. */
    async function startDirectly(tasks: string[], decidedFor: Principal, actingFor: Principal, forge: (decisions: Record<string, string>) => Record<string, string>) {
      const compiled = compile(tasks);
      const runId = `run-${randomUUID()}`;
      const pdp = await createPdp(h.config);
      const decisions = await authorizeRunStart(createPolicyGate({ pdp, log: h.auditLog }), { runId, principal: decidedFor, compiled, namespace: 'default' });
      await pdp.close();
      await startRun(h.client, { compiled, params: {}, runId, namespace: 'default', taskQueue: h.config.taskQueue, principal: actingFor, taskDecisions: forge(decisions) });
      const run = (await h.waitRun(runId, (r) => r.status !== 'RUNNING')) as { status: string; tasks: { id: string; error?: { code: string } }[] };
      return { runId, run };
    }
    const alice: Principal = { subject: ALICE.name, roles: ALICE.roles, namespaces: ALICE.namespaces };

    it('decides again when the policy input differs from the one decided at run start (its digest)', async () => {
      // The same run, task and principal name, with a role more: another input, so another question.
      const { runId, run } = await startDirectly([`{ id: prep, ${MAP} }`], alice, { ...alice, roles: ['operator', 'tester'] }, (decisions) => decisions);
      expect(run.status).toBe('SUCCEEDED');
      expect(await auditTrail(h, runId)).toEqual(['run allow', 'prep allow', 'prep allow']);
      const [line] = await policyLines(h, runId);
      expect(line).toMatch(/^prep#1 decided again: decision \S+ was made on another policy input \(sha256:\w+, not sha256:\w+\)$/);
    });

    it('does not act on a forged decision: an unknown id, or an allow borrowed for a principal the policy denies', async () => {
      const unknown = await startDirectly([`{ id: prep, ${MAP} }`], alice, alice, () => ({ prep: randomUUID() }));
      expect(unknown.run.status).toBe('SUCCEEDED');
      expect(await policyLines(h, unknown.runId)).toEqual(['prep#1 decided again: the run-start decision is not in the audit log']);
      // Alice's real allow for this very run and task, carried into a run acting for someone the policy denies.
      const path = `/ok/forged-${randomUUID()}`;
      const nobody: Principal = { subject: 'mallory', roles: ['viewer'], namespaces: ['default'] };
      const borrowed = await startDirectly([`{ id: call, uses: tasks/http.request@0.1.0, with: { url: "${peer.url}${path}" } }`], alice, nobody, (decisions) => decisions);
      expect(borrowed.run.status).toBe('FAILED');
      expect(borrowed.run.tasks.find((task) => task.id === 'call')?.error?.code).toBe('POLICY_DENIED');
      expect(await auditTrail(h, borrowed.runId)).toEqual(['run allow', 'call allow', 'call deny']);
      expect(peer.hits.get(path)).toBeUndefined();
    });
  });
});

describe('with a maximum age of 1.5 s', () => {
  let h: Harness;
  beforeAll(async () => {
    h = await reuseHarness({ policyReuseMaxAgeMs: 1_500 });
  });
  afterAll(() => h?.close());

  it('decides again for a task whose run-start decision expired while an earlier task waited', async () => {
    const { runId, run } = await runThroughApi(h, [`{ id: prep, ${MAP} }`, '{ id: nap, uses: tasks/wait.sleep@0.1.0, needs: [prep], with: { duration: 2s } }', `{ id: tail, needs: [nap], ${MAP} }`]);
    expect(run.status).toBe('SUCCEEDED');
    expect(await auditTrail(h, runId)).toEqual(['run allow', 'prep allow', 'tail allow', 'prep reused start #1', 'tail allow']);
    const lines = await policyLines(h, runId);
    expect(lines[0]).toBe('prep#1 reused');
    expect(lines[1]).toMatch(/^tail#1 decided again: decision \S+ is \d+ ms old, more than the 1500 ms it may be acted on for$/);
  });
});

describe('with a maximum age of 0', () => {
  let h: Harness;
  beforeAll(async () => {
    h = await reuseHarness({ policyReuseMaxAgeMs: 0 });
  });
  afterAll(() => h?.close());

  it('never acts on a run-start decision: every attempt asks the PDP', async () => {
    const { runId, run } = await runThroughApi(h, [`{ id: prep, ${MAP} }`, `{ id: tail, needs: [prep], ${MAP} }`]);
    expect(run.status).toBe('SUCCEEDED');
    expect(await auditTrail(h, runId)).toEqual(['run allow', 'prep allow', 'tail allow', 'prep allow', 'tail allow']);
    expect(await policyLines(h, runId)).toEqual(['prep#1 decided', 'tail#1 decided']);
  });
});

/**
 * A policy bundle changed after the API's: the repository's Rego with a `confidential` license that
 * no longer permits `confidential` data, under a revision of its own (`opa build`, as
 * scripts/opa.mjs builds the real one).
 */
async function changedBundle(): Promise<string> {
  buildPolicyBundles();
  const source = join(dir, 'policies');
  await mkdir(source, { recursive: true });
  const data = JSON.parse(await readFile(join(REPO_ROOT, 'policies', 'data.json'), 'utf8')) as { maestro_config: { licenses: Record<string, string[]> } };
  data.maestro_config.licenses['confidential'] = ['public', 'internal'];
  await writeFile(join(source, 'data.json'), JSON.stringify(data));
  await writeFile(join(source, 'maestro.rego'), await readFile(join(REPO_ROOT, 'policies', 'maestro.rego')));
  const bundle = join(dir, 'changed.wasm.tar.gz');
  const args = ['build', '-t', 'wasm', '-e', 'maestro/decision', '-e', 'maestro/allow', '--revision', 'sha256:changed-by-the-reuse-test', '-o', bundle, source];
  execFileSync(resolveOpaBin(loadConfig().opaBin), args, { stdio: 'pipe' });
  return bundle;
}

describe('when the workers have a policy bundle the API decided the start under no longer', () => {
  let h: Harness;
  beforeAll(async () => {
    h = await reuseHarness({}, { policyBundle: await changedBundle() });
  });
  afterAll(() => h?.close());

  it('decides again under the new revision, and its denial stops the task before it runs', async () => {
    const path = `/ok/changed-${randomUUID()}`;
    const { runId, run } = await runThroughApi(h, [
      `{ id: prep, ${MAP} }`,
      `{ id: call, uses: tasks/http.request@0.1.0, needs: [prep], labels: { classification: confidential }, with: { url: "${peer.url}${path}" } }`,
    ]);
    expect(run.status).toBe('FAILED');
    expect(run.tasks.find((task) => task.id === 'call')?.error?.code).toBe('POLICY_DENIED');
    expect(await auditTrail(h, runId)).toEqual(['run allow', 'prep allow', 'call allow', 'prep allow', 'call deny']);
    const [line] = await policyLines(h, runId);
    expect(line).toMatch(/^prep#1 decided again: decision \S+ was made under policy bundle sha256:\w+, not the current sha256:changed-by-the-reuse-test$/);
    expect(peer.hits.get(path)).toBeUndefined();
  });
});
