#!/usr/bin/env node
/**
 * Helm for Maestro: installs `helm` and the offline Kubernetes schema validator, then lints, renders
 * and validates the chart under deploy/helm/maestro/. Idempotent, and fast when nothing is missing.
 *
 *   node scripts/helm.mjs install   ensure helm and kubernetes-validate (the chart test's set-up)
 *   node scripts/helm.mjs test      install, then for the default values and deploy/helm/values-production.yaml:
 *                                   `helm lint --strict`, `helm template`, and every rendered object
 *                                   validated against the Kubernetes JSON schemas  (npm test)
 *   node scripts/helm.mjs validate FILE…   validate rendered manifests (`helm template` output) the same way
 *
 * helm: `<repo>/.tools/bin/helm` when it reports the pinned version. Otherwise it is built with
 * `go install helm.sh/helm/v4/cmd/helm@v<HELM_VERSION>` (CGO off) into `<repo>/.tools/bin`, the
 * version stamped as Helm's Makefile does (a plain `go install` reports only `v4.3`). No registry
 * package ships Helm 4.
 *
 * Schemas: PyPI's `kubernetes-validate` bundles the strict JSON schemas of every Kubernetes release
 * since 1.25; it is installed into its own virtualenv at `<repo>/.tools/kubernetes-validate` by
 * scripts/peers/pip-venv.sh, and validates with no network. Objects are checked in strict mode (an
 * unknown field fails) against the oldest release the chart supports (Chart.yaml `kubeVersion`)
 * and the newest the package knows. Kinds of a CRD (the prometheus-operator's ServiceMonitor) have
 * no schema there: they are listed as not validated, and any other kind without a schema fails.
 * Writes nothing outside `<repo>/.tools/` (and a temporary folder it removes).
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { REPO_ROOT, TOOLS_DIR, ensureGoTools, fail as failWith, lastLines, run } from './lib/tools.mjs';

/** The Helm release, and its Go module. */
const HELM_VERSION = '4.3.2';
const HELM_PACKAGE = 'helm.sh/helm/v4/cmd/helm';
/** The PyPI release of kubernetes-validate, and the Kubernetes releases whose schemas the chart must pass. */
const KUBERNETES_VALIDATE_VERSION = '1.37.0';
const KUBERNETES_VERSIONS = ['1.29.0', '1.37.0'];
/** Kinds from CRDs the chart may render, which the Kubernetes schemas do not cover. */
const CRD_KINDS = new Set(['monitoring.coreos.com/v1 ServiceMonitor']);

/** The chart, and the values files `test` renders it with (none: the chart's defaults). */
const CHART_DIR = join(REPO_ROOT, 'deploy', 'helm', 'maestro');
const VALUES_EXAMPLES = [[], [join(REPO_ROOT, 'deploy', 'helm', 'values-production.yaml')]];

const LABEL = 'maestro helm';
const fail = (message) => failWith(LABEL, message);

/** The version `helm version` reports (`v4.3.2`), or undefined. */
function versionOf(bin) {
  const result = run(bin, ['version', '--template', '{{.Version}}']);
  return result.ok ? result.output : undefined;
}

/** Finds or installs helm and kubernetes-validate; returns their paths. */
function ensureHelm() {
  const { helm } = ensureGoTools({
    label: LABEL,
    what: `helm ${HELM_VERSION}`,
    tools: { helm: `${HELM_PACKAGE}@v${HELM_VERSION}` },
    // A plain go install would report only `v4.3`: stamp the version as Helm's Makefile does.
    flags: [`-ldflags=-s -w -X helm.sh/helm/v4/internal/version.version=v${HELM_VERSION}`],
    isWanted: (bin) => versionOf(bin) === `v${HELM_VERSION}`,
    minGo: '1.25',
  });
  const venv = spawnSync(
    'bash',
    [join(REPO_ROOT, 'scripts', 'peers', 'pip-venv.sh'), 'kubernetes-validate', `kubernetes-validate==${KUBERNETES_VALIDATE_VERSION}`, KUBERNETES_VALIDATE_VERSION, 'kubernetes-validate', '3.9'],
    { encoding: 'utf8', stdio: ['ignore', 'pipe', 'inherit'] },
  );
  if (venv.status !== 0) fail('installing kubernetes-validate failed (see above).');
  const validator = join(TOOLS_DIR, 'kubernetes-validate', 'bin', 'kubernetes-validate');
  return { helm, validator };
}

