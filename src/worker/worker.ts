/**
 * The Maestro worker: registers the activities and the one interpreter workflow on the task queue.
 * The process is `maestro worker` (or `tsx workers/worker.ts`; config from MAESTRO_* /
 * TEMPORAL_ADDRESS); `maestro dev` / `npm start` run it in process through {@link runWorker}.
 *
 * The interpreter is bundled from its file (`interpreters/dag-interpreter.ts`) by Temporal's
 * bundler, never imported: `src/` does not import `interpreters/` or `workers/`.
 */
import type { KeyObject } from 'node:crypto';
import { fileURLToPath } from 'node:url';
import { Client } from '@temporalio/client';
import { pauseOnTemporal } from '../client/index.js';
import { NativeConnection, Runtime, Worker, bundleWorkflowCode, type WorkflowBundleWithSourceMap } from '@temporalio/worker';
import { createActivities, progressSink, receiptSink, withRunRecord, type ActivityDeps, type UsageDeps } from '../activities/index.js';
import type { Catalog } from '../catalog/index.js';
import { builtinCatalog, disclosureProvenance, loadCatalog } from '../tasks/index.js';
import { maestroDataConverter, payloadCodec, payloadKeys, type AesGcmPayloadCodec } from '../codec/index.js';
import { temporalConnectOptions, type Config } from '../config/index.js';
import { createPdp, createPolicyGate, policyReady, type PolicyGate } from '../policy/index.js';
import { auditDecisionLog, createWorkerProvenance, loadApprovalKey, type WorkerProvenance } from '../provenance/index.js';
import { createRunners, localRunner, startContainerSweep, type Runners } from '../runners/index.js';
import { createScheduleActivities, type LaunchContext } from '../runs/index.js';
import { createSecretResolver, taskGrantKeys } from '../secrets/index.js';
import { FsArtifactStore, openAuditLog, openStore, openTaskLog, type RunProgressStore, type TaskLog } from '../store/index.js';
import { CHECK_TIMEOUT_MS, metricsOptions, passes, processMetrics, sharedReadiness, type ProcessMetrics, type ReadinessChecks } from '../telemetry/index.js';
import { runMessageTriggers } from '../triggers/index.js';
import { installTemporalRuntime } from './runtime.js';
import { MaestroWorker } from './workflow-vm.js';

const INTERPRETER_PATH = fileURLToPath(new URL('../../interpreters/dag-interpreter.ts', import.meta.url));
const IR_PATH = fileURLToPath(new URL('../ir/index.ts', import.meta.url));
const SCHEDULER_PATH = fileURLToPath(new URL('../../interpreters/scheduler.ts', import.meta.url));
const ACTIVATION_END_PATH = fileURLToPath(new URL('../../interpreters/activation-end.ts', import.meta.url));
const SANDBOX_PATH = fileURLToPath(new URL('../../interpreters/sandbox.ts', import.meta.url));

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
  /** Decides every task attempt before it runs; without it, every task may run. */
  policy?: PolicyGate;
  /**
   * Where task attempts' log lines go besides the process log (`GET /runs/{runId}/logs` reads them).
   * @default undefined — the process log only
   */
  taskLog?: TaskLog;
  /**
   * Resolves task secrets in their scopes.
   * @default `MAESTRO_SECRET_<NAME>` variables, undeclared: usable in namespace `default` only
   */
  secrets?: ActivityDeps['secrets'];
  /**
   * Receipts, task cache and code digests.
   * @default built with the default provenance settings beside the artifacts: signing key, receipts and cache under
   *   `artifactDir`, `builder.id` naming this worker's namespace and task queue
   */
  provenance?: WorkerProvenance;
  /**
   * Public key of the API's approval key: approvals are counted only with its signature.
   * @default the dev approval key beside the artifacts (`<artifactDir>/keys/approval-signing.key`, created on first use)
   */
  approvalKey?: KeyObject;
  /**
   * Keys of remote task attempts' secret grants (the API's, for `POST /tasks/secrets`).
   * @default those of the payload key beside the artifacts (`<artifactDir>/payload-key`, created on first use)
   */
  taskGrantKeys?: readonly Buffer[];
  /**
   * The usage ledger (a row per task attempt and per run) and the cost model pricing it.
   * @default undefined — no usage recorded
   */
  usage?: UsageDeps;
  /**
   * Where running runs' states are published for the API to read without waiting on their
   * workflow tasks (the store's `run_progress`).
   * @default undefined — not published (the API then falls back to the interpreter's query)
   */
  progress?: Pick<RunProgressStore, 'publishRunProgress'>;
  /** How deep sub-workflows may nest (`MAESTRO_SUBWORKFLOW_MAX_DEPTH`). @default 5 */
  subWorkflowMaxDepth?: number;
  /** A prebuilt interpreter bundle (see {@link bundleInterpreter}); bundled here when absent. */
  workflowBundle?: WorkflowBundleWithSourceMap;
  /**
   * Encrypts every payload the worker sends to Temporal and decrypts what it reads; the API and CLI
   * must use the same keys (see `payloadCodec(config)`).
   * @default undefined — payloads in clear (only for an engine whose clients use no codec either)
   */
  payloadCodec?: AesGcmPayloadCodec;
  /**
   * How the worker starts the runs of schedules' fires (`fireSchedule`): the same store, audit
   * log, policy decision point and admission limits as the API's.
   * @default undefined — schedules' fires fail, saying the worker cannot start runs
   */
  launch?: LaunchContext;
  /**
   * Where task attempts, their durations, cache hits, policy denials and schedule-to-start
   * latencies are counted.
   * @default processMetrics() — this process's metrics
   */
  metrics?: ProcessMetrics;
  /**
   * How long `shutdown()` lets in-flight activities run after polling stopped; an activity still
   * running then is cancelled, reported failed, and retried by Temporal on another worker.
   * @default 0 — cancelled at once (the SDK's default)
   */
  drainTimeoutMs?: number;
}

