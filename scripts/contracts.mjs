#!/usr/bin/env node
/**
 * Maestro's released contracts and the breaking-change gate (SM-214). Idempotent, and fast when
 * nothing is missing.
 *
 *   node scripts/contracts.mjs install                 ensure oasdiff
 *   node scripts/contracts.mjs test [--openapi FILE] [--version V]
 *                                                      diff contracts/openapi.yaml (or FILE) against the
 *                                                      openapi.yaml of the last two releases under
 *                                                      contracts/releases/; a breaking change fails
 *                                                      unless package.json's major version (or V's, the
 *                                                      version about to be released) is above that
 *                                                      release's  (npm test)
 *   node scripts/contracts.mjs snapshot VERSION [REF]  copy the contracts a release ships (RELEASED_FILES)
 *                                                      into contracts/releases/VERSION/, and the Workflow
 *                                                      and Runbook manifests it shipped (CORPUS_FOLDERS)
 *                                                      into its manifests/, from git REF (a commit or
 *                                                      tag) or else the working tree
 *
 * The manifests are the N-2 corpus: test/release-manifests.test.ts checks that each still validates
 * under its release's schemas and validates and compiles on the current code.
 *
 * oasdiff: `<repo>/.tools/bin/oasdiff` when it reports the pinned version, otherwise built with
 * `go install github.com/oasdiff/oasdiff@v<OASDIFF_VERSION>` (CGO off) by the shared ensureGoTools.
 * "Breaking" is oasdiff's ERR level (a removed route, a removed required response field, a new
 * required request field, a response enum value a client may not know, …); its WARN level
 * (potentially breaking) is printed and does not fail. External `$ref`s are refused, so a spec
 * under test cannot make the diff fetch anything. Writes nothing outside `<repo>/.tools/` except
 * what `snapshot` is asked to write.
 */
import { mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { REPO_ROOT, ensureGoTools, fail as failWith, lastLines, run } from './lib/tools.mjs';

/** The oasdiff release, and its Go module. */
const OASDIFF_VERSION = '1.39.0';
const OASDIFF_PACKAGE = 'github.com/oasdiff/oasdiff';

/** What a release carries, each as `contracts/<file>` had it. */
const RELEASED_FILES = ['openapi.yaml', 'workflow.schema.json', 'runbook.schema.json', 'ir.schema.json'];
/** Where a release's own manifests are taken from; only `kind: Workflow` and `kind: Runbook` files are kept. */
const CORPUS_FOLDERS = ['examples/workflows', 'runbooks', 'test/manifests/valid'];
/** How many of the newest releases the current contract must stay compatible with (N-1 and N-2 of the next). */
const RELEASES_CHECKED = 2;

const CONTRACTS_DIR = join(REPO_ROOT, 'contracts');
/** One folder per release, named by its version. */
const RELEASES_DIR = join(CONTRACTS_DIR, 'releases');

const LABEL = 'maestro contracts';
const fail = (message) => failWith(LABEL, message);

const isWanted = (bin) => run(bin, ['--version']).output === `oasdiff version ${OASDIFF_VERSION}`;

/** Finds or installs oasdiff; returns its path. */
function ensureOasdiff() {
  return ensureGoTools({ label: LABEL, what: `oasdiff ${OASDIFF_VERSION}`, tools: { oasdiff: `${OASDIFF_PACKAGE}@v${OASDIFF_VERSION}` }, isWanted, minGo: '1.25' }).oasdiff;
}

/** `[major, minor, patch]` of a plain `x.y.z` version, or undefined for anything else. */
function parseVersion(version) {
  const match = /^(\d+)\.(\d+)\.(\d+)$/.exec(version);
  return match ? match.slice(1).map(Number) : undefined;
}

/** Release versions under contracts/releases/, oldest first; a folder not named `x.y.z` fails. */
function releases() {
  const names = readdirSync(RELEASES_DIR, { withFileTypes: true })
    .filter((entry) => entry.isDirectory())
    .map((entry) => entry.name);
  for (const name of names) if (!parseVersion(name)) fail(`contracts/releases/${name} is not named after a release version (x.y.z)`);
  return names.sort((a, b) => {
    const [x, y] = [parseVersion(a), parseVersion(b)];
    return x[0] - y[0] || x[1] - y[1] || x[2] - y[2];
  });
}

/** The oasdiff changes at `level` (ERR or WARN) from `base` to `revision`: `{id, operation, path, text}`. */
function changes(oasdiff, base, revision) {
  const result = run(oasdiff, ['breaking', base, revision, '--format', 'json', '--allow-external-refs=false']);
  if (!result.ok) fail(`oasdiff breaking ${base} ${revision} failed:\n${lastLines(result.output)}`);
  let parsed;
  try {
    parsed = JSON.parse(result.output || '[]');
  } catch (error) {
    fail(`oasdiff's output is not JSON (${error.message}):\n${lastLines(result.output)}`);
  }
  return (parsed ?? []).map((change) => ({
    id: change.id,
    level: change.level === 3 ? 'ERR' : change.level === 2 ? 'WARN' : 'INFO',
    operation: `${change.operation ?? ''} ${change.path ?? ''}`.trim(),
    text: change.text,
    at: change.revisionSource?.line ? ` (line ${change.revisionSource.line})` : '',
  }));
}

/** Diffs `openapi` against each of the last releases; exits 1 on an unexcused breaking change. */
function test(openapi, current) {
  const oasdiff = ensureOasdiff();
  const versions = releases().slice(-RELEASES_CHECKED);
  if (versions.length === 0) fail('contracts/releases/ holds no release to diff against');
  const currentMajor = parseVersion(current.split(/[-+]/)[0])?.[0] ?? fail(`version ${current} is not semver`);
  const started = Date.now();
  let failed = false;
  for (const version of versions) {
    const found = changes(oasdiff, join(RELEASES_DIR, version, 'openapi.yaml'), openapi);
    const breaking = found.filter((change) => change.level === 'ERR');
    const warnings = found.filter((change) => change.level === 'WARN');
    const excused = currentMajor > parseVersion(version)[0];
    for (const change of warnings) console.log(`  warning vs ${version}: [${change.id}] ${change.operation}: ${change.text}`);
    if (breaking.length === 0) {
      console.log(`${LABEL}: openapi.yaml is compatible with release ${version}`);
      continue;
    }
    const list = breaking.map((change) => `  [${change.id}] ${change.operation}${change.at}: ${change.text}`).join('\n');
    if (excused) {
      console.log(`${LABEL}: ${breaking.length} breaking change(s) since release ${version}, allowed by the major version ${current}:\n${list}`);
      continue;
    }
    failed = true;
    console.error(
      `${LABEL}: ${breaking.length} breaking change(s) since release ${version} (version ${current}, same major):\n${list}\n` +
        `Keep the old behaviour beside the new one, or bump package.json's major version above ${parseVersion(version)[0]}.`,
    );
  }
  console.log(`${LABEL}: diffed against ${versions.join(', ')} in ${Date.now() - started} ms`);
  if (failed) process.exit(1);
}

/** `path`'s text at git `ref`, or in the working tree without one. */
function textAt(ref, path) {
  if (!ref) return readFileSync(join(REPO_ROOT, path), 'utf8');
  const shown = run('git', ['show', `${ref}:${path}`], { cwd: REPO_ROOT, maxBuffer: 64 * 1024 * 1024 });
  if (!shown.ok) fail(`git show ${ref}:${path} failed:\n${lastLines(shown.output)}`);
  return `${shown.output}\n`;
}

/** The manifest files under CORPUS_FOLDERS at git `ref` (or in the working tree), repository-relative. */
function corpusFiles(ref) {
  const manifest = /\.(ya?ml|json)$/;
  if (ref) {
    const listed = run('git', ['ls-tree', '-r', '--name-only', ref, '--', ...CORPUS_FOLDERS], { cwd: REPO_ROOT });
    if (!listed.ok) fail(`git ls-tree ${ref} failed:\n${lastLines(listed.output)}`);
    return listed.output.split('\n').filter((path) => manifest.test(path));
  }
  return CORPUS_FOLDERS.flatMap((folder) =>
    readdirSync(join(REPO_ROOT, folder), { recursive: true, encoding: 'utf8' })
      .filter((name) => manifest.test(name))
      .map((name) => `${folder}/${name}`),
  );
}

/** Copies the released contracts and manifests from git `ref` (or the working tree) into contracts/releases/VERSION/. */
function snapshot(version, ref) {
  if (!parseVersion(version)) fail(`"${version}" is not a release version (x.y.z)`);
  const dir = join(RELEASES_DIR, version);
  mkdirSync(dir, { recursive: true });
  for (const file of RELEASED_FILES) writeFileSync(join(dir, file), textAt(ref, `contracts/${file}`));
  let kept = 0;
  for (const path of corpusFiles(ref)) {
    const text = textAt(ref, path);
    // Schedules and triggers have no released schema (RELEASED_FILES): only workflows and runbooks are kept.
    if (!/^kind:\s*(Workflow|Runbook)\s*$|"kind"\s*:\s*"(Workflow|Runbook)"/m.test(text)) continue;
    const target = join(dir, 'manifests', path);
    mkdirSync(dirname(target), { recursive: true });
    writeFileSync(target, text);
    kept += 1;
  }
  console.log(`${LABEL}: contracts/releases/${version}/ holds ${RELEASED_FILES.join(', ')} and ${kept} manifests${ref ? ` from ${ref}` : ''}`);
}

function main(argv) {
  const [command = 'test', ...rest] = argv;
  switch (command) {
    case 'install':
      console.log(`${LABEL}: ${ensureOasdiff()}`);
      return;
    case 'test': {
      const option = (name) => {
        const at = rest.indexOf(name);
        return at < 0 ? undefined : (rest[at + 1] ?? fail(`${name} needs a value`));
      };
      const openapi = option('--openapi');
      const version = option('--version') ?? JSON.parse(readFileSync(join(REPO_ROOT, 'package.json'), 'utf8')).version;
      test(openapi ? resolve(openapi) : join(CONTRACTS_DIR, 'openapi.yaml'), version);
      return;
    }
    case 'snapshot':
      return snapshot(rest[0] ?? fail('snapshot needs a VERSION'), rest[1]);
    default:
      fail(`unknown command "${command}": install, test [--openapi FILE] [--version V], snapshot VERSION [REF]`);
  }
}

if (process.argv[1] && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) main(process.argv.slice(2));
