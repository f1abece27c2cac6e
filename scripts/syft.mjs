#!/usr/bin/env node
/**
 * Syft, the SBOM scanner of `npm run release` (the container image's CycloneDX SBOM): installs it on
 * first use and prints its path. Idempotent, and instant when the binary is there.
 *
 *   node scripts/syft.mjs [install]   ensure `.tools/bin/syft`, print its path
 *
 * Binary: `<repo>/.tools/bin/syft` when it reports the pinned version (not a copy on PATH: the
 * image SBOM must not change with whatever syft a machine has). Otherwise built with
 * `go install github.com/anchore/syft/cmd/syft@v<SYFT_VERSION>` into `<repo>/.tools/bin`
 * (git-ignored), the version stamped as syft's own release build does so `syft version` reports it.
 * Writes nothing outside `<repo>/.tools/`.
 */
import { fileURLToPath } from 'node:url';
import { ensureGoTools, fail, run } from './lib/tools.mjs';

/** The syft release (and Go module version) the release build uses. */
export const SYFT_VERSION = '1.57.2';
const LABEL = 'maestro syft';

/** The version `syft version` reports (`Version:  1.57.2`), or undefined. */
function versionOf(bin) {
  const result = run(bin, ['version']);
  return result.ok ? /^Version:\s+(\S+)/m.exec(result.output)?.[1] : undefined;
}

const isWanted = (bin) => versionOf(bin) === SYFT_VERSION;

/** Finds or installs `syft`; returns its path. */
export function ensureSyft() {
  return ensureGoTools({
    label: LABEL,
    what: `syft ${SYFT_VERSION}`,
    tools: { syft: `github.com/anchore/syft/cmd/syft@v${SYFT_VERSION}` },
    flags: [`-ldflags=-s -w -X main.version=${SYFT_VERSION}`],
    isWanted,
  }).syft;
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  const command = process.argv[2] ?? 'install';
  if (command !== 'install') fail(LABEL, `unknown command "${command}" (install)`);
  console.log(ensureSyft());
}
