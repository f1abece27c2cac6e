/**
 * The Maestro worker: registers the activities and the one interpreter workflow on the task queue.
 * Run it alone with `tsx workers/worker.ts` (config from MAESTRO_* / TEMPORAL_ADDRESS), or through
 * `maestro dev` / `npm start`.
 */
import { fileURLToPath } from 'node:url';
import { DefaultLogger, NativeConnection, Runtime, Worker, bundleWorkflowCode, type WorkflowBundleWithSourceMap } from '@temporalio/worker';
import { createActivities, envSecrets } from '../src/activities/index.js';
import { builtinCatalog, type Catalog } from '../src/catalog/index.js';
import { loadConfig, type Config } from '../src/config/index.js';
import { localRunner, type Runners } from '../src/runners/index.js';
import { FsArtifactStore } from '../src/store/index.js';

const INTERPRETER_PATH = fileURLToPath(new URL('../interpreters/dag-interpreter.ts', import.meta.url));

/** Options of {@link createWorker}. */
export interface WorkerOptions {
  connection: NativeConnection;
  /** Temporal namespace. @default 'default' */
  namespace?: string;
  /** @default 'maestro' */
  taskQueue?: string;
  /** Where large outputs go. */
  artifactDir: string;
  /** @default 262144 */
  largeOutputBytes?: number;
  /** @default builtinCatalog */
  catalog?: Catalog;
  /** Runners by `runsOn`. @default { local: localRunner } */
  runners?: Runners;
  /** A prebuilt interpreter bundle (see {@link bundleInterpreter}); bundled here when absent. */
  workflowBundle?: WorkflowBundleWithSourceMap;
}

/** Bundles the interpreter once; pass the result to several workers to skip re-bundling. */
export function bundleInterpreter(): Promise<WorkflowBundleWithSourceMap> {
  return bundleWorkflowCode({ workflowsPath: INTERPRETER_PATH, logger: quietBundlerLogger });
}

/** Creates (does not start) a worker serving the interpreter and the catalog's tasks. */
export async function createWorker(options: WorkerOptions): Promise<Worker> {
  const {
    connection,
    namespace = 'default',
    taskQueue = 'maestro',
    artifactDir,
    largeOutputBytes,
    catalog = builtinCatalog,
    runners = { local: localRunner },
  } = options;
  const activities = createActivities({
    catalog,
    artifacts: new FsArtifactStore({ root: artifactDir }),
    runners,
    secrets: envSecrets(),
    ...(largeOutputBytes === undefined ? {} : { largeOutputBytes }),
  });
  return Worker.create({
    connection,
    namespace,
    taskQueue,
    activities,
    workflowBundle: options.workflowBundle ?? (await bundleInterpreter()),
    // Many small tasks per run: let one worker keep many activities and workflow tasks in flight.
    maxConcurrentActivityTaskExecutions: 200,
    maxConcurrentLocalActivityExecutions: 200,
    maxConcurrentWorkflowTaskExecutions: 40,
  });
}

/**
 * Connects to Temporal with `config` and runs a worker until `shutdown()`. Installs the process's
 * Temporal runtime logger at `config.logLevel`, so call it once per process.
 */
export async function runWorker(config: Config): Promise<{ shutdown(): Promise<void> }> {
  Runtime.install({ logger: new DefaultLogger(LOG_LEVELS[config.logLevel]) });
  const connection = await NativeConnection.connect({ address: config.temporalAddress ?? 'localhost:7233' });
  const worker = await createWorker({
    connection,
    namespace: config.temporalNamespace,
    taskQueue: config.taskQueue,
    artifactDir: config.artifactDir,
    largeOutputBytes: config.largeOutputBytes,
  });
  const running = worker.run();
  return {
    async shutdown() {
      worker.shutdown();
      await running;
      await connection.close();
    },
  };
}

const LOG_LEVELS = { debug: 'DEBUG', info: 'INFO', warn: 'WARN', error: 'ERROR' } as const;

const quietBundlerLogger = {
  trace: () => undefined,
  debug: () => undefined,
  info: () => undefined,
  warn: (message: string, meta?: unknown) => console.warn(message, meta ?? ''),
  error: (message: string, meta?: unknown) => console.error(message, meta ?? ''),
  log: () => undefined,
};

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  const worker = await runWorker(loadConfig());
  const stop = (): void => void worker.shutdown().then(() => process.exit(0));
  process.once('SIGINT', stop);
  process.once('SIGTERM', stop);
}
