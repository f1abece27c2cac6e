/**
 * Maestro's spans: one trace per run. The request that starts a run (its `traceparent` the run's
 * parent, see {@link requestSpan}) → the run's span ({@link recordRunSpan}) → each task attempt
 * ({@link inAttemptSpan}) → its policy decision and connector calls; the run's receipt is a child
 * of the run's span.
 *
 * Nothing here runs in the workflow sandbox. The run's span id is derived from the run id
 * ({@link runSpanId}), so the worker's attempts name it as their parent while the run goes on, and
 * the worker emits it when the run ends (from the receipt sink), with the run's start as its start:
 * no span work in the interpreter, no change to history.
 *
 * Every function here is a plain call when this process registered no trace SDK (see
 * `startTracing`): no span object is made.
 */
import { createHash } from 'node:crypto';
import { ROOT_CONTEXT, SpanKind, SpanStatusCode, TraceFlags, context, trace, type Attributes, type Context, type Span, type SpanContext } from '@opentelemetry/api';
import { ApplicationFailure, CancelledFailure } from '@temporalio/common';
import { isMaestroError, PolicyDeniedError } from '../errors/index.js';
import type { RunState, RunTaskInput, RunTrace } from '../ir/index.js';
import { PINNED_IDS, tracingActive } from './tracing.js';

/** The instrumentation scope of Maestro's own spans. */
const TRACER_NAME = 'maestro';

/** Attribute names on Maestro's spans. */
export const SPAN_ATTRIBUTES = {
  runId: 'maestro.run.id',
  namespace: 'maestro.namespace',
  workflow: 'maestro.workflow',
  taskId: 'maestro.task.id',
  uses: 'maestro.task.uses',
  attempt: 'maestro.task.attempt',
  runner: 'maestro.runner',
  cacheHit: 'maestro.cache.hit',
  decisionId: 'maestro.policy.decision_id',
  /** `allow` or `deny`. */
  decision: 'maestro.policy.decision',
  errorCode: 'maestro.error.code',
  status: 'maestro.run.status',
} as const;

/** A parsed W3C `traceparent`. */
export interface TraceParent {
  traceId: string;
  spanId: string;
  sampled: boolean;
}

/** `traceparent` version 00 (and the fixed-size prefix of later versions): version, trace id, parent id, flags. */
const TRACEPARENT = /^([0-9a-f]{2})-([0-9a-f]{32})-([0-9a-f]{16})-([0-9a-f]{2})(-.*)?$/;
/** Longest `traceparent` read: longer ones are hostile or from a version this code does not know. */
const TRACEPARENT_MAX_LENGTH = 256;

/**
 * A W3C `traceparent` header, checked: version `ff`, an all-zero id, extra fields on version 00, or
 * anything longer than 256 characters is not one (undefined), so the caller starts a fresh trace.
 */
export function parseTraceparent(header: string | undefined): TraceParent | undefined {
  if (header === undefined || header.length > TRACEPARENT_MAX_LENGTH) return undefined;
  const match = TRACEPARENT.exec(header.trim());
  if (!match) return undefined;
  const [, version, traceId, spanId, flags, rest] = match as unknown as [string, string, string, string, string, string | undefined];
  if (version === 'ff' || (version === '00' && rest !== undefined)) return undefined;
  if (/^0+$/.test(traceId) || /^0+$/.test(spanId)) return undefined;
  return { traceId, spanId, sampled: (Number.parseInt(flags, 16) & TraceFlags.SAMPLED) !== 0 };
}

/** The `traceparent` header naming a span context. */
export function formatTraceparent({ traceId, spanId, sampled }: TraceParent): string {
  return `00-${traceId}-${spanId}-${sampled ? '01' : '00'}`;
}

/** The `traceparent` of the active span, or undefined when there is none (or no SDK). */
export function activeTraceparent(): string | undefined {
  const active = trace.getActiveSpan()?.spanContext();
  if (active === undefined || !trace.isSpanContextValid(active)) return undefined;
  return formatTraceparent({ traceId: active.traceId, spanId: active.spanId, sampled: (active.traceFlags & TraceFlags.SAMPLED) !== 0 });
}

/**
 * The span id of run `runId`'s span: the first 8 bytes of `sha256("maestro.run:" + runId)`, so that
 * every process derives it from the run id alone.
 */
export function runSpanId(runId: string): string {
  const id = createHash('sha256').update(`maestro.run:${runId}`).digest('hex').slice(0, 16);
  // An all-zero span id is invalid; 2^-64 odds, but a fixed fallback keeps the function total.
  return /^0+$/.test(id) ? '0000000000000001' : id;
}

