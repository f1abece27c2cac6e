/**
 * The `sig` PDP (`MAESTRO_POLICY_MODE=sig`) against the SIG stub's `POST /policy/evaluate`: what it
 * asks, SIG's allow and deny acted on, and every way SIG can fail to decide (no answer, a slow
 * answer, 5xx, garbage, an oversized body, another decision word) failing closed; then through the
 * real API, Temporal and worker: every run start and task attempt decided by SIG and recorded.
 */
import { randomUUID } from 'node:crypto';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { buildPolicyInput, createSigPdp, type PolicyInput } from '../../src/policy/index.js';
import { closedPort, startSigStub, type SigPeer } from '../peers/index.js';
import { startHarness, type Harness } from '../api/harness.js';

let sig: SigPeer;

beforeAll(async () => {
  sig = await startSigStub();
});
afterAll(async () => {
  await sig?.stop();
});
beforeEach(() => {
  sig.setDelay(0);
  sig.setPolicy((body) =>
    body['purpose'] === 'marketing'
      ? { status: 200, body: JSON.stringify({ decision: 'deny', reason: 'SIG: purpose "marketing" is not permitted', policyVersion: 'sig-policy-7' }) }
      : { status: 200, body: JSON.stringify({ decision: 'allow', reason: 'ok', policyVersion: 'sig-policy-7' }) },
  );
});

function input(purpose = 'ingest', namespace = 'default'): PolicyInput {
  return buildPolicyInput({
    principal: { subject: 'alice', roles: ['operator'], namespaces: ['default'] },
    workflow: { name: 'hello', version: '1.0.0', digest: `sha256:${'ab'.repeat(32)}`, policy: { purpose, authority: 'tasking:ops', license: 'internal' } },
    task: { id: 'greet', uses: 'tasks/transform.map@0.1.0', runsOn: 'local', labels: { classification: 'internal' } },
    run: { runId: 'run-1', namespace },
  });
}

describe('the sig PDP', () => {
  it("asks SIG with purpose, authority and license, presents its token, and acts on SIG's allow and deny", async () => {
    const tokenFile = join(mkdtempSync(join(tmpdir(), 'sig-pdp-')), 'token');
    writeFileSync(tokenFile, 'sig-pdp-t0k3n\n');
    const pdp = createSigPdp({ url: sig.url, tokenFile, timeoutMs: 2_000 });
    try {
      const allowed = await pdp.decide(input());
      expect(allowed).toMatchObject({ allow: true, reasons: [], bundleRevision: 'sig:sig-policy-7', inputDigest: expect.stringMatching(/^sha256:/) });
      expect(allowed.fallback).toBeUndefined();
      expect(sig.evaluations.at(-1)).toEqual({
        authorization: 'Bearer sig-pdp-t0k3n',
        body: {
          purpose: 'ingest',
          authority: 'tasking:ops',
          license: 'internal',
          stage: 'task',
          namespace: 'default',
          runId: 'run-1',
          principal: { subject: 'alice', roles: ['operator'] },
          workflow: { name: 'hello', version: '1.0.0', digest: `sha256:${'ab'.repeat(32)}` },
          task: { id: 'greet', uses: 'tasks/transform.map@0.1.0', labels: { classification: 'internal' } },
        },
      });
      const denied = await pdp.decide(input('marketing'));
      expect(denied).toMatchObject({ allow: false, reasons: ['SIG: purpose "marketing" is not permitted'], bundleRevision: 'sig:sig-policy-7' });
      expect(denied.fallback).toBeUndefined();
    } finally {
      await pdp.close();
    }
  });

  const broken: [string, () => void, RegExp][] = [
    ['a 500', () => sig.setPolicy(() => ({ status: 500, body: '{"decision":"allow","reason":"ok"}' })), /could not decide \(HTTP 500\); namespace "default" fails closed$/],
    ['a 401', () => sig.setPolicy(() => ({ status: 401, body: '' })), /could not decide \(HTTP 401\)/],
    ['no answer in time', () => sig.setDelay(1_500), /could not decide \(no answer within 300 ms\)/],
    ['text that is not JSON', () => sig.setPolicy(() => ({ status: 200, body: 'allow' })), /gave no decision \(the answer is not JSON\); Maestro fails closed$/],
    ['another decision word', () => sig.setPolicy(() => ({ status: 200, body: '{"decision":"ALLOW","reason":"ok"}' })), /its decision is neither "allow" nor "deny"/],
    ['an allow without a reason', () => sig.setPolicy(() => ({ status: 200, body: '{"decision":"allow"}' })), /its reason is not a string/],
    ['a 1 MB answer', () => sig.setPolicy(() => ({ status: 200, body: JSON.stringify({ decision: 'allow', reason: 'x'.repeat(1_000_000) }) })), /the answer is larger than 65536 bytes/],
  ];
  it.each(broken)('fails closed on %s', async (_, breakIt, reason) => {
    breakIt();
    const pdp = createSigPdp({ url: sig.url, timeoutMs: 300 });
    try {
      const decision = await pdp.decide(input());
      expect(decision).toMatchObject({ allow: false, fallback: 'closed', bundleRevision: 'unavailable' });
      expect(decision.reasons[0]).toMatch(reason);
    } finally {
      await pdp.close();
    }
  });

  it('fails closed when SIG is unreachable, and open only where the operator set it, never on a malformed answer', async () => {
    const down = createSigPdp({ url: `http://127.0.0.1:${await closedPort()}`, timeoutMs: 300, onUnavailable: { sandbox: 'open' } });
    const garbled = createSigPdp({ url: sig.url, timeoutMs: 300, onUnavailable: { sandbox: 'open' } });
    try {
      expect(await down.decide(input())).toMatchObject({ allow: false, fallback: 'closed' });
      expect(await down.decide(input('ingest', 'sandbox'))).toMatchObject({ allow: true, fallback: 'open', reasons: [expect.stringMatching(/fails open: allowed without a policy decision$/)] });
      sig.setPolicy(() => ({ status: 200, body: '[]' }));
      expect(await garbled.decide(input('ingest', 'sandbox'))).toMatchObject({ allow: false, fallback: 'closed' });
    } finally {
      await down.close();
      await garbled.close();
    }
  });
});

