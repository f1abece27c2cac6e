/**
 * Helpers shared by the project's install and build scripts (tools.mjs for the Temporal CLI, opa.mjs
 * for OPA, console.mjs for the console).
 * Plain Node, no dependencies: they run before `npm ci` has anything to offer beyond Node itself.
 */
import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { accessSync, constants, existsSync, mkdirSync, readFileSync, renameSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { getPriority } from 'node:os';
import { delimiter, dirname, join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';

/** The repository root. */
export const REPO_ROOT = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
/** `<repo>/.tools`: where the scripts install tools (git-ignored). */
export const TOOLS_DIR = join(REPO_ROOT, '.tools');
/** `<repo>/.tools/bin`: where Go-built tools go. */
export const TOOLS_BIN_DIR = join(TOOLS_DIR, 'bin');

/**
 * Set to `1` by scripts/build-ahead.mjs for the installers it runs ahead of need: their builds are
 * background work, which a caller that needs the tool now may take over ({@link installOnce}).
 */
export const BACKGROUND_ENV = 'MAESTRO_TOOLS_BACKGROUND';
/** `<repo>/.tools/locks`: one lock file per tool while a process installs it. */
const LOCKS_DIR = join(TOOLS_DIR, 'locks');

/** Runs a command to completion; never throws (a missing command gives `ok: false`). */
export function run(command, args, options = {}) {
  const result = spawnSync(command, args, { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'], ...options });
  const output = `${result.stdout ?? ''}${result.stderr ?? ''}${result.error ? String(result.error) : ''}`;
  return { ok: result.status === 0, output: output.trim() };
}

/** True when `file` exists and may be executed. */
export function isExecutable(file) {
  try {
    accessSync(file, constants.X_OK);
    return true;
  } catch {
    // Not there or not executable: the caller moves on to the next place to look.
    return false;
  }
}

/** The first executable `name` on PATH, or undefined. */
export function onPath(name) {
  return (process.env.PATH ?? '')
    .split(delimiter)
    .filter(Boolean)
    .map((dir) => join(dir, name))
    .find(isExecutable);
}

/** The last `count` lines of a command's output, for error messages. */
export function lastLines(text, count = 8) {
  return text.split('\n').slice(-count).join('\n');
}

/**
 * `sha256:` over each file's path (relative to `base`, `/`-separated) and content, then each of
 * `extras` (e.g. `name@version` of the packages a build uses): the revision a build output is
 * stamped with, so a rebuild is skipped only when nothing it is made of changed.
 */
export function filesRevision(files, base, extras = []) {
  const hash = createHash('sha256');
  for (const file of files) {
    hash.update(`${relative(base, file).split('\\').join('/')}\0`);
    hash.update(readFileSync(file));
    hash.update('\0');
  }
  for (const extra of extras) hash.update(`${extra}\0`);
  return `sha256:${hash.digest('hex')}`;
}

/** Prints `${label}: ${message}` to stderr and exits 1. */
export function fail(label, message) {
  console.error(`${label}: ${message}`);
  process.exit(1);
}

/**
 * `.tools/bin/<tool>` when it is there and `isWanted` accepts it, else undefined (saying so when a
 * binary of another version is in the way, which the next install replaces).
 * @param {string} label prefix of messages, e.g. `maestro helm`
 * @param {string} tool the binary's name in `.tools/bin`
 * @param {(bin: string) => boolean} isWanted true when `bin` is the pinned version
 */
export function findTool(label, tool, isWanted) {
  const installed = join(TOOLS_BIN_DIR, tool);
  if (!existsSync(installed)) return undefined;
  if (isWanted(installed)) return installed;
  console.error(`${label}: ${installed} is not the pinned version; reinstalling.`);
  return undefined;
}

/** True while process `pid` exists. */
function isAlive(pid) {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    // EPERM: it exists but belongs to someone else; ESRCH: it is gone.
    return error.code === 'EPERM';
  }
}

/**
 * When process `pid` started (clock ticks after boot, /proc/<pid>/stat's 22nd field), or undefined
 * without /proc: with its pid, it names a process for good, where a pid alone may be reused.
 */
function processStart(pid) {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    // The name in parentheses may hold spaces: count fields after its closing one (field 2).
    return stat.slice(stat.lastIndexOf(')') + 2).split(' ')[19];
  } catch {
    // No /proc (not Linux) or the process is gone.
    return undefined;
  }
}

/** True while the process that wrote a lock runs: its pid is alive and was not handed to another. */
function isHolderAlive(holder) {
  if (!isAlive(holder.pid)) return false;
  const start = processStart(holder.pid);
  return holder.start === undefined || start === undefined || start === holder.start;
}

/**
 * The nice value of process `pid`'s scheduler autogroup (`self` for this process), or undefined
 * where the kernel has none. With autogroups on (Linux's default where the kernel has them) the CPU
 * is shared between sessions first and by each process's nice only within one: a build started in a
 * session of its own (`detached`) competes with the test run as an equal, however nice its
 * processes, unless its autogroup is niced too.
 */
export function autogroupNice(pid) {
  try {
    const nice = /\bnice (-?\d+)/.exec(readFileSync(`/proc/${pid}/autogroup`, 'utf8'));
    return nice ? Number(nice[1]) : undefined;
  } catch {
    // No autogroups in this kernel, or the process is gone.
    return undefined;
  }
}

/** Sets the nice value of process `pid`'s autogroup; false where there is none or it is not allowed. */
export function setAutogroupNice(pid, nice) {
  try {
    writeFileSync(`/proc/${pid}/autogroup`, String(nice));
    return true;
  } catch {
    // ENOENT: no autogroups; EACCES/EPERM: raising a priority needs CAP_SYS_NICE.
    return false;
  }
}

/** Blocks this (synchronous) script for `ms` milliseconds. */
function sleep(ms) {
  Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, ms);
}

/** The `{pid, start, background}` a lock file holds, or undefined while it is being written. */
function lockHolder(file) {
  try {
    const holder = JSON.parse(readFileSync(file, 'utf8'));
    return Number.isInteger(holder.pid) ? holder : undefined;
  } catch {
    // Created but not yet written (or already removed): look again shortly.
    return undefined;
  }
}

/**
 * Removes the lock of a holder that died, unless another waiter got there first and the lock is now
 * its own: the check and the removal happen under `<lock>.break`, so of two waiters that find the
 * same dead holder one removes its lock and the other then finds the first one's. False when another
 * waiter is at it.
 */
function removeDeadLock(file, dead) {
  const breaker = `${file}.break`;
  try {
    writeFileSync(breaker, String(process.pid), { flag: 'wx' });
  } catch (error) {
    if (error.code !== 'EEXIST') throw error;
    // Another waiter is on it; one that died right there leaves a file this old behind.
    if (Date.now() - (statSync(breaker, { throwIfNoEntry: false })?.mtimeMs ?? Date.now()) > 10_000) rmSync(breaker, { force: true });
    return false;
  }
  try {
    const holder = lockHolder(file);
    if (holder && holder.pid === dead.pid && holder.start === dead.start) rmSync(file, { force: true });
    return true;
  } finally {
    rmSync(breaker, { force: true });
  }
}

/**
 * A background build that this caller waits for becomes foreground work: its process group (the
 * build-ahead starts each installer as a group leader) and its autogroup get this process's CPU
 * priority, or, where raising a priority is not allowed (not root), it is stopped, so the caller
 * builds the tool itself. Nothing compiled is lost either way: Go's build cache keeps every package
 * a stopped build finished.
 */
function takeOver(label, holder) {
  const raised =
    run('renice', ['-n', String(getPriority()), '-g', String(holder.pid)]).ok &&
    (autogroupNice(holder.pid) === undefined || setAutogroupNice(holder.pid, autogroupNice('self') ?? getPriority()));
  if (raised) return;
  try {
    process.kill(-holder.pid, 'SIGTERM');
    console.log(`${label}: stopped the background build (pid ${holder.pid}) to build in the foreground`);
  } catch (error) {
    // ESRCH: it has just ended; EPERM: another user's, which can only be waited for.
    if (error.code !== 'ESRCH' && error.code !== 'EPERM') throw error;
  }
}

/**
 * Installs a tool at most once at a time across processes: `installed()` says whether it is there,
 * `install()` puts it there. Takes `.tools/locks/<name>.lock` for the install, so two test files
 * (or a test and scripts/build-ahead.mjs) needing the same tool never build it side by side; a
 * caller that finds the lock taken waits for the holder and then looks again. A lock whose holder
 * died (an interrupted build; its pid alone may since name another process) is taken over. Under
 * {@link BACKGROUND_ENV} a lock held by anyone means someone else is on it: the background
 * installer exits 0 and leaves it to them.
 * @param {object} spec
 * @param {string} spec.label prefix of messages, e.g. `maestro helm`
 * @param {string} spec.name the lock's name, e.g. `helm`
 * @param {() => boolean} spec.installed true when nothing needs installing
 * @param {() => void} spec.install installs the tool (exits the process on failure)
 */
export function installOnce({ label, name, installed, install }) {
  if (installed()) return;
  mkdirSync(LOCKS_DIR, { recursive: true });
  const file = join(LOCKS_DIR, `${name}.lock`);
  const background = process.env[BACKGROUND_ENV] === '1';
  let waitingFor;
  for (;;) {
    try {
      writeFileSync(file, JSON.stringify({ pid: process.pid, start: processStart(process.pid), background }), { flag: 'wx' });
      break;
    } catch (error) {
      if (error.code !== 'EEXIST') throw error;
    }
    const holder = lockHolder(file);
    if (holder && !isHolderAlive(holder)) {
      if (!removeDeadLock(file, holder)) sleep(250);
      continue;
    }
    if (holder && background) {
      console.log(`${label}: pid ${holder.pid} is installing ${name}; leaving it to that process`);
      process.exit(0);
    }
    if (holder && holder.pid !== waitingFor) {
      waitingFor = holder.pid;
      console.log(`${label}: waiting for pid ${holder.pid}, which is installing ${name}`);
      if (holder.background) takeOver(label, holder);
    }
    sleep(250);
  }
  // process.exit (how the installers fail) skips finally blocks but not 'exit' listeners.
  const release = () => rmSync(file, { force: true });
  process.once('exit', release);
  try {
    if (!installed()) install();
  } finally {
    process.off('exit', release);
    release();
  }
}

/**
 * Finds Go-built tools in `.tools/bin`, building them first when any is missing or not the pinned
 * version: one `go install` (CGO off) into a folder of its own, each binary checked with `isWanted`,
 * then renamed into `.tools/bin`, so an interrupted build leaves nothing that looks installed. The
 * build runs under {@link installOnce}'s lock, named after the first tool. Exits with a clear
 * message when Go is missing, the build fails or a binary is not the pinned version.
 * @param {object} spec
 * @param {string} spec.label prefix of messages, e.g. `maestro helm`
 * @param {string} spec.what what is built, for messages, e.g. `helm 4.3.2`
 * @param {Record<string, string>} spec.tools `package@version` by the binary's name in `.tools/bin`
 * @param {string[]} [spec.flags] more `go install` flags (`-ldflags=…`, `-tags`, …)
 * @param {(bin: string) => boolean} spec.isWanted true when a built binary is the pinned version
 * @param {string} [spec.minGo] the Go version the module needs, for the message when Go is missing
 * @returns {Record<string, string>} each tool's path, by its name
 */
export function ensureGoTools(spec) {
  const { label, tools, isWanted } = spec;
  const names = Object.keys(tools);
  const find = (tool) => findTool(label, tool, isWanted);
  installOnce({ label, name: names[0], installed: () => names.every((tool) => find(tool) !== undefined), install: () => goInstall(spec) });
  return Object.fromEntries(names.map((tool) => [tool, find(tool) ?? fail(label, `${tool} is still missing after the install`)]));
}

/** The build behind {@link ensureGoTools}. */
function goInstall({ label, what, tools, flags = [], isWanted, minGo = '1.26' }) {
  if (!run('go', ['version']).ok) fail(label, `${what} is missing from .tools/bin and cannot be built: install Go >= ${minGo} (https://go.dev/dl).`);
  mkdirSync(TOOLS_BIN_DIR, { recursive: true });
  // One folder per tool set, emptied first: a build stopped by a signal leaves nothing behind for long.
  const dir = join(TOOLS_DIR, `install-go-${Object.keys(tools)[0]}`);
  rmSync(dir, { recursive: true, force: true });
  mkdirSync(dir);
  try {
    console.log(`${label}: building ${what} with go install (minutes, once)…`);
    const started = Date.now();
    const packages = Object.values(tools);
    const result = run('go', ['install', ...flags, ...packages], { env: { ...process.env, GOBIN: dir, CGO_ENABLED: '0' } });
    if (!result.ok) fail(label, `go install ${packages.join(' ')} failed:\n${lastLines(result.output)}`);
    for (const [tool, pkg] of Object.entries(tools)) {
      // go install names a binary after its package's last path element, a major-version suffix
      // (`…/cmd/tool/v2`) left out.
      const elements = pkg.split('@')[0].split('/');
      const built = join(dir, /^v\d+$/.test(elements.at(-1)) ? elements.at(-2) : elements.at(-1));
      if (!isWanted(built)) fail(label, `the ${tool} built by go install is not ${what}`);
      renameSync(built, join(TOOLS_BIN_DIR, tool));
    }
    console.log(`${label}: built in ${Math.round((Date.now() - started) / 1000)} s`);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
