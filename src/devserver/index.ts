/**
 * The local Temporal dev server: finding the Temporal CLI ({@link resolveTemporalBin}), starting
 * `temporal server start-dev` with Maestro's search attributes ({@link startDevServer}), and
 * `maestro dev` / `npm start` ({@link runDev}). Used by the CLI, the test set-up and the benchmark.
 */
export { resolveTemporalBin, TOOLS_TEMPORAL_BIN } from './temporal-bin.js';
export { startDevServer, DEFAULT_SQLITE_PRAGMAS, type DevServer, type DevServerOptions } from './dev-server.js';
export { resolveJaegerBin, startJaeger, type JaegerOptions, type RunningJaeger } from './jaeger.js';
export { runDev, type RunDevOptions, type DevSession, type RunningWorker, type StartWorker } from './run-dev.js';