/** The span context the run's parent is: the parent run's span for a sub-workflow's run, else the starter's. */
function runParent(runTrace: RunTrace): SpanContext | undefined {
  const parent = parseTraceparent(runTrace.parent);
  const traceFlags = parent && !parent.sampled ? TraceFlags.NONE : TraceFlags.SAMPLED;
  if (runTrace.parentRunId !== undefined) return { traceId: runTrace.traceId, spanId: runSpanId(runTrace.parentRunId), traceFlags, isRemote: true };
  return parent && parent.traceId === runTrace.traceId ? { traceId: parent.traceId, spanId: parent.spanId, traceFlags, isRemote: true } : undefined;
}

/** A context whose span is the run's (remote: emitted when the run ends), for the spans inside the run. */
function inRun(runTrace: RunTrace, runId: string): Context {
  const parent = parseTraceparent(runTrace.parent);
  const traceFlags = parent && !parent.sampled ? TraceFlags.NONE : TraceFlags.SAMPLED;
  return trace.setSpanContext(ROOT_CONTEXT, { traceId: runTrace.traceId, spanId: runSpanId(runId), traceFlags, isRemote: true });
}

/** Ends `span` as failed with `error`'s code (never its message: it may quote what a secret redacts). */
function recordFailure(span: Span, error: unknown): void {
  span.setAttribute(SPAN_ATTRIBUTES.errorCode, errorCode(error));
  span.setStatus({ code: SpanStatusCode.ERROR, message: errorCode(error) });
}

/** A failure's stable code: a Maestro error's, a Temporal failure's type (the activities' code), or `CANCELLED`. */
function errorCode(error: unknown): string {
  if (isMaestroError(error)) return error.code;
  if (error instanceof ApplicationFailure && error.type) return error.type;
  return error instanceof CancelledFailure ? 'CANCELLED' : 'INTERNAL';
}

/** Runs `work` inside `span`, which ends with it (failed when it throws). */
async function within<T>(span: Span, parent: Context, work: (span: Span) => Promise<T>): Promise<T> {
  try {
    return await context.with(trace.setSpan(parent, span), () => work(span));
  } catch (error) {
    recordFailure(span, error);
    throw error;
  } finally {
    span.end();
  }
}

/** What an attempt's span says of it, from the `runTask` input. */
export type AttemptSpanInput = Pick<RunTaskInput, 'runId' | 'taskId' | 'uses' | 'attempt' | 'namespace' | 'runsOn' | 'trace'> & { policy?: { workflow: { name: string } } };

/**
 * Runs one task attempt inside its span (`task <id>`, a child of the run's span): task id, uses,
 * attempt, runner, namespace, workflow and run id; `work` adds the cache hit and the decision (see
 * {@link noteCacheHit}, {@link inPolicySpan}). A failure sets the error status and its code; a
 * denial also the decision id. An attempt of a run without a trace (recorded before traces) runs
 * without a span.
 */
export function inAttemptSpan<T>(input: AttemptSpanInput, work: () => Promise<T>): Promise<T> {
  if (!tracingActive() || input.trace === undefined) return work();
  const attributes: Attributes = {
    [SPAN_ATTRIBUTES.runId]: input.runId,
    [SPAN_ATTRIBUTES.namespace]: input.namespace,
    [SPAN_ATTRIBUTES.taskId]: input.taskId,
    [SPAN_ATTRIBUTES.uses]: input.uses,
    [SPAN_ATTRIBUTES.attempt]: input.attempt,
    [SPAN_ATTRIBUTES.runner]: input.runsOn,
    ...(input.policy === undefined ? {} : { [SPAN_ATTRIBUTES.workflow]: input.policy.workflow.name }),
  };
  const parent = inRun(input.trace, input.runId);
  const span = trace.getTracer(TRACER_NAME).startSpan(`task ${input.taskId}`, { kind: SpanKind.INTERNAL, attributes }, parent);
  return within(span, parent, work);
}

/** Says on the active attempt's span whether its outputs came from the task cache. */
export function noteCacheHit(hit: boolean): void {
  trace.getActiveSpan()?.setAttribute(SPAN_ATTRIBUTES.cacheHit, hit);
}

/**
 * Runs an attempt's policy decision inside its span (`policy decision`, a child of the attempt's);
 * the decision id goes on both spans, and a denial says `deny` on both.
 */
