/**
 * The two PDPs on the same inputs: the embedded wasm bundle and a real OPA server started here,
 * loaded with the same policy. Every check's allow and deny, identical answers from both; OPA
 * down, slow, or without the policy; the gate's errors and its decision log entries.
 */
import { createServer, type Server } from 'node:net';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { PolicyDeniedError } from '../../src/errors/index.js';
import {
  createEmbeddedPdp,
  createPdp,
  createPolicyGate,
  createRemotePdp,
  defaultBundlePath,
  readWasmBundle,
  type PolicyDecisionPoint,
} from '../../src/policy/index.js';
import { openAuditLog, type AuditLog } from '../../src/store/index.js';
import { freePort } from '../peers/ports.js';
import { POLICY_CASES, TYPICAL_INPUT } from './cases.js';
import { buildPolicyBundles, startOpaServer, type OpaServer } from './opa-server.js';

let opa: OpaServer;
let embedded: PolicyDecisionPoint;
let remote: PolicyDecisionPoint;
let revision: string;

beforeAll(async () => {
  buildPolicyBundles();
  opa = await startOpaServer();
  embedded = await createPdp({ policyMode: 'embedded' });
  remote = await createPdp({ policyMode: 'remote', opaUrl: opa.url });
  revision = (await readWasmBundle(defaultBundlePath())).revision;
});

afterAll(async () => {
  await remote?.close();
  await embedded?.close();
  await opa?.stop();
});

describe.each([
  ['embedded (wasm)', () => embedded],
  ['remote (OPA server)', () => remote],
])('%s PDP', (_, pdp) => {
  it.each(POLICY_CASES)('$name', async ({ input, allow, reason }) => {
    const decision = await pdp().decide(input);
    expect(decision.allow).toBe(allow);
    if (allow) expect(decision.reasons).toEqual([]);
    else expect(decision.reasons.some((r) => r.includes(reason ?? ''))).toBe(true);
    expect(decision.bundleRevision).toBe(revision);
    expect(decision.inputDigest).toMatch(/^sha256:[0-9a-f]{64}$/);
    expect(decision.decisionId).toMatch(/^[0-9a-f-]{36}$/);
    expect(decision.fallback).toBeUndefined();
  });
});

describe('embedded and remote', () => {
  it('give identical decisions, reasons and revision on every case', async () => {
    for (const { input } of POLICY_CASES) {
      const [a, b] = await Promise.all([embedded.decide(input), remote.decide(input)]);
      expect({ allow: a.allow, reasons: a.reasons, rev: a.bundleRevision, digest: a.inputDigest }).toEqual({
        allow: b.allow,
        reasons: b.reasons,
        rev: b.bundleRevision,
        digest: b.inputDigest,
      });
      expect(a.decisionId).not.toBe(b.decisionId);
    }
  });

  it('both deny a malformed input with reasons', async () => {
    const malformed = { stage: 'task', principal: { subject: 'x', roles: [7], namespaces: 'default' } } as never;
    const [a, b] = await Promise.all([embedded.decide(malformed), remote.decide(malformed)]);
    expect(a.allow).toBe(false);
    expect(a.reasons.length).toBeGreaterThan(0);
    expect(b.reasons).toEqual(a.reasons);
  });
});

describe('remote PDP when OPA cannot answer', () => {
  it('fails closed when nothing listens, saying where and why', async () => {
    const port = await freePort();
    const pdp = createRemotePdp({ url: `http://127.0.0.1:${port}`, timeoutMs: 300 });
    const decision = await pdp.decide(TYPICAL_INPUT);
    await pdp.close();
    expect(decision).toMatchObject({ allow: false, fallback: 'closed', bundleRevision: 'unavailable' });
    expect(decision.reasons[0]).toMatch(new RegExp(`^OPA at http://127.0.0.1:${port} could not decide \\(.*ECONNREFUSED.*\\); namespace "default" fails closed$`));
  });

  it('fails closed when OPA does not answer within the timeout', async () => {
    // Accepts connections and never answers.
    const sockets: import('node:net').Socket[] = [];
    const silent: Server = createServer((socket) => void sockets.push(socket));
    await new Promise<void>((resolve) => silent.listen(0, '127.0.0.1', resolve));
    const { port } = silent.address() as import('node:net').AddressInfo;
    const pdp = createRemotePdp({ url: `http://127.0.0.1:${port}`, timeoutMs: 150 });
    const started = performance.now();
    const decision = await pdp.decide(TYPICAL_INPUT);
    const elapsed = performance.now() - started;
    await pdp.close();
    for (const socket of sockets) socket.destroy();
    await new Promise<void>((resolve) => silent.close(() => resolve()));
    expect(decision.allow).toBe(false);
    expect(decision.reasons[0]).toContain('no answer within 150 ms');
    expect(elapsed).toBeLessThan(1000);
  });

  it('fails open only in a namespace configured to, and says so', async () => {
    const port = await freePort();
    const pdp = createRemotePdp({ url: `http://127.0.0.1:${port}`, timeoutMs: 300, onUnavailable: { default: 'open', sandbox: 'closed' } });
    const open = await pdp.decide(TYPICAL_INPUT);
    const closed = await pdp.decide({ ...TYPICAL_INPUT, run: { ...TYPICAL_INPUT.run, namespace: 'sandbox' } });
    await pdp.close();
    expect(open).toMatchObject({ allow: true, fallback: 'open' });
    expect(open.reasons[0]).toContain('namespace "default" fails open: allowed without a policy decision');
    expect(closed).toMatchObject({ allow: false, fallback: 'closed' });
  });

  it('denies in every namespace when OPA runs without Maestro\'s policy', async () => {
    const bare = await startOpaServer({ bundle: null });
    try {
      const pdp = createRemotePdp({ url: bare.url, onUnavailable: { default: 'open' } });
      const decision = await pdp.decide(TYPICAL_INPUT);
      await pdp.close();
      expect(decision.allow).toBe(false);
      expect(decision.fallback).toBeUndefined();
      expect(decision.reasons[0]).toContain('has no maestro/decision decision');
    } finally {
      await bare.stop();
    }
  });
});

