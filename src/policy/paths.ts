/**
 * Where the policy's build output and the OPA binary are.
 */
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { findTool } from '../config/index.js';

const REPO_ROOT = join(dirname(fileURLToPath(import.meta.url)), '..', '..');

/** The wasm bundle `npm start` / `npm test` build from policies/ (scripts/opa.mjs). */
export function defaultBundlePath(): string {
  return join(REPO_ROOT, 'dist', 'policy', 'bundle.wasm.tar.gz');
}

/** The same policy as a Rego bundle, for `opa run --server --bundle`. */
export function defaultServerBundlePath(): string {
  return join(REPO_ROOT, 'dist', 'policy', 'bundle.tar.gz');
}

/**
 * The OPA binary: `configured` (`MAESTRO_OPA_BIN`), else `opa` on PATH, else `.tools/bin/opa` —
 * the order scripts/opa.mjs installs and looks in.
 *
 * @throws {ConfigError} `TOOL_MISSING` with the command that installs it.
 */
export function resolveOpaBin(configured?: string, path = process.env.PATH ?? ''): string {
  return findTool({ name: 'opa', configured, setting: 'MAESTRO_OPA_BIN', install: 'run `npm run policy` (builds it with Go into .tools/bin)', path });
}
