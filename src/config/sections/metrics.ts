/**
 * Settings of every process's metrics (`src/telemetry/metrics.ts`): the worker's `GET /metrics`
 * endpoint and the caps that keep label cardinality bounded. OTLP export is configured by the
 * standard `OTEL_*` variables, which the OpenTelemetry SDK reads itself.
 */
import { Type } from '@sinclair/typebox';
import { section, setting, type SettingsOf } from '../setting.js';

/** Metrics of the API and the worker. */
export const metricsSection = section('metrics', 'Metrics: the worker\'s Prometheus endpoint and the bounds on metric labels (OTLP export follows the standard `OTEL_*` variables).', {
  workerMetricsPort: setting(Type.Integer({ minimum: 0, maximum: 65_535 }), {
    env: 'MAESTRO_WORKER_METRICS_PORT',
    default: 9464,
    description: 'Port of the worker\'s `GET /metrics` (Prometheus text, no token: bind it where only your scraper reaches it): task attempts, policy denials, queue times, message triggers, and Temporal\'s own `temporal_*` worker metrics. 0 picks a free port; a port in use is logged and the worker runs without the endpoint.',
  }),
  workerMetricsHost: setting(Type.String({ minLength: 1 }), {
    env: 'MAESTRO_WORKER_METRICS_HOST',
    default: '127.0.0.1',
    description: 'Address the worker\'s metrics endpoint binds.',
  }),
  metricsMaxWorkflows: setting(Type.Integer({ minimum: 1, maximum: 100_000 }), {
    env: 'MAESTRO_METRICS_MAX_WORKFLOWS',
    default: 500,
    description: 'Most distinct workflows (namespace and name) one metric keeps; further workflows are counted as `other` (see `maestro_metric_labels_folded`).',
  }),
  metricsMaxTasks: setting(Type.Integer({ minimum: 1, maximum: 1_000_000 }), {
    env: 'MAESTRO_METRICS_MAX_TASKS',
    default: 2000,
    description: 'Most distinct tasks (namespace, workflow and task id) one metric keeps; further task ids are counted as `other`.',
  }),
  metricsMaxLabelValues: setting(Type.Integer({ minimum: 1, maximum: 100_000 }), {
    env: 'MAESTRO_METRICS_MAX_LABEL_VALUES',
    default: 200,
    description: 'Most distinct values of any other label (namespace, uses, trigger, route …) one metric keeps; further values are counted as `other`.',
  }),
});

/** Metrics settings (see {@link metricsSection}). */
export type MetricsSettings = SettingsOf<typeof metricsSection>;
