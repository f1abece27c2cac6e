/**
 * Reading a manifest file from disk.
 */
import { readFile } from 'node:fs/promises';
import { NotFoundError } from '../errors/index.js';
import { parseManifest, type ParseManifestOptions } from './parse.js';
import type { Manifest } from './types.js';

/**
 * Reads and parses a manifest file (see {@link parseManifest}); issues are reported under `path`.
 *
 * @throws NotFoundError when the file does not exist.
 * @throws ManifestError when the manifest is invalid.
 */
export async function loadManifestFile(path: string, options: ParseManifestOptions): Promise<Manifest> {
  let source: string;
  try {
    source = await readFile(path, 'utf8');
  } catch (error) {
    if (error instanceof Error && 'code' in error && error.code === 'ENOENT') {
      throw new NotFoundError(`manifest file not found: ${path}`, { cause: error });
    }
    throw error;
  }
  return parseManifest(source, path, options);
}
