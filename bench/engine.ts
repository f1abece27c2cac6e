/**
 * The benchmark's own Temporal: a dev server on free ports with a SQLite file in a temp folder (no
 * Web UI), and four in-process workers on separate task queues — Maestro's (the interpreter, built
 * by `createWorker` exactly as production does), the same with the policy gate on (the embedded PDP
 * and the SQLite decision log, as `runWorker` wires them), and the baseline's
 * (bench/baseline-workflows.ts) twice, without a payload codec and with Maestro's — all serving the
 * `runTask` activity built by `createActivities` from the same dependencies.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Client, Connection } from '@temporalio/client';
import { DefaultLogger, NativeConnection, Runtime, Worker, bundleWorkflowCode } from '@temporalio/worker';
import { createActivities } from '../src/activities/index.js';
import { builtinCatalog } from '../src/tasks/index.js';
import { maestroDataConverter, payloadCodec, type AesGcmPayloadCodec } from '../src/codec/index.js';
import { loadConfig } from '../src/config/index.js';
import { createSecretResolver } from '../src/secrets/index.js';
import { DEFAULT_SQLITE_PRAGMAS, resolveTemporalBin, startDevServer, type DevServer } from '../src/devserver/index.js';
import { createPdp, createPolicyGate, type PolicyGate } from '../src/policy/index.js';
import { auditDecisionLog, createWorkerProvenance } from '../src/provenance/index.js';
import { localRunner } from '../src/runners/index.js';
import { FsArtifactStore, openAuditLog } from '../src/store/index.js';
import { bundleInterpreter, createWorker } from '../src/worker/index.js';

const BASELINE_WORKFLOWS = fileURLToPath(new URL('./baseline-workflows.ts', import.meta.url));

/** Task queues of the workers. */
export const MAESTRO_QUEUE = 'bench-maestro';
export const MAESTRO_POLICY_QUEUE = 'bench-maestro-policy';
export const BASELINE_QUEUE = 'bench-baseline';
/** The hand-written workflows' worker with Maestro's payload codec: like for like with Maestro's. */
export const BASELINE_CODEC_QUEUE = 'bench-baseline-codec';

/** A running benchmark engine; `close()` stops workers, server and removes the temp folder. */
export interface BenchEngine {
  /** A client without the payload codec: the hand-written baseline's, and raw history reads. */
  client: Client;
  /** A client with the Maestro workers' payload codec, which starts and reads Maestro's runs and the codec baseline's. */
  maestroClient: Client;
  server: DevServer;
  /** The `temporal` command line the server runs with. */
  serverCommand: string[];
  dbFile: string;
  sqlitePragmas: Readonly<Record<string, string>>;
  /**
   * Time the policy gate took in each run of the gated worker, by run id (ms): for every task, its
   * `admit` from call to answer, plus the time the task then waited for the decision's record —
   * what the check added to the task's path.
   */
  gateMs: ReadonlyMap<string, number>;
  /**
   * The run-start side of the gate (the API's, on the same PDP and audit log): it decides each
   * gated run and its tasks before the start, and those decisions go to the tasks' first attempts.
   */
  runStartGate: PolicyGate;
  close(): Promise<void>;
}

/** `gate`, with the time each task spends in it added to its run's entry of `spent` (see {@link BenchEngine.gateMs}). */
function timedGate(gate: PolicyGate, spent: Map<string, number>): PolicyGate {
  return {
    ...gate,
    async admit(input, offer) {
      const add = (since: number): void => {
        spent.set(input.run.runId, (spent.get(input.run.runId) ?? 0) + performance.now() - since);
      };
      const start = performance.now();
      try {
        const { decision, recorded, ...how } = await gate.admit(input, offer);
        return {
          ...how,
          decision,
          // `await` calls then(): the task's wait starts there and ends when the record is written.
          recorded: {
            then(onFulfilled, onRejected) {
              const waiting = performance.now();
              return Promise.resolve(recorded)
                .finally(() => add(waiting))
                .then(onFulfilled, onRejected);
            },
          },
        };
      } finally {
        add(start);
      }
    },
  };
}

