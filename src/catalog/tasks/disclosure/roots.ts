import { realpath } from 'node:fs/promises';
import { dirname, isAbsolute, relative, resolve, sep } from 'node:path';
import { TaskError } from '../../../sdk/index.js';

/** A path checked against the allowed roots: where it really is, and its name inside its root. */
export interface RootedPath {
  /** The real path (symlinks resolved). */
  real: string;
  /** Path relative to the root that holds it, with `/` separators. */
  name: string;
}

function refused(path: string, reason: string): TaskError {
  return new TaskError(`${path}: ${reason}`, { code: 'POLICY_DENIED', retryable: false, details: { path } });
}

function inside(root: string, real: string): string | undefined {
  const rel = relative(root, real);
  return rel !== '' && !rel.startsWith('..') && !isAbsolute(rel) ? rel.split(sep).join('/') : undefined;
}

/** The real paths of the roots; roots that do not exist are left out. */
export async function realRoots(roots: readonly string[]): Promise<string[]> {
  const found = await Promise.all(roots.map((root) => realpath(resolve(root)).then((real) => real, () => undefined)));
  return found.filter((root): root is string => root !== undefined);
}

/**
 * Resolves an existing file (relative paths against the first root) and checks that its real path
 * (after symlinks) lies inside one of `roots`.
 *
 * @throws TaskError `POLICY_DENIED` when it does not; `TASK_INPUT_INVALID` when it does not exist.
 */
export async function rootedFile(path: string, roots: string[]): Promise<RootedPath> {
  const absolute = resolve(roots[0] ?? '/', path);
  let real: string;
  try {
    real = await realpath(absolute);
  } catch (error) {
    throw new TaskError(`${path}: no such file`, { code: 'TASK_INPUT_INVALID', retryable: false, cause: error, details: { path } });
  }
  for (const root of roots) {
    const name = inside(root, real);
    if (name !== undefined) return { real, name };
  }
  throw refused(path, 'is outside the folders file tasks may read (MAESTRO_FILE_ROOTS)');
}

/**
 * Resolves where a new file goes: its folder must exist and lie (after symlinks) inside a root.
 *
 * @throws TaskError `POLICY_DENIED` when it does not.
 */
export async function rootedOutput(path: string, roots: string[]): Promise<string> {
  const absolute = resolve(roots[0] ?? '/', path);
  const folder = await realpath(dirname(absolute)).catch((error: unknown) => {
    throw new TaskError(`${path}: its folder does not exist`, { code: 'TASK_INPUT_INVALID', retryable: false, cause: error, details: { path } });
  });
  const real = resolve(folder, absolute.slice(dirname(absolute).length + 1));
  if (!roots.some((root) => inside(root, real) !== undefined)) throw refused(path, 'is outside the folders file tasks may write (MAESTRO_FILE_ROOTS)');
  return real;
}