const TASKS = ['{ id: prep, uses: tasks/transform.map@0.1.0, with: { rows: [1], expression: "$" } }', '{ id: twice, uses: tasks/transform.map@0.1.0, needs: [prep], with: { rows: [2], expression: "$" } }'];

function workflow(purpose: string): string {
  return [
    'apiVersion: maestro/v1',
    'kind: Workflow',
    `metadata: { name: sig-pdp-${randomUUID().slice(0, 8)}, version: 1.0.0 }`,
    'spec:',
    `  policy: { purpose: ${purpose}, authority: "tasking:ops", license: internal }`,
    '  tasks:',
    ...TASKS.map((task) => `    - ${task}`),
  ].join('\n');
}

describe('runs decided by SIG (MAESTRO_POLICY_MODE=sig)', () => {
  let h: Harness;
  const alice = { name: 'alice', token: 'alice-sig-pdp-token-0123456789', roles: ['operator'], namespaces: ['default'] };

  beforeAll(async () => {
    h = await startHarness({ policy: true, tokens: [alice], config: { policyMode: 'sig', sigPolicyUrl: sig.url, policyTimeoutMs: 2_000 } });
  });
  afterAll(() => h?.close());

  async function start(purpose: string) {
    const { name, version } = await h.register(workflow(purpose), 'default');
    return h.call('POST', '/runs', { bearer: alice.token, json: { workflowRef: `${name}@${version}`, namespace: 'default' } });
  }

  it('asks SIG at run start and before every task attempt, and records each decision with SIG’s policy version', async () => {
    const asked = sig.evaluations.length;
    const res = await start('ingest');
    expect(res.status, res.text).toBe(201);
    const runId = res.body.runId as string;
    const run = await h.waitRun(runId, (r) => r.status !== 'RUNNING');
    expect(run.status).toBe('SUCCEEDED');
    const questions = sig.evaluations.slice(asked).filter((e) => e.body['runId'] === runId);
    // The run, each task at run start, then each task's attempt (SIG's revision is not known without asking).
    expect(questions.map((q) => `${String(q.body['stage'])}:${String((q.body['task'] as { id?: string } | undefined)?.id ?? '')}`).sort()).toEqual(['run:', 'task:prep', 'task:prep', 'task:twice', 'task:twice']);
    const decisions = (await h.auditLog.list({ kind: 'decision', limit: 1000 })).filter((record) => record.runId === runId);
    expect(decisions).toHaveLength(5);
    for (const decision of decisions) expect(decision).toMatchObject({ result: 'allow', bundleRevision: 'sig:sig-policy-7' });
  });

  it("refuses a run SIG denies with SIG's reason, and starts nothing", async () => {
    const res = await start('marketing');
    expect(res.status, res.text).toBe(403);
    expect(res.body).toMatchObject({ code: 'POLICY_DENIED' });
    expect(res.body.reasons).toContain('SIG: purpose "marketing" is not permitted');
  });

  it('refuses runs as POLICY_UNAVAILABLE while SIG answers garbage', async () => {
    sig.setPolicy(() => ({ status: 200, body: '<html>maintenance</html>' }));
    const res = await start('ingest');
    expect(res.status, res.text).toBe(503);
    expect(res.body).toMatchObject({ code: 'POLICY_UNAVAILABLE' });
    expect(res.body.reasons[0]).toMatch(/^SIG at http:\/\/127\.0\.0\.1:\d+ gave no decision \(the answer is not JSON\); Maestro fails closed$/);
  });
});
