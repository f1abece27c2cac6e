/**
 * Helpers shared by the project's install and build scripts (tools.mjs for the Temporal CLI, opa.mjs
 * for OPA, console.mjs for the console).
 * Plain Node, no dependencies: they run before `npm ci` has anything to offer beyond Node itself.
 */
import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { accessSync, constants, readFileSync } from 'node:fs';
import { delimiter, dirname, join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';

/** The repository root. */
export const REPO_ROOT = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
/** `<repo>/.tools`: where the scripts install tools (git-ignored). */
export const TOOLS_DIR = join(REPO_ROOT, '.tools');

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
