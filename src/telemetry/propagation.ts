/**
 * Client spans for the calls connectors make, and the W3C trace context they carry to the system
 * called. Every connector call goes through {@link withClientSpan}: a `CLIENT` span, child of the
 * active span (a task attempt's, when the worker traces), and the `traceparent` / `tracestate`
 * of that client span for the connector to put where its protocol carries them (HTTP and gRPC
 * headers, Kafka and NATS message headers, a SQL comment).
 *
 * Only `@opentelemetry/api` is used: with no SDK registered in the process every call here is a
 * no-op span and an empty set of headers. Only trace context is propagated — never `baggage` or
 * whatever else a registered propagator writes — and only values of the W3C form, so nothing a
 * caller put in its `tracestate` reaches a connector's peer unchecked.
 */
import { SpanKind, SpanStatusCode, propagation, context, trace, type Attributes, type Span } from '@opentelemetry/api';
import { isMaestroError } from '../errors/index.js';

/** The trace context of one outgoing call: the only headers the engine propagates. */
export interface TraceHeaders {
  /** `00-<trace id>-<client span id>-<flags>`, absent when no trace is active. */
  traceparent?: string;
  /** The vendors' entries of the active trace, absent when it has none. */
  tracestate?: string;
}

/** The header names of {@link TraceHeaders}, lower case. */
export const TRACE_HEADER_NAMES: readonly string[] = ['traceparent', 'tracestate'];

/** Version 00 of the W3C header: trace id and span id not all zeros is checked by the propagator. */
const TRACEPARENT = /^00-[0-9a-f]{32}-[0-9a-f]{16}-[0-9a-f]{2}$/;
/** Printable ASCII (no control characters, so no header splitting), the W3C's 512-character cap. */
const TRACESTATE = /^[\x20-\x7e]{1,512}$/;

/** Options of {@link withClientSpan}. */
export interface ClientSpanOptions {
  /** `PRODUCER` for a message published (Kafka, NATS). @default SpanKind.CLIENT */
  kind?: SpanKind;
}

/**
 * Runs `call` inside a new client span named `name` (OTel semantic conventions: `GET`,
 * `publish orders`, `SELECT`…), child of the active span, and hands it the trace context to
 * propagate. The span ends when `call` settles; a rejection marks it as an error with the error's
 * Maestro code (or class name) as `error.type` — never its message, which may quote a URL.
 *
 * Attributes must carry no secret, credential, full URL or query: a host, a port, a topic, a
 * method name.
 *
 * @example
 * await withClientSpan('publish orders', { 'messaging.system': 'nats', 'messaging.destination.name': 'orders' },
 *   (trace) => nc.publish('orders', data, { headers: natsHeaders(trace) }), { kind: SpanKind.PRODUCER });
 */
export function withClientSpan<T>(
  name: string,
  attributes: Attributes,
  call: (headers: TraceHeaders, span: Span) => Promise<T>,
  { kind = SpanKind.CLIENT }: ClientSpanOptions = {},
): Promise<T> {
  // Looked up per call, not cached: a tracer taken before the process registers (or re-registers)
  // its SDK would stay a no-op.
  return trace.getTracer('maestro').startActiveSpan(name, { kind, attributes }, async (span) => {
    try {
      return await call(traceHeaders(), span);
    } catch (error) {
      markFailed(span, errorType(error));
      throw error;
    } finally {
      span.end();
    }
  });
}

/** Marks `span` as failed with `type` (an error code, a status) as its `error.type`. */
export function markFailed(span: Span, type: string): void {
  span.setAttribute('error.type', type);
  span.setStatus({ code: SpanStatusCode.ERROR });
}

/**
 * The trace context of the active span, as its propagator writes it, keeping only well-formed
 * `traceparent` and `tracestate` values (empty when no SDK or no propagator is registered).
 */
export function traceHeaders(): TraceHeaders {
  const carrier: Record<string, string> = {};
  propagation.inject(context.active(), carrier);
  const headers: TraceHeaders = {};
  const { traceparent, tracestate } = carrier;
  if (traceparent !== undefined && TRACEPARENT.test(traceparent)) {
    headers.traceparent = traceparent;
    if (tracestate !== undefined && TRACESTATE.test(tracestate)) headers.tracestate = tracestate;
  }
  return headers;
}

/** Whether `name` is one of the trace context headers, in any case. */
export function isTraceHeader(name: string): boolean {
  return TRACE_HEADER_NAMES.includes(name.toLowerCase());
}

/**
 * `server.address` and `server.port` of an address — a URL or a bare `host:port` — and nothing
 * else of it: no path, query or credentials (a webhook path or a presigned query is a secret).
 */
export function serverAttributes(address: string | URL, defaultPort?: number): Attributes {
  const text = typeof address === 'string' ? (address.includes('://') ? address : `tcp://${address}`) : address.href;
  if (!URL.canParse(text)) return {};
  const url = new URL(text);
  const port = url.port === '' ? (defaultPort ?? defaultPorts[url.protocol]) : Number(url.port);
  return { 'server.address': url.hostname.replace(/^\[|\]$/g, ''), ...(port === undefined ? {} : { 'server.port': port }) };
}

const defaultPorts: Record<string, number> = { 'http:': 80, 'https:': 443 };

function errorType(error: unknown): string {
  if (isMaestroError(error)) return error.code;
  return error instanceof Error ? error.name : 'Error';
}
