/**
 * `npm start` after a hard kill (issue 19, finding "a hard kill leaves Maestro unable to restart"):
 * Maestro is SIGKILLed with a run in flight — its whole process group, its node process alone, or
 * everything including the dev server's watchdog. The dev server must not outlive Maestro by more
 * than a few seconds (its watchdog stops it), or else the next start stops the one left behind
 * (found through `<dataDir>/temporal.pid`); either way the next start comes up on the same ports
 * and data directory, and the run in flight finishes SUCCEEDED, as the API reports it.
 * Each Maestro runs on its own free ports (never 7233/8080/8233) and a temporary data directory.
 */
import { randomUUID } from 'node:crypto';
import { once } from 'node:events';
import { readFileSync, readdirSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { connect } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { callApi, killAll, maestroEnv, registerAndStart, startMaestro, stopMaestro, type MaestroProcess } from './helpers/maestro-process.js';
import { restartablePort } from './peers/ports.js';

const TOKEN = 'start-crash-token-0123456789abcdef';
/** How long the dev server may outlive a killed Maestro: the watchdog's grace (3 s) and some slack. */
const OUTLIVE_LIMIT_MS = 6_000;

const MANIFEST = `apiVersion: maestro/v1
kind: Workflow
metadata: { name: crash-nap, version: 1.0.0, owner: platform@summit }
spec:
  policy: { purpose: testing, authority: maestro-tests, license: internal }
  tasks:
    - id: nap
      uses: tasks/wait.sleep@0.1.0
      with: { duration: 6s }
    - id: after
      uses: tasks/transform.map@0.1.0
      needs: [nap]
      with: { rows: [1], expression: "$ + 1" }
`;

/** One Maestro install: a data directory and the ports every start of it uses. */
interface Install {
  dir: string;
  env: NodeJS.ProcessEnv;
  temporalPort: number;
}

async function newInstall(): Promise<Install> {
  const dir = await mkdtemp(join(tmpdir(), 'maestro-start-crash-'));
  // Every start of the install uses these ports: out of the range other tests' connections and
  // servers draw from, so none takes one while the install is down.
  const [apiPort, temporalPort, uiPort] = [await restartablePort(), await restartablePort(), await restartablePort()];
  const env = maestroEnv({
    MAESTRO_DATA_DIR: dir,
    MAESTRO_PORT: String(apiPort),
    MAESTRO_TEMPORAL_PORT: String(temporalPort),
    MAESTRO_TEMPORAL_UI_PORT: String(uiPort),
    MAESTRO_TASK_QUEUE: `start-crash-${randomUUID()}`,
    MAESTRO_DEV_TOKEN: TOKEN,
    MAESTRO_LOG_LEVEL: 'warn',
  });
  installs.push(dir);
  return { dir, env, temporalPort };
}

const installs: string[] = [];
const started: MaestroProcess[] = [];

async function start(install: Install, options: { npm: boolean }): Promise<MaestroProcess> {
  const maestro = await startMaestro(install.env, options);
  started.push(maestro);
  return maestro;
}

/** Registers the workflow and starts a run; returns its id once its 6 s nap is under way. */
async function startNappingRun(maestro: MaestroProcess): Promise<string> {
  const runId = await registerAndStart(maestro, TOKEN, MANIFEST, 'crash-nap@1.0.0');
  const napStatus = async () => {
    const run = await callApi(maestro, TOKEN, `/runs/${runId}`);
    return (run.tasks as { id: string; status: string }[]).find((task) => task.id === 'nap')?.status;
  };
  await expect.poll(napStatus, { timeout: 30_000, interval: 200 }).toBe('RUNNING');
  return runId;
}

function pidFile(install: Install): { server: { pid: number }; owner: { pid: number } } {
  return JSON.parse(readFileSync(join(install.dir, 'temporal.pid'), 'utf8')) as { server: { pid: number }; owner: { pid: number } };
}

/** Whether `pid` runs (a zombie, reaped or not, does not: it holds no port and no file). */
function running(pid: number): boolean {
  try {
    return !/^\d+ \(.*\) Z/.test(readFileSync(`/proc/${pid}/stat`, 'utf8'));
  } catch {
    // No such process.
    return false;
  }
}

function portAnswers(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = connect(port, '127.0.0.1');
    socket.once('connect', () => (socket.destroy(), resolve(true)));
    socket.once('error', () => resolve(false));
  });
}

