/**
 * `startApi`: the API as a process component — Temporal connection, store, audit and task logs,
 * authenticator, metrics, admission loop and HTTP server — and its graceful stop.
 */
import { once } from 'node:events';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { Client, Connection } from '@temporalio/client';
import type { Catalog } from '../catalog/index.js';
import { loadCatalog } from '../tasks/index.js';
import { maestroDataConverter, payloadCodec as codecFromConfig, type AesGcmPayloadCodec } from '../codec/index.js';
import { temporalConnectOptions, type Config } from '../config/index.js';
import { MaestroError } from '../errors/index.js';
import { startAdmissionLoop } from '../runs/index.js';
import { createPdp, createPolicyGate, type PolicyDecisionPoint } from '../policy/index.js';
import { loadApprovalKey, type SigningKey } from '../provenance/index.js';
import { openAuditLog, openStore, openTaskLog, type AuditLog, type Store, type TaskLog } from '../store/index.js';
import { metricsOptions, processMetrics } from '../telemetry/index.js';
import { createApp } from './app.js';
import { authenticatorFromConfig, type Authenticator } from './auth/index.js';
import { createApiMetrics } from './metrics.js';
import { launchContext } from './routes/access.js';

/** How long an idle keep-alive connection stays open: longer than the 60 s many proxies keep theirs. */
const KEEP_ALIVE_MS = 65_000;

/** Options of {@link startApi}. */
export interface StartApiOptions {
  /**
   * Port to listen on; 0 picks a free one.
   * @default config.port
   */
  port?: number;
  /**
   * Address to bind.
   * @default config.host
   */
  host?: string;
  /**
   * How long `stop()` keeps accepting connections, `/readyz` answering 503, before it stops
   * listening (so that a load balancer takes the API out of rotation first).
   * @default config.apiDrainDelayMs (`MAESTRO_API_DRAIN_DELAY_MS`, 0)
   */
  drainDelayMs?: number;
  /**
   * How long `stop()` lets in-flight requests finish, once it stopped listening, before closing their connections.
   * @default config.apiDrainTimeoutMs (`MAESTRO_API_DRAIN_TIMEOUT_MS`, 10 s)
   */
  drainMs?: number;
  /**
   * The authenticator.
   * @default authenticatorFromConfig(config)
   */
  authenticator?: Authenticator;
  /**
   * An open store to use (it is not closed by `stop()`).
   * @default openStore({ databaseUrl: config.databaseUrl, dataDir: config.dataDir })
   */
  store?: Store;
  /**
   * An open audit log to use (it is not closed by `stop()`).
   * @default openAuditLog({ databaseUrl: config.databaseUrl, dataDir: config.dataDir })
   */
  auditLog?: AuditLog;
  /**
   * An open task log to use (it is not closed by `stop()`).
   * @default openTaskLog({ databaseUrl: config.databaseUrl, dataDir: config.dataDir })
   */
  taskLog?: TaskLog;
  /**
   * The policy decision point every run start is checked with; `false` starts runs unchecked (the
   * workers' task gate still decides every task). A PDP passed in is not closed by `stop()`.
   * @default createPdp(config) — embedded, or the OPA server with MAESTRO_POLICY_MODE=remote
   */
  pdp?: PolicyDecisionPoint | false;
  /**
   * How long an approval decision is valid for its run to take (see `ApiDeps.approvalWaitMs`).
   * @default 5_000
   */
  approvalWaitMs?: number;
  /**
   * Pause between passes of the admission loop.
   * @default 500
   */
  pollMs?: number;
  /**
   * The Temporal payload codec of the API's client, its `/codec` endpoint and the admission queue;
   * the workers must use the same keys.
   * @default payloadCodec(config) — `MAESTRO_PAYLOAD_KEY`, its file, or `<dataDir>/payload-key`
   */
  payloadCodec?: AesGcmPayloadCodec;
}

/** A running API. */
export interface RunningApi {
  /** `http://host:port`. */
  readonly url: string;
  readonly port: number;
  readonly server: Server;
  /**
   * Drains and stops: `/readyz` answers 503 at once; after `drainDelayMs` the API stops accepting
   * connections and ends its event streams; in-flight requests finish (within `drainMs`); then the
   * loops stop and connections close. Idempotent.
   */
  stop(): Promise<void>;
}

/** Notes a resource this API opened, to close on stop. */
function own<T extends { close(): Promise<void> }>(owned: { close(): Promise<void> }[], resource: T): T {
  owned.push(resource);
  return resource;
}

/** Closes resources in reverse order of opening. */
async function closeAll(owned: readonly { close(): Promise<void> }[]): Promise<void> {
  for (const resource of [...owned].reverse()) await resource.close();
}

/** How often the API deletes task log lines older than `taskLogRetentionMs` (and usage rows older than `usageRetentionMs`). */
const PRUNE_INTERVAL_MS = 3_600_000;

/**
 * Deletes what `prune` deletes older than `retentionMs` (the task log's lines, the usage ledger's
 * rows) now and every {@link PRUNE_INTERVAL_MS}; a no-op without a retention. A failed pass is
 * logged and the next one tries again.
 */
