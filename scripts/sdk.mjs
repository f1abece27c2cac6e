#!/usr/bin/env node
/**
 * Builds what `npm pack` ships of the task SDK (`@summit/maestro/sdk`; package.json runs it as
 * `prepack`): `src/sdk/index.ts` and only what it imports (src/errors, src/ir's types and value
 * helpers, src/egress) compiled by `tsconfig.sdk.json` into `lib/` as JavaScript and `.d.ts`,
 * the files package.json `exports["./sdk"]` names. `lib/` is git-ignored and rebuilt from
 * scratch, so a file removed from the sources never ships.
 *
 *   node scripts/sdk.mjs
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, renameSync, rmSync } from 'node:fs';
import { createRequire } from 'node:module';
import { join } from 'node:path';
import { REPO_ROOT } from './lib/tools.mjs';

const started = Date.now();
const lib = join(REPO_ROOT, 'lib');
// Built beside it, then swapped in: another `npm pack` of this checkout (the release test beside
// the package test) never finds lib/ missing or half written.
const building = mkdtempSync(join(REPO_ROOT, '.lib-build-'));
const tsc = createRequire(import.meta.url).resolve('typescript/bin/tsc');
const result = spawnSync(process.execPath, [tsc, '-p', join(REPO_ROOT, 'tsconfig.sdk.json'), '--outDir', building], { cwd: REPO_ROOT, stdio: 'inherit' });
if (result.status !== 0) {
  rmSync(building, { recursive: true, force: true });
  console.error('maestro sdk: tsc -p tsconfig.sdk.json failed');
  process.exit(result.status ?? 1);
}
for (;;) {
  const old = `${building}-old`;
  try {
    renameSync(lib, old);
  } catch (error) {
    if (error.code !== 'ENOENT') throw error;
  }
  try {
    renameSync(building, lib);
    rmSync(old, { recursive: true, force: true });
    break;
  } catch (error) {
    // A concurrent build swapped its lib/ in between: move that one aside too, and try again.
    if (error.code !== 'ENOTEMPTY' && error.code !== 'EEXIST') throw error;
    rmSync(old, { recursive: true, force: true });
  }
}
console.log(`maestro sdk: built lib/ in ${((Date.now() - started) / 1000).toFixed(1)} s`);
