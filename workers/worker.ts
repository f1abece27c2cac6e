/**
 * The Maestro worker process: `tsx workers/worker.ts` (the container image's command), config from
 * MAESTRO_* / TEMPORAL_ADDRESS. What it runs is built by `src/worker` ({@link runWorker}), which
 * `maestro dev` / `npm start` also use in process.
 */
import { loadConfig } from '../src/config/index.js';
import { startTracing } from '../src/telemetry/index.js';
import { runWorker } from '../src/worker/index.js';

// First, so every span of the process goes through it; nothing at all without an OTEL_* exporter.
const tracing = startTracing('maestro-worker');
const worker = await runWorker(loadConfig());
// Drained tasks first, then their spans (and the last runs' spans) are exported.
const stop = (): void => void worker.shutdown().then(() => tracing.shutdown()).then(() => process.exit(0));
process.once('SIGINT', stop);
process.once('SIGTERM', stop);
