/**
 * OpenTelemetry traces and metrics of Maestro's processes (layer "settings"). Instrumentation
 * elsewhere depends on `@opentelemetry/api` and on this door, never on an SDK package.
 */
export { createProcessMetrics, errorCodeLabel, FOLDED, INSTRUMENTS, LabelGuard, metricsOptions, otlpMetricReader, processMetrics, taskLabel, type GaugeReading, type InstrumentName, type LabelCaps, type LabelsOf, type ProcessMetrics, type ProcessMetricsOptions } from './metrics.js';
