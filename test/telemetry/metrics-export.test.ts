/**
 * OTLP export of the process's metrics to a real OTLP/HTTP receiver, in both protocols Maestro
 * speaks, configured only by the standard `OTEL_*` variables.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createProcessMetrics } from '../../src/telemetry/index.js';
import { startOtlpReceiver, type OtlpReceiver } from '../peers/index.js';

let receiver: OtlpReceiver;
beforeAll(async () => {
  receiver = await startOtlpReceiver();
});
afterAll(async () => {
  await receiver.stop();
});

/** Names of the metrics of an OTLP/JSON metrics export. */
function metricNames(json: unknown): string[] {
  const body = json as { resourceMetrics: { scopeMetrics: { metrics: { name: string }[] }[] }[] };
  return body.resourceMetrics.flatMap((r) => r.scopeMetrics.flatMap((s) => s.metrics.map((m) => m.name)));
}

describe('OTLP metrics export', () => {
  it('pushes the instruments over http/json to OTEL_EXPORTER_OTLP_ENDPOINT/v1/metrics, with the service name', async () => {
    const metrics = createProcessMetrics({ serviceName: 'maestro-worker', env: { OTEL_EXPORTER_OTLP_ENDPOINT: receiver.url, OTEL_EXPORTER_OTLP_PROTOCOL: 'http/json', OTEL_METRIC_EXPORT_INTERVAL: '60000' } });
    const before = receiver.exports.length;
    metrics.add('maestro_task_attempts', 1, { namespace: 'ops', workflow: 'deploy', task: 'build', uses: 'tasks/noop@1.0.0', runner: 'local', outcome: 'failed', code: 'TASK_TIMEOUT' });
    await metrics.flush();
    await metrics.shutdown();
    const sent = receiver.exports.slice(before);
    expect(sent.length).toBeGreaterThan(0);
    expect(sent[0]).toMatchObject({ path: '/v1/metrics', contentType: 'application/json' });
    expect(metricNames(sent[0]?.json)).toContain('maestro_task_attempts');
    const text = JSON.stringify(sent[0]?.json);
    expect(text).toContain('"maestro-worker"');
    expect(text).toContain('"TASK_TIMEOUT"');
  });

  it('pushes over http/protobuf, the default protocol, to OTEL_EXPORTER_OTLP_METRICS_ENDPOINT as given', async () => {
    const metrics = createProcessMetrics({ env: { OTEL_EXPORTER_OTLP_METRICS_ENDPOINT: `${receiver.url}/v1/metrics`, OTEL_METRIC_EXPORT_INTERVAL: '60000' } });
    const before = receiver.exports.length;
    metrics.record('maestro_task_schedule_to_start_seconds', 0.02, { task_queue: 'maestro' });
    await metrics.flush();
    await metrics.shutdown();
    const sent = receiver.exports.slice(before);
    expect(sent.length).toBeGreaterThan(0);
    expect(sent[0]).toMatchObject({ path: '/v1/metrics', contentType: 'application/x-protobuf' });
    // Protobuf strings are UTF-8 bytes on the wire: the metric's name and label are in the body.
    expect(sent[0]?.body.includes(Buffer.from('maestro_task_schedule_to_start_seconds'))).toBe(true);
    expect(sent[0]?.body.includes(Buffer.from('task_queue'))).toBe(true);
  });
});
