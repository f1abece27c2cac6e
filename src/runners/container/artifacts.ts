import { createHash } from 'node:crypto';
import { lstat, readFile, readdir } from 'node:fs/promises';
import { join, relative, sep } from 'node:path';
import { TaskError } from '../../errors/index.js';
import type { ArtifactStore } from '../../store/index.js';
import type { CollectedArtifact } from '../workload.js';

/**
 * Hashes every regular file under `dir` (symbolic links are skipped: a workload must not make
 * the worker read its own files) and, with a store, stores it.
 *
 * @throws TaskError `TASK_FAILED` (not retryable) when the files exceed `maxBytes` in all.
 */
export async function collectArtifacts(dir: string, store: ArtifactStore | undefined, maxBytes: number): Promise<CollectedArtifact[]> {
  const files = await regularFiles(dir);
  const collected: CollectedArtifact[] = [];
  let total = 0;
  for (const file of files.sort()) {
    const data = await readFile(file);
    total += data.byteLength;
    checkArtifactsSize(total, maxBytes);
    collected.push(await artifactEntry(relative(dir, file).split(sep).join('/'), data, store));
  }
  return collected;
}

/** Hashes one artifact and, with a store, stores it. */
export async function artifactEntry(path: string, data: Uint8Array, store: ArtifactStore | undefined): Promise<CollectedArtifact> {
  const entry: CollectedArtifact = { path, sha256: createHash('sha256').update(data).digest('hex'), size: data.byteLength };
  if (store) entry.uri = (await store.put(data)).$artifact.uri;
  return entry;
}

/** @throws TaskError `TASK_FAILED` (not retryable) when `total` bytes exceed `maxBytes`. */
export function checkArtifactsSize(total: number, maxBytes: number): void {
  if (total > maxBytes) throw new TaskError(`artifacts exceed ${maxBytes} bytes`, { code: 'TASK_FAILED', retryable: false, details: { maxBytes } });
}

async function regularFiles(dir: string): Promise<string[]> {
  const found: string[] = [];
  for (const entry of await readdir(dir, { withFileTypes: true })) {
    const path = join(dir, entry.name);
    const stat = await lstat(path);
    if (stat.isDirectory()) found.push(...(await regularFiles(path)));
    else if (stat.isFile()) found.push(path);
  }
  return found;
}
