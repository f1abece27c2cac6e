/**
 * The policy gate on the API side, through the real API, the real Temporal dev server and a real
 * worker, with the embedded wasm PDP and with a real OPA server: every rule of the default policy
 * allowed and denied at run start (`POST /runs`), the same decisions from both PDPs, denied runs
 * with no effect at all, dry-run decisions, the audit route, and OPA down failing closed.
 */
import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { TokenEntry } from '../../src/api/index.js';
import { openDatabase } from '../../src/store/index.js';
import { startHttpPeer, type HttpPeer } from '../helpers/http-peer.js';
import { startHarness, type ApiResponse, type Harness } from '../api/harness.js';
import { startOpaServer, type OpaServer } from './opa-server.js';

const PEOPLE = {
  alice: { name: 'alice', token: 'alice-policy-token-0123456789', roles: ['operator'], namespaces: ['default', 'sandbox'] },
  rita: { name: 'rita', token: 'rita-policy-token-0123456789', roles: ['operator', 'release-manager'], namespaces: ['default'] },
  root: { name: 'root', token: 'root-policy-token-0123456789', roles: ['admin'], namespaces: ['*'] },
  audrey: { name: 'audrey', token: 'audrey-policy-token-0123456789', roles: ['auditor'], namespaces: ['default', 'sandbox'] },
} satisfies Record<string, TokenEntry>;
type Person = keyof typeof PEOPLE;

const TESTING = 'purpose: testing, authority: tests, license: internal';
const MARKETING_DENIED =
  'purpose "marketing" is not allowed in namespace "default" (allowed: "demo", "testing", "benchmark", "release", "analytics", "incident-response", "notification", "ingest")';

/** A workflow manifest with a unique name, the given `spec.policy` and task lines. */
function workflow(policy: string, tasks: string[]): string {
  return [
    'apiVersion: maestro/v1',
    'kind: Workflow',
    `metadata: { name: gate-${randomUUID().slice(0, 8)}, version: 1.0.0 }`,
    'spec:',
    `  policy: { ${policy} }`,
    '  tasks:',
    ...tasks.map((task) => `    - ${task}`),
  ].join('\n');
}

const PREP = '{ id: prep, uses: tasks/transform.map@0.1.0, with: { rows: [1], expression: "$" } }';
const call = (url: string) => `{ id: call, uses: tasks/http.request@0.1.0, needs: [prep], with: { url: "${url}" } }`;

/** A run-start case: who starts what where, and what the API must answer. */
interface StartCase {
  name: string;
  as: Person;
  namespace: string;
  policy: string;
  /** Task lines; `URL` is replaced by a receiver path unique to the case and mode. */
  tasks: string[];
  allow: boolean;
  /** For denials: a reason the problem's `reasons` must hold, and the task it came from (absent: the run's own). */
  reason?: string;
  taskId?: string;
}

