/**
 * The API's metrics through OpenTelemetry, exposed in Prometheus text by `GET /metrics`:
 * request latency, runs started and finished by workflow, and task durations.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Counter, Histogram } from '@opentelemetry/api';
import { PrometheusExporter } from '@opentelemetry/exporter-prometheus';
import { MeterProvider } from '@opentelemetry/sdk-metrics';
import type { FinishedRunMetrics } from '../runs/index.js';

/** Records what the API observes; see {@link createApiMetrics}. */
export interface ApiMetrics extends FinishedRunMetrics {
  /** One HTTP request, by route template (never the raw path, which would explode cardinality). */
  request(method: string, route: string, status: number, seconds: number): void;
  /** A run started on Temporal. */
  runStarted(workflow: string): void;
  /** Writes the Prometheus text exposition to `res`. */
  serve(req: IncomingMessage, res: ServerResponse): void;
  shutdown(): Promise<void>;
}

/** Latency buckets (seconds) from 1 ms to 10 s: API calls are meant to be milliseconds. */
const REQUEST_BUCKETS = [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10];
const TASK_BUCKETS = [0.01, 0.05, 0.1, 0.5, 1, 5, 10, 30, 60, 300, 900, 3600];

/**
 * Creates the meter provider, its Prometheus reader (no server of its own: `/metrics` is a route
 * of the API) and the instruments.
 */
export function createApiMetrics(): ApiMetrics {
  const exporter = new PrometheusExporter({ preventServerStart: true });
  const provider = new MeterProvider({ readers: [exporter] });
  const meter = provider.getMeter('maestro-api');
  const requests: Histogram = meter.createHistogram('maestro_http_request_duration_seconds', {
    description: 'HTTP request latency of the Maestro API',
    unit: 's',
    advice: { explicitBucketBoundaries: REQUEST_BUCKETS },
  });
  const started: Counter = meter.createCounter('maestro_runs_started', { description: 'Runs started through the API, by workflow' });
  const finished: Counter = meter.createCounter('maestro_runs_finished', { description: 'Runs finished, by workflow and status' });
  const tasks: Histogram = meter.createHistogram('maestro_task_duration_seconds', {
    description: 'Duration of the tasks of finished runs',
    unit: 's',
    advice: { explicitBucketBoundaries: TASK_BUCKETS },
  });
  return {
    request: (method, route, status, seconds) => requests.record(seconds, { method, route, status: String(status) }),
    runStarted: (workflow) => started.add(1, { workflow }),
    runFinished: (workflow, status) => finished.add(1, { workflow, status }),
    taskFinished: (workflow, task, status, seconds) => tasks.record(seconds, { workflow, task, status }),
    serve: (req, res) => exporter.getMetricsRequestHandler(req, res),
    shutdown: () => provider.shutdown(),
  };
}
