#!/usr/bin/env node
/**
 * The Python task SDK (sdk/python) and its sample (examples/python): a virtual environment with
 * the SDK installed, and its checks. Idempotent, and fast when nothing changed.
 *
 *   node scripts/python.mjs install   ensure the venv (the Python tests' set-up)
 *   node scripts/python.mjs test      install, then ruff check, ruff format --check, mypy --strict, pytest  (npm test)
 *
 * The venv is `<repo>/.tools/python-sdk` (git-ignored): the exact pins of
 * sdk/python/requirements-dev.txt (the SDK's dependencies, ruff, mypy, pytest, and the sample's
 * DuckDB, pyarrow and boto3), then the SDK itself, editable (`pip install --no-deps
 * --no-build-isolation -e sdk/python`: the venv's own setuptools builds it, so its sources are used
 * as they are and a change to them needs no reinstall). The venv is stamped with a revision of the
 * requirements and pyproject.toml's `[project]` (not its tools' settings); a venv of another
 * revision, or half made (an install killed midway), is made again from scratch. Needs python3 (3.10+) with venv, and PyPI.
 * Writes nothing outside `<repo>/.tools/python-sdk`.
 */
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, realpathSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { REPO_ROOT, TOOLS_DIR, fail as failWith, filesRevision, lastLines, onPath, run } from './lib/tools.mjs';

const LABEL = 'maestro python';
const fail = (message) => failWith(LABEL, message);
const SDK_DIR = join(REPO_ROOT, 'sdk', 'python');
const REQUIREMENTS = join(SDK_DIR, 'requirements-dev.txt');

/** The venv's folder, by its physical path (a venv's scripts name their python by absolute path; `.tools` may be a symlink). */
function venvDir() {
  mkdirSync(TOOLS_DIR, { recursive: true });
  return join(realpathSync(TOOLS_DIR), 'python-sdk');
}

/** Finds or makes the venv; returns the paths of its python and its `maestro-py`. */
export function ensurePythonSdk() {
  const venv = venvDir();
  const python = join(venv, 'bin', 'python');
  const stampFile = join(venv, 'maestro.revision');
  // pyproject.toml up to its tools' settings (a lint setting needs no reinstall); the SDK's folder
  // too: the install is editable, and worktrees may share one `.tools`.
  const project = readFileSync(join(SDK_DIR, 'pyproject.toml'), 'utf8').split(/^\[tool\./m)[0];
  const revision = filesRevision([REQUIREMENTS], REPO_ROOT, [project, SDK_DIR]);
  const stamp = existsSync(stampFile) ? readFileSync(stampFile, 'utf8').trim() : '';
  if (stamp !== revision || !run(python, ['-c', 'import maestro_sdk']).ok) {
    const system = onPath('python3') ?? fail('python3 (3.10+) with venv is needed to set up the Python SDK: install it and re-run.');
    const started = Date.now();
    console.log(`${LABEL}: creating ${venv} (pinned in sdk/python/requirements-dev.txt)…`);
    rmSync(venv, { recursive: true, force: true });
    for (const [command, args] of [
      [system, ['-m', 'venv', venv]],
      [python, ['-m', 'pip', 'install', '--quiet', '--disable-pip-version-check', '-r', REQUIREMENTS]],
      [python, ['-m', 'pip', 'install', '--quiet', '--disable-pip-version-check', '--no-deps', '--no-build-isolation', '-e', SDK_DIR]],
    ]) {
      const result = run(command, args, { cwd: REPO_ROOT });
      if (!result.ok) fail(`${[command, ...args].join(' ')} failed:\n${lastLines(result.output, 15)}`);
    }
    writeFileSync(stampFile, `${revision}\n`);
    console.log(`${LABEL}: installed in ${((Date.now() - started) / 1000).toFixed(0)} s`);
  }
  return { python, maestroPy: join(venv, 'bin', 'maestro-py') };
}

/** ruff check, ruff format --check, mypy --strict and pytest over the SDK and the sample. */
function test(python) {
  const sources = ['sdk/python', 'examples/python'];
  for (const args of [
    ['-m', 'ruff', 'check', '--config', 'sdk/python/pyproject.toml', ...sources],
    ['-m', 'ruff', 'format', '--check', '--config', 'sdk/python/pyproject.toml', ...sources],
    // Twice: each folder has its own tests' conftest.py, which mypy would take for one module.
    ['-m', 'mypy', '--strict', '--config-file', 'sdk/python/pyproject.toml', 'sdk/python/src', 'sdk/python/tests'],
    ['-m', 'mypy', '--strict', '--config-file', 'sdk/python/pyproject.toml', 'examples/python'],
    ['-m', 'pytest', '-q', '-c', 'sdk/python/pyproject.toml', '--rootdir', 'sdk/python'],
  ]) {
    const result = spawnSync(python, args, { stdio: 'inherit', cwd: REPO_ROOT });
    if (result.status !== 0) fail(`${args.slice(1, 3).join(' ')} failed (see above).`);
  }
}

function main() {
  const command = process.argv[2] ?? 'test';
  if (!['install', 'test'].includes(command)) fail(`unknown command "${command}" (install | test)`);
  const { python } = ensurePythonSdk();
  console.log(`${LABEL}: ${python}`);
  if (command === 'test') test(python);
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) main();
