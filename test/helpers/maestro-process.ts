/**
 * Maestro as a user runs it: `npm start`, or `maestro dev` (the command `npm start` ends in, without
 * its build steps), as a child process in its own process group, and calls to its HTTP API.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { setTimeout as sleep } from 'node:timers/promises';

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
