/**
 * The consumers' metrics, recorded into the process's metrics (served by the worker's `/metrics`):
 * `maestro_trigger_consumer_lag` (messages waiting for each consumed trigger, refreshed at every
 * poll of the store) and `maestro_trigger_messages` (messages settled, by trigger and outcome). The
 * trigger label is bounded by `MAESTRO_TRIGGER_MAX_CONSUMERS` (only triggers being consumed are
 * reported) and by the process's label guard.
 */
import { processMetrics, type ProcessMetrics } from '../../telemetry/index.js';
import type { Settlement } from './message.js';

/** What the consumers report; see {@link consumerMetrics}. */
export interface ConsumerMetrics {
  /** A message settled for `trigger` (`namespace/name`). */
  settled(trigger: string, outcome: Settlement['outcome']): void;
  /** Reads each consumed trigger's last known lag when the metrics are collected; replaces the previous reader. */
  observeLag(read: () => ReadonlyMap<string, { source: 'nats' | 'kafka'; lag: number }>): void;
}

/** The consumers' instruments on `metrics`. */
export function consumerMetrics(metrics: ProcessMetrics = processMetrics()): ConsumerMetrics {
  let stop: (() => void) | undefined;
  return {
    settled: (trigger, outcome) => metrics.add('maestro_trigger_messages', 1, { trigger, outcome }),
    observeLag: (read) => {
      stop?.();
      stop = metrics.observe('maestro_trigger_consumer_lag', () => [...read()].map(([trigger, { source, lag }]) => [lag, { trigger, source }] as const));
    },
  };
}
