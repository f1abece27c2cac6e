/**
 * The dev server's pid file, `<dataDir>/temporal.pid` beside its SQLite file: which process serves
 * that file and which Maestro started it, so that after a hard kill (SIGKILL, OOM) the next start
 * finds a server left running and stops it, and a second Maestro on the same data directory is
 * refused instead of killing the first one's server.
 *
 * A pid alone is not an identity (pids are recycled), so each process is recorded with its start
 * time, and the server is stopped only if its command line is still `temporal server start-dev`
 * on this very database file: a recycled pid is never signalled.
 */
import { execFileSync } from 'node:child_process';
import { existsSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { basename, dirname, extname, join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { ConfigError } from '../errors/index.js';

/** A process as identified in the pid file: its pid and when it started. */
export interface ProcessIdentity {
  readonly pid: number;
  /** Start time as the OS reports it (`/proc/<pid>/stat` field 22, or `ps -o lstart`). */
  readonly started: string;
}

/** What the pid file holds. */
export interface PidFileContent {
  /** The `temporal server start-dev` process. */
  readonly server: ProcessIdentity;
  /** The Maestro process that started it. */
  readonly owner: ProcessIdentity;
  /** The server's SQLite file. */
  readonly dbFile: string;
}

/** A running process's start time and arguments; undefined when it is gone or a zombie. */
interface ProcessInfo {
  readonly started: string;
  readonly args: readonly string[];
}

/** Where the pid file of a server on `dbFile` lives: `<dir>/<name>.pid` (`.maestro/temporal.pid`). */
export function pidFileFor(dbFile: string): string {
  return join(dirname(dbFile), `${basename(dbFile, extname(dbFile))}.pid`);
}

/** Linux: `/proc/<pid>/stat` (start time in clock ticks since boot) and `/proc/<pid>/cmdline`. */
function procInfo(pid: number): ProcessInfo | undefined {
  try {
    // The fields after the command name (which may hold spaces and parentheses) start at state, field 3.
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    const args = readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0').slice(0, -1);
    return fields[0] === 'Z' || args.length === 0 ? undefined : { started: fields[19] ?? '', args };
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT' || (error as NodeJS.ErrnoException).code === 'ESRCH') return undefined;
    throw error;
  }
}

/** Without /proc (macOS, BSD): `ps`, whose arguments come joined by spaces. */
function psInfo(pid: number): ProcessInfo | undefined {
  let output: string;
  try {
    output = execFileSync('ps', ['-ww', '-o', 'lstart=,state=,args=', '-p', String(pid)], { encoding: 'utf8' });
  } catch (error) {
    // ps exits 1 when no process has this pid.
    if ((error as { status?: number }).status === 1) return undefined;
    throw error;
  }
  const words = output.trim().split(/\s+/);
  // lstart is five words: "Sun Dec  6 04:59:26 2026".
  return words.length < 7 || words[5]?.startsWith('Z') ? undefined : { started: words.slice(0, 5).join(' '), args: words.slice(6) };
}

const HAS_PROC = existsSync('/proc/self/stat');

function readProcessInfo(pid: number): ProcessInfo | undefined {
  return HAS_PROC ? procInfo(pid) : psInfo(pid);
}

/** `pid`'s identity now; undefined when no such process is running. */
export function identify(pid: number): ProcessIdentity | undefined {
  const info = readProcessInfo(pid);
  return info && { pid, started: info.started };
}

function isAlive(identity: ProcessIdentity): boolean {
  return readProcessInfo(identity.pid)?.started === identity.started;
}

/** Whether `args` are those of `temporal server start-dev` serving `dbFile`. */
function servesDb(args: readonly string[], dbFile: string): boolean {
  const at = args.indexOf('--db-filename');
  return args.includes('start-dev') && at >= 0 && args[at + 1] === dbFile;
}

/** Records the server and its owner (this process). */
export function writePidFile(file: string, content: PidFileContent): void {
  writeFileSync(file, `${JSON.stringify(content)}\n`, { mode: 0o644 });
}

/** Removes the pid file if it still names `server` (a later Maestro may have replaced it). */
export function removePidFile(file: string, server: ProcessIdentity): void {
  const content = readPidFile(file);
  if (content?.server.pid === server.pid && content.server.started === server.started) rmSync(file, { force: true });
}

function readPidFile(file: string): PidFileContent | undefined {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw error;
  }
  try {
    const value = JSON.parse(text) as Partial<PidFileContent>;
    const valid = (identity: unknown): identity is ProcessIdentity =>
      typeof identity === 'object' && identity !== null && Number.isInteger((identity as ProcessIdentity).pid) && typeof (identity as ProcessIdentity).started === 'string';
    return valid(value.server) && valid(value.owner) && typeof value.dbFile === 'string' ? (value as PidFileContent) : undefined;
  } catch (error) {
    // A torn write (the owner died while writing): nothing in it can be trusted, so nothing is signalled.
    if (error instanceof SyntaxError) return undefined;
    throw error;
  }
}

/** Options of {@link stopLeftoverServer}. */
export interface LeftoverOptions {
  /** The pid file. */
  pidFile: string;
  /** The SQLite file the new server will use; a leftover is stopped only if it serves this file. */
  dbFile: string;
  /** How long to wait after SIGTERM before SIGKILL. */
  stopTimeoutMs: number;
}

/**
 * Before a server starts on `dbFile`: if the pid file names a server that a Maestro which has since
 * died left running, stops it (SIGTERM, then SIGKILL after `stopTimeoutMs`) and returns its pid;
 * removes a stale pid file. The server's state is in the SQLite file, so the runs it held continue
 * on the new server.
 *
 * @throws {ConfigError} `CONFIG_INVALID` when the Maestro that started the server is still running.
 */
export async function stopLeftoverServer(options: LeftoverOptions): Promise<number | undefined> {
  const { pidFile, dbFile, stopTimeoutMs } = options;
  const content = readPidFile(pidFile);
  if (content === undefined) {
    rmSync(pidFile, { force: true });
    return undefined;
  }
  const serverInfo = readProcessInfo(content.server.pid);
  const leftover = serverInfo !== undefined && serverInfo.started === content.server.started && servesDb(serverInfo.args, dbFile);
  if (leftover && isAlive(content.owner)) {
    throw new ConfigError(
      `${dbFile} is in use by the Temporal dev server (pid ${content.server.pid}) of another Maestro (pid ${content.owner.pid}) that is still running. ` +
        'Stop it, or set MAESTRO_DATA_DIR to another folder.',
      { details: { setting: 'MAESTRO_DATA_DIR' } },
    );
  }
  if (leftover) await terminate(content.server, stopTimeoutMs);
  rmSync(pidFile, { force: true });
  return leftover ? content.server.pid : undefined;
}

/** SIGTERM, then SIGKILL after `timeoutMs`; resolves once the process is gone. */
async function terminate(identity: ProcessIdentity, timeoutMs: number): Promise<void> {
  process.kill(identity.pid, 'SIGTERM');
  const deadline = Date.now() + timeoutMs;
  while (isAlive(identity)) {
    if (Date.now() > deadline) {
      process.kill(identity.pid, 'SIGKILL');
      break;
    }
    await sleep(50);
  }
  while (isAlive(identity)) await sleep(50);
}
