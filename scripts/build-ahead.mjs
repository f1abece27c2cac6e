#!/usr/bin/env node
/**
 * Builds the Go-built tools `npm test` needs later, ahead of need, in the background at the lowest
 * CPU priority (nice 19, of each process and of its scheduler autogroup). On a fresh machine they
 * cost tens of minutes of CPU (Jaeger, the Temporal server, Prometheus, helm, syft, …), which
 * otherwise ran in the foreground one after another, each when the step or test file that needs it
 * came up, while the CPU sat half idle in between (npm ci compiling one C file, pip downloading,
 * tests waiting on their servers). In the background they use that idle CPU and give way to
 * everything else.
 *
 *   node scripts/build-ahead.mjs        start the background build and return at once (npm test's first step)
 *   node scripts/build-ahead.mjs run    the background build itself: each installer in turn
 *
 * Each installer still guards its own build (`installOnce` in scripts/lib/tools.mjs): a step that
 * needs a tool the background is building waits for it and raises it to its own priority (or, where
 * it may not, stops it and builds the tool itself, Go's build cache keeping what was compiled); a
 * tool a step is already building is skipped here. Every installer is instant when its tool is
 * there, so on a machine that has them all this costs a few seconds of background CPU. Output goes
 * to `<repo>/.tools/build-ahead.log`; writes nothing outside `<repo>/.tools/` (and Go's caches).
 */
import { spawn } from 'node:child_process';
import { closeSync, mkdirSync, openSync } from 'node:fs';
import { constants, setPriority } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { BACKGROUND_ENV, REPO_ROOT, TOOLS_DIR, fail, setAutogroupNice } from './lib/tools.mjs';

/**
 * The installers, in the order `npm test` comes to need their tools. OPA is left out: it is the
 * first thing `npm test` builds, so there is nothing to be ahead of.
 */
const INSTALLERS = ['prometheus.mjs', 'helm.mjs', 'contracts.mjs', 'crane.mjs', 'syft.mjs', 'temporal-cluster.mjs', 'jaeger.mjs'];
const LOG = join(TOOLS_DIR, 'build-ahead.log');
const LABEL = 'maestro build-ahead';
/** The lowest CPU priority, as a nice value. */
const LOWEST_NICE = constants.priority.PRIORITY_LOW;

/** Starts `run` as a process of its own (it outlives this one) and returns. */
function start() {
  mkdirSync(TOOLS_DIR, { recursive: true });
  const log = openSync(LOG, 'a');
  const child = spawn(process.execPath, [fileURLToPath(import.meta.url), 'run'], { cwd: REPO_ROOT, detached: true, stdio: ['ignore', log, log] });
  child.unref();
  closeSync(log);
  console.log(`${LABEL}: building the tools tests need later in the background (pid ${child.pid}, output in ${LOG})`);
}

/**
 * Runs each installer in turn at the lowest priority, each as a process group (and session) of its
 * own. Both nice values matter: each process's orders it within its autogroup (its session, where
 * the kernel has autogroups), and the autogroup's orders that session against npm test's.
 */
async function runAll() {
  // Children inherit it: every compiler Go starts runs only on CPU nothing else wants.
  setPriority(LOWEST_NICE);
  setAutogroupNice('self', LOWEST_NICE);
  for (const script of INSTALLERS) {
    const started = Date.now();
    // A group of its own, so that a step waiting for this tool can raise or stop exactly this build.
    const child = spawn(process.execPath, [join(REPO_ROOT, 'scripts', script), 'install'], {
      cwd: REPO_ROOT,
      detached: true,
      stdio: ['ignore', 'inherit', 'inherit'],
      env: { ...process.env, [BACKGROUND_ENV]: '1' },
    });
    // Detached is a session, so an autogroup, of its own: at nice 0 it would share the CPU with the
    // tests' session half and half. (Spawn returns after exec, so the child's session is there.)
    if (child.pid !== undefined) setAutogroupNice(child.pid, LOWEST_NICE);
    const status = await new Promise((resolve) => {
      child.once('error', (error) => resolve(String(error)));
      child.once('exit', (code, signal) => resolve(signal ?? `exit ${code}`));
    });
    console.log(`${LABEL}: ${script} install: ${status} after ${Math.round((Date.now() - started) / 1000)} s`);
  }
}

const command = process.argv[2] ?? 'start';
if (command === 'start') start();
else if (command === 'run') await runAll();
else fail(LABEL, `unknown command "${command}" (start | run)`);