/** `-f <file>` for each values file. */
function valuesArgs(files) {
  return files.flatMap((file) => ['-f', file]);
}

/**
 * Validates rendered manifests (multi-document YAML) in strict mode against each of
 * {@link KUBERNETES_VERSIONS}. Returns the failures, one line each (empty: every object is valid),
 * and the CRD kinds left unvalidated.
 */
function validateManifests(validator, manifests) {
  const dir = mkdtempSync(join(tmpdir(), 'maestro-helm-'));
  try {
    const file = join(dir, 'rendered.yaml');
    writeFileSync(file, manifests);
    const failures = [];
    const unvalidated = new Set();
    for (const version of KUBERNETES_VERSIONS) {
      const result = run(validator, ['--strict', '--quiet', '-k', version, file]);
      for (const line of result.output.split('\n').filter(Boolean)) {
        const missing = /Couldn't find schema for kind (\S+) with api version (\S+)/.exec(line);
        if (missing && CRD_KINDS.has(`${missing[2]} ${missing[1]}`)) unvalidated.add(`${missing[2]} ${missing[1]}`);
        else failures.push(line.replace(`${file} `, ''));
      }
      if (!result.ok && failures.length === 0) failures.push(`kubernetes-validate -k ${version} failed: ${lastLines(result.output)}`);
    }
    return { failures, unvalidated: [...unvalidated] };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

/** Lints, renders and validates the chart with the default values and each example. */
function test({ helm, validator }) {
  for (const files of VALUES_EXAMPLES) {
    const label = files.length === 0 ? 'default values' : files.map((file) => file.slice(REPO_ROOT.length + 1)).join(', ');
    const lint = spawnSync(helm, ['lint', '--strict', CHART_DIR, ...valuesArgs(files)], { stdio: 'inherit' });
    if (lint.status !== 0) fail(`helm lint --strict failed with ${label} (see above).`);
    const rendered = run(helm, ['template', 'maestro', CHART_DIR, '--namespace', 'maestro', ...valuesArgs(files)]);
    if (!rendered.ok) fail(`helm template failed with ${label}:\n${lastLines(rendered.output)}`);
    const { failures, unvalidated } = validateManifests(validator, rendered.output);
    if (failures.length > 0) fail(`the chart rendered with ${label} does not match the Kubernetes schemas:\n${failures.join('\n')}`);
    const objects = rendered.output.split(/^---$/m).filter((document) => /^kind:/m.test(document)).length;
    const skipped = unvalidated.length > 0 ? `; not validated (CRD): ${unvalidated.join(', ')}` : '';
    console.log(`maestro helm: ${label}: ${objects} objects valid against Kubernetes ${KUBERNETES_VERSIONS.join(' and ')}${skipped}`);
  }
}

/** Validates each file of rendered manifests; fails naming every invalid object. */
function validate({ validator }, files) {
  if (files.length === 0) fail('validate needs the files to validate');
  for (const file of files) {
    const { failures, unvalidated } = validateManifests(validator, readFileSync(file, 'utf8'));
    if (failures.length > 0) fail(`${file} does not match the Kubernetes schemas:\n${failures.join('\n')}`);
    const skipped = unvalidated.length > 0 ? `; not validated (CRD): ${unvalidated.join(', ')}` : '';
    console.log(`maestro helm: ${file}: valid against Kubernetes ${KUBERNETES_VERSIONS.join(' and ')}${skipped}`);
  }
}

function main() {
  const [command = 'test', ...files] = process.argv.slice(2);
  if (!['install', 'test', 'validate'].includes(command)) fail(`unknown command "${command}" (install | test | validate FILE…)`);
  const tools = ensureHelm();
  console.log(`maestro helm: helm = ${tools.helm} (${HELM_VERSION}), kubernetes-validate = ${tools.validator} (${KUBERNETES_VALIDATE_VERSION})`);
  if (command === 'test') test(tools);
  if (command === 'validate') validate(tools, files);
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) main();
