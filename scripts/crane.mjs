#!/usr/bin/env node
/**
 * crane, go-containerregistry's registry tool, for Maestro's image-signature tests and benchmark:
 * its `crane registry serve` is the OCI registry the test set-up starts (test/peers/registry.ts),
 * and `crane push` loads test images into it. Idempotent, and instant when the binary is there.
 *
 *   node scripts/crane.mjs [install]   ensure the binary, print its path
 *
 * `<repo>/.tools/bin/crane` when it reports the pinned version; otherwise it is built with
 * `go install github.com/google/go-containerregistry/cmd/crane@v<CRANE_VERSION>` (CGO off) through
 * the shared `ensureGoTools`, the version stamped the way the module's release build does. Writes
 * nothing outside `<repo>/.tools/`.
 */
import { fileURLToPath } from 'node:url';
import { ensureGoTools, fail as failWith, run } from './lib/tools.mjs';

/** The go-containerregistry release, and crane's package in it. */
export const CRANE_VERSION = '0.22.1';
const CRANE_PACKAGE = 'github.com/google/go-containerregistry/cmd/crane';

const LABEL = 'maestro crane';

/** True when `bin` reports the pinned version (`crane version` prints it bare). */
const isWanted = (bin) => {
  const result = run(bin, ['version']);
  return result.ok && result.output.trim() === `v${CRANE_VERSION}`;
};

/** Finds or installs crane; returns its path. */
export function ensureCrane() {
  return ensureGoTools({
    label: LABEL,
    what: `crane ${CRANE_VERSION}`,
    tools: { crane: `${CRANE_PACKAGE}@v${CRANE_VERSION}` },
    // Without it a go-installed crane reports "(devel)"; the release build stamps it the same way.
    flags: [`-ldflags=-s -w -X github.com/google/go-containerregistry/cmd/crane/cmd.Version=v${CRANE_VERSION}`],
    isWanted,
    minGo: '1.24',
  }).crane;
}

function main() {
  const command = process.argv[2] ?? 'install';
  if (command !== 'install') failWith(LABEL, `unknown command "${command}" (install)`);
  console.log(ensureCrane());
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) main();
