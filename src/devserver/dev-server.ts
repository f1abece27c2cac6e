import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { mkdirSync } from 'node:fs';
import { createServer, type AddressInfo } from 'node:net';
import { dirname } from 'node:path';
import { createInterface } from 'node:readline';
import { setTimeout as sleep } from 'node:timers/promises';
import { Connection } from '@temporalio/client';
import type { SearchAttributeType } from '@temporalio/common';
import { ConfigError, MaestroError } from '../errors/index.js';
import { SEARCH_ATTRIBUTES } from '../ir/index.js';
import { identify, pidFileFor, removePidFile, stopLeftoverServer, writePidFile, type ProcessIdentity } from './pid-file.js';
import { resolveTemporalBin } from './temporal-bin.js';
import { startWatchdog } from './watchdog.js';

/**
 * SQLite pragmas for a file-backed dev server: write-ahead logging lets reads run beside the single
 * writer and turns each commit into one sequential append; `synchronous=normal` skips the fsync per
 * commit (WAL is fsynced at checkpoints). Committed state survives a crash of the server or of any
 * Maestro process; only a power loss or OS crash can roll back the last commits, never corrupt the file.
 */
export const DEFAULT_SQLITE_PRAGMAS: Readonly<Record<string, string>> = Object.freeze({
  journal_mode: 'wal',
  synchronous: 'normal',
});

/** Options of {@link startDevServer}. */
export interface DevServerOptions {
  /**
   * The Temporal CLI binary.
   * @default resolveTemporalBin() — `temporal` on PATH, then `.tools/bin/temporal`
   */
  bin?: string;
  /**
   * SQLite file holding the server's state across restarts; its folder is created if missing. With
   * a file, a pid file beside it (`temporal.db` → `temporal.pid`) records the server, and a server
   * on the same file left running by a Maestro that died is stopped first (see `stopLeftoverServer`).
   * @default undefined — in memory, lost when the server stops
   */
  dbFile?: string;
  /**
   * IP address the frontend (and the Web UI) bind to.
   * @default '127.0.0.1'
   */
  ip?: string;
  /**
   * Frontend gRPC port; 0 picks a free port.
   * @default 7233
   */
  port?: number;
  /**
   * Web UI port; 0 picks a free port. Ignored when `ui` is false.
   * @default 8233
   */
  uiPort?: number;
  /**
   * Serve the Temporal Web UI.
   * @default true
   */
  ui?: boolean;
  /**
   * Namespace created at start (besides `default`, which always exists) and checked for readiness.
   * @default 'default'
   */
  namespace?: string;
  /**
   * Server log level.
   * @default 'warn'
   */
  logLevel?: 'debug' | 'info' | 'warn' | 'error';
  /**
   * Custom search attributes registered at start.
   * @default SEARCH_ATTRIBUTES — Maestro's own (src/ir/search-attributes.ts)
   */
  searchAttributes?: readonly { name: string; type: SearchAttributeType }[];
  /**
   * Extra dynamic config values (`--dynamic-config-value KEY=JSON`), e.g. `{ 'limit.maxIDLength': 255 }`.
   * @default {}
   */
  dynamicConfig?: Readonly<Record<string, unknown>>;
  /**
   * SQLite pragmas (`--sqlite-pragma NAME=VALUE`), applied when `dbFile` is set.
   * @default DEFAULT_SQLITE_PRAGMAS — `journal_mode=wal`, `synchronous=normal`
   */
  sqlitePragmas?: Readonly<Record<string, string>>;
  /**
   * How long to wait for the frontend to answer before giving up.
   * @default 30_000
   */
  startTimeoutMs?: number;
  /**
   * How long `stop()` waits after SIGTERM before sending SIGKILL; also how long a leftover server
   * gets to stop.
   * @default 10_000
   */
  stopTimeoutMs?: number;
  /**
   * When the calling process dies without stopping the server (SIGKILL, OOM), how long its watchdog
   * waits after SIGTERM before killing the server.
   * @default 3_000
   */
  orphanGraceMs?: number;
}

/** A running Temporal dev server started by {@link startDevServer}. */
export interface DevServer {
  /** Frontend `host:port` for `Connection.connect({ address })` and workers. */
  readonly address: string;
  /** Web UI URL; undefined when started with `ui: false`. */
  readonly uiUrl: string | undefined;
  /** The namespace checked at start. */
  readonly namespace: string;
  /** The `temporal server start-dev` process. */
  readonly process: ChildProcess;
  /** Pid of the server on the same database that a Maestro which died had left running, stopped before this one started. */
  readonly stoppedLeftover: number | undefined;
  /** The server's last lines of output (stdout and stderr), for error messages. */
  lastOutput(): string;
  /** Sends SIGTERM, waits up to `stopTimeoutMs`, then SIGKILL. Safe to call more than once. */
  stop(): Promise<void>;
}

