#!/usr/bin/env node
/**
 * Prometheus for Maestro: installs `prometheus` and `promtool`, and checks and unit-tests the
 * recording and alerting rules under deploy/prometheus/. Idempotent, and fast when nothing is missing.
 *
 *   node scripts/prometheus.mjs install   ensure both binaries (the scrape test's set-up)
 *   node scripts/prometheus.mjs test      install, then `promtool check config`, `check rules` and `test rules`  (npm test)
 *
 * Binaries: `<repo>/.tools/bin/{prometheus,promtool}` when they report the pinned version (not a
 * copy on PATH: the scrape test's peer starts this one, and the rule tests need a known promtool).
 * Otherwise both are built with
 * `go install github.com/prometheus/prometheus/cmd/{prometheus,promtool}@v<MODULE_VERSION>` into
 * `<repo>/.tools/bin` (git-ignored). The module's go.mod has no replace directive, so `go install
 * pkg@version` works. Built with the `remove_all_sd` tag (only static, file and HTTP service
 * discovery: the others bring every cloud provider's SDK into the build) and without the web UI's
 * assets (not needed to scrape, evaluate rules or answer the HTTP API); the version is stamped as
 * the release build does, so `--version` reports it. No registry package ships the official binaries (Debian's `prometheus`
 * is 2.42, rebuilt by Debian).
 * Writes nothing outside `<repo>/.tools/`.
 */
import { spawnSync } from 'node:child_process';
import { readdirSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { REPO_ROOT, ensureGoTools, fail as failWith, run } from './lib/tools.mjs';

/** The Prometheus release, and its Go module version (Prometheus 3.Y.Z is module v0.3YY.Z). */
export const PROMETHEUS_VERSION = '3.16.0';
const MODULE_VERSION = '0.316.0';
const TOOLS = ['prometheus', 'promtool'];
const RULES_DIR = join(REPO_ROOT, 'deploy', 'prometheus', 'rules');
const TESTS_DIR = join(REPO_ROOT, 'deploy', 'prometheus', 'tests');

const LABEL = 'maestro prometheus';
const fail = (message) => failWith(LABEL, message);

/** The version `<bin> --version` reports (`prometheus, version 3.16.0 (…)`), or undefined. */
function versionOf(bin) {
  const result = run(bin, ['--version']);
  if (!result.ok) return undefined;
  return /, version (\S+)/.exec(result.output)?.[1];
}

/** Finds or installs `prometheus` and `promtool`; returns their paths. */
export function ensurePrometheus() {
  return ensureGoTools({
    label: LABEL,
    what: `Prometheus ${PROMETHEUS_VERSION} and promtool`,
    tools: Object.fromEntries(TOOLS.map((tool) => [tool, `github.com/prometheus/prometheus/cmd/${tool}@v${MODULE_VERSION}`])),
    flags: ['-tags', 'remove_all_sd', `-ldflags=-s -w -X github.com/prometheus/common/version.Version=${PROMETHEUS_VERSION}`],
    isWanted: (bin) => versionOf(bin) === PROMETHEUS_VERSION,
  });
}

/** The `.yml` files of `dir`, sorted, relative to the repository root. */
function ymlFiles(dir) {
  return readdirSync(dir)
    .filter((name) => name.endsWith('.yml'))
    .sort()
    .map((name) => join(dir, name).slice(REPO_ROOT.length + 1));
}

/**
 * Over deploy/prometheus/: `promtool check config --syntax-only` (the token file it names exists
 * only where Prometheus runs), `promtool check rules`, then `promtool test rules`.
 */
function test(promtool) {
  for (const args of [
    ['check', 'config', '--syntax-only', 'deploy/prometheus/prometheus.yml'],
    ['check', 'rules', ...ymlFiles(RULES_DIR)],
    ['test', 'rules', ...ymlFiles(TESTS_DIR)],
  ]) {
    const result = spawnSync(promtool, args, { stdio: 'inherit', cwd: REPO_ROOT });
    if (result.status !== 0) fail(`promtool ${args.slice(0, 2).join(' ')} failed (see above).`);
  }
}

function main() {
  const command = process.argv[2] ?? 'test';
  if (!['install', 'test'].includes(command)) fail(`unknown command "${command}" (install | test)`);
  const { prometheus, promtool } = ensurePrometheus();
  console.log(`maestro prometheus: prometheus = ${prometheus}, promtool = ${promtool} (${PROMETHEUS_VERSION})`);
  if (command === 'test') test(promtool);
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) main();