/**
 * How long past the drain timeout a worker whose activities ignore their cancellation is given
 * before it is abandoned (`GracefulShutdownPeriodExpiredError`) rather than left hanging.
 */
const FORCE_AFTER_DRAIN_MS = 15_000;

/** Bundles the interpreter once; pass the result to several workers to skip re-bundling. */
export function bundleInterpreter(): Promise<WorkflowBundleWithSourceMap> {
  // Preloaded once per worker instead of re-run for every workflow: the IR helpers and CEL with its
  // protobuf descriptors cost ~11 ms of CPU per run otherwise, and the pure scheduler's class is
  // then one class for every run (its instances share their shapes). They hold no per-run state;
  // the interpreter itself does (its activation-end hook's): it is never preloaded.
  // The activation-end hook publishes a run's state without a promise (interpreters/activation-end.ts).
  // The sandbox's settings (interpreters/sandbox.ts) go first: the SDK freezes its globals after the preload.
  return bundleWorkflowCode({
    workflowsPath: INTERPRETER_PATH,
    workflowInterceptorModules: [ACTIVATION_END_PATH],
    preloadModules: [SANDBOX_PATH, IR_PATH, SCHEDULER_PATH],
    logger: quietBundlerLogger,
  });
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
    policy,
    taskLog,
    secrets = createSecretResolver({ secrets: {}, secretsSource: 'env' }),
  } = options;
  const provenanceSettings = { dataDir: artifactDir, temporalNamespace: namespace, taskQueue };
  const provenance = options.provenance ?? (await createWorkerProvenance({ config: provenanceSettings, catalog, taskModules: catalog.modules }));
  const approvalKey = options.approvalKey ?? (await loadApprovalKey({ dataDir: artifactDir })).publicKey;
  const logError = (message: string, meta: Record<string, unknown>): void => Runtime.instance().logger.error(message, meta);
  // The run's ledger row is completed, and its metrics recorded, where its receipt is written (the sink, or the activity).
  const writeRunEnd = withRunRecord(provenance.writeReceipt, options.usage, options.metrics ?? processMetrics(), logError);
  const activities = createActivities({
    catalog,
    artifacts: new FsArtifactStore({ root: artifactDir }),
    runners,
    secrets,
    ...(policy === undefined ? {} : { policy }),
    ...(taskLog === undefined ? {} : { taskLog }),
    writeReceipt: writeRunEnd,
    ...(options.usage === undefined ? {} : { usage: options.usage }),
    approvalKey,
    taskGrantKeys: options.taskGrantKeys ?? taskGrantKeys(undefined, payloadKeys({ dataDir: artifactDir })),
    taskCodeDigests: provenance.taskCodeDigests,
    ...(provenance.taskCache === undefined ? {} : { taskCache: provenance.taskCache }),
    ...(largeOutputBytes === undefined ? {} : { largeOutputBytes }),
    ...(options.subWorkflowMaxDepth === undefined ? {} : { subWorkflowMaxDepth: options.subWorkflowMaxDepth }),
    ...(options.metrics === undefined ? {} : { metrics: options.metrics }),
    // Registered (e.g. Python) tasks are read from the store the launches use.
    ...(options.launch === undefined ? {} : { registeredTasks: options.launch.store }),
  });
  const schedules = createScheduleActivities(options.launch && { ...options.launch, catalog });
  return MaestroWorker.create({
    connection,
    namespace,
    taskQueue,
    activities: { ...activities, ...schedules },
    workflowBundle: options.workflowBundle ?? (await bundleInterpreter()),
    sinks: { ...receiptSink(writeRunEnd, logError), ...progressSink(options.progress, logError, options.payloadCodec) },
    ...(options.payloadCodec === undefined ? {} : { dataConverter: maestroDataConverter(options.payloadCodec) }),
    // Many small tasks per run: let one worker keep many activities and workflow tasks in flight.
    maxConcurrentActivityTaskExecutions: 200,
    maxConcurrentLocalActivityExecutions: 200,
    maxConcurrentWorkflowTaskExecutions: 40,
    // Heartbeats carry cancellation to running tasks: send them often enough that a cancelled run
    // stops its containers and jobs within about a second, not at the 80% mark of the timeout.
    maxHeartbeatThrottleInterval: '1s',
    ...(options.drainTimeoutMs === undefined ? {} : { shutdownGraceTime: options.drainTimeoutMs, shutdownForceTime: options.drainTimeoutMs + FORCE_AFTER_DRAIN_MS }),
  });
}

