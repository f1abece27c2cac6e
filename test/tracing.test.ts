/**
 * One trace per run, end to end: the real API, Temporal dev server and worker (with the policy
 * gate) in this process export over OTLP to a real Jaeger, read back through its query API. A
 * caller's traceparent parents the API's span, which parents the run's, which parents each task
 * attempt, whose policy decision and HTTP call are its children; the receiver of the call sees the
 * same trace. A denied attempt's span carries the decision, a cached one says cached, and a
 * malformed traceparent starts a fresh trace.
 */
import { randomBytes, randomUUID } from 'node:crypto';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { TokenEntry } from '../src/api/index.js';
import { startRun } from '../src/client/index.js';
import { compileWorkflow } from '../src/compiler/index.js';
import { parseManifest } from '../src/manifest/index.js';
import { builtinCatalog } from '../src/tasks/index.js';
import { runSpanId, startTracing, type Tracing } from '../src/telemetry/index.js';
import type { WorkflowManifest } from '../src/manifest/index.js';
import { startHarness, type Harness } from './api/harness.js';
import { TEST_EGRESS_ALLOW } from './helpers/egress.js';
import { startJaegerPeer, type JaegerPeer, type JaegerSpan } from './peers/index.js';

const ALICE = { name: 'alice', token: 'alice-trace-token-0123456789', roles: ['operator'], namespaces: ['default'] } satisfies TokenEntry;
const TRACE_UI = 'http://traces.example/trace/{traceId}';

/** An HTTP receiver that keeps the `traceparent` of each request, by path. */
interface Receiver {
  url: string;
  seen: Map<string, string | undefined>;
  close(): Promise<void>;
}

async function startReceiver(): Promise<Receiver> {
  const seen = new Map<string, string | undefined>();
  const server: Server = createServer((req, res) => {
    const header = req.headers.traceparent;
    seen.set(req.url ?? '/', typeof header === 'string' ? header : undefined);
    res.writeHead(200, { 'content-type': 'application/json' });
    res.end('{"ok":true}');
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, seen, close: () => new Promise((resolve) => server.close(() => resolve())) };
}

let jaeger: JaegerPeer;
let tracing: Tracing;
let receiver: Receiver;
let h: Harness;

beforeAll(async () => {
  // Cold, this builds Jaeger from its Go module (minutes); warm, it starts in about a second.
  jaeger = await startJaegerPeer();
  process.env.OTEL_EXPORTER_OTLP_ENDPOINT = jaeger.otlpUrl;
  process.env.OTEL_BSP_SCHEDULE_DELAY = '100';
  tracing = startTracing('maestro-test');
  receiver = await startReceiver();
  h = await startHarness({ policy: true, tokens: [ALICE], config: { traceUiUrl: TRACE_UI, egressAllow: TEST_EGRESS_ALLOW } });
}, 1_200_000);

afterAll(async () => {
  await h?.close();
  await tracing?.shutdown();
  await receiver?.close();
  await jaeger?.stop();
  delete process.env.OTEL_EXPORTER_OTLP_ENDPOINT;
  delete process.env.OTEL_BSP_SCHEDULE_DELAY;
});

/** A workflow manifest under a unique name in namespace `default`. */
function workflow(tasks: string[]): string {
  return [
    'apiVersion: maestro/v1',
    'kind: Workflow',
    `metadata: { name: traced-${randomUUID().slice(0, 8)}, version: 1.0.0, namespace: default }`,
    'spec:',
    '  policy: { purpose: testing, authority: tests, license: internal }',
    '  tasks:',
    ...tasks.map((task) => `    - ${task}`),
  ].join('\n');
}

const prep = (token: string) => `{ id: prep, uses: tasks/transform.map@0.1.0, with: { rows: ["${token}"], expression: "$" } }`;

/** Starts a run as alice through `POST /runs`; waits until it ended with `status`; returns its detail. */
async function runAsAlice(yaml: string, status: string, headers: Record<string, string> = {}): Promise<{ runId: string; traceId: string; traceUrl?: string }> {
  const { name, version } = await h.register(yaml, 'default');
  const res = await h.call('POST', '/runs', { bearer: ALICE.token, headers, json: { workflowRef: `${name}@${version}`, namespace: 'default' } });
  expect(res.status, res.text).toBe(201);
  return h.waitRun(res.body.runId as string, (run) => run.status === status);
}

/** The trace's spans once every name in `names` is among them (spans arrive in batches). */
async function traceSpans(traceId: string, names: string[], timeoutMs = 30_000): Promise<JaegerSpan[]> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const spans = await jaeger.spans(traceId);
    const missing = names.filter((name) => !spans.some((span) => span.operationName === name));
    if (missing.length === 0) return spans;
    if (Date.now() > deadline) throw new Error(`trace ${traceId} lacks ${missing.join(', ')}; it has ${spans.map((s) => s.operationName).join(', ') || 'nothing'}`);
    await new Promise((resolve) => setTimeout(resolve, 250));
  }
}

