/**
 * Traces and metrics: OpenTelemetry set-up, Maestro's spans, connector client spans and the trace
 * context they propagate, the process's meters.
 */
export { configuredTraceExporters, createTracerProvider, registerTracing, startTracing, tracingActive, type Tracing } from './tracing.js';
export { activeTraceparent, formatTraceparent, inAttemptSpan, inPolicySpan, inReceiptSpan, noteCacheHit, parseTraceparent, recordRunSpan, requestSpan, runSpanId, SPAN_ATTRIBUTES, type AttemptSpanInput, type RequestSpan, type RunSpanInput, type TraceParent } from './spans.js';
export { TRACE_HEADER_NAMES, isTraceHeader, markFailed, serverAttributes, traceHeaders, withClientSpan, withTraceContext, type ClientSpanOptions, type TraceHeaders } from './propagation.js';
export { createProcessMetrics, errorCodeLabel, FOLDED, INSTRUMENTS, LabelGuard, metricsOptions, otlpMetricReader, processMetrics, taskLabel, type GaugeReading, type InstrumentName, type LabelCaps, type LabelsOf, type ProcessMetrics, type ProcessMetricsOptions } from './metrics.js';
export { CHECK_TIMEOUT_MS, exitAfterDrain, passes, readinessReport, serveProbe, sharedReadiness, type Probes, type Readiness, type ReadinessChecks } from './probes.js';