const CASES: StartCase[] = [
  { name: 'every check holds, with a task leaving the trust boundary', as: 'alice', namespace: 'default', policy: TESTING, tasks: [PREP, call('URL')], allow: true },
  // Check 1: namespace.
  { name: 'namespace: configured', as: 'root', namespace: 'default', policy: TESTING, tasks: [PREP], allow: true },
  {
    name: 'namespace: not configured in the policy data',
    as: 'root',
    namespace: 'nowhere',
    policy: TESTING,
    tasks: [PREP],
    allow: false,
    reason: 'namespace "nowhere" has no entry in the policy\'s data (data.maestro_config.namespaces)',
  },
  // Check 2: purpose.
  { name: 'purpose: on the namespace list', as: 'alice', namespace: 'default', policy: 'purpose: analytics, authority: tests, license: internal', tasks: [PREP], allow: true },
  {
    name: 'purpose: off the namespace list',
    as: 'alice',
    namespace: 'default',
    policy: 'purpose: marketing, authority: tests, license: internal',
    tasks: [PREP],
    allow: false,
    reason: MARKETING_DENIED,
  },
  {
    name: 'purpose: a task override off the list',
    as: 'alice',
    namespace: 'default',
    policy: TESTING,
    tasks: ['{ id: prep, uses: tasks/transform.map@0.1.0, policy: { purpose: marketing }, with: { rows: [1], expression: "$" } }'],
    allow: false,
    reason: MARKETING_DENIED,
    taskId: 'prep',
  },
  // Check 3: authority.
  { name: 'authority: a role listed for it', as: 'rita', namespace: 'default', policy: 'purpose: release, authority: release-management, license: internal', tasks: [PREP], allow: true },
  {
    name: 'authority: no role for it',
    as: 'alice',
    namespace: 'default',
    policy: 'purpose: release, authority: release-management, license: internal',
    tasks: [PREP],
    allow: false,
    reason: 'principal "alice" holds none of the roles that act under authority "release-management" (needs one of "admin", "release-management", "release-manager"; holds "operator")',
  },
  // Check 4: license and classification.
  {
    name: 'license: permits the task classification',
    as: 'alice',
    namespace: 'default',
    policy: 'purpose: testing, authority: tests, license: confidential',
    tasks: ['{ id: prep, uses: tasks/transform.map@0.1.0, labels: { classification: confidential }, with: { rows: [1], expression: "$" } }'],
    allow: true,
  },
  {
    name: 'license: does not permit the task classification',
    as: 'alice',
    namespace: 'default',
    policy: TESTING,
    tasks: ['{ id: prep, uses: tasks/transform.map@0.1.0, labels: { classification: restricted }, with: { rows: [1], expression: "$" } }'],
    allow: false,
    reason: 'license "internal" does not permit "restricted" data (it permits "public", "internal")',
    taskId: 'prep',
  },
  // Check 5: egress (the allowed side is the first case).
  {
    name: 'egress: no allowance in the namespace',
    as: 'alice',
    namespace: 'sandbox',
    policy: TESTING,
    tasks: [PREP, call('URL')],
    allow: false,
    reason: 'task "call" uses tasks/http.request, which sends data outside Maestro\'s trust boundary, and namespace "sandbox" has no egress allowance for it (add it to data.maestro_config.namespaces["sandbox"].egress)',
    taskId: 'call',
  },
];

let peer: HttpPeer;
let opa: OpaServer;
/** What each PDP answered per case: status, code and reasons, compared across modes at the end. */
const outcomes = new Map<string, Map<string, unknown>>();

beforeAll(async () => {
  peer = await startHttpPeer();
  opa = await startOpaServer();
});
afterAll(async () => {
  await opa?.stop();
  await peer?.close();
});

/** The run id a decision was recorded under (a refused start returns none). */
async function runOfDecision(h: Harness, decisionId: string): Promise<string | undefined> {
  const records = await h.auditLog.list({ kind: 'decision', limit: 1000 });
  return records.find((record) => record.id === decisionId)?.runId;
}

