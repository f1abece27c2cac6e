/**
 * Reading a manifest file from disk.
 */
import { readFile, stat } from 'node:fs/promises';
import { MaestroError, NotFoundError } from '../errors/index.js';
import { MAX_MANIFEST_BYTES, parseManifest, type ParseManifestOptions } from './parse.js';
import type { Manifest } from './types.js';

/**
 * Reads and parses a manifest file (see {@link parseManifest}); issues are reported under `path`.
 *
 * @throws NotFoundError when the file does not exist.
 * @throws ManifestError when the manifest is invalid.
 * @throws MaestroError `PAYLOAD_TOO_LARGE` for a file over `MAX_MANIFEST_BYTES`, before reading it.
 */
export async function loadManifestFile(path: string, options: ParseManifestOptions): Promise<Manifest> {
  return parseManifest(await readManifestText(path), path, options);
}

/**
 * A manifest file's text.
 * @throws NotFoundError when there is no such file.
 * @throws MaestroError `PAYLOAD_TOO_LARGE` for a file over `MAX_MANIFEST_BYTES`, before reading it.
 */
export async function readManifestText(path: string): Promise<string> {
  try {
    const { size } = await stat(path);
    if (size > MAX_MANIFEST_BYTES) throw new MaestroError('PAYLOAD_TOO_LARGE', `${path}: the manifest takes ${size} bytes, more than the limit of ${MAX_MANIFEST_BYTES}`);
    return await readFile(path, 'utf8');
  } catch (error) {
    if (error instanceof Error && 'code' in error && error.code === 'ENOENT') {
      throw new NotFoundError(`manifest file not found: ${path}`, { cause: error });
    }
    throw error;
  }
}
