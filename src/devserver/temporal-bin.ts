import { accessSync, constants } from 'node:fs';
import { delimiter, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { ConfigError } from '../errors/index.js';

/** Where `npm run tools` (scripts/tools.mjs) installs the Temporal CLI: `<repo>/.tools/bin/temporal`. */
export const TOOLS_TEMPORAL_BIN = join(fileURLToPath(new URL('../../', import.meta.url)), '.tools', 'bin', 'temporal');

function isExecutable(file: string): boolean {
  try {
    accessSync(file, constants.X_OK);
    return true;
  } catch {
    // Missing or not executable: the caller looks in the next place.
    return false;
  }
}

/**
 * Finds the Temporal CLI, in the order scripts/tools.mjs uses (keep the two in step):
 * 1. `configured` — `Config.temporalBin`, from `MAESTRO_TEMPORAL_BIN` — which must be executable;
 * 2. `temporal` on `PATH`;
 * 3. {@link TOOLS_TEMPORAL_BIN}, where `npm run tools` installs it.
 *
 * @throws {ConfigError} `TOOL_MISSING` with a one-line fix when none is found.
 */
export function resolveTemporalBin(configured?: string): string {
  if (configured !== undefined) {
    if (isExecutable(configured)) return configured;
    throw new ConfigError(`MAESTRO_TEMPORAL_BIN=${configured} is not an executable file`, { code: 'TOOL_MISSING' });
  }
  const onPath = (process.env.PATH ?? '')
    .split(delimiter)
    .filter((dir) => dir !== '')
    .map((dir) => join(dir, 'temporal'))
    .find(isExecutable);
  if (onPath) return onPath;
  if (isExecutable(TOOLS_TEMPORAL_BIN)) return TOOLS_TEMPORAL_BIN;
  throw new ConfigError(
    'The Temporal CLI is not installed: run `npm run tools` (installs it into .tools/), or put `temporal` on PATH, or set MAESTRO_TEMPORAL_BIN.',
    { code: 'TOOL_MISSING' },
  );
}
