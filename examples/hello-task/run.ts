/**
 * End to end with a task of your own: a worker whose catalog holds the built-in tasks plus
 * `examples/tasks/hello.ts`, and a client that compiles `hello-task.yaml` against the same catalog,
 * starts the run and prints its outputs.
 *
 * With a Temporal server on `TEMPORAL_ADDRESS` (default `localhost:7233`, e.g. from `npm start`):
 *
 *     npx tsx examples/hello-task/run.ts Ada fr
 *
 * A long-running worker serves the same task with `MAESTRO_TASK_MODULES=examples/tasks/hello.ts`.
 */
import { randomUUID } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Client, Connection } from '@temporalio/client';
import { DefaultLogger, NativeConnection, Runtime } from '@temporalio/worker';
import { loadCatalog } from '../../src/tasks/index.js';
import { startRun, waitForRun } from '../../src/client/index.js';
import { compileWorkflow } from '../../src/compiler/index.js';
import { DEFAULT_TEMPORAL_ADDRESS, loadConfig } from '../../src/config/index.js';
import { ManifestError } from '../../src/errors/index.js';
import type { RunState } from '../../src/ir/index.js';
import { checkParams, loadManifestFile } from '../../src/manifest/index.js';
import { createWorker, type WorkerOptions } from '../../src/worker/index.js';

/** The example's manifest. */
export const HELLO_TASK_MANIFEST = fileURLToPath(new URL('./hello-task.yaml', import.meta.url));
/** The module defining `examples/hello@0.1.0`. */
export const HELLO_TASK_MODULE = fileURLToPath(new URL('../tasks/hello.ts', import.meta.url));

/** Options of {@link runHelloTask}. */
export interface RunHelloTaskOptions {
  /** Temporal frontend address. */
  address: string;
  /** @default 'World' */
  name?: string;
  /** @default 'en' */
  language?: string;
  /** A prebuilt interpreter bundle, to skip bundling. @default bundled by the worker */
  workflowBundle?: WorkerOptions['workflowBundle'];
}

/**
 * Starts a worker serving the hello task on a task queue of its own, runs `hello-task.yaml` on it,
 * and returns the run's final state once the worker has stopped.
 */
export async function runHelloTask({ address, name = 'World', language = 'en', workflowBundle }: RunHelloTaskOptions): Promise<RunState> {
  // The worker and the compiler must agree on the catalog: both see the built-in tasks and yours.
  const catalog = await loadCatalog({ taskModules: [HELLO_TASK_MODULE] });
  const manifest = await loadManifestFile(HELLO_TASK_MANIFEST, { catalog });
  if (manifest.kind !== 'Workflow') {
    throw new ManifestError([{ file: HELLO_TASK_MANIFEST, line: 1, column: 1, path: 'kind', message: `expected a Workflow, got a ${manifest.kind}` }]);
  }
  const compiled = compileWorkflow(manifest, { catalog });
  const params = checkParams(compiled.ir.parameters, { name, language });

  const taskQueue = `hello-task-${randomUUID()}`;
  const artifactDir = await mkdtemp(join(tmpdir(), 'maestro-hello-task-'));
  const workerConnection = await NativeConnection.connect({ address });
  const connection = await Connection.connect({ address });
  try {
    const worker = await createWorker({ connection: workerConnection, taskQueue, artifactDir, catalog, ...(workflowBundle ? { workflowBundle } : {}) });
    const client = new Client({ connection });
    return await worker.runUntil(async () => waitForRun(client, await startRun(client, { compiled, params, taskQueue })));
  } finally {
    await connection.close();
    await workerConnection.close();
    await rm(artifactDir, { recursive: true, force: true });
  }
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  const [name, language] = process.argv.slice(2);
  Runtime.install({ logger: new DefaultLogger('WARN') });
  const state = await runHelloTask({
    address: loadConfig().temporalAddress ?? DEFAULT_TEMPORAL_ADDRESS,
    ...(name === undefined ? {} : { name }),
    ...(language === undefined ? {} : { language }),
  });
  console.log(`${state.runId}: ${state.status}`);
  for (const task of state.tasks) console.log(`  ${task.id}: ${task.status} ${JSON.stringify(task.outputs)}`);
  if (state.status !== 'SUCCEEDED') process.exitCode = 1;
}
