import { accessSync, constants } from 'node:fs';
import { delimiter, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { ConfigError } from '../errors/index.js';

/** `<repo>/.tools/bin`, where the project's scripts install the tools it needs (git-ignored). */
export const TOOLS_BIN = join(fileURLToPath(new URL('../../', import.meta.url)), '.tools', 'bin');

/** Options of {@link findTool}. */
export interface FindToolOptions {
  /** Executable name looked up on PATH and in {@link TOOLS_BIN}, e.g. `temporal`. */
  name: string;
  /** An explicitly configured path, which must be executable; wins over every other place. */
  configured?: string | undefined;
  /** The setting `configured` came from, for the error message (e.g. `MAESTRO_TEMPORAL_BIN`). */
  setting: string;
  /** The one-line fix printed when the tool is nowhere, e.g. "run `npm run tools`". */
  install: string;
  /** @default process.env.PATH */
  path?: string;
}

/**
 * Finds a tool the way the project's install scripts place it: the configured path, else `name` on
 * PATH, else `.tools/bin/<name>`.
 *
 * @throws {ConfigError} `TOOL_MISSING` naming the fix when the tool is nowhere.
 */
export function findTool({ name, configured, setting, install, path = process.env.PATH ?? '' }: FindToolOptions): string {
  if (configured) {
    if (isExecutable(configured)) return configured;
    throw new ConfigError(`${setting}=${configured} is not an executable file`, { code: 'TOOL_MISSING' });
  }
  const candidates = [...path.split(delimiter).filter(Boolean).map((dir) => join(dir, name)), join(TOOLS_BIN, name)];
  const found = candidates.find(isExecutable);
  if (found) return found;
  throw new ConfigError(`${name} is not installed: ${install}, or put \`${name}\` on PATH, or set ${setting}.`, { code: 'TOOL_MISSING' });
}

function isExecutable(file: string): boolean {
  try {
    accessSync(file, constants.X_OK);
    return true;
  } catch {
    // Missing or not executable: the caller looks in the next place.
    return false;
  }
}
