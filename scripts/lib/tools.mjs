/**
 * Helpers shared by the project's install and build scripts (tools.mjs for the Temporal CLI, opa.mjs
 * for OPA, console.mjs for the console).
 * Plain Node, no dependencies: they run before `npm ci` has anything to offer beyond Node itself.
 */
import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { accessSync, constants, existsSync, mkdirSync, mkdtempSync, readFileSync, renameSync, rmSync } from 'node:fs';
import { delimiter, dirname, join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';

/** The repository root. */
export const REPO_ROOT = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
/** `<repo>/.tools`: where the scripts install tools (git-ignored). */
export const TOOLS_DIR = join(REPO_ROOT, '.tools');
/** `<repo>/.tools/bin`: where Go-built tools go. */
export const TOOLS_BIN_DIR = join(TOOLS_DIR, 'bin');

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

/**
 * Builds Go packages with one `go install` (CGO off) into a temporary folder, checks each binary
 * with `isWanted`, then renames them into `.tools/bin`: an interrupted build leaves nothing that
 * looks installed. Exits with a clear message when Go is missing, the build fails or a binary is
 * not the pinned version.
 * @param {object} spec
 * @param {string} spec.label prefix of messages, e.g. `maestro helm`
 * @param {string} spec.what what is built, for messages, e.g. `helm 4.3.2`
 * @param {Record<string, string>} spec.tools `package@version` by the binary's name in `.tools/bin`
 * @param {string[]} [spec.flags] more `go install` flags (`-ldflags=…`, `-tags`, …)
 * @param {(bin: string) => boolean} spec.isWanted true when a built binary is the pinned version
 * @param {string} [spec.minGo] the Go version the module needs, for the message when Go is missing
 */
export function goInstall({ label, what, tools, flags = [], isWanted, minGo = '1.26' }) {
  if (!run('go', ['version']).ok) fail(label, `${what} is missing from .tools/bin and cannot be built: install Go >= ${minGo} (https://go.dev/dl).`);
  mkdirSync(TOOLS_BIN_DIR, { recursive: true });
  const dir = mkdtempSync(join(TOOLS_DIR, 'install-go-'));
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
