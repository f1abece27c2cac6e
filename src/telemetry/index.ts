/** Traces and metrics: OpenTelemetry set-up and Maestro's spans. */
export { configuredTraceExporters, createTracerProvider, registerTracing, startTracing, tracingActive, type Tracing } from './tracing.js';
export { activeTraceparent, formatTraceparent, inAttemptSpan, inPolicySpan, inReceiptSpan, noteCacheHit, parseTraceparent, recordRunSpan, requestSpan, runSpanId, SPAN_ATTRIBUTES, type AttemptSpanInput, type RequestSpan, type RunSpanInput, type TraceParent } from './spans.js';
