/**
 * The Temporal worker built from config: the activities with their dependencies (catalog, runners,
 * policy gate, provenance, task log, secrets) and the bundled interpreter workflow. `maestro worker`
 * (or `workers/worker.ts`) runs it as a process ({@link serveWorker}); `maestro dev`, the tests and
 * the benchmarks use it in process.
 */
export { bundleInterpreter, createWorker, runWorker, type RunningWorker, type WorkerOptions } from './worker.js';
export { installTemporalRuntime, type RuntimeLogLevel } from './runtime.js';
export { serveWorker } from './serve.js';
export { MaestroWorker, STUCK_ACTIVATION_MS } from './workflow-vm.js';
