/**
 * scripts/lib/tools.mjs's `installOnce`, the lock every tool installer (and scripts/build-ahead.mjs)
 * builds under, as separate processes use it: several processes needing one tool install it once;
 * a lock whose holder died, even when its pid now names another process, is taken over by exactly
 * one of them; a background build (the build-ahead's) that a foreground process waits for is
 * raised to the waiter's priority, its process group and its scheduler autogroup alike; a background
 * installer leaves a tool someone else is installing to them.
 * Every lock has a name of its own under `<repo>/.tools/locks`; the "tool" is a marker file.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { once } from 'node:events';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

const TOOLS_MODULE = join(process.cwd(), 'scripts', 'lib', 'tools.mjs');
const LOCKS_DIR = join(process.cwd(), '.tools', 'locks');

/** An installer: installs `MARKER` (sleeping `SLEEP_MS` first) under the lock `NAME`, logging its pid to `LOG`. */
const INSTALLER = `
import { appendFileSync, existsSync, writeFileSync } from 'node:fs';
import { installOnce } from ${JSON.stringify(TOOLS_MODULE)};
const { NAME, MARKER, LOG, SLEEP_MS } = process.env;
installOnce({
  label: 'test installer',
  name: NAME,
  installed: () => existsSync(MARKER),
  install: () => {
    appendFileSync(LOG, process.pid + '\\n');
    Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, Number(SLEEP_MS));
    writeFileSync(MARKER, 'installed');
  },
});
`;

let dir: string;
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'maestro-install-once-'));
  mkdirSync(LOCKS_DIR, { recursive: true });
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

/** One tool to install: its lock's name and file, marker and install log. */
function tool() {
  const name = `test-${randomUUID()}`;
  return { name, lock: join(LOCKS_DIR, `${name}.lock`), marker: join(dir, `${name}.installed`), log: join(dir, `${name}.log`) };
}

/** Starts an installer of `target`; `detached` makes it a process group and session of its own. */
function installer(target: ReturnType<typeof tool>, options: { sleepMs: number; background?: boolean; detached?: boolean }): ChildProcess & { output: () => string } {
  const child = spawn(process.execPath, ['--input-type=module', '-e', INSTALLER], {
    detached: options.detached ?? false,
    env: {
      ...process.env,
      NAME: target.name,
      MARKER: target.marker,
      LOG: target.log,
      SLEEP_MS: String(options.sleepMs),
      MAESTRO_TOOLS_BACKGROUND: options.background ? '1' : '',
    },
  });
  let output = '';
  child.stdout.on('data', (chunk: Buffer) => (output += chunk.toString('utf8')));
  child.stderr.on('data', (chunk: Buffer) => (output += chunk.toString('utf8')));
  return Object.assign(child, { output: () => output });
}

/** Waits for an installer to exit; its exit code. */
async function exitCode(child: ChildProcess): Promise<number | null> {
  if (child.exitCode === null && child.signalCode === null) await once(child, 'exit');
  return child.exitCode;
}

/** Resolves once `predicate()` holds, checking every 50 ms for up to 20 s. */
async function until(predicate: () => boolean, what: string): Promise<void> {
  const deadline = Date.now() + 20_000;
  while (!predicate()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting until ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

const installs = (target: ReturnType<typeof tool>): string[] => (existsSync(target.log) ? readFileSync(target.log, 'utf8').trim().split('\n') : []);
/** A process's nice value (/proc/<pid>/stat's 19th field). */
const niceOf = (pid: number): number => Number(readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]!.split(' ')[16]);
/** A process's autogroup's nice value, or undefined where the kernel has no autogroups (tools.mjs's own reader). */
const { autogroupNice: autogroupNiceOf } = (await import(pathToFileURL(TOOLS_MODULE).href)) as { autogroupNice: (pid: number) => number | undefined };

describe('installOnce across processes', () => {
  it('installs a tool once when six processes need it at the same moment, and leaves no lock', async () => {
    const target = tool();
    const children = Array.from({ length: 6 }, () => installer(target, { sleepMs: 500 }));
    const codes = await Promise.all(children.map(exitCode));
    expect(codes).toEqual([0, 0, 0, 0, 0, 0]);
    expect(installs(target)).toHaveLength(1);
    expect(existsSync(target.lock)).toBe(false);
  });

  it.each([
    ['whose pid is gone', () => ({ pid: 2 ** 22 + 1, start: '1', background: false })],
    // This test's own pid is alive, but it started at another moment than the lock says.
    ['whose pid now names another process', () => ({ pid: process.pid, start: '1', background: false })],
  ])('takes over the lock of a holder that died, %s: one of six waiters installs', async (_case, holder) => {
    const target = tool();
    writeFileSync(target.lock, JSON.stringify(holder()));
    const children = Array.from({ length: 6 }, () => installer(target, { sleepMs: 300 }));
    const codes = await Promise.all(children.map(exitCode));
    expect(codes).toEqual([0, 0, 0, 0, 0, 0]);
    expect(installs(target)).toHaveLength(1);
    expect(existsSync(target.lock)).toBe(false);
    expect(existsSync(`${target.lock}.break`)).toBe(false);
  });

  // Raising a priority takes CAP_SYS_NICE (CI runs as root); without it the waiter stops the build.
  it.runIf(process.getuid?.() === 0)('raises a background build to the priority of the step waiting for it, process group and autogroup', async () => {
    const target = tool();
    // As scripts/build-ahead.mjs starts it: a session of its own, the lowest priority for the
    // process and its autogroup (set from outside, as the build-ahead does after spawning).
    const background = installer(target, { sleepMs: 3_000, background: true, detached: true });
    await until(() => existsSync(target.log), 'the background installer holds the lock');
    const pid = background.pid!;
    const hasAutogroup = autogroupNiceOf(pid) !== undefined;
    if (hasAutogroup) writeFileSync(`/proc/${pid}/autogroup`, '19');
    await once(spawn('renice', ['-n', '19', '-p', String(pid)]), 'exit');
    expect(niceOf(pid)).toBe(19);

    const waiter = installer(target, { sleepMs: 0 });
    await until(() => niceOf(pid) === 0, 'the waiter raised the background build');
    if (hasAutogroup) expect(autogroupNiceOf(pid)).toBe(0);
    expect(await exitCode(waiter)).toBe(0);
    expect(await exitCode(background)).toBe(0);
    expect(waiter.output()).toContain(`waiting for pid ${pid}, which is installing ${target.name}`);
    // The background build finished the install; the waiter found it done.
    expect(installs(target)).toEqual([String(pid)]);
  });

  it('has a background installer leave a tool to the process already installing it', async () => {
    const target = tool();
    const foreground = installer(target, { sleepMs: 2_000 });
    await until(() => existsSync(target.log), 'the foreground installer holds the lock');
    const background = installer(target, { sleepMs: 0, background: true });
    expect(await exitCode(background)).toBe(0);
    expect(background.output()).toContain(`pid ${foreground.pid} is installing ${target.name}; leaving it to that process`);
    expect(existsSync(target.marker)).toBe(false);
    expect(await exitCode(foreground)).toBe(0);
    expect(installs(target)).toEqual([String(foreground.pid)]);
  });
});