function span(spans: JaegerSpan[], name: string, where: (span: JaegerSpan) => boolean = () => true): JaegerSpan {
  const found = spans.filter((s) => s.operationName === name && where(s));
  expect(found, name).toHaveLength(1);
  return found[0] as JaegerSpan;
}

const parentOf = (s: JaegerSpan): string | undefined => s.references.find((ref) => ref.refType === 'CHILD_OF')?.spanID;
const tag = (s: JaegerSpan, key: string): unknown => s.tags.find((t) => t.key === key)?.value;

describe('one trace per run, in Jaeger', () => {
  it("makes the caller's traceparent the parent of API → run → each task → policy decision and HTTP call", async () => {
    const traceId = randomBytes(16).toString('hex');
    const callerSpan = randomBytes(8).toString('hex');
    const path = `/ok/${randomUUID()}`;
    const yaml = workflow([prep(randomUUID()), `{ id: call, uses: tasks/http.request@0.1.0, needs: [prep], with: { url: "${receiver.url}${path}" } }`]);
    const run = await runAsAlice(yaml, 'SUCCEEDED', { traceparent: `00-${traceId}-${callerSpan}-01` });
    expect(run.traceId).toBe(traceId);
    expect(run.traceUrl).toBe(`http://traces.example/trace/${traceId}`);

    const workflowName = /name: (traced-[0-9a-f]+)/.exec(yaml)?.[1] as string;
    const spans = await traceSpans(traceId, ['POST /runs', `run ${workflowName}`, 'task prep', 'task call', 'receipt', 'GET']);
    expect(new Set(spans.map((s) => s.traceID))).toEqual(new Set([traceId]));
    const api = span(spans, 'POST /runs');
    const runSpan = span(spans, `run ${workflowName}`);
    const prepSpan = span(spans, 'task prep');
    const callSpan = span(spans, 'task call');
    const httpSpan = span(spans, 'GET');
    expect(parentOf(api)).toBe(callerSpan);
    expect(runSpan.spanID).toBe(runSpanId(run.runId));
    expect(parentOf(runSpan)).toBe(api.spanID);
    expect(parentOf(prepSpan)).toBe(runSpan.spanID);
    expect(parentOf(callSpan)).toBe(runSpan.spanID);
    expect(parentOf(span(spans, 'receipt'))).toBe(runSpan.spanID);
    expect(parentOf(span(spans, 'policy decision', (s) => parentOf(s) === callSpan.spanID))).toBe(callSpan.spanID);
    expect(parentOf(httpSpan)).toBe(callSpan.spanID);
    // The system called saw the same trace, its parent the HTTP call's span.
    expect(receiver.seen.get(path)).toBe(`00-${traceId}-${httpSpan.spanID}-01`);
    expect(tag(callSpan, 'maestro.task.id')).toBe('call');
    expect(tag(callSpan, 'maestro.task.uses')).toBe('tasks/http.request@0.1.0');
    expect(tag(callSpan, 'maestro.task.attempt')).toBe(1);
    expect(tag(callSpan, 'maestro.runner')).toBe('local');
    expect(tag(callSpan, 'maestro.namespace')).toBe('default');
    expect(tag(callSpan, 'maestro.workflow')).toBe(workflowName);
    expect(tag(callSpan, 'maestro.run.id')).toBe(run.runId);
    expect(tag(callSpan, 'maestro.policy.decision')).toBe('allow');
    expect(tag(callSpan, 'maestro.policy.decision_id')).toEqual(expect.any(String));
    expect(tag(callSpan, 'maestro.cache.hit')).toBe(false);
  }, 120_000);

  it("says cached on the span of an attempt whose outputs came from the task cache", async () => {
    const yaml = workflow([prep(randomUUID())]);
    const first = await runAsAlice(yaml, 'SUCCEEDED');
    const second = await runAsAlice(yaml, 'SUCCEEDED');
    expect(second.traceId).not.toBe(first.traceId);
    const [ran] = await traceSpans(first.traceId, ['task prep']).then((spans) => spans.filter((s) => s.operationName === 'task prep'));
    const [cached] = await traceSpans(second.traceId, ['task prep']).then((spans) => spans.filter((s) => s.operationName === 'task prep'));
    expect(tag(ran as JaegerSpan, 'maestro.cache.hit')).toBe(false);
    expect(tag(cached as JaegerSpan, 'maestro.cache.hit')).toBe(true);
  }, 120_000);

  it("carries the decision on a denied attempt's span", async () => {
    // Started on Temporal directly: the worker's gate decides the attempt on its own (the API
    // would have refused the start already, with the same decision).
    const yaml = workflow(['{ id: prep, uses: tasks/transform.map@0.1.0, policy: { purpose: marketing }, with: { rows: [1], expression: "$" } }']);
    const manifest = parseManifest(yaml, 'denied.yaml', { catalog: builtinCatalog }) as WorkflowManifest;
    const compiled = compileWorkflow(manifest, { catalog: builtinCatalog });
    const traceId = randomBytes(16).toString('hex');
    const runId = await startRun(h.client, {
      compiled,
      params: {},
      namespace: 'default',
      taskQueue: h.config.taskQueue,
      principal: { subject: ALICE.name, roles: ALICE.roles, namespaces: ALICE.namespaces },
      traceId,
    });
    await h.waitRun(runId, (run) => run.status === 'FAILED');
    const spans = await traceSpans(traceId, ['task prep', 'policy decision', `run ${compiled.ir.name}`]);
    const attempt = span(spans, 'task prep');
    expect(tag(attempt, 'maestro.policy.decision')).toBe('deny');
    expect(tag(attempt, 'maestro.policy.decision_id')).toEqual(expect.any(String));
    expect(tag(attempt, 'maestro.error.code')).toBe('POLICY_DENIED');
    expect(tag(attempt, 'error')).toBe(true);
    expect(tag(span(spans, 'policy decision'), 'maestro.policy.decision_id')).toBe(tag(attempt, 'maestro.policy.decision_id'));
    // No traceparent: the run's span is the trace's root.
    expect(parentOf(span(spans, `run ${compiled.ir.name}`))).toBeUndefined();
  }, 120_000);

  it('starts a fresh trace for a malformed traceparent', async () => {
    const given = randomBytes(16).toString('hex');
    const run = await runAsAlice(workflow([prep(randomUUID())]), 'SUCCEEDED', { traceparent: `00-${given}-not-a-span-id-01` });
    expect(run.traceId).toMatch(/^[0-9a-f]{32}$/);
    expect(run.traceId).not.toBe(given);
    const spans = await traceSpans(run.traceId, ['POST /runs', 'task prep']);
    expect(parentOf(span(spans, 'POST /runs'))).toBeUndefined();
    expect(await jaeger.spans(given)).toEqual([]);
  }, 120_000);
});