describe('embedded PDP set-up', () => {
  it('names the command that builds a missing bundle', async () => {
    await expect(createEmbeddedPdp({ bundle: '/nonexistent/bundle.wasm.tar.gz' })).rejects.toMatchObject({
      code: 'TOOL_MISSING',
      message: expect.stringContaining('npm run policy -- build'),
    });
  });
});

describe('policy gate', () => {
  let dir: string;
  let log: AuditLog;
  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'maestro-gate-'));
    log = await openAuditLog({ dataDir: dir });
  });
  afterAll(async () => {
    await log?.close();
    await rm(dir, { recursive: true, force: true });
  });

  it('records an allowed decision and lets the caller go on', async () => {
    const gate = createPolicyGate({ pdp: embedded, log });
    const { decision, recorded } = await gate.admit(TYPICAL_INPUT);
    await recorded;
    const [record] = await log.list({ runId: 'run-1', kind: 'decision' });
    expect(record).toMatchObject({
      id: decision.decisionId,
      result: 'allow',
      runId: 'run-1',
      taskId: 'greet',
      traceId: 'trace-1',
      namespace: 'default',
      actor: 'alice',
      inputDigest: decision.inputDigest,
      bundleRevision: revision,
      reasons: [],
    });
  });

  it('throws POLICY_DENIED with the policy reason, after recording the denial', async () => {
    const gate = createPolicyGate({ pdp: remote, log });
    const denied = POLICY_CASES.find((c) => c.name === 'egress: http.request without an allowance is denied')!;
    const error = await gate.admit(denied.input).then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(error).toBeInstanceOf(PolicyDeniedError);
    expect(error).toMatchObject({ code: 'POLICY_DENIED', retryable: false, message: expect.stringContaining(denied.reason!) });
    const records = await log.list({ kind: 'decision' });
    expect(records.at(-1)).toMatchObject({ id: (error as PolicyDeniedError).decisionId, result: 'deny', reasons: [expect.stringContaining(denied.reason!)] });
  });

  it('throws POLICY_UNAVAILABLE (retryable) when OPA is down and the namespace fails closed', async () => {
    const pdp = createRemotePdp({ url: `http://127.0.0.1:${await freePort()}`, timeoutMs: 200 });
    const gate = createPolicyGate({ pdp, log });
    await expect(gate.admit(TYPICAL_INPUT)).rejects.toMatchObject({ code: 'POLICY_UNAVAILABLE', retryable: true, message: expect.stringContaining('fails closed') });
    await pdp.close();
    expect((await log.list({ kind: 'decision' })).at(-1)).toMatchObject({ result: 'deny', details: expect.objectContaining({ fallback: 'closed' }) });
  });

  it('check() returns a denial without throwing (dry runs)', async () => {
    const gate = createPolicyGate({ pdp: embedded, log });
    const decision = await gate.check({ ...TYPICAL_INPUT, policy: { ...TYPICAL_INPUT.policy, purpose: 'marketing' } });
    expect(decision.allow).toBe(false);
  });

  it('refuses to act on a decision it cannot record', async () => {
    const closedDir = await mkdtemp(join(tmpdir(), 'maestro-gate-closed-'));
    const closedLog = await openAuditLog({ dataDir: closedDir });
    await closedLog.close();
    const gate = createPolicyGate({ pdp: embedded, log: closedLog });
    const { recorded } = await gate.admit(TYPICAL_INPUT);
    await expect(recorded).rejects.toMatchObject({ code: 'UNAVAILABLE', retryable: true, message: expect.stringContaining('could not be recorded') });
    await rm(closedDir, { recursive: true, force: true });
  });
});
