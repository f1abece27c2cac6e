import { realpath } from 'node:fs/promises';
import { resolve, sep } from 'node:path';

/** The real paths of the roots (config `fileRoots`); roots that do not exist are left out. */
export async function realRoots(roots: readonly string[]): Promise<string[]> {
  const found = await Promise.all(roots.map((root) => realpath(resolve(root)).then((real) => real, () => undefined)));
  return found.filter((root): root is string => root !== undefined);
}

/** True when the real path `real` is one of `roots` or lies under one. */
export function isInsideRoots(roots: readonly string[], real: string): boolean {
  return roots.some((root) => real === root || real.startsWith(root.endsWith(sep) ? root : `${root}${sep}`));
}
