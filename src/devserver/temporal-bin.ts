import { join } from 'node:path';
import { TOOLS_BIN, findTool } from '../config/index.js';

/** Where `npm run tools` (scripts/tools.mjs) installs the Temporal CLI: `<repo>/.tools/bin/temporal`. */
export const TOOLS_TEMPORAL_BIN = join(TOOLS_BIN, 'temporal');

/**
 * Finds the Temporal CLI, in the order scripts/tools.mjs uses (keep the two in step):
 * 1. `configured` — `Config.temporalBin`, from `MAESTRO_TEMPORAL_BIN` — which must be executable;
 * 2. `temporal` on `PATH`;
 * 3. {@link TOOLS_TEMPORAL_BIN}, where `npm run tools` installs it.
 *
 * @throws {ConfigError} `TOOL_MISSING` with a one-line fix when none is found.
 */
export function resolveTemporalBin(configured?: string): string {
  return findTool({
    name: 'temporal',
    configured,
    setting: 'MAESTRO_TEMPORAL_BIN',
    install: 'run `npm run tools` (installs the Temporal CLI into .tools/)',
  });
}
