/**
 * The Temporal runtime of a worker process, installed once: its logger, and Core's own metrics
 * (`temporal_*`: pollers, slots, sticky cache, schedule-to-start, workflow and activity task
 * latencies) on a Prometheus endpoint bound to a free loopback port, whose text the process's
 * `/metrics` appends to Maestro's. Prometheus, not OTLP, because Core's OTLP exporter reads no
 * `OTEL_*` protocol setting and speaks no `http/json`, and buffering Core's metrics into our meter
 * provider would re-implement its aggregation: one scrape target shows both either way.
 */
import { createServer } from 'node:net';
import { DefaultLogger, Runtime } from '@temporalio/worker';
import { processMetrics } from '../telemetry/index.js';

/** Log levels of the runtime's logger. */
export type RuntimeLogLevel = 'DEBUG' | 'INFO' | 'WARN' | 'ERROR';

/** How long a scrape waits for Core's text before leaving it out. */
const CORE_SCRAPE_TIMEOUT_MS = 2_000;

let installed: Promise<void> | undefined;

/**
 * Installs the process's Temporal runtime with `level` and Core's metrics (the first call; later
 * ones wait for it), and adds Core's text to {@link processMetrics}. Call it before the first
 * connection: a connection made earlier installs a default runtime without metrics.
 */
export function installTemporalRuntime(level: RuntimeLogLevel): Promise<void> {
  installed ??= (async () => {
    const port = await freeLoopbackPort();
    Runtime.install({
      logger: new DefaultLogger(level),
      telemetryOptions: { metrics: { prometheus: { bindAddress: `127.0.0.1:${port}`, countersTotalSuffix: true, useSecondsForDurations: true } } },
    });
    processMetrics().addExposition(async () => {
      const res = await fetch(`http://127.0.0.1:${port}/metrics`, { signal: AbortSignal.timeout(CORE_SCRAPE_TIMEOUT_MS) });
      if (!res.ok) throw new Error(`Temporal's metrics answered ${res.status}`);
      return res.text();
    });
  })();
  return installed;
}

/** A loopback port free now (Core binds it right after; nothing else in the process races for it). */
function freeLoopbackPort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject).listen(0, '127.0.0.1', () => {
      const address = server.address();
      const port = typeof address === 'object' && address !== null ? address.port : 0;
      server.close(() => resolve(port));
    });
  });
}