/** A worker {@link runWorker} runs. */
export interface RunningWorker {
  /** `http://host:port` of the worker's `GET /metrics`, `/healthz` and `/readyz`; undefined when its port was taken. */
  readonly metricsUrl: string | undefined;
  /**
   * Drains and stops: `/readyz` answers 503 at once, message triggers stop, polling stops, in-flight
   * activities and workflow tasks finish (activities within `MAESTRO_WORKER_DRAIN_TIMEOUT_MS`, then
   * handed back to Temporal), then connections close and metrics are flushed.
   */
  shutdown(): Promise<void>;
}

/** What the worker's `/readyz` checks, once they exist (before that, the worker is starting: not ready). */
interface WorkerReadiness {
  connection: NativeConnection;
  store: { ping(): Promise<void> };
  worker: Worker;
  /** Set when `shutdown()` begins, before the worker itself stops polling. */
  draining: boolean;
}

/** The worker's dependencies: Temporal and the store answer, the policy is loaded. A failed check says only its name. */
async function dependencyChecks(config: Config, parts: WorkerReadiness): Promise<ReadinessChecks> {
  const { connection, store } = parts;
  const [temporal, stored, policy] = await Promise.all([
    passes(() => connection.withDeadline(Date.now() + CHECK_TIMEOUT_MS, () => connection.workflowService.getSystemInfo({}))),
    passes(() => store.ping()),
    policyReady(config),
  ]);
  return { temporal, store: stored, policy };
}

/**
 * The worker's readiness: its dependencies (shared by probes within a second) and whether it polls
 * its task queue (`polling`: false while it starts and, at once, while it drains).
 */
function workerReadiness(config: Config, started: { parts?: WorkerReadiness }): () => Promise<ReadinessChecks> {
  const dependencies = sharedReadiness(() => (started.parts === undefined ? Promise.resolve({}) : dependencyChecks(config, started.parts)));
  return async (): Promise<ReadinessChecks> => {
    const { parts } = started;
    if (parts === undefined) return { temporal: false, store: false, policy: false, polling: false };
    return { ...(await dependencies()), polling: !parts.draining && parts.worker.getState() === 'RUNNING' };
  };
}

/**
 * Connects to Temporal with `config` and runs a worker until `shutdown()`, with the message
 * triggers' consumers (unless `MAESTRO_TRIGGER_CONSUMERS=false`) and the endpoint of
 * `MAESTRO_WORKER_METRICS_PORT`: `/metrics` (Maestro's and Temporal's metrics), `/healthz` and
 * `/readyz`. Installs the process's Temporal runtime (logger at `config.logLevel`, Core's
 * metrics), so call it once per process.
 */
