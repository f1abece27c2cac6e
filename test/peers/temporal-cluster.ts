/**
 * A real Temporal cluster on PostgreSQL for the topology test and the cluster benchmark: the
 * server built from its Go module (`scripts/temporal-cluster.mjs` installs it on first use), its
 * frontend, history, matching and worker services each in a process of its own (they find one
 * another through the cluster's membership table and ring, as on separate hosts), on a throwaway
 * Debian PostgreSQL whose `temporal` and `temporal_visibility` databases `temporal-sql-tool` sets
 * up from the schemas shipped in the module. The `default` namespace and Maestro's search
 * attributes are created with the Temporal CLI, as docker-compose.temporal.yml's set-up job does.
 */
import { spawn } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { stringify } from 'yaml';
import { loadConfig } from '../../src/config/index.js';
import { resolveTemporalBin } from '../../src/devserver/index.js';
import { SEARCH_ATTRIBUTES } from '../../src/ir/index.js';
import { PRIORITY_DYNAMIC_CONFIG } from '../../src/runs/index.js';
import { REPO_ROOT, TOOLS_BIN, runScript } from './install.js';
import { freePort, restartablePort } from './ports.js';
import { startPostgres, type PostgresPeer } from './postgres.js';
import { PeerStartError, runSetupCommand, spawnPeer, type SpawnedPeer } from './spawn-peer.js';
import { tcpOpen } from './tcp.js';

/** The pinned release: keep in step with `TEMPORAL_SERVER_VERSION` in scripts/temporal-cluster.mjs. */
const VERSION = '1.29.1';
/** Where the script copies the module's PostgreSQL schemas. */
const SCHEMA_DIR = join(REPO_ROOT, '.tools', 'temporal-schema', VERSION, 'postgresql', 'v12');
/** The services of a cluster, in the order they are started. */
export const TEMPORAL_SERVICES = ['history', 'matching', 'frontend', 'worker'] as const;
/** One of {@link TEMPORAL_SERVICES}. */
export type TemporalService = (typeof TEMPORAL_SERVICES)[number];

/** A running Temporal cluster. */
export interface TemporalClusterPeer {
  /** The frontend's `host:port` (`TEMPORAL_ADDRESS`). */
  address: string;
  /** The namespace set up with Maestro's search attributes: `default`. */
  namespace: string;
  /**
   * The PostgreSQL server Temporal's databases live on; its `postgres` database is free for
   * others (the topology test's Maestro store), as one PostgreSQL server of a small install is.
   */
  postgres: PostgresPeer;
  /** Each service's process. */
  services: Record<TemporalService, SpawnedPeer>;
  /** The last `lines` lines of each service's log file, for a failing test's message. */
  logs(lines?: number): string;
  /** Stops the services (SIGTERM), then PostgreSQL; deletes the configuration, logs and data. Idempotent. */
  stop(): Promise<void>;
}

/** Options of {@link startTemporalCluster}. */
export interface TemporalClusterOptions {
  /** History shards (fixed for the cluster's life). @default 4 — plenty for a test's few hundred runs */
  numHistoryShards?: number;
}

/** The `temporal-sql-tool` invocations that create a database and bring its schema to the release's version. */
function schemaCommands(port: number): string[][] {
  return (['temporal', 'visibility'] as const).flatMap((kind) => {
    const db = kind === 'temporal' ? 'temporal' : 'temporal_visibility';
    const base = ['--plugin', 'postgres12', '--ep', '127.0.0.1', '-p', String(port), '-u', 'maestro', '--db', db];
    return [
      [...base, 'create'],
      [...base, 'setup-schema', '-v', '0.0'],
      [...base, 'update-schema', '-d', join(SCHEMA_DIR, kind, 'versioned')],
    ];
  });
}

