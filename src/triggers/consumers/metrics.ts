/**
 * The consumers' metrics, in Prometheus text on a small endpoint of their own (the worker and
 * `maestro triggers` have no HTTP API): `maestro_trigger_consumer_lag` (messages waiting for each
 * consumed trigger, refreshed at every poll of the store) and `maestro_trigger_messages` (messages
 * settled, by trigger and outcome). The trigger label is bounded by `MAESTRO_TRIGGER_MAX_CONSUMERS`:
 * only triggers being consumed are reported.
 */
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { PrometheusExporter, PrometheusSerializer } from '@opentelemetry/exporter-prometheus';
import { MeterProvider } from '@opentelemetry/sdk-metrics';
import type { Settlement } from './message.js';

/** What the consumers report; see {@link createConsumerMetrics}. */
export interface ConsumerMetrics {
  /** A message settled for `trigger` (`namespace/name`). */
  settled(trigger: string, outcome: Settlement['outcome']): void;
  /** Reads each consumed trigger's last known lag when the metrics are collected. */
  observeLag(read: () => ReadonlyMap<string, { source: 'nats' | 'kafka'; lag: number }>): void;
  /** Serves `GET /metrics` on `host:port` (0: any free port). */
  listen(host: string, port: number): Promise<{ url: string; close(): Promise<void> }>;
  /** The Prometheus text, as `/metrics` serves it. */
  text(): Promise<string>;
  shutdown(): Promise<void>;
}

/** Creates the meter provider, its Prometheus reader and the two instruments. */
export function createConsumerMetrics(): ConsumerMetrics {
  const exporter = new PrometheusExporter({ preventServerStart: true });
  const provider = new MeterProvider({ readers: [exporter] });
  const meter = provider.getMeter('maestro-triggers');
  const messages = meter.createCounter('maestro_trigger_messages', { description: 'Messages settled by message triggers, by trigger and outcome (started, duplicate, ignored, refused, poison, retry)' });
  const lag = meter.createObservableGauge('maestro_trigger_consumer_lag', { description: 'Messages waiting for a message trigger: not yet delivered, or delivered and not acknowledged' });
  let read: () => ReadonlyMap<string, { source: 'nats' | 'kafka'; lag: number }> = () => new Map();
  lag.addCallback((result) => {
    for (const [trigger, { source, lag: value }] of read()) result.observe(value, { trigger, source });
  });
  const serializer = new PrometheusSerializer();
  const text = async (): Promise<string> => serializer.serialize((await exporter.collect()).resourceMetrics);
  return {
    settled: (trigger, outcome) => messages.add(1, { trigger, outcome }),
    observeLag: (reader) => {
      read = reader;
    },
    text,
    listen: async (host, port) => {
      const server: Server = createServer((req, res) => {
        if (req.method === 'GET' && req.url?.split('?')[0] === '/metrics') exporter.getMetricsRequestHandler(req, res);
        else {
          res.statusCode = 404;
          res.end();
        }
      });
      await new Promise<void>((resolve, reject) => server.once('error', reject).listen(port, host, resolve));
      const { port: bound } = server.address() as AddressInfo;
      return { url: `http://${host}:${bound}`, close: () => new Promise<void>((resolve) => server.close(() => resolve())) };
    },
    shutdown: () => provider.shutdown(),
  };
}