/** The CLI's names for search attribute types (`--search-attribute Name=Keyword`). */
const CLI_ATTRIBUTE_TYPES: Record<SearchAttributeType, string> = {
  TEXT: 'Text',
  KEYWORD: 'Keyword',
  INT: 'Int',
  DOUBLE: 'Double',
  BOOL: 'Bool',
  DATETIME: 'Datetime',
  KEYWORD_LIST: 'KeywordList',
};

const OUTPUT_LINES_KEPT = 40;

/** Binds `ip:port` (0: any free port) and releases it; returns the port. */
export async function listenOnce(ip: string, port: number): Promise<number> {
  const server = createServer();
  server.listen(port, ip);
  await once(server, 'listening');
  const bound = (server.address() as AddressInfo).port;
  server.close();
  await once(server, 'close');
  return bound;
}

/** Returns `port`, after checking it is free, or a free port when `port` is 0. */
async function choosePort(ip: string, port: number, what: string): Promise<number> {
  try {
    return await listenOnce(ip, port);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'EADDRINUSE') throw error;
    throw new ConfigError(
      `The ${what} port ${ip}:${port} is already in use: another Maestro (\`npm start\`) or Temporal server is running. ` +
        `Stop it, or set TEMPORAL_ADDRESS to use that server instead of starting one.`,
      { cause: error },
    );
  }
}

/** {@link choosePort}, retried for up to `waitMs` while the port is still in use. */
async function choosePortSoon(ip: string, port: number, what: string, waitMs = 5_000): Promise<number> {
  const deadline = Date.now() + waitMs;
  for (;;) {
    try {
      return await choosePort(ip, port, what);
    } catch (error) {
      if (!(error instanceof ConfigError) || Date.now() > deadline) throw error;
      await sleep(100);
    }
  }
}

function hostPort(ip: string, port: number): string {
  return `${ip.includes(':') ? `[${ip}]` : ip}:${port}`;
}

/** Builds the `temporal server start-dev` arguments. */
function startDevArgs(options: {
  ip: string;
  port: number;
  uiPort: number | undefined;
  namespace: string;
  logLevel: string;
  dbFile: string | undefined;
  searchAttributes: readonly { name: string; type: SearchAttributeType }[];
  dynamicConfig: Readonly<Record<string, unknown>>;
  sqlitePragmas: Readonly<Record<string, string>>;
}): string[] {
  const args = ['server', 'start-dev', '--ip', options.ip, '--port', String(options.port), '--log-level', options.logLevel];
  args.push(...(options.uiPort === undefined ? ['--headless'] : ['--ui-port', String(options.uiPort)]));
  if (options.namespace !== 'default') args.push('--namespace', options.namespace);
  if (options.dbFile !== undefined) {
    args.push('--db-filename', options.dbFile);
    for (const [name, value] of Object.entries(options.sqlitePragmas)) args.push('--sqlite-pragma', `${name}=${value}`);
  }
  for (const key of options.searchAttributes) {
    args.push('--search-attribute', `${key.name}=${CLI_ATTRIBUTE_TYPES[key.type]}`);
  }
  for (const [name, value] of Object.entries(options.dynamicConfig)) {
    args.push('--dynamic-config-value', `${name}=${JSON.stringify(value)}`);
  }
  return args;
}

/** Resolves once the frontend answers for `namespace`; returns the last connection error otherwise. */
async function probe(address: string, namespace: string): Promise<unknown> {
  try {
    const connection = await Connection.connect({ address, connectTimeout: 1_000 });
    try {
      await connection.workflowService.describeNamespace({ namespace });
      return undefined;
    } finally {
      await connection.close();
    }
  } catch (error) {
    // Not up yet: the caller retries until its deadline and reports this error if it passes.
    return error;
  }
}

/**
 * Starts `temporal server start-dev` and resolves once its frontend answers for the namespace.
 * The server runs in its own process group, so a Ctrl-C in the terminal reaches the caller, which
 * decides the shutdown order. It does not outlive the calling process: killed when that process
 * exits, and stopped by a watchdog (src/devserver/watchdog.ts) within `orphanGraceMs` when it dies
 * without exiting (SIGKILL to it or to its process group, OOM). With a `dbFile`, a server on that
 * file that a dead Maestro left running is stopped first, and its runs go on in the new server.
 *
 * @throws {ConfigError} `TOOL_MISSING` without a Temporal CLI; `CONFIG_INVALID` when a fixed port is taken.
 * @throws {MaestroError} `UNAVAILABLE` when the server exits or does not answer in time (with its last output).
 * @example
 * const server = await startDevServer({ port: 0, ui: false });
 * const connection = await Connection.connect({ address: server.address });
 * // ...
 * await server.stop();
 */
