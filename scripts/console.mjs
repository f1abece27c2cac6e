#!/usr/bin/env node
/**
 * Builds the operator console (`console/`, React + Vite) into `console/dist`, which the API serves
 * at `/console/`. Idempotent: skipped when `console/dist/revision` names the current revision —
 * `sha256:` of the console's sources, the IR types they import (src/ir) and the versions of the
 * build's packages — so `npm start` and `npm test` pay ~0.1 s once it is built.
 *
 *   node scripts/console.mjs            build if stale
 *   node scripts/console.mjs --force    build anyway
 *
 * Writes nothing outside `console/dist/` (git-ignored).
 */
import { existsSync, readFileSync, readdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { REPO_ROOT, filesRevision } from './lib/tools.mjs';

const CONSOLE_DIR = join(REPO_ROOT, 'console');
const OUT_DIR = join(CONSOLE_DIR, 'dist');
const STAMP = join(OUT_DIR, 'revision');
/** Source trees the bundle is made of. */
const SOURCES = [CONSOLE_DIR, join(REPO_ROOT, 'src', 'ir')];
/** Packages whose versions change the bundle. */
const PACKAGES = ['vite', '@vitejs/plugin-react', 'react', 'react-dom', '@xyflow/react', 'elkjs'];

/** Files under `dir`, sorted, without the build output, dependencies and tests. */
function sourceFiles(dir) {
  return readdirSync(dir, { withFileTypes: true })
    .flatMap((entry) => {
      const path = join(dir, entry.name);
      if (entry.isDirectory()) return path === OUT_DIR || entry.name === 'node_modules' ? [] : sourceFiles(path);
      return /\.test\.tsx?$/.test(entry.name) ? [] : [path];
    })
    .sort();
}

/** `sha256:` over each source's path and content and each build package's version. */
export function consoleRevision() {
  // Versions read from package.json directly: some packages do not export it to require().
  const versions = PACKAGES.map((name) => `${name}@${JSON.parse(readFileSync(join(REPO_ROOT, 'node_modules', name, 'package.json'), 'utf8')).version}`);
  return filesRevision(SOURCES.flatMap((dir) => sourceFiles(dir)), REPO_ROOT, versions);
}

/** Builds unless up to date (or `force`); returns whether it built. */
export async function buildConsole({ force = false } = {}) {
  const revision = consoleRevision();
  if (!force && existsSync(join(OUT_DIR, 'index.html')) && existsSync(STAMP) && readFileSync(STAMP, 'utf8').trim() === revision) {
    console.log(`maestro console: console/dist up to date (${revision.slice(0, 19)}…)`);
    return false;
  }
  const started = Date.now();
  // Imported here: the up-to-date check above must not pay for loading Vite.
  const { build } = await import('vite');
  await build({ root: CONSOLE_DIR, logLevel: 'warn', configFile: join(CONSOLE_DIR, 'vite.config.ts') });
  writeFileSync(STAMP, `${revision}\n`);
  console.log(`maestro console: built console/dist in ${((Date.now() - started) / 1000).toFixed(1)} s (${revision.slice(0, 19)}…)`);
  return true;
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  buildConsole({ force: process.argv.includes('--force') }).catch((error) => {
    console.error(`maestro console: the build failed: ${error instanceof Error ? error.message : String(error)}`);
    process.exit(1);
  });
}