export function inPolicySpan<T extends { decision: { decisionId: string } }>(decide: () => Promise<T>): Promise<T> {
  const attempt = trace.getActiveSpan();
  if (!tracingActive() || attempt === undefined) return decide();
  const parent = context.active();
  const span = trace.getTracer(TRACER_NAME).startSpan('policy decision', { kind: SpanKind.INTERNAL }, parent);
  return within(span, parent, async () => {
    try {
      const admitted = await decide();
      const allowed = { [SPAN_ATTRIBUTES.decision]: 'allow', [SPAN_ATTRIBUTES.decisionId]: admitted.decision.decisionId };
      span.setAttributes(allowed);
      attempt.setAttributes(allowed);
      return admitted;
    } catch (error) {
      if (error instanceof PolicyDeniedError) {
        const denied = { [SPAN_ATTRIBUTES.decision]: 'deny', [SPAN_ATTRIBUTES.decisionId]: error.decisionId };
        span.setAttributes(denied);
        attempt.setAttributes(denied);
      }
      throw error;
    }
  });
}

/** What the run's span and its receipt's span say of the run, from the receipt's input. */
export interface RunSpanInput {
  runId: string;
  namespace?: string;
  workflow: string;
  state: Pick<RunState, 'status' | 'startedAt' | 'error'>;
  trace?: RunTrace;
}

/** Writes the run's receipt inside its span (`receipt`, a child of the run's span). */
export function inReceiptSpan<T>(run: RunSpanInput, write: () => Promise<T>): Promise<T> {
  if (!tracingActive() || run.trace === undefined) return write();
  const parent = inRun(run.trace, run.runId);
  const span = trace.getTracer(TRACER_NAME).startSpan('receipt', { kind: SpanKind.INTERNAL, attributes: { [SPAN_ATTRIBUTES.runId]: run.runId } }, parent);
  return within(span, parent, write);
}

/**
 * Emits the run's span (`run <workflow>`) as the run ends: its id {@link runSpanId}, its parent the
 * request that started the run (or the parent run's span), from the run's start to now, failed with
 * the run's error code when the run failed.
 */
export function recordRunSpan(run: RunSpanInput): void {
  if (!tracingActive() || run.trace === undefined) return;
  const parentSpan = runParent(run.trace);
  const parent = parentSpan === undefined ? ROOT_CONTEXT : trace.setSpanContext(ROOT_CONTEXT, parentSpan);
  const startTime = new Date(run.state.startedAt);
  const span = PINNED_IDS.pin({ traceId: run.trace.traceId, spanId: runSpanId(run.runId) }, () =>
    trace.getTracer(TRACER_NAME).startSpan(
      `run ${run.workflow}`,
      {
        kind: SpanKind.INTERNAL,
        startTime: Number.isNaN(startTime.getTime()) ? undefined : startTime,
        attributes: {
          [SPAN_ATTRIBUTES.runId]: run.runId,
          [SPAN_ATTRIBUTES.workflow]: run.workflow,
          [SPAN_ATTRIBUTES.status]: run.state.status,
          ...(run.namespace === undefined ? {} : { [SPAN_ATTRIBUTES.namespace]: run.namespace }),
        },
      },
      parent,
    ),
  );
  if (run.state.status === 'FAILED') {
    const code = run.state.error?.code ?? 'RUN_FAILED';
    span.setAttribute(SPAN_ATTRIBUTES.errorCode, code);
    span.setStatus({ code: SpanStatusCode.ERROR, message: code });
  }
  span.end();
}

/** An HTTP request as {@link requestSpan} reads it. */
export interface TracedRequest {
  method: string;
  /** The caller's `traceparent` header. */
  traceparent: string | string[] | undefined;
}

/** An API request's server span (see {@link requestSpan}). */
export interface RequestSpan {
  /** Runs the request's handling with the span active: the runs it starts are its children. */
  run<T>(handle: () => T): T;
  /** Ends the span with the response's status. */
  end(status: number): void;
}

/**
 * Starts the server span of an API request (`<method> <route template>`, never the raw path),
 * its parent the caller's `traceparent` when valid, else a fresh trace. Without a trace SDK it
 * returns undefined.
 */
export function requestSpan(request: TracedRequest, route: string): RequestSpan | undefined {
  if (!tracingActive()) return undefined;
  const header = typeof request.traceparent === 'string' ? request.traceparent : undefined;
  const caller = parseTraceparent(header);
  const parent =
    caller === undefined ? ROOT_CONTEXT : trace.setSpanContext(ROOT_CONTEXT, { traceId: caller.traceId, spanId: caller.spanId, traceFlags: caller.sampled ? TraceFlags.SAMPLED : TraceFlags.NONE, isRemote: true });
  const span = trace.getTracer(TRACER_NAME).startSpan(
    `${request.method} ${route}`,
    { kind: SpanKind.SERVER, attributes: { 'http.request.method': request.method, 'http.route': route } },
    parent,
  );
  const active = trace.setSpan(parent, span);
  return {
    run: (handle) => context.with(active, handle),
    end(status) {
      span.setAttribute('http.response.status_code', status);
      if (status >= 500) span.setStatus({ code: SpanStatusCode.ERROR });
      span.end();
    },
  };
}
