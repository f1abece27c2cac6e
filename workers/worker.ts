/**
 * The Maestro worker process: `tsx workers/worker.ts` (the container image's command), config from
 * MAESTRO_* / TEMPORAL_ADDRESS. What it runs is built by `src/worker` ({@link runWorker}), which
 * `maestro dev` / `npm start` also use in process.
 */
import { loadConfig } from '../src/config/index.js';
import { runWorker } from '../src/worker/index.js';

const worker = await runWorker(loadConfig());
const stop = (): void => void worker.shutdown().then(() => process.exit(0));
process.once('SIGINT', stop);
process.once('SIGTERM', stop);
