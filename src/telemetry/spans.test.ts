import { trace } from '@opentelemetry/api';
import { InMemorySpanExporter, SimpleSpanProcessor, type ReadableSpan } from '@opentelemetry/sdk-trace-base';
import { afterEach, describe, expect, it } from 'vitest';
import { PolicyDeniedError } from '../errors/index.js';
import type { RunTrace } from '../ir/index.js';
import { activeTraceparent, inAttemptSpan, inPolicySpan, inReceiptSpan, noteCacheHit, parseTraceparent, recordRunSpan, requestSpan, runSpanId, SPAN_ATTRIBUTES } from './spans.js';
import { configuredTraceExporters, createTracerProvider, registerTracing, startTracing, tracingActive, type Tracing } from './tracing.js';

const TRACE_ID = '4bf92f3577b34da6a3ce929d0e0e4736';
const CALLER_SPAN = '00f067aa0ba902b7';
const CALLER = `00-${TRACE_ID}-${CALLER_SPAN}-01`;
const RUN_TRACE: RunTrace = { traceId: TRACE_ID, parent: CALLER };
const ATTEMPT = { runId: 'run-1', taskId: 'fetch', uses: 'tasks/http.request@0.1.0', attempt: 2, namespace: 'team-a', runsOn: 'local' as const, trace: RUN_TRACE, policy: { workflow: { name: 'wf' } } };
const RUN = { runId: 'run-1', namespace: 'team-a', workflow: 'wf', state: { status: 'SUCCEEDED' as const, startedAt: '2026-12-06T10:00:00.000Z' }, trace: RUN_TRACE };

let tracing: Tracing | undefined;
afterEach(async () => {
  await tracing?.shutdown();
  tracing = undefined;
});

/** Registers an SDK whose spans land in memory, as `startTracing` would register the OTLP one. */
function inMemory(): InMemorySpanExporter {
  const exporter = new InMemorySpanExporter();
  tracing = registerTracing(createTracerProvider({ serviceName: 'test', spanProcessors: [new SimpleSpanProcessor(exporter)] }));
  return exporter;
}

function named(spans: ReadableSpan[], name: string): ReadableSpan {
  const span = spans.find((s) => s.name === name);
  if (!span) throw new Error(`no span ${name} in ${spans.map((s) => s.name).join(', ')}`);
  return span;
}

describe('traceparent', () => {
  it('reads a valid header and refuses malformed, zero, ff-version and oversized ones', () => {
    expect(parseTraceparent(CALLER)).toEqual({ traceId: TRACE_ID, spanId: CALLER_SPAN, sampled: true });
    expect(parseTraceparent(`00-${TRACE_ID}-${CALLER_SPAN}-00`)?.sampled).toBe(false);
    for (const bad of [
      undefined,
      '',
      'garbage',
      `00-${'0'.repeat(32)}-${CALLER_SPAN}-01`,
      `00-${TRACE_ID}-${'0'.repeat(16)}-01`,
      `ff-${TRACE_ID}-${CALLER_SPAN}-01`,
      `00-${TRACE_ID}-${CALLER_SPAN}-01-extra`,
      `00-${TRACE_ID.toUpperCase()}-${CALLER_SPAN}-01`,
      `00-${TRACE_ID}-${CALLER_SPAN}-01${'x'.repeat(10_000_000)}`,
    ]) {
      expect(parseTraceparent(bad)).toBeUndefined();
    }
  });

  it('derives the run span id from the run id alone', () => {
    expect(runSpanId('run-1')).toMatch(/^[0-9a-f]{16}$/);
    expect(runSpanId('run-1')).toBe(runSpanId('run-1'));
    expect(runSpanId('run-1')).not.toBe(runSpanId('run-2'));
  });
});

describe('tracing set-up from OTEL_*', () => {
  it('is on only when an exporter is configured and the SDK not disabled', () => {
    expect(configuredTraceExporters({})).toEqual([]);
    expect(configuredTraceExporters({ OTEL_EXPORTER_OTLP_ENDPOINT: 'http://127.0.0.1:4318' })).toEqual(['otlp']);
    expect(configuredTraceExporters({ OTEL_EXPORTER_OTLP_TRACES_ENDPOINT: 'http://127.0.0.1:4318/v1/traces' })).toEqual(['otlp']);
    expect(configuredTraceExporters({ OTEL_TRACES_EXPORTER: 'console' })).toEqual(['console']);
    expect(configuredTraceExporters({ OTEL_TRACES_EXPORTER: 'none', OTEL_EXPORTER_OTLP_ENDPOINT: 'http://x' })).toEqual([]);
    expect(configuredTraceExporters({ OTEL_SDK_DISABLED: 'true', OTEL_EXPORTER_OTLP_ENDPOINT: 'http://x' })).toEqual([]);
    expect(() => configuredTraceExporters({ OTEL_TRACES_EXPORTER: 'zipkin' })).toThrow(/otlp or console/);
    expect(() => startTracing('test', { OTEL_EXPORTER_OTLP_ENDPOINT: 'http://x', OTEL_EXPORTER_OTLP_PROTOCOL: 'thrift' })).toThrow(/http\/protobuf, http\/json or grpc/);
  });

  it('with no exporter registers nothing and makes no span', async () => {
    const off = startTracing('test', {});
    expect(off.enabled).toBe(false);
    expect(tracingActive()).toBe(false);
    const seen = await inAttemptSpan(ATTEMPT, () => Promise.resolve(trace.getActiveSpan()));
    expect(seen).toBeUndefined();
    expect(requestSpan({ method: 'POST', traceparent: CALLER }, '/runs')).toBeUndefined();
    recordRunSpan(RUN);
    expect(trace.getTracerProvider().getTracer('x').startSpan('y').isRecording()).toBe(false);
  });

  it('starts one SDK for the process', () => {
    const first = startTracing('test', { OTEL_TRACES_EXPORTER: 'console' });
    tracing = first;
    expect(first.enabled).toBe(true);
    expect(startTracing('other', { OTEL_TRACES_EXPORTER: 'console' })).toBe(first);
  });
});

