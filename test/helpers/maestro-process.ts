/**
 * Maestro as a user runs it: `npm start`, or `maestro dev` (the command `npm start` ends in, without
 * its build steps), as a child process in its own process group, and calls to its HTTP API; or the
 * processes a platform team deploys, `maestro api` and `maestro worker`, each on its own.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { setTimeout as sleep } from 'node:timers/promises';
import { freePort } from '../peers/ports.js';
import { spawnPeer, type SpawnedPeer } from '../peers/spawn-peer.js';

/** A started Maestro. */
export interface MaestroProcess {
  readonly child: ChildProcess;
  /** Everything it printed so far (stdout and stderr). */
  output(): string;
  /** The API's base URL, from the banner. */
  readonly url: string;
}

/**
 * The environment of the test process without any `TEMPORAL_*` variable, plus `extra`; the
 * worker's metrics on a free port (processes of parallel test files would contend for 9464).
 */
export function maestroEnv(extra: Record<string, string>): NodeJS.ProcessEnv {
  return { ...Object.fromEntries(Object.entries(process.env).filter(([name]) => !name.startsWith('TEMPORAL_'))), MAESTRO_WORKER_METRICS_PORT: '0', ...extra };
}

/**
 * Starts `npm start` (`npm: true`) or `node --import tsx src/cli/main.ts dev` with `env`, and resolves
 * once its banner names the API; fails with its output if it exits first.
 */
export async function startMaestro(env: NodeJS.ProcessEnv, { npm = false }: { npm?: boolean } = {}): Promise<MaestroProcess> {
  const child = npm
    ? spawn('npm', ['start'], { env, stdio: ['ignore', 'pipe', 'pipe'], detached: true })
    : spawn(process.execPath, ['--import', 'tsx', 'src/cli/main.ts', 'dev'], { env, stdio: ['ignore', 'pipe', 'pipe'], detached: true });
  let output = '';
  child.stdout.on('data', (chunk: Buffer) => (output += chunk.toString('utf8')));
  child.stderr.on('data', (chunk: Buffer) => (output += chunk.toString('utf8')));
  const deadline = Date.now() + 150_000;
  for (;;) {
    const url = /API\s+(http:\/\/\S+)/.exec(output)?.[1];
    if (url !== undefined) return { child, output: () => output, url };
    if (child.exitCode !== null || child.signalCode !== null) throw new Error(`Maestro exited before it came up:\n${output}`);
    if (Date.now() > deadline) throw new Error(`Maestro did not come up within 150 s:\n${output}`);
    await sleep(200);
  }
}

/** Calls the API with `token`; returns the JSON body, throwing with it on a non-2xx answer. */
export async function callApi(maestro: MaestroProcess, token: string, path: string, init: RequestInit = {}): Promise<Record<string, unknown>> {
  const response = await fetch(`${maestro.url}${path}`, { ...init, headers: { authorization: `Bearer ${token}`, ...init.headers } });
  const body = (await response.json()) as Record<string, unknown>;
  if (!response.ok) throw new Error(`${init.method ?? 'GET'} ${path}: ${response.status} ${JSON.stringify(body)}`);
  return body;
}

/** Registers a workflow manifest (YAML) and starts a run of `workflowRef`; returns the run id. */
export async function registerAndStart(maestro: MaestroProcess, token: string, manifest: string, workflowRef: string): Promise<string> {
  await callApi(maestro, token, '/workflows', { method: 'POST', headers: { 'content-type': 'application/yaml' }, body: manifest });
  const { runId } = await callApi(maestro, token, '/runs', {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ workflowRef }),
  });
  return String(runId);
}

/** SIGTERM (a clean stop), resolving when it has exited; nothing if it already has. */
export async function stopMaestro(maestro: MaestroProcess): Promise<void> {
  if (maestro.child.exitCode !== null || maestro.child.signalCode !== null) return;
  const exited = once(maestro.child, 'exit');
  maestro.child.kill('SIGTERM');
  await exited;
}

/** SIGKILL to the process group of every Maestro still running: for `afterAll`, after a failure. */
export function killAll(maestros: readonly MaestroProcess[]): void {
  for (const { child } of maestros) {
    if (child.pid !== undefined && child.exitCode === null && child.signalCode === null) process.kill(-child.pid, 'SIGKILL');
  }
}

/** A `maestro api` or `maestro worker` running as its own process (see {@link startMaestroCommand}). */
export interface MaestroCommand extends SpawnedPeer {
  /** The API's base URL, or the worker's probes and metrics endpoint. */
  readonly url: string;
  /** Resolves with the exit code (null when a signal ended it) once the process has exited. */
  readonly exited: Promise<number | null>;
}

/**
 * Starts `maestro api` or `maestro worker` (`node --import tsx src/cli/main.ts <command>`) with
 * `env` on a free port (the API's, or the worker's probes), and resolves once it serves: the
 * API's `/healthz`, the worker's `/readyz` (it polls its task queue).
 *
 * @param options.cwd the source tree to run (e.g. a copy: another build). @default the working directory
 */
export async function startMaestroCommand(command: 'api' | 'worker', env: Record<string, string>, options: { cwd?: string } = {}): Promise<MaestroCommand> {
  const port = await freePort();
  const url = `http://127.0.0.1:${port}`;
  const own: Record<string, string> = command === 'api' ? { MAESTRO_PORT: String(port), MAESTRO_HOST: '127.0.0.1' } : { MAESTRO_WORKER_METRICS_PORT: String(port), MAESTRO_WORKER_METRICS_HOST: '127.0.0.1' };
  const probe = `${url}/${command === 'api' ? 'healthz' : 'readyz'}`;
  const peer = await spawnPeer({
    name: `maestro ${command}`,
    command: process.execPath,
    args: ['--import', 'tsx', 'src/cli/main.ts', command],
    ...(options.cwd === undefined ? {} : { cwd: options.cwd }),
    env: { ...env, ...own },
    ready: () => fetch(probe).then((res) => res.ok, () => false),
    startTimeoutMs: 240_000,
  });
  const exited = new Promise<number | null>((resolve) => {
    if (peer.child.exitCode !== null || peer.child.signalCode !== null) resolve(peer.child.exitCode);
    else peer.child.once('exit', (code) => resolve(code));
  });
  return { ...peer, url, exited };
}
