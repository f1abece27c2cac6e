import { join } from 'node:path';
import { extendConfig, hasTemporalCredentials, loadConfig, type Config } from '../config/index.js';
import { ConfigError } from '../errors/index.js';
import { startTracing, type Tracing } from '../telemetry/index.js';
import { startDevServer, type DevServer } from './dev-server.js';
import { resolveJaegerBin, startJaeger, type RunningJaeger } from './jaeger.js';
import { resolveTemporalBin } from './temporal-bin.js';

/** A started worker, as `runWorker` in src/worker returns it. */
export interface RunningWorker {
  /** Stops polling, lets in-flight tasks finish or cancel, and resolves when the worker is down. */
  shutdown(): Promise<void>;
}

/** Starts the Maestro worker against `config.temporalAddress`; `runWorker` from src/worker. */
export type StartWorker = (config: Config) => Promise<RunningWorker>;

/** A started API, as `startLocalApi` in src/api returns it. */
export interface RunningApiServer {
  /** `http://host:port`. */
  readonly url: string;
  /** Stops accepting requests, drains in-flight ones, then closes its connections. */
  stop(): Promise<void>;
}

/** Starts the HTTP API against `config.temporalAddress`; `startLocalApi` from src/api. */
export type StartApiServer = (config: Config) => Promise<RunningApiServer>;

/**
 * Dynamic config the dev server gets, e.g. to honour task-queue priorities; from src/runs'
 * `PRIORITY_DYNAMIC_CONFIG` when the API is started.
 */
export type DevDynamicConfig = Readonly<Record<string, unknown>>;

/** Options of {@link runDev}. */
export interface RunDevOptions {
  /** Starts the worker; passed in so this module does not depend on the worker's code. */
  startWorker: StartWorker;
  /**
   * Starts the HTTP API after the worker; SIGTERM drains it first.
   * @default undefined — no API
   */
  startApi?: StartApiServer;
  /**
   * Dynamic config values for the dev server (ignored with `TEMPORAL_ADDRESS`).
   * @default {}
   */
  dynamicConfig?: DevDynamicConfig;
  /**
   * Maestro's settings.
   * @default loadConfig()
   */
  config?: Config;
  /**
   * Start a local Jaeger (installed on first use, see `resolveJaegerBin`), export this process's
   * traces to it (unless `OTEL_EXPORTER_OTLP_ENDPOINT` names another collector) and link run
   * details to its UI (unless `MAESTRO_TRACE_UI_URL` is set).
   * @default false — traces only as the OTEL_* variables configure them
   */
  traces?: boolean;
}

/** What {@link runDev} started. */
export interface DevSession {
  /** The settings the worker got: `temporalAddress` is the server in use. */
  readonly config: Config;
  /** The dev server, or undefined when `TEMPORAL_ADDRESS` named a server to use. */
  readonly server: DevServer | undefined;
  /** Shuts down the worker, then the dev server; removes the signal handlers. Safe to call more than once. */
  stop(): Promise<void>;
}

const SHUTDOWN_SIGNALS = ['SIGINT', 'SIGTERM', 'SIGHUP'] as const;
/**
 * A signal this soon after the first is the same request come by another path — npm passes on the
 * signal it gets, and Ctrl-C reaches every process of the terminal's group — not a second one.
 */
const SAME_REQUEST_MS = 1000;

function banner(config: Config, server: DevServer | undefined, dbFile: string, api: RunningApiServer | undefined, jaeger: RunningJaeger | undefined): string {
  const rows: [string, string][] = [
    ...(api
      ? ([
          ['API', `${api.url} (contracts/openapi.yaml)`],
          ['Console', `${api.url}/console/`],
        ] as [string, string][])
      : []),
    ['Temporal', server ? `${server.address} (dev server, state in ${dbFile})` : `${config.temporalAddress} (TEMPORAL_ADDRESS)`],
    ['Web UI', server?.uiUrl ?? "your Temporal cluster's UI"],
    ['Namespace', config.temporalNamespace],
    ['Task queue', config.taskQueue],
    ['Data dir', config.dataDir],
    ...(jaeger ? ([['Traces', `${jaeger.uiUrl} (Jaeger, in memory)`]] as [string, string][]) : []),
  ];
  const recovered =
    server?.stoppedLeftover === undefined
      ? []
      : [`Stopped the Temporal dev server (pid ${server.stoppedLeftover}) a previous Maestro left running; its runs go on here.`];
  return [...recovered, 'Maestro is running. Press Ctrl-C to stop.', ...rows.map(([name, value]) => `  ${name.padEnd(11)} ${value}`)].join('\n');
}

