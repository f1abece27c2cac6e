/**
 * The Maestro worker process, as `maestro worker` runs it: `tsx workers/worker.ts`, config from
 * MAESTRO_* / TEMPORAL_ADDRESS. What it runs is built by `src/worker` ({@link serveWorker}), which
 * `maestro dev` / `npm start` also use in process.
 */
import { loadConfig } from '../src/config/index.js';
import { serveWorker } from '../src/worker/index.js';

await serveWorker(loadConfig());