const quietBundler = {
  trace: () => undefined,
  debug: () => undefined,
  info: () => undefined,
  warn: (message: string) => console.warn(message),
  error: (message: string) => console.error(message),
  log: () => undefined,
};

/**
 * Dev server dynamic config of the `tuned` server profile. The history service reads new transfer
 * tasks (the ones that hand a workflow or activity task to matching) at most
 * `history.transferProcessorMaxPollRPS` times a second, 20 by default: once a short burst is spent,
 * every hand-off waits for the next 50 ms slot, so each regular activity costs ~100 ms (its dispatch
 * plus the workflow task that follows), measured with 10 sequential activities. Raising the limit
 * removes that dev-server artefact, which penalises the regular-activity baseline (one hand-off per
 * activity and per workflow task) far more than local activities (two hand-offs per run).
 */
export const TUNED_DYNAMIC_CONFIG: Readonly<Record<string, unknown>> = Object.freeze({
  'history.transferProcessorMaxPollRPS': 1000,
});

/** Bundles the hand-written workflows of bench/baseline-workflows.ts. */
export function bundleBaselineWorkflows(): ReturnType<typeof bundleWorkflowCode> {
  return bundleWorkflowCode({ workflowsPath: BASELINE_WORKFLOWS, logger: quietBundler });
}

/** What {@link createBaselineWorker} needs. */
export interface BaselineWorkerOptions {
  connection: NativeConnection;
  taskQueue: string;
  /** From {@link bundleBaselineWorkflows}. */
  workflowBundle: Awaited<ReturnType<typeof bundleWorkflowCode>>;
  /** Where large task outputs go, as Maestro's worker's. */
  artifactDir: string;
  /** The receipt sink `runTask` is given (the hand-written workflows never call it). */
  writeReceipt: Parameters<typeof createActivities>[0]['writeReceipt'];
  /** Encrypts every payload as Maestro's worker does. @default undefined — payloads in clear */
  payloadCodec?: AesGcmPayloadCodec;
}

/**
 * Creates (does not run) the hand-written workflows' worker: `runTask` built by `createActivities`
 * from the same dependencies `createWorker` gives Maestro's, and the same concurrency limits, so
 * neither side is throttled differently.
 */
export function createBaselineWorker({ connection, taskQueue, workflowBundle, artifactDir, writeReceipt, payloadCodec: codec }: BaselineWorkerOptions): Promise<Worker> {
  return Worker.create({
    connection,
    taskQueue,
    workflowBundle,
    ...(codec === undefined ? {} : { dataConverter: maestroDataConverter(codec) }),
    activities: createActivities({
      catalog: builtinCatalog,
      artifacts: new FsArtifactStore({ root: artifactDir }),
      runners: { local: localRunner },
      secrets: createSecretResolver(loadConfig()),
      writeReceipt,
    }),
    maxConcurrentActivityTaskExecutions: 200,
    maxConcurrentLocalActivityExecutions: 200,
    maxConcurrentWorkflowTaskExecutions: 40,
  });
}

/** Options of {@link startBenchEngine}. */
export interface BenchEngineOptions {
  /** Extra dev server dynamic config (`--dynamic-config-value`). @default {} */
  dynamicConfig?: Readonly<Record<string, unknown>>;
}

