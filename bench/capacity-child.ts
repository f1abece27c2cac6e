/**
 * The capacity benchmark's hand-written side, each role in a process of its own so its CPU is
 * counted apart (bench/capacity.ts starts them; `TEMPORAL_ADDRESS`, `MAESTRO_TASK_QUEUE` and
 * `MAESTRO_DATA_DIR` from the environment):
 * - `tsx bench/capacity-child.ts worker`: the hand-written workflows' worker (`apiLoad` and the
 *   others of bench/baseline-workflows.ts), `runTask` built as Maestro's worker builds it;
 * - `tsx bench/capacity-child.ts starter`: raw `client.workflow.start` of `apiLoad`, open loop at the
 *   rate and for the seconds each message from the parent asks, answering with the calls.
 * Both print `ready` once serving and exit 0 on SIGTERM (so `--cpu-prof` writes its profile).
 */
import { randomUUID } from 'node:crypto';
import { Client, Connection } from '@temporalio/client';
import { DefaultLogger, NativeConnection, Runtime } from '@temporalio/worker';
import { builtinCatalog } from '../src/tasks/index.js';
import { loadConfig, temporalConnectOptions } from '../src/config/index.js';
import { createWorkerProvenance } from '../src/provenance/index.js';
import { openLoop, type LoadCall } from './api-load.js';
import { bundleBaselineWorkflows, createBaselineWorker } from './engine.js';
import { BENCH_TASK, type BaselineArgs } from './shapes.js';

/** What the parent asks the starter for: `rate` starts a second for `seconds`. */
export interface StarterRequest {
  rate: number;
  seconds: number;
}

/** The starter's answer to a {@link StarterRequest}. */
export interface StarterReply {
  calls: LoadCall[];
}

/** The hand-written workflow's arguments: the same task input as the manifest's map. */
export const LOAD_ARGS: BaselineArgs = { n: 1, uses: BENCH_TASK, namespace: 'default' };

async function worker(): Promise<void> {
  Runtime.install({ logger: new DefaultLogger('ERROR') });
  const config = loadConfig();
  const connection = await NativeConnection.connect(temporalConnectOptions(config));
  const provenance = await createWorkerProvenance({ config, catalog: builtinCatalog });
  const running = await createBaselineWorker({
    connection,
    taskQueue: config.taskQueue,
    workflowBundle: await bundleBaselineWorkflows(),
    artifactDir: config.artifactDir,
    writeReceipt: provenance.writeReceipt,
  });
  process.once('SIGTERM', () => running.shutdown());
  const done = running.run();
  console.log('baseline worker ready');
  await done;
  await connection.close();
}

async function starter(): Promise<void> {
  const config = loadConfig();
  const connection = await Connection.connect(temporalConnectOptions(config));
  const client = new Client({ connection });
  const start = async (): Promise<{ runId: string }> => {
    const workflowId = `raw-${randomUUID()}`;
    await client.workflow.start('apiLoad', { workflowId, taskQueue: config.taskQueue, args: [LOAD_ARGS] });
    return { runId: workflowId };
  };
  process.on('message', (request: StarterRequest) => {
    void openLoop(request.rate, request.seconds, start).then((calls) => process.send?.({ calls } satisfies StarterReply));
  });
  const stop = new Promise<void>((resolve) => process.once('SIGTERM', resolve));
  console.log('starter ready');
  await stop;
  process.removeAllListeners('message');
  process.disconnect?.();
  await connection.close();
}

const role = process.argv[2];
if (role === 'worker') await worker();
else if (role === 'starter') await starter();
else throw new Error(`usage: tsx bench/capacity-child.ts worker|starter (got ${role ?? 'nothing'})`);