export async function startDevServer(options: DevServerOptions = {}): Promise<DevServer> {
  const {
    ip = '127.0.0.1',
    ui = true,
    namespace = 'default',
    logLevel = 'warn',
    dbFile,
    searchAttributes = SEARCH_ATTRIBUTES,
    dynamicConfig = {},
    sqlitePragmas = DEFAULT_SQLITE_PRAGMAS,
    startTimeoutMs = 30_000,
    stopTimeoutMs = 10_000,
    orphanGraceMs = 3_000,
  } = options;
  const bin = options.bin ?? resolveTemporalBin();
  let stoppedLeftover: number | undefined;
  if (dbFile !== undefined) {
    mkdirSync(dirname(dbFile), { recursive: true });
    stoppedLeftover = await stopLeftoverServer({ pidFile: pidFileFor(dbFile), dbFile, stopTimeoutMs });
  }
  // A stopped leftover's main thread turns zombie (which is when it counts as gone) while its other
  // threads may still hold its sockets for a moment: give its ports a few seconds to come free.
  const pick = stoppedLeftover === undefined ? choosePort : choosePortSoon;
  const port = await pick(ip, options.port ?? 7233, 'Temporal frontend');
  const uiPort = ui ? await pick(ip, options.uiPort ?? 8233, 'Temporal Web UI') : undefined;

  const args = startDevArgs({ ip, port, uiPort, namespace, logLevel, dbFile, searchAttributes, dynamicConfig, sqlitePragmas });
  const child = spawn(bin, args, { stdio: ['ignore', 'pipe', 'pipe'], detached: true });
  const output: string[] = [];
  for (const stream of [child.stdout, child.stderr]) {
    createInterface({ input: stream }).on('line', (line) => {
      output.push(line);
      if (output.length > OUTPUT_LINES_KEPT) output.shift();
    });
  }
  const lastOutput = () => output.join('\n');
  // 'close' rather than 'exit': it comes after the output pipes are drained, so lastOutput() is complete.
  const ended = new Promise<string>((resolve) => {
    child.once('close', (code, signal) => resolve(signal ? `was killed by ${signal}` : `exited with code ${code}`));
    child.once('error', (error) => resolve(`could not be started: ${error.message}`));
  });
  const watchdog = child.pid === undefined ? undefined : startWatchdog(child.pid, orphanGraceMs);
  const identity: ProcessIdentity | undefined = child.pid === undefined ? undefined : identify(child.pid);
  const pidFile = dbFile === undefined ? undefined : pidFileFor(dbFile);
  const owner = identify(process.pid);
  if (pidFile !== undefined && dbFile !== undefined && identity !== undefined && owner !== undefined) {
    writePidFile(pidFile, { server: identity, owner, dbFile });
  }
  const killOnExit = () => {
    watchdog?.dismiss();
    child.kill('SIGKILL');
  };
  process.once('exit', killOnExit);

  let stopping: Promise<void> | undefined;
  const stop = (): Promise<void> => {
    stopping ??= (async () => {
      watchdog?.dismiss();
      if (child.exitCode === null && child.signalCode === null) {
        child.kill('SIGTERM');
        const timer = setTimeout(() => child.kill('SIGKILL'), stopTimeoutMs);
        await ended;
        clearTimeout(timer);
      }
      if (pidFile !== undefined && identity !== undefined) removePidFile(pidFile, identity);
      process.off('exit', killOnExit);
    })();
    return stopping;
  };

  const address = hostPort(ip, port);
  const failure = (what: string, cause?: unknown) =>
    new MaestroError('UNAVAILABLE', `The Temporal dev server (${bin} ${args.join(' ')}) ${what}. Last output:\n${lastOutput()}`, {
      cause,
    });
  const deadline = Date.now() + startTimeoutMs;
  for (;;) {
    const result = await Promise.race([probe(address, namespace).then((error) => ({ error })), ended.then((exit) => ({ exit }))]);
    if ('exit' in result) {
      await stop();
      throw failure(result.exit);
    }
    if (result.error === undefined) break;
    if (Date.now() > deadline) {
      await stop();
      throw failure(`did not answer on ${address} within ${startTimeoutMs} ms`, result.error);
    }
    await sleep(100);
  }

  return {
    address,
    uiUrl: uiPort === undefined ? undefined : `http://${hostPort(ip, uiPort)}`,
    namespace,
    process: child,
    stoppedLeftover,
    lastOutput,
    stop,
  };
}