/** Starts the dev server, both workers and a client. */
export async function startBenchEngine({ dynamicConfig = {} }: BenchEngineOptions = {}): Promise<BenchEngine> {
  const dir = await mkdtemp(join(tmpdir(), 'maestro-bench-'));
  const dbFile = join(dir, 'temporal.db');
  const artifactDir = join(dir, 'artifacts');
  // Workers' own warnings (e.g. slow polls at shutdown) are noise in a report.
  Runtime.install({ logger: new DefaultLogger('ERROR') });
  const server = await startDevServer({
    bin: resolveTemporalBin(loadConfig().temporalBin),
    port: 0,
    ui: false,
    dbFile,
    dynamicConfig,
    logLevel: 'error',
  });
  const cleanups: (() => Promise<void>)[] = [async () => server.stop(), () => rm(dir, { recursive: true, force: true })];
  // Every cleanup runs even when one fails: a server or worker left behind keeps the process alive.
  const close = async (): Promise<void> => {
    const failures: unknown[] = [];
    for (const cleanup of cleanups.splice(0).reverse()) await cleanup().catch((error: unknown) => failures.push(error));
    if (failures.length > 0) throw new AggregateError(failures, `bench engine: ${failures.length} cleanup(s) failed`);
  };
  /** Runs a worker at once, so that a failure later in the start-up shuts it down before its connection closes. */
  const run = (worker: Worker): void => {
    const running = worker.run();
    cleanups.push(async () => {
      worker.shutdown();
      await running;
    });
  };
  try {
    const [maestroBundle, baselineBundle] = await Promise.all([
      bundleInterpreter(),
      bundleBaselineWorkflows(),
    ]);
    const nativeConnection = await NativeConnection.connect({ address: server.address });
    cleanups.push(() => nativeConnection.close());

    const config = loadConfig({ MAESTRO_DATA_DIR: artifactDir });
    // Maestro encrypts every payload (as the API, CLI and worker do); the baseline does not, its
    // twin on BASELINE_CODEC_QUEUE does, with the same codec.
    const codec = payloadCodec(config);
    const provenance = await createWorkerProvenance({ config, catalog: builtinCatalog });
    const maestro = await createWorker({
      connection: nativeConnection,
      taskQueue: MAESTRO_QUEUE,
      artifactDir,
      workflowBundle: maestroBundle,
      provenance,
      payloadCodec: codec,
    });
    run(maestro);
    const gateMs = new Map<string, number>();
    const pdp = await createPdp({ policyMode: 'embedded' });
    cleanups.push(() => pdp.close());
    const auditLog = await openAuditLog({ dataDir: join(dir, 'audit') });
    cleanups.push(() => auditLog.close());
    // MAESTRO_POLICY_REUSE_MAX_AGE_MS=0 measures the gate deciding every attempt again.
    const { policyReuseMaxAgeMs } = loadConfig();
    const runStartGate = createPolicyGate({ pdp, log: auditLog });
    const maestroPolicy = await createWorker({
      connection: nativeConnection,
      taskQueue: MAESTRO_POLICY_QUEUE,
      artifactDir,
      workflowBundle: maestroBundle,
      provenance: await createWorkerProvenance({ config, catalog: builtinCatalog, policyDecisions: auditDecisionLog(auditLog).decisionIds }),
      policy: timedGate(createPolicyGate({ pdp, log: auditLog, ...(policyReuseMaxAgeMs === undefined ? {} : { reuseMaxAgeMs: policyReuseMaxAgeMs }) }), gateMs),
      payloadCodec: codec,
    });
    run(maestroPolicy);
    const baseline = { connection: nativeConnection, workflowBundle: baselineBundle, artifactDir, writeReceipt: provenance.writeReceipt };
    run(await createBaselineWorker({ ...baseline, taskQueue: BASELINE_QUEUE }));
    run(await createBaselineWorker({ ...baseline, taskQueue: BASELINE_CODEC_QUEUE, payloadCodec: codec }));

    const connection = await Connection.connect({ address: server.address });
    cleanups.push(() => connection.close());
    return {
      client: new Client({ connection }),
      // A codec of its own, as the API's or CLI's in another process: the workers' codec decodes
      // what it encrypted itself without the cipher, which a client's payloads must not get here.
      maestroClient: new Client({ connection, dataConverter: maestroDataConverter(payloadCodec(config)) }),
      server,
      serverCommand: [...server.process.spawnargs],
      dbFile,
      sqlitePragmas: DEFAULT_SQLITE_PRAGMAS,
      gateMs,
      runStartGate,
      close,
    };
  } catch (error) {
    await close().catch((failure: unknown) => console.error(failure));
    throw error;
  }
}