/** The server's static configuration (`config/base.yaml`): both stores on `postgresPort`, each service's ports. */
function serverConfig(options: {
  postgresPort: number;
  numHistoryShards: number;
  ports: Record<TemporalService, { grpcPort: number; membershipPort: number }>;
  httpPort: number;
  dynamicConfigFile: string;
}): Record<string, unknown> {
  const sql = (databaseName: string, maxConns: number): Record<string, unknown> => ({
    sql: {
      pluginName: 'postgres12',
      databaseName,
      connectAddr: `127.0.0.1:${options.postgresPort}`,
      connectProtocol: 'tcp',
      user: 'maestro',
      password: '',
      maxConns,
      maxIdleConns: maxConns,
      maxConnLifetime: '1h',
    },
  });
  const frontend = `127.0.0.1:${options.ports.frontend.grpcPort}`;
  return {
    log: { stdout: false, level: 'info' },
    persistence: {
      defaultStore: 'default',
      visibilityStore: 'visibility',
      numHistoryShards: options.numHistoryShards,
      // Per process: four processes hold up to 4 × (16 + 4) connections.
      datastores: { default: sql('temporal', 16), visibility: sql('temporal_visibility', 4) },
    },
    global: { membership: { maxJoinDuration: '30s', broadcastAddress: '127.0.0.1' } },
    services: Object.fromEntries(
      TEMPORAL_SERVICES.map((service) => [
        service,
        { rpc: { ...options.ports[service], bindOnLocalHost: true, ...(service === 'frontend' ? { httpPort: options.httpPort } : {}) } },
      ]),
    ),
    clusterMetadata: {
      enableGlobalNamespace: false,
      failoverVersionIncrement: 10,
      masterClusterName: 'active',
      currentClusterName: 'active',
      clusterInformation: { active: { enabled: true, initialFailoverVersion: 1, rpcName: 'frontend', rpcAddress: frontend } },
    },
    dcRedirectionPolicy: { policy: 'noop' },
    // The worker service (system workflows: schedules, batch operations) reaches the frontend here.
    publicClient: { hostPort: frontend },
    dynamicConfigClient: { filepath: options.dynamicConfigFile, pollInterval: '10s' },
  };
}

/**
 * Dynamic config: what a production cluster running Maestro needs (task priorities, see
 * src/runs/priority.ts), plus two settings that make a new cluster usable within a second instead
 * of ten (a new namespace and new search attributes reach every service at once).
 */
function dynamicConfig(): string {
  const values: Record<string, unknown> = {
    ...PRIORITY_DYNAMIC_CONFIG,
    'system.namespaceCacheRefreshInterval': '1s',
    'system.forceSearchAttributesCacheRefreshOnRead': true,
  };
  return stringify(Object.fromEntries(Object.entries(values).map(([key, value]) => [key, [{ value, constraints: {} }]])));
}

/** Runs the Temporal CLI against `address`; resolves with its exit code and output. */
function temporalCli(args: string[]): Promise<{ code: number | null; output: string }> {
  return new Promise((resolve) => {
    const child = spawn(resolveTemporalBin(loadConfig().temporalBin), args, { stdio: ['ignore', 'pipe', 'pipe'] });
    let output = '';
    child.stdout.on('data', (chunk: Buffer) => (output += chunk.toString('utf8')));
    child.stderr.on('data', (chunk: Buffer) => (output += chunk.toString('utf8')));
    child.once('error', (error) => resolve({ code: null, output: String(error) }));
    child.once('close', (code) => resolve({ code, output }));
  });
}

/** Runs a Temporal CLI command until it succeeds (the cluster is still forming), for up to `timeoutMs`. */
async function temporalCliUntilOk(what: string, args: string[], timeoutMs = 60_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const { code, output } = await temporalCli(args);
    if (code === 0) return;
    if (Date.now() > deadline) throw new PeerStartError('temporal-cluster', `${what} kept failing`, output);
    await sleep(500);
  }
}

/** The CLI's names for the search attribute types Maestro uses. */
const CLI_TYPES: Record<string, string> = { KEYWORD: 'Keyword', TEXT: 'Text', INT: 'Int', DOUBLE: 'Double', BOOL: 'Bool', DATETIME: 'Datetime', KEYWORD_LIST: 'KeywordList' };

/**
 * Starts a Temporal cluster on a new PostgreSQL, on free ports, and resolves once its `default`
 * namespace holds Maestro's search attributes. Installs the server first when it is missing
 * (minutes cold, once). Logs go to one file per service in a temp dir ({@link TemporalClusterPeer.logs}).
 *
 * @throws PeerInstallError or PeerStartError, with the installer's, the tool's or the service's output.
 * @example
 * const cluster = await startTemporalCluster();
 * const worker = spawn('node', ['--import', 'tsx', 'workers/worker.ts'], { env: { ...process.env, TEMPORAL_ADDRESS: cluster.address } });
 */
