#!/usr/bin/env node
/**
 * Jaeger for Maestro's local traces (`maestro dev --traces`, `npm start -- --traces`, the tracing
 * test): installs the all-in-one `jaeger` binary on first use and prints its path. Idempotent, and
 * instant when the binary is there.
 *
 *   node scripts/jaeger.mjs [install]   ensure the binary, print its path
 *
 * Binary lookup — the same as `resolveJaegerBin()` in src/devserver/jaeger.ts (keep the two in step):
 *   1. `MAESTRO_JAEGER_BIN`, if set (the file must exist);
 *   2. `jaeger` on PATH;
 *   3. `<repo>/.tools/bin/jaeger`, if `<repo>/.tools/jaeger.version` names the pinned version.
 * Otherwise it is built from its Go module into `<repo>/.tools/bin/jaeger` (git-ignored). Jaeger's
 * go.mod carries replace directives, which `go install pkg@version` refuses, so the build goes
 * through a small module of our own in `<repo>/.tools/jaeger-build/` that requires it as a tool
 * (`go get -tool`) and builds it from there (several minutes cold, once). Writes nothing outside
 * `<repo>/.tools/`.
 */
import { existsSync, mkdirSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { TOOLS_DIR, installOnce, isExecutable, lastLines, onPath, run } from './lib/tools.mjs';

export const JAEGER_VERSION = '1.75.0';
const JAEGER_PACKAGE = 'github.com/jaegertracing/jaeger/cmd/jaeger';
const TOOLS_BIN = join(TOOLS_DIR, 'bin', 'jaeger');
const STAMP = join(TOOLS_DIR, 'jaeger.version');
const BUILD_DIR = join(TOOLS_DIR, 'jaeger-build');

function fail(message) {
  console.error(`maestro jaeger: ${message}`);
  process.exit(1);
}

/** Builds Jaeger from a tool-requiring module in `.tools/jaeger-build`, then renames it into place. */
function installWithGo() {
  if (!run('go', ['version']).ok) {
    fail(`Jaeger ${JAEGER_VERSION} is missing and cannot be built: install Go >= 1.24 (https://go.dev/dl), or set MAESTRO_JAEGER_BIN.`);
  }
  mkdirSync(dirname(TOOLS_BIN), { recursive: true });
  rmSync(BUILD_DIR, { recursive: true, force: true });
  mkdirSync(BUILD_DIR, { recursive: true });
  const env = { ...process.env, CGO_ENABLED: '0', GOFLAGS: '-buildvcs=false' };
  console.log(`maestro jaeger: building Jaeger ${JAEGER_VERSION} from its Go module (several minutes, once)…`);
  for (const args of [
    ['mod', 'init', 'maestro.local/jaeger-build'],
    ['get', '-tool', `${JAEGER_PACKAGE}@v${JAEGER_VERSION}`],
    ['build', '-o', 'jaeger', JAEGER_PACKAGE],
  ]) {
    const result = run('go', args, { cwd: BUILD_DIR, env });
    if (!result.ok) fail(`go ${args.join(' ')} failed:\n${lastLines(result.output)}`);
  }
  const built = join(BUILD_DIR, 'jaeger');
  if (!run(built, ['version']).ok) fail(`the Jaeger built in ${BUILD_DIR} does not run`);
  renameSync(built, TOOLS_BIN);
  writeFileSync(STAMP, `${JAEGER_VERSION}\n`);
  rmSync(BUILD_DIR, { recursive: true, force: true });
}

/** Finds or installs `jaeger`; returns its path. */
export function ensureJaeger() {
  const configured = process.env.MAESTRO_JAEGER_BIN;
  if (configured) {
    if (!isExecutable(configured)) fail(`MAESTRO_JAEGER_BIN=${configured} is not an executable file.`);
    return configured;
  }
  const fromPath = onPath('jaeger');
  if (fromPath) return fromPath;
  const installed = () => existsSync(STAMP) && readFileSync(STAMP, 'utf8').trim() === JAEGER_VERSION && isExecutable(TOOLS_BIN);
  installOnce({ label: 'maestro jaeger', name: 'jaeger', installed, install: installWithGo });
  return TOOLS_BIN;
}

function main() {
  const command = process.argv[2] ?? 'install';
  if (command !== 'install') fail(`unknown command "${command}" (install)`);
  console.log(ensureJaeger());
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) main();
