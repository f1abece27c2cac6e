#!/usr/bin/env node
/**
 * Open Policy Agent for Maestro: installs the `opa` binary, tests the Rego under policies/, and
 * builds the two bundles Maestro's policy decision points load. Idempotent, and fast when nothing
 * changed.
 *
 *   node scripts/opa.mjs install   ensure the binary
 *   node scripts/opa.mjs test      install, then `opa test policies/`            (npm test)
 *   node scripts/opa.mjs build     install, then build the bundles if stale      (npm start)
 *   node scripts/opa.mjs           install, test, build
 *
 * Binary lookup — the same as `resolveOpaBin()` in src/policy/opa-bin.ts (keep the two in step):
 *   1. `MAESTRO_OPA_BIN`, if set (the file must exist);
 *   2. `opa` on PATH, if it is OPA 1.x;
 *   3. `<repo>/.tools/bin/opa`, if it reports the pinned version.
 * Otherwise `go install github.com/open-policy-agent/opa@v<OPA_VERSION>` into `<repo>/.tools/bin`
 * (git-ignored). v1.22.2's go.mod has no replace directive, so `go install pkg@version` works.
 *
 * Bundles (git-ignored, never committed), both stamped with the same revision — `sha256:` of the
 * policy sources and data — so a decision names the exact policy that made it:
 *   dist/policy/bundle.wasm.tar.gz  `opa build -t wasm -e maestro/decision -e maestro/allow`: the
 *                                   embedded PDP (@open-policy-agent/opa-wasm) loads it;
 *   dist/policy/bundle.tar.gz       the same policy as Rego, for `opa run --server --bundle`.
 * Writes nothing outside `<repo>/.tools/` and `<repo>/dist/policy/`.
 */
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { REPO_ROOT, ensureGoTools, fail as failWith, filesRevision, isExecutable, onPath, run } from './lib/tools.mjs';

export const OPA_VERSION = '1.22.2';
const POLICY_DIR = join(REPO_ROOT, 'policies');
const OUT_DIR = join(REPO_ROOT, 'dist', 'policy');
const ENTRYPOINTS = ['maestro/decision', 'maestro/allow'];

/** The `Version:` line of `opa version`, or undefined when the binary does not run. */
function opaVersion(bin) {
  const result = run(bin, ['version']);
  if (!result.ok) return undefined;
  return /^Version:\s*(\S+)/m.exec(result.output)?.[1];
}

const LABEL = 'maestro opa';
const fail = (message) => failWith(LABEL, message);

/** Finds or installs `opa`; returns its path. */
export function ensureOpa() {
  const configured = process.env.MAESTRO_OPA_BIN;
  if (configured) {
    if (!isExecutable(configured)) fail(`MAESTRO_OPA_BIN=${configured} is not an executable file.`);
    return configured;
  }
  const fromPath = onPath('opa');
  if (fromPath && opaVersion(fromPath)?.startsWith('1.')) return fromPath;
  const isWanted = (bin) => opaVersion(bin) === OPA_VERSION;
  return ensureGoTools({ label: LABEL, what: `OPA ${OPA_VERSION}`, tools: { opa: `github.com/open-policy-agent/opa@v${OPA_VERSION}` }, isWanted }).opa;
}

/** Policy sources and data (tests and docs excluded), sorted by path. */
function policyFiles(dir = POLICY_DIR) {
  return readdirSync(dir, { withFileTypes: true })
    .flatMap((entry) => {
      const path = join(dir, entry.name);
      if (entry.isDirectory()) return policyFiles(path);
      const source = entry.name.endsWith('.rego') && !entry.name.endsWith('_test.rego');
      const data = ['data.json', 'data.yaml', 'data.yml'].includes(entry.name);
      return source || data ? [path] : [];
    })
    .sort();
}

/** `sha256:` over each file's path and content: changes whenever the policy or its data does. */
export function policyRevision() {
  return filesRevision(policyFiles(), POLICY_DIR);
}

function test(opa) {
  const result = spawnSync(opa, ['test', 'policies'], { stdio: 'inherit', cwd: REPO_ROOT });
  if (result.status !== 0) fail('opa test policies/ failed (see above).');
}

/** Rebuilds both bundles unless `dist/policy/revision` already names the current revision. */
function build(opa) {
  const revision = policyRevision();
  const stamp = join(OUT_DIR, 'revision');
  const wasm = join(OUT_DIR, 'bundle.wasm.tar.gz');
  const rego = join(OUT_DIR, 'bundle.tar.gz');
  if (existsSync(wasm) && existsSync(rego) && existsSync(stamp) && readFileSync(stamp, 'utf8').trim() === revision) {
    console.log(`maestro opa: policy bundles up to date (${revision.slice(0, 19)}…)`);
    return;
  }
  mkdirSync(OUT_DIR, { recursive: true });
  const tmp = mkdtempSync(join(OUT_DIR, 'build-'));
  try {
    const common = [...ENTRYPOINTS.flatMap((entrypoint) => ['-e', entrypoint]), '--revision', revision, '--ignore', '*_test.rego', '--ignore', '*.md'];
    for (const [target, out] of [['wasm', wasm], ['rego', rego]]) {
      const file = join(tmp, `${target}.tar.gz`);
      // Relative paths, so the bundle names its files `policies/…` on every machine.
      const result = run(opa, ['build', '-t', target, ...common, '-o', file, 'policies'], { cwd: REPO_ROOT });
      if (!result.ok) fail(`opa build -t ${target} failed:\n${lastLines(result.output, 20)}`);
      renameSync(file, out);
    }
    writeFileSync(stamp, `${revision}\n`);
  } finally {
    rmSync(tmp, { recursive: true, force: true });
  }
  console.log(`maestro opa: built dist/policy/bundle.wasm.tar.gz and bundle.tar.gz (${revision.slice(0, 19)}…)`);
}

function main() {
  const command = process.argv[2] ?? 'all';
  if (!['install', 'test', 'build', 'all'].includes(command)) fail(`unknown command "${command}" (install | test | build)`);
  const opa = ensureOpa();
  console.log(`maestro opa: opa = ${opa} (${opaVersion(opa)})`);
  if (command === 'test' || command === 'all') test(opa);
  if (command === 'test' || command === 'build' || command === 'all') build(opa);
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) main();