export async function startTemporalCluster(options: TemporalClusterOptions = {}): Promise<TemporalClusterPeer> {
  const { numHistoryShards = 4 } = options;
  await runScript(process.execPath, [join(REPO_ROOT, 'scripts', 'temporal-cluster.mjs'), 'install']);
  // Each service process holds its own pools (see serverConfig), and the Maestro processes sharing
  // the server theirs: more than PostgreSQL's default 100 connections.
  const postgres = await startPostgres({ settings: { max_connections: '400' } });
  const dir = await mkdtemp(join(tmpdir(), 'maestro-temporal-cluster-'));
  const services: Partial<Record<TemporalService, SpawnedPeer>> = {};
  const logFile = (service: TemporalService): string => join(dir, `${service}.log`);
  const logOf = (service: TemporalService): string => (existsSync(logFile(service)) ? readFileSync(logFile(service), 'utf8') : '');
  const logs = (lines = 30): string =>
    TEMPORAL_SERVICES.map((service) => `--- ${service}\n${logOf(service).trimEnd().split('\n').slice(-lines).join('\n')}`).join('\n');
  const stop = async (): Promise<void> => {
    // Frontend first, so clients stop being served before the services behind it go.
    await Promise.all([...TEMPORAL_SERVICES].reverse().map((service) => services[service]?.stop()));
    await postgres.stop();
    await rm(dir, { recursive: true, force: true });
  };
  try {
    const sqlTool = join(TOOLS_BIN, 'temporal-sql-tool');
    for (const args of schemaCommands(postgres.port)) await runSetupCommand('temporal-sql-tool', sqlTool, args);

    // Membership ports are stored in a smallint column: below 32768, where the kernel's ephemeral range (freePort's) is not.
    const ports = Object.fromEntries(
      await Promise.all(TEMPORAL_SERVICES.map(async (service) => [service, { grpcPort: await freePort(), membershipPort: await restartablePort() }] as const)),
    ) as Record<TemporalService, { grpcPort: number; membershipPort: number }>;
    const dynamicConfigFile = join(dir, 'dynamic-config.yaml');
    await writeFile(dynamicConfigFile, dynamicConfig());
    const config = serverConfig({ postgresPort: postgres.port, numHistoryShards, ports, httpPort: await freePort(), dynamicConfigFile });
    await writeFile(join(dir, 'base.yaml'), stringify(config));
    // `--env <service>` layers `<service>.yaml` over base.yaml: each process its own log file.
    for (const service of TEMPORAL_SERVICES) await writeFile(join(dir, `${service}.yaml`), stringify({ log: { outputFile: logFile(service) } }));

    const start = async (service: TemporalService): Promise<void> => {
      try {
        services[service] = await spawnPeer({
          name: `temporal ${service}`,
          command: join(TOOLS_BIN, 'temporal-server'),
          args: ['--root', dir, '--config', '.', '--env', service, '--allow-no-auth', 'start', '--service', service],
          // The worker service serves no gRPC of its own: it is ready when its system workers run.
          ready: () => (service === 'worker' ? logOf(service).includes('worker service started') : tcpOpen(ports[service].grpcPort)),
          startTimeoutMs: 90_000,
        });
      } catch (error) {
        if (error instanceof Error) error.message += `\n${logs()}`;
        throw error;
      }
    };
    // History first: the first process writes the cluster's metadata, which the others, started
    // at the same moment, would race to write too. The rest at once: each joins the ring as it comes up.
    const [first, ...rest] = TEMPORAL_SERVICES;
    await start(first);
    await Promise.all(rest.map(start));

    const address = `127.0.0.1:${ports.frontend.grpcPort}`;
    await temporalCliUntilOk('creating the default namespace', ['operator', 'namespace', 'create', '--namespace', 'default', '--retention', '72h', '--address', address]);
    const attributes = SEARCH_ATTRIBUTES.flatMap((key) => ['--name', key.name, '--type', CLI_TYPES[key.type] ?? key.type]);
    await temporalCliUntilOk('creating the search attributes', ['operator', 'search-attribute', 'create', '--namespace', 'default', '--address', address, ...attributes]);
    return { address, namespace: 'default', postgres, services: services as Record<TemporalService, SpawnedPeer>, logs, stop };
  } catch (error) {
    await stop();
    throw error;
  }
}
