/**
 * Where the policy's build output and the OPA binary are.
 */
import { accessSync, constants } from 'node:fs';
import { delimiter, dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { ConfigError } from '../errors/index.js';

const REPO_ROOT = join(dirname(fileURLToPath(import.meta.url)), '..', '..');

/** The wasm bundle `npm start` / `npm test` build from policies/ (scripts/opa.mjs). */
export function defaultBundlePath(): string {
  return join(REPO_ROOT, 'dist', 'policy', 'bundle.wasm.tar.gz');
}

/** The same policy as a Rego bundle, for `opa run --server --bundle`. */
export function defaultServerBundlePath(): string {
  return join(REPO_ROOT, 'dist', 'policy', 'bundle.tar.gz');
}

function isExecutable(file: string): boolean {
  try {
    accessSync(file, constants.X_OK);
    return true;
  } catch {
    // Not there or not executable: the caller looks elsewhere.
    return false;
  }
}

/**
 * The OPA binary: `configured` (`MAESTRO_OPA_BIN`), else `opa` on PATH, else `.tools/bin/opa` —
 * the order scripts/opa.mjs installs and looks in.
 *
 * @throws {ConfigError} `TOOL_MISSING` with the command that installs it.
 */
export function resolveOpaBin(configured?: string, path = process.env.PATH ?? ''): string {
  if (configured) {
    if (!isExecutable(configured)) throw new ConfigError(`MAESTRO_OPA_BIN=${configured} is not an executable file`, { code: 'TOOL_MISSING' });
    return configured;
  }
  const found = [...path.split(delimiter).filter(Boolean).map((dir) => join(dir, 'opa')), join(REPO_ROOT, '.tools', 'bin', 'opa')].find(isExecutable);
  if (!found) throw new ConfigError('OPA is not installed: run `npm run policy` (builds it with Go into .tools/bin)', { code: 'TOOL_MISSING' });
  return found;
}