export async function runWorker(config: Config): Promise<RunningWorker> {
  const metrics = processMetrics({ ...metricsOptions(config), serviceName: 'maestro-worker' });
  await installTemporalRuntime(LOG_LEVELS[config.logLevel]);
  // Filled in once the worker exists; until then `/readyz` says it is starting.
  const started: { parts?: WorkerReadiness } = {};
  const probes = { readiness: workerReadiness(config, started) };
  const endpoint = await metrics.listen(config.workerMetricsHost, config.workerMetricsPort, probes).catch((error: unknown) => {
    // A second worker on the same host: it runs, unscraped, rather than not at all.
    console.warn(`maestro worker: serving metrics on ${config.workerMetricsHost}:${config.workerMetricsPort} failed; running without /metrics:`, String(error));
    return undefined;
  });
  const pdp = await createPdp(config);
  // The API's database: `maestro dev` and a shared volume or PostgreSQL let the API read what tasks log.
  const database = { ...(config.databaseUrl === undefined ? {} : { databaseUrl: config.databaseUrl }), dataDir: config.dataDir };
  const auditLog = await openAuditLog(database);
  const taskLog = await openTaskLog(database);
  const artifacts = new FsArtifactStore({ root: config.artifactDir });
  // The disclosure task signs with this worker's settings, not what the environment says.
  const catalog = await loadCatalog({ ...config, provenance: () => disclosureProvenance(config) });
  const connection = await NativeConnection.connect(temporalConnectOptions(config));
  const codec = payloadCodec(config);
  const store = await openStore(database);
  const policy = createPolicyGate({ pdp, log: auditLog, ...(config.policyReuseMaxAgeMs === undefined ? {} : { reuseMaxAgeMs: config.policyReuseMaxAgeMs }) });
  const launch: LaunchContext = {
    // Schedules' fires and message triggers start runs as the API does: a client with the same
    // codec and store, over the worker's own connection (a NativeConnection serves a Client too).
    client: new Client({ connection, namespace: config.temporalNamespace, dataConverter: maestroDataConverter(codec) }),
    store,
    auditLog,
    taskQueue: config.taskQueue,
    runLimits: config.namespaceRunLimits ?? {},
    payloadCodec: codec,
    policy,
    costModel: config.costModel,
    budgets: config.budgets,
  };
  const worker = await createWorker({
    connection,
    namespace: config.temporalNamespace,
    taskQueue: config.taskQueue,
    artifactDir: config.artifactDir,
    largeOutputBytes: config.largeOutputBytes,
    catalog,
    runners: createRunners(config, { artifacts }),
    provenance: await createWorkerProvenance({ config, catalog, taskModules: catalog.modules, policyDecisions: auditDecisionLog(auditLog).decisionIds }),
    policy,
    taskLog,
    secrets: createSecretResolver(config),
    approvalKey: (await loadApprovalKey(config)).publicKey,
    taskGrantKeys: taskGrantKeys(config.taskGrantKey, payloadKeys(config)),
    payloadCodec: codec,
    subWorkflowMaxDepth: config.subWorkflowMaxDepth,
    usage: {
      ledger: store,
      costModel: config.costModel,
      budgets: config.budgets,
      auditLog,
      pauseRun: async (runId) => void (await pauseOnTemporal(launch.client, runId, true)),
    },
    progress: store,
    launch,
    drainTimeoutMs: config.workerDrainTimeoutMs,
  });
  const ready: WorkerReadiness = { connection, store, worker, draining: false };
  started.parts = ready;
  const sweeper = startContainerSweep(config);
  const running = worker.run();
  let triggers;
  try {
    triggers = config.triggerConsumers === false ? undefined : await runMessageTriggers(config);
  } catch (error) {
    worker.shutdown();
    await running;
    await endpoint?.close();
    throw error;
  }
  if (endpoint !== undefined) console.info(`worker metrics on ${endpoint.url}/metrics`);
  return {
    metricsUrl: endpoint?.url,
    async shutdown() {
      // Not ready first, so an orchestrator stops counting on this worker while it drains.
      ready.draining = true;
      // No new message starts a run once the worker stops: what is in flight is redelivered later.
      await triggers?.stop();
      // On SIGINT/SIGTERM the SDK's runtime has begun draining the worker already: shutting it
      // down again would throw (IllegalStateError) and mask the rest of the shutdown.
      if (worker.getState() === 'RUNNING') worker.shutdown();
      await running;
      await sweeper.stop();
      await connection.close();
      await store.close();
      await pdp.close();
      await auditLog.close();
      await taskLog.close();
      await endpoint?.close();
      await metrics.flush();
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
