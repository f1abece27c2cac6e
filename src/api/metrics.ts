/**
 * The API's side of the process's metrics (`src/telemetry`), served in Prometheus text by
 * `GET /metrics`: request latency by route template. Runs started and run-start denials are
 * counted by the run-start path; runs finished and their tasks' durations by the worker that ends
 * each run (`recordRunMetrics`).
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import { processMetrics, type ProcessMetrics } from '../telemetry/index.js';

/** Records what the API observes; see {@link createApiMetrics}. */
export interface ApiMetrics {
  /** The process's metrics the API records into (the run-start path too). */
  readonly process: ProcessMetrics;
  /** One HTTP request, by route template (never the raw path, which would explode cardinality). */
  request(method: string, route: string, status: number, seconds: number): void;
  /** Writes the Prometheus text exposition to `res`. */
  serve(req: IncomingMessage, res: ServerResponse): void;
}

/** The API's instruments on `metrics`. */
export function createApiMetrics(metrics: ProcessMetrics = processMetrics()): ApiMetrics {
  return {
    process: metrics,
    request: (method, route, status, seconds) => metrics.record('maestro_http_request_duration_seconds', seconds, { method, route, status: String(status) }),
    serve: (req, res) => metrics.serve(req, res),
  };
}