/** Pids of the dev-server watchdogs watching `serverPid` (`sh -c … maestro-devserver-watchdog <pid>`). */
function watchdogsOf(serverPid: number): number[] {
  return readdirSync('/proc')
    .filter((entry) => /^\d+$/.test(entry))
    .filter((entry) => {
      try {
        const args = readFileSync(`/proc/${entry}/cmdline`, 'utf8').split('\0');
        return args.includes('maestro-devserver-watchdog') && args.includes(String(serverPid));
      } catch {
        // The process ended while the list was read.
        return false;
      }
    })
    .map(Number);
}

/**
 * Measures how long the dev server outlives the kill: resolves with the milliseconds until it is
 * gone, that is until its process no longer runs and its port no longer answers. Both are polled:
 * a Go process's leader thread shows as a zombie while its other threads still tear down the open
 * files, so for a few milliseconds the port can answer after the pid reads as ended.
 */
async function goneWithin(serverPid: number, port: number, killedAt: number): Promise<number> {
  const alive = async () => running(serverPid) || (await portAnswers(port));
  await expect.poll(alive, { timeout: OUTLIVE_LIMIT_MS + 5_000, interval: 100 }).toBe(false);
  return Date.now() - killedAt;
}

/** Comes up again on the same install and reports the run SUCCEEDED. */
async function restartAndFinish(install: Install, runId: string): Promise<MaestroProcess> {
  const again = await start(install, { npm: false });
  const status = async () => String((await callApi(again, TOKEN, `/runs/${runId}`)).status);
  await expect.poll(status, { timeout: 60_000, interval: 250 }).toBe('SUCCEEDED');
  return again;
}

afterAll(async () => {
  killAll(started);
  await Promise.all(installs.map((dir) => rm(dir, { recursive: true, force: true })));
});

describe('npm start after a hard kill', () => {
  it('SIGKILL of its process group: the dev server is gone within seconds; the next start finishes the run in flight', async () => {
    const install = await newInstall();
    const first = await start(install, { npm: true });
    const runId = await startNappingRun(first);
    const { server } = pidFile(install);

    const exited = once(first.child, 'exit');
    process.kill(-(first.child.pid as number), 'SIGKILL');
    const killedAt = Date.now();
    await exited;
    const outlived = await goneWithin(server.pid, install.temporalPort, killedAt);
    console.log(`dev server outlived its process group's SIGKILL by ${outlived} ms`);
    expect(outlived).toBeLessThan(OUTLIVE_LIMIT_MS);

    const again = await restartAndFinish(install, runId);
    await stopMaestro(again);
  }, 300_000);

  it('SIGKILL of the node process alone: the same', async () => {
    const install = await newInstall();
    const first = await start(install, { npm: true });
    const runId = await startNappingRun(first);
    const { server, owner } = pidFile(install);
    expect(owner.pid).not.toBe(first.child.pid);

    const exited = once(first.child, 'exit');
    process.kill(owner.pid, 'SIGKILL');
    const killedAt = Date.now();
    const outlived = await goneWithin(server.pid, install.temporalPort, killedAt);
    console.log(`dev server outlived the node process's SIGKILL by ${outlived} ms`);
    expect(outlived).toBeLessThan(OUTLIVE_LIMIT_MS);
    await exited;

    const again = await restartAndFinish(install, runId);
    await stopMaestro(again);
  }, 300_000);

  it('a dev server left running (its watchdog killed too) is stopped by the next start, which finishes the run', async () => {
    const install = await newInstall();
    const first = await start(install, { npm: false });
    const runId = await startNappingRun(first);
    const { server, owner } = pidFile(install);
    const watchdogs = watchdogsOf(server.pid);
    expect(watchdogs).toHaveLength(1);

    const exited = once(first.child, 'exit');
    for (const pid of [...watchdogs, owner.pid]) process.kill(pid, 'SIGKILL');
    await exited;
    // Left behind, as before the change: still serving its port.
    await new Promise((resolve) => setTimeout(resolve, 1_000));
    expect(running(server.pid)).toBe(true);
    expect(await portAnswers(install.temporalPort)).toBe(true);

    const again = await restartAndFinish(install, runId);
    expect(again.output()).toContain(`Stopped the Temporal dev server (pid ${server.pid}) a previous Maestro left running`);
    expect(running(server.pid)).toBe(false);
    await stopMaestro(again);
  }, 300_000);
});
