/**
 * JSON paths as the user reads them: `spec.tasks[2].needs[0]`.
 */
import { isRecord } from '../ir/index.js';

/** One step of a path: an object key or an array index. */
export type PathSegment = string | number;

/** A location inside a manifest, as a list of keys and indexes from the root. */
export type Path = readonly PathSegment[];

const PLAIN_KEY = /^[A-Za-z_$][\w$-]*$/;

/**
 * Formats a path for people: dotted keys, bracketed indexes, quoted keys when needed.
 *
 * @example formatPath(['spec', 'tasks', 2, 'needs', 0]) // 'spec.tasks[2].needs[0]'
 * @example formatPath(['spec', 'tasks', 0, 'with', 'a b']) // 'spec.tasks[0].with["a b"]'
 */
export function formatPath(path: Path): string {
  let out = '';
  for (const segment of path) {
    if (typeof segment === 'number') out += `[${segment}]`;
    else if (!PLAIN_KEY.test(segment)) out += `[${JSON.stringify(segment)}]`;
    else out += out === '' ? segment : `.${segment}`;
  }
  return out;
}

/**
 * Converts a JSON Pointer (ajv's `instancePath`) to path segments, reading `data` to tell array
 * indexes from object keys that look like numbers.
 *
 * @example pointerToPath('/spec/tasks/0', { spec: { tasks: [{}] } }) // ['spec', 'tasks', 0]
 */
export function pointerToPath(pointer: string, data: unknown): PathSegment[] {
  if (pointer === '') return [];
  const path: PathSegment[] = [];
  let node = data;
  for (const raw of pointer.slice(1).split('/')) {
    const key = raw.replaceAll('~1', '/').replaceAll('~0', '~');
    if (Array.isArray(node)) {
      const index = Number(key);
      path.push(index);
      node = node[index];
    } else {
      path.push(key);
      node = isRecord(node) ? node[key] : undefined;
    }
  }
  return path;
}

/** The value at `path` inside `value`, or `undefined` when there is none. */
export function valueAt(value: unknown, path: Path): unknown {
  let node = value;
  for (const segment of path) {
    if (typeof segment === 'number') node = Array.isArray(node) ? node[segment] : undefined;
    else node = isRecord(node) ? node[segment] : undefined;
  }
  return node;
}
