#!/usr/bin/env node
/**
 * A Temporal cluster's server for Maestro (the topology test, `docs/operations.md` "A Temporal
 * cluster on PostgreSQL"): installs `temporal-server` and `temporal-sql-tool` on first use and the
 * PostgreSQL schemas they set up, and prints where they are. Idempotent, and instant when they are there.
 *
 *   node scripts/temporal-cluster.mjs [install]   ensure both binaries and the schemas, print their paths
 *
 * Binaries: `<repo>/.tools/bin/{temporal-server,temporal-sql-tool}` when they report the pinned
 * version (not copies on PATH: the test starts a known server). Otherwise both are built with
 * `CGO_ENABLED=0 go install go.temporal.io/server/cmd/server@v<VERSION>
 * go.temporal.io/server/cmd/tools/sql@v<VERSION>` (the release's go.mod has no replace directive, so
 * `go install pkg@version` works; it needs Go >= 1.25) into a temporary folder, then renamed into
 * `<repo>/.tools/bin` under the names Temporal's release archives use. The schema files
 * (`schema/postgresql/v12/{temporal,visibility}`) ship in the same module: they are copied from
 * Go's module cache to `<repo>/.tools/temporal-schema/<VERSION>/`, so starting a cluster needs no Go.
 * Writes nothing outside `<repo>/.tools/` (and Go's own caches).
 */
import { cpSync, existsSync, renameSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { TOOLS_DIR, ensureGoTools, fail as failWith, installOnce, lastLines, run } from './lib/tools.mjs';

/** The Temporal server release, and its Go module. */
export const TEMPORAL_SERVER_VERSION = '1.29.1';
const MODULE = 'go.temporal.io/server';
/** Installed name → package of the module it is built from. */
const TOOLS = { 'temporal-server': 'cmd/server', 'temporal-sql-tool': 'cmd/tools/sql' };
/** `<repo>/.tools/temporal-schema/<version>`: holds `postgresql/v12/{temporal,visibility}`. */
const SCHEMA_DIR = join(TOOLS_DIR, 'temporal-schema', TEMPORAL_SERVER_VERSION);

const LABEL = 'maestro temporal-cluster';
const fail = (message) => failWith(LABEL, message);

/** The version `<bin> --version` reports (`temporal version 1.29.1`), or undefined. */
function versionOf(bin) {
  const result = run(bin, ['--version']);
  if (!result.ok) return undefined;
  return / version (\S+)/.exec(result.output)?.[1];
}

function requireGo() {
  if (!run('go', ['version']).ok) {
    fail(`Temporal server ${TEMPORAL_SERVER_VERSION} is missing from .tools and cannot be built: install Go >= 1.25 (https://go.dev/dl).`);
  }
}


/** Copies the module's PostgreSQL schemas (from Go's module cache, downloading the module if needed). */
function installSchema() {
  requireGo();
  const download = run('go', ['mod', 'download', '-json', `${MODULE}@v${TEMPORAL_SERVER_VERSION}`]);
  if (!download.ok) fail(`go mod download ${MODULE}@v${TEMPORAL_SERVER_VERSION} failed:\n${lastLines(download.output)}`);
  const moduleDir = JSON.parse(download.output).Dir;
  const source = join(moduleDir, 'schema', 'postgresql', 'v12');
  if (!existsSync(source)) fail(`${source} is missing from the module`);
  const staging = `${SCHEMA_DIR}.partial`;
  rmSync(staging, { recursive: true, force: true });
  cpSync(source, join(staging, 'postgresql', 'v12'), { recursive: true });
  // Go's module cache is read-only: let a later install remove the copy.
  run('chmod', ['-R', 'u+w', staging]);
  rmSync(SCHEMA_DIR, { recursive: true, force: true });
  renameSync(staging, SCHEMA_DIR);
}

/** Finds or installs the server, the SQL tool and the schemas; returns their paths. */
export function ensureTemporalCluster() {
  const { 'temporal-server': server, 'temporal-sql-tool': sqlTool } = ensureGoTools({
    label: LABEL,
    what: `Temporal server ${TEMPORAL_SERVER_VERSION} and temporal-sql-tool`,
    tools: Object.fromEntries(Object.entries(TOOLS).map(([tool, pkg]) => [tool, `${MODULE}/${pkg}@v${TEMPORAL_SERVER_VERSION}`])),
    isWanted: (bin) => versionOf(bin) === TEMPORAL_SERVER_VERSION,
    minGo: '1.25',
  });
  installOnce({
    label: LABEL,
    name: 'temporal-schema',
    installed: () => existsSync(join(SCHEMA_DIR, 'postgresql', 'v12', 'visibility', 'versioned')),
    install: installSchema,
  });
  return { server, sqlTool, schemaDir: join(SCHEMA_DIR, 'postgresql', 'v12') };
}

function main() {
  const command = process.argv[2] ?? 'install';
  if (command !== 'install') fail(`unknown command "${command}" (install)`);
  const { server, sqlTool, schemaDir } = ensureTemporalCluster();
  console.log(`maestro temporal-cluster: temporal-server = ${server}, temporal-sql-tool = ${sqlTool}, schemas in ${schemaDir} (${TEMPORAL_SERVER_VERSION})`);
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) main();