describe('one trace per run', () => {
  it('parents request → run → attempt → policy decision, and the receipt under the run', async () => {
    const exporter = inMemory();
    const request = requestSpan({ method: 'POST', traceparent: CALLER }, '/runs');
    const runParent = request?.run(() => activeTraceparent());
    request?.end(201);
    const runTrace: RunTrace = { traceId: TRACE_ID, parent: runParent as string };
    await inAttemptSpan({ ...ATTEMPT, trace: runTrace }, async () => {
      await inPolicySpan(() => Promise.resolve({ decision: { decisionId: 'dec-1' } }));
      noteCacheHit(true);
    });
    const run = { ...RUN, trace: runTrace };
    await inReceiptSpan(run, () => Promise.resolve());
    recordRunSpan(run);

    const spans = exporter.getFinishedSpans();
    expect(new Set(spans.map((s) => s.spanContext().traceId))).toEqual(new Set([TRACE_ID]));
    const api = named(spans, 'POST /runs');
    const runSpan = named(spans, 'run wf');
    const attempt = named(spans, 'task fetch');
    const policy = named(spans, 'policy decision');
    const receipt = named(spans, 'receipt');
    expect(api.parentSpanContext?.spanId).toBe(CALLER_SPAN);
    expect(runSpan.spanContext().spanId).toBe(runSpanId('run-1'));
    expect(runSpan.parentSpanContext?.spanId).toBe(api.spanContext().spanId);
    expect(runSpan.startTime[0]).toBe(Date.parse(RUN.state.startedAt) / 1000);
    expect(attempt.parentSpanContext?.spanId).toBe(runSpanId('run-1'));
    expect(policy.parentSpanContext?.spanId).toBe(attempt.spanContext().spanId);
    expect(receipt.parentSpanContext?.spanId).toBe(runSpanId('run-1'));
    expect(attempt.attributes).toMatchObject({
      [SPAN_ATTRIBUTES.taskId]: 'fetch',
      [SPAN_ATTRIBUTES.uses]: 'tasks/http.request@0.1.0',
      [SPAN_ATTRIBUTES.attempt]: 2,
      [SPAN_ATTRIBUTES.runner]: 'local',
      [SPAN_ATTRIBUTES.namespace]: 'team-a',
      [SPAN_ATTRIBUTES.workflow]: 'wf',
      [SPAN_ATTRIBUTES.runId]: 'run-1',
      [SPAN_ATTRIBUTES.cacheHit]: true,
      [SPAN_ATTRIBUTES.decision]: 'allow',
      [SPAN_ATTRIBUTES.decisionId]: 'dec-1',
    });
  });

  it("says deny with the decision id on a denied attempt's span, and its error code", async () => {
    const exporter = inMemory();
    const denied = inAttemptSpan(ATTEMPT, () => inPolicySpan(() => Promise.reject(new PolicyDeniedError(['not allowed'], 'dec-9'))));
    await expect(denied).rejects.toThrow(PolicyDeniedError);
    const attempt = named(exporter.getFinishedSpans(), 'task fetch');
    expect(attempt.attributes).toMatchObject({ [SPAN_ATTRIBUTES.decision]: 'deny', [SPAN_ATTRIBUTES.decisionId]: 'dec-9', [SPAN_ATTRIBUTES.errorCode]: 'POLICY_DENIED' });
    expect(attempt.status).toEqual({ code: 2, message: 'POLICY_DENIED' });
  });

  it('starts a fresh trace for a malformed traceparent, and a root run span for a run without a parent', () => {
    const exporter = inMemory();
    requestSpan({ method: 'POST', traceparent: `00-${TRACE_ID}-zzzz-01` }, '/runs')?.end(201);
    recordRunSpan({ ...RUN, runId: 'run-2', state: { ...RUN.state, status: 'FAILED', error: { code: 'TASK_FAILED', message: 'x' } }, trace: { traceId: TRACE_ID } });
    const api = named(exporter.getFinishedSpans(), 'POST /runs');
    expect(api.spanContext().traceId).not.toBe(TRACE_ID);
    expect(api.parentSpanContext).toBeUndefined();
    const root = named(exporter.getFinishedSpans(), 'run wf');
    expect(root.spanContext()).toMatchObject({ traceId: TRACE_ID, spanId: runSpanId('run-2') });
    expect(root.parentSpanContext).toBeUndefined();
    expect(root.attributes[SPAN_ATTRIBUTES.errorCode]).toBe('TASK_FAILED');
  });

  it("makes a sub-workflow's run a child of its parent run's span", () => {
    const exporter = inMemory();
    recordRunSpan({ ...RUN, runId: 'run-child', trace: { ...RUN_TRACE, parentRunId: 'run-1' } });
    const child = named(exporter.getFinishedSpans(), 'run wf');
    expect(child.parentSpanContext?.spanId).toBe(runSpanId('run-1'));
  });
});