/**
 * What `maestro dev` (and so `npm start`) runs. Unless `config.temporalAddress` is set, starts a
 * Temporal dev server on `config.temporalPort` with its state in `<dataDir>/temporal.db` (kept
 * across restarts), the Web UI on `config.uiPort`, and Maestro's search attributes; then starts
 * the worker against it and prints a short banner. A dev server that a previous Maestro left
 * running when it was killed (`<dataDir>/temporal.pid`) is stopped first, and the runs it held go
 * on; the dev server never outlives this process by more than a few seconds. SIGINT, SIGTERM or SIGHUP shut down the worker, then the server, and exit 0; a
 * second signal, a second or more after the first, exits at once (and kills the dev server). If
 * the dev server dies, the worker is stopped and the process exits 1.
 *
 * @throws {ConfigError} when the Temporal CLI is missing, the dev server's port is taken, another
 *   running Maestro uses the same data directory, or Temporal TLS or API-key settings are given
 *   without `TEMPORAL_ADDRESS` (the dev server speaks plain gRPC).
 * @example
 * import { runWorker } from '../worker/index.js';
 * await runDev({ startWorker: runWorker });
 */
export async function runDev(options: RunDevOptions): Promise<DevSession> {
  const baseConfig = options.config ?? loadConfig();
  const dbFile = join(baseConfig.dataDir, 'temporal.db');
  let server: DevServer | undefined;
  let worker: RunningWorker | undefined;
  let api: RunningApiServer | undefined;
  let jaeger: RunningJaeger | undefined;
  let tracing: Tracing | undefined;

  let stopping: Promise<void> | undefined;
  const stop = (): Promise<void> => {
    stopping ??= (async () => {
      server?.process.off('close', onServerExit);
      try {
        // The API drains its in-flight requests while the worker drains its tasks; both are asked in
        // this same tick, before the Temporal SDK's own signal handler starts shutting the worker down.
        await Promise.all([api?.stop(), worker?.shutdown()]);
      } finally {
        // The last runs' spans are exported before the collector goes.
        await tracing?.shutdown();
        await jaeger?.stop();
        await server?.stop();
        // Only now: a signal while draining is someone who will not wait (see onSignal).
        for (const signal of SHUTDOWN_SIGNALS) process.off(signal, onSignal);
      }
    })();
    return stopping;
  };
  const stopAndExit = (code: number): void => {
    stop().then(
      () => process.exit(code),
      (error: unknown) => {
        console.error('maestro: shutdown failed:', error);
        process.exit(1);
      },
    );
  };
  /** When the first shutdown signal came. */
  let signalledAt: number | undefined;
  function onSignal(signal: NodeJS.Signals): void {
    if (signalledAt === undefined) {
      signalledAt = Date.now();
      console.error(`maestro: ${signal}, shutting down... (${signal} again to exit without waiting)`);
      stopAndExit(0);
    } else if (Date.now() - signalledAt >= SAME_REQUEST_MS) {
      // Exiting kills the dev server (its 'exit' hook); the worker's tasks are left to Temporal's timeouts.
      console.error(`maestro: ${signal} again, exiting without waiting.`);
      process.exit(1);
    }
  }
  function onServerExit(code: number | null, signal: NodeJS.Signals | null): void {
    console.error(
      `maestro: the Temporal dev server stopped unexpectedly (${signal ?? `exit code ${code}`}). Last output:\n${server?.lastOutput() ?? ''}`,
    );
    stopAndExit(1);
  }
  // Handlers first: a Ctrl-C during start-up must still stop whatever has started.
  for (const signal of SHUTDOWN_SIGNALS) process.on(signal, onSignal);

  try {
    if (baseConfig.temporalAddress === undefined) {
      if (hasTemporalCredentials(baseConfig)) {
        throw new ConfigError('TEMPORAL_TLS* and TEMPORAL_API_KEY apply to a Temporal server named by TEMPORAL_ADDRESS; the local dev server speaks plain gRPC', {
          details: { setting: 'TEMPORAL_ADDRESS' },
        });
      }
      server = await startDevServer({
        bin: resolveTemporalBin(baseConfig.temporalBin),
        dbFile,
        port: baseConfig.temporalPort,
        uiPort: baseConfig.uiPort,
        namespace: baseConfig.temporalNamespace,
        ...(options.dynamicConfig === undefined ? {} : { dynamicConfig: options.dynamicConfig }),
      });
      server.process.once('close', onServerExit);
    }
    let config = server ? extendConfig(baseConfig, { temporalAddress: server.address }) : baseConfig;
    if (options.traces === true) {
      jaeger = await startJaeger({ bin: resolveJaegerBin(config.jaegerBin, { install: true }) });
      process.env.OTEL_EXPORTER_OTLP_ENDPOINT ??= jaeger.otlpUrl;
      if (config.traceUiUrl === undefined) config = extendConfig(config, { traceUiUrl: `${jaeger.uiUrl}/trace/{traceId}` });
    }
    // Before the worker and the API: their spans go through it (nothing without an exporter).
    tracing = startTracing('maestro');
    worker = await options.startWorker(config);
    api = await options.startApi?.(config);
    console.log(banner(config, server, dbFile, api, jaeger));
    return { config, server, stop };
  } catch (error) {
    await stop();
    throw error;
  }
}
