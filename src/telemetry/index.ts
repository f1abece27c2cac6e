/**
 * Traces and metrics: OpenTelemetry set-up, Maestro's spans, connector client spans and the trace
 * context they propagate, the process's meters.
 */
export { TRACE_HEADER_NAMES, isTraceHeader, markFailed, serverAttributes, traceHeaders, withClientSpan, withTraceContext, type ClientSpanOptions, type TraceHeaders } from './propagation.js';