describe.each([
  ['embedded', () => ({ policyMode: 'embedded' as const })],
  ['remote', () => ({ policyMode: 'remote' as const, opaUrl: opa.url, policyTimeoutMs: 2_000 })],
])('run start with the %s PDP', (mode, policyConfig) => {
  let h: Harness;
  const answers = new Map<string, unknown>();
  outcomes.set(mode, answers);
  const as = (person: Person) => ({ bearer: PEOPLE[person].token });

  beforeAll(async () => {
    h = await startHarness({ policy: true, tokens: Object.values(PEOPLE), config: { ...policyConfig(), egressAllow: { '*': ['127.0.0.0/8'] } } });
  });
  afterAll(() => h?.close());

  async function start(c: StartCase, path: string): Promise<ApiResponse> {
    const { name, version } = await h.register(workflow(c.policy, c.tasks.map((task) => task.replace('URL', `${peer.url}${path}`))), c.namespace);
    return h.call('POST', '/runs', { ...as(c.as), json: { workflowRef: `${name}@${version}`, namespace: c.namespace } });
  }

  it.each(CASES)('$name', async (c) => {
    const path = `/ok/${mode}-${randomUUID()}`;
    const res = await start(c, path);
    answers.set(c.name, { status: res.status, code: res.body.code, reasons: res.body.reasons });
    if (c.allow) {
      expect(res.status, res.text).toBe(201);
      const run = await h.waitRun(res.body.runId, (r) => r.status !== 'RUNNING');
      expect(run.status, JSON.stringify(run.tasks)).toBe('SUCCEEDED');
      if (c.tasks.some((task) => task.includes('URL'))) expect(peer.hits.get(path)).toBe(1);
      return;
    }
    expect(res.status, res.text).toBe(403);
    expect(res.body).toMatchObject({ code: 'POLICY_DENIED', type: 'urn:maestro:error:POLICY_DENIED', decisionId: expect.any(String) });
    expect(res.body.reasons).toContain(c.reason);
    expect(res.body.detail).toContain(c.reason);
    const denial = (res.body.decisions as { taskId?: string; reasons: string[] }[]).find((d) => d.reasons.includes(c.reason!));
    expect(denial?.taskId).toBe(c.taskId);
    // Nothing started: no run on Temporal under the id the decisions were recorded for, and no request left.
    const runId = await runOfDecision(h, res.body.decisionId as string);
    expect(runId).toMatch(/^run-/);
    expect((await h.call('GET', `/runs/${runId}`)).status).toBe(404);
    expect(peer.hits.get(path)).toBeUndefined();
  });

  /** Starts a one-task run as alice, waits for it, and returns its audit rows as the auditor reads them. */
  async function auditedRun(headers: Record<string, string> = {}): Promise<{ kind: string; runId: string; taskId?: string; result: string; actor: string; traceId?: string; details: { stage?: string } }[]> {
    const { name, version } = await h.register(workflow(TESTING, [PREP]), 'default');
    const res = await h.call('POST', '/runs', { ...as('alice'), headers, json: { workflowRef: `${name}@${version}`, namespace: 'default' } });
    expect(res.status, res.text).toBe(201);
    const runId = res.body.runId as string;
    await h.waitRun(runId, (r) => r.status === 'SUCCEEDED');
    const page = await h.call('GET', `/audit?runId=${runId}`, as('audrey'));
    expect(page.status, page.text).toBe(200);
    return page.body.items as Awaited<ReturnType<typeof auditedRun>>;
  }

  // The embedded PDP's worker acts on the run-start decision (same bundle revision, same input);
  // a remote PDP's revision is not known without asking, so its worker decides again.
  const attemptStage = mode === 'embedded' ? 'reused' : 'task';

  it('records the start decisions and the task gate decisions under the run, readable by an auditor', async () => {
    const records = await auditedRun();
    expect(records.map((r) => [r.details.stage ?? (r.kind === 'decision-reuse' ? 'reused' : r.kind), r.taskId ?? '-', r.result, r.actor])).toEqual([
      ['run', '-', 'allow', 'alice'], // the API, before the start
      ['task', 'prep', 'allow', 'alice'],
      [attemptStage, 'prep', 'allow', 'alice'], // the worker, before the attempt
    ]);
    // No traceparent: the API gives the run a trace id of its own, the same in every record.
    expect(records[0]?.traceId).toMatch(/^[0-9a-f]{32}$/);
    expect(new Set(records.map((r) => r.traceId)).size).toBe(1);
    const runId = records[0]?.runId;
    expect((await h.call('GET', `/audit?runId=${runId}`, as('root'))).status).toBe(200);
    expect((await h.call('GET', `/audit?runId=${runId}`, as('alice'))).status).toBe(403);
    expect((await h.call('GET', `/audit?runId=${runId}`, { token: null })).status).toBe(401);
  });

  it("correlates every decision of a run with the caller's W3C traceparent", async () => {
    const traceId = randomUUID().replaceAll('-', '');
    const records = await auditedRun({ traceparent: `00-${traceId}-00f067aa0ba902b7-01` });
    expect(records.map((r) => [r.details.stage ?? (r.kind === 'decision-reuse' ? 'reused' : r.kind), r.traceId])).toEqual([
      ['run', traceId],
      ['task', traceId],
      [attemptStage, traceId], // the worker's, carried through the run's input
    ]);
  });

  it('dry-run triggers return the decisions each task would get, and start nothing', async () => {
    const target = workflow(TESTING, [PREP, call(`${peer.url}/ok/${mode}-dry`)]);
    const runbook = `rb-${randomUUID().slice(0, 8)}`;
    // Registered in both namespaces the plan is asked for: names resolve inside a namespace only.
    for (const namespace of ['default', 'sandbox']) {
      const { name, version } = await h.register(target, namespace);
      const registered = await h.call('POST', '/runbooks', {
        yaml: `apiVersion: maestro/v1
kind: Runbook
metadata: { name: ${runbook}, version: 1.0.0, namespace: ${namespace}, allowList: { roles: [operator] } }
spec:
  inputs: []
  workflowRef: ${name}@${version}
`,
      });
      expect(registered.status, registered.text).toBe(201);
    }
    const plan = async (namespace: string) => {
      const res = await h.call('POST', '/runbooks/trigger', { ...as('alice'), json: { runbook, namespace, dryRun: true } });
      expect(res.status, res.text).toBe(200);
      return res.body;
    };
    const denied = await plan('sandbox');
    answers.set('dry run in sandbox', { allow: denied.policy.allow, tasks: denied.tasks.map((t: { id: string; decision: { allow: boolean; reasons: string[] } }) => [t.id, t.decision.allow, t.decision.reasons]) });
    expect(denied.policy).toMatchObject({ allow: false, runId: expect.stringMatching(/^dry-run-/), decision: { allow: true, reasons: [] } });
    const [prep, callTask] = denied.tasks;
    expect(prep.decision).toMatchObject({ allow: true, reasons: [], decisionId: expect.any(String) });
    expect(callTask.decision.allow).toBe(false);
    expect(callTask.decision.reasons[0]).toContain('namespace "sandbox" has no egress allowance');
    const allowed = await plan('default');
    expect(allowed.policy.allow).toBe(true);
    expect(allowed.tasks.map((t: { decision: { allow: boolean } }) => t.decision.allow)).toEqual([true, true]);
    // The decisions are in the audit log under the plan's id; no run has it.
    const audit = await h.call('GET', `/audit?runId=${denied.policy.runId}`, as('audrey'));
    expect(audit.body.items.map((r: { id: string }) => r.id)).toEqual([denied.policy.decision.decisionId, prep.decision.decisionId, callTask.decision.decisionId]);
    expect((await h.call('GET', `/runs/${denied.policy.runId}`)).status).toBe(404);
    expect(peer.hits.get(`/ok/${mode}-dry`)).toBeUndefined();
    // A real trigger in the sandbox is refused the same way.
    const refused = await h.call('POST', '/runbooks/trigger', { ...as('alice'), json: { runbook, namespace: 'sandbox' } });
    expect(refused.status).toBe(403);
    expect(refused.body.code).toBe('POLICY_DENIED');
  });

  it('shows the run policy context in the run detail', async () => {
    const { name, version } = await h.register(
      workflow('purpose: analytics, authority: tests, license: confidential', [
        '{ id: prep, uses: tasks/transform.map@0.1.0, labels: { classification: confidential }, policy: { purpose: testing }, with: { rows: [1], expression: "$" } }',
        '{ id: tail, uses: tasks/transform.map@0.1.0, needs: [prep], with: { rows: [1], expression: "$" } }',
      ]),
      'default',
    );
    const res = await h.call('POST', '/runs', { ...as('alice'), json: { workflowRef: `${name}@${version}`, namespace: 'default' } });
    expect(res.status, res.text).toBe(201);
    const run = await h.waitRun(res.body.runId, (r) => r.status === 'SUCCEEDED');
    expect(run.policy).toEqual({
      purpose: 'analytics',
      authority: 'tests',
      license: 'confidential',
      principal: { subject: 'alice', roles: ['operator'], namespaces: ['default', 'sandbox'] },
      tasks: [{ id: 'prep', overrides: { purpose: 'testing' }, labels: { classification: 'confidential' } }],
    });
  });

  if (mode === 'remote') {
    it('refuses run starts with a clear reason when OPA is down, and nothing runs', async () => {
      const path = `/ok/opa-down-${randomUUID()}`;
      await opa.stop();
      const { name, version } = await h.register(workflow(TESTING, [PREP, call(`${peer.url}${path}`)]), 'default');
      const res = await h.call('POST', '/runs', { ...as('alice'), json: { workflowRef: `${name}@${version}`, namespace: 'default' } });
      expect(res.status, res.text).toBe(503);
      expect(res.body.code).toBe('POLICY_UNAVAILABLE');
      expect(res.body.reasons[0]).toMatch(/^OPA at http:\/\/127\.0\.0\.1:\d+ could not decide \(.+\); namespace "default" fails closed$/);
      // Only the run's own question was asked: the PDP was known to be down after it.
      expect(res.body.decisions).toHaveLength(1);
      const runId = await runOfDecision(h, res.body.decisionId as string);
      expect((await h.call('GET', `/runs/${runId}`)).status).toBe(404);
      expect(peer.hits.get(path)).toBeUndefined();
    });
  }

  if (mode === 'embedded') {
    it('does not act on a task decision the audit log cannot record: the task fails UNAVAILABLE and its request never leaves', async () => {
      const path = `/ok/unrecorded-${randomUUID()}`;
      const pause = '{ id: pause, uses: tasks/wait.sleep@0.1.0, with: { duration: 2s } }';
      const once = `{ id: call, uses: tasks/http.request@0.1.0, needs: [pause], retry: { maxAttempts: 1 }, with: { url: "${peer.url}${path}" } }`;
      const { name, version } = await h.register(workflow(TESTING, [pause, once]), 'default');
      const res = await h.call('POST', '/runs', { ...as('alice'), json: { workflowRef: `${name}@${version}`, namespace: 'default' } });
      expect(res.status, res.text).toBe(201);
      const runId = res.body.runId as string;
      // While the run sleeps, the database starts refusing the worker's record of `call`, as a full
      // disk would; the worker writes it while it reads the task's input, and must not send the request.
      const db = openDatabase({ dataDir: h.config.dataDir });
      await db.run(`CREATE TRIGGER test_refuses_call BEFORE INSERT ON audit_log WHEN NEW.run_id = '${runId}' AND NEW.task_id = 'call' BEGIN SELECT RAISE(ABORT, 'the disk is full'); END`);
      try {
        const run = await h.waitRun(runId, (r) => r.status !== 'RUNNING');
        expect(run.status).toBe('FAILED');
        const failed = (run.tasks as { id: string; error?: { code: string; message: string } }[]).find((task) => task.id === 'call');
        expect(failed?.error).toMatchObject({ code: 'UNAVAILABLE', message: expect.stringMatching(/could not be recorded in the audit log, so it is not acted on: .*the disk is full/) });
        expect(peer.hits.get(path)).toBeUndefined();
      } finally {
        await db.run('DROP TRIGGER test_refuses_call');
        await db.close();
      }
    });
  }
});

describe('embedded and remote PDPs', () => {
  it('give the same answers to every case', () => {
    expect(outcomes.get('embedded')?.size).toBe(CASES.length + 1);
    expect(Object.fromEntries(outcomes.get('remote') ?? [])).toEqual(Object.fromEntries(outcomes.get('embedded') ?? []));
  });
});
