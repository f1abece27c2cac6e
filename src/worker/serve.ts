/**
 * `maestro worker` (and its thin entry `workers/worker.ts`, the container image's command): the
 * worker alone, configured by `TEMPORAL_ADDRESS`/`TEMPORAL_TLS*`, `MAESTRO_DATABASE_URL`, the
 * artifact store and the policy settings, until SIGTERM or SIGINT drains it and it exits 0.
 */
import type { Config } from '../config/index.js';
import { exitAfterDrain, startTracing } from '../telemetry/index.js';
import { runWorker } from './worker.js';

/**
 * Runs the worker of `config` as the process's one job: tracing first (every span of the process
 * goes through it; nothing at all without an `OTEL_*` exporter), then the worker; the first stop
 * signal drains it (see {@link RunningWorker.shutdown}) and exports the last spans, a second one
 * exits at once.
 */
export async function serveWorker(config: Config): Promise<void> {
  const tracing = startTracing('maestro-worker');
  const worker = await runWorker(config);
  console.log(`Maestro worker polling task queue ${config.taskQueue} of Temporal ${config.temporalAddress ?? 'localhost:7233'}${worker.metricsUrl === undefined ? '' : `; /metrics, /healthz and /readyz on ${worker.metricsUrl}`}`);
  exitAfterDrain('worker', async () => {
    await worker.shutdown();
    await tracing.shutdown();
  });
}