function pruneOlder(what: string, prune: (before: Date) => Promise<number>, retentionMs: number | undefined): { stop(): Promise<void> } {
  if (retentionMs === undefined) return { stop: () => Promise.resolve() };
  let pass: Promise<unknown> = Promise.resolve();
  const prunePass = (): void => {
    pass = pass.then(() => prune(new Date(Date.now() - retentionMs))).catch((error: unknown) => console.error(`maestro api: pruning ${what} failed:`, error));
  };
  prunePass();
  const timer = setInterval(prunePass, PRUNE_INTERVAL_MS).unref();
  return {
    async stop() {
      clearInterval(timer);
      await pass;
    },
  };
}

/**
 * Starts the API against `config.temporalAddress` (or the default address).
 *
 * @throws MaestroError `UNAVAILABLE` when Temporal cannot be reached; `ConfigError` for bad settings.
 * @example
 * const api = await startApi(loadConfig());
 * console.log(`API on ${api.url}`);
 */
export async function startApi(config: Config, options: StartApiOptions = {}): Promise<RunningApi> {
  const { port = config.port, host = config.host, drainDelayMs = config.apiDrainDelayMs, drainMs = config.apiDrainTimeoutMs, pollMs = 500 } = options;
  const authenticator = options.authenticator ?? authenticatorFromConfig(config);
  const payloadCodec = options.payloadCodec ?? codecFromConfig(config);
  const temporal = temporalConnectOptions(config);
  const { address } = temporal;
  const connection = await Connection.connect({ ...temporal, connectTimeout: '5s' }).catch((error: unknown) => {
    throw new MaestroError('UNAVAILABLE', `cannot reach Temporal at ${address}`, { cause: error });
  });
  const database = { dataDir: config.dataDir, ...(config.databaseUrl === undefined ? {} : { databaseUrl: config.databaseUrl }) };
  const owned: { close(): Promise<void> }[] = [];
  let store: Store;
  let auditLog: AuditLog;
  let taskLog: TaskLog;
  let pdp: PolicyDecisionPoint | undefined;
  let catalog: Catalog;
  let approvalKey: SigningKey;
  try {
    catalog = await loadCatalog(config);
    approvalKey = await loadApprovalKey(config);
    store = options.store ?? own(owned, await openStore(database));
    auditLog = options.auditLog ?? own(owned, await openAuditLog(database));
    taskLog = options.taskLog ?? own(owned, await openTaskLog(database));
    pdp = options.pdp === false ? undefined : (options.pdp ?? own(owned, await createPdp(config)));
  } catch (error) {
    await closeAll(owned);
    await connection.close();
    throw error;
  }
  const client = new Client({ connection, namespace: config.temporalNamespace, dataConverter: maestroDataConverter(payloadCodec) });
  const metrics = createApiMetrics(processMetrics({ ...metricsOptions(config), serviceName: 'maestro-api' }));
  const shutdown = new AbortController();
  const draining = new AbortController();
  const deps = {
    config,
    catalog,
    client,
    store,
    auditLog,
    taskLog,
    approvalKey,
    ...(pdp === undefined ? {} : { policy: createPolicyGate({ pdp, log: auditLog }) }),
    authenticator,
    payloadCodec,
    metrics,
    clock: () => new Date(),
    shutdown: shutdown.signal,
    draining: draining.signal,
    ...(options.approvalWaitMs === undefined ? {} : { approvalWaitMs: options.approvalWaitMs }),
  };
  const admission = startAdmissionLoop(launchContext(deps), { intervalMs: pollMs });
  // Only namespaces with a run limit have a queue: the label is bounded by the settings.
  const limited = Object.keys(config.namespaceRunLimits ?? {});
  const stopObservingQueue = metrics.process.observe('maestro_admission_queue_depth', async () => {
    const queued = limited.length === 0 ? {} : await store.countQueuedRuns();
    return limited.map((namespace) => [queued[namespace] ?? 0, { namespace }] as const);
  });
  const retention = pruneOlder('the task log', (before) => taskLog.prune(before), config.taskLogRetentionMs);
  const usageRetention = pruneOlder('the usage ledger', (before) => store.pruneUsage(before), config.usageRetentionMs);
  const app = createApp(deps);
  const server = createServer((req, res) => {
    // A draining API closes each connection after its response: the client's next request opens
    // a new one, which the load balancer sends to another replica.
    if (draining.signal.aborted) res.setHeader('connection', 'close');
    app(req, res);
  });
  // An idle keep-alive connection stays open longer than clients and proxies keep theirs (Node's
  // default closes it after 5 s; load balancers commonly keep theirs 60 s): a connection the server
  // closes just as a client reuses it fails that request ("socket hang up", or a proxy's 502).
  server.keepAliveTimeout = KEEP_ALIVE_MS;
  server.headersTimeout = KEEP_ALIVE_MS + 1000;
  server.listen(port, host);
  await once(server, 'listening');
  const bound = (server.address() as AddressInfo).port;

  let stopping: Promise<void> | undefined;
  const stop = (): Promise<void> => {
    stopping ??= (async () => {
      draining.abort();
      if (drainDelayMs > 0) await new Promise((resolve) => setTimeout(resolve, drainDelayMs));
      shutdown.abort();
      const closed = new Promise<void>((resolve) => server.close(() => resolve()));
      server.closeIdleConnections();
      const timer = setTimeout(() => server.closeAllConnections(), drainMs);
      await closed;
      clearTimeout(timer);
      await Promise.all([admission.stop(), retention.stop(), usageRetention.stop()]);
      stopObservingQueue();
      await metrics.process.flush();
      await closeAll(owned);
      await connection.close();
    })();
    return stopping;
  };
  return { url: `http://${host}:${bound}`, port: bound, server, stop };
}
