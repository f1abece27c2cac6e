/**
 * The CEL types the manifest checker reasons about. `dyn` is a type known only at run time and is
 * compatible with everything.
 */
import type { ParameterType } from '../ir/index.js';

/** Kinds of CEL types without parameters. */
export type CelScalarKind = 'dyn' | 'null' | 'bool' | 'int' | 'uint' | 'double' | 'string' | 'bytes' | 'timestamp' | 'duration' | 'type';

/** A CEL type: a scalar, `list(element)` or `map(key, value)`. */
export type CelType =
  | { kind: CelScalarKind }
  | { kind: 'list'; element: CelType }
  | { kind: 'map'; key: CelType; value: CelType };

const scalar = (kind: CelScalarKind): CelType => ({ kind });

/** The common CEL types. */
export const T = {
  dyn: scalar('dyn'),
  null: scalar('null'),
  bool: scalar('bool'),
  int: scalar('int'),
  uint: scalar('uint'),
  double: scalar('double'),
  string: scalar('string'),
  bytes: scalar('bytes'),
  timestamp: scalar('timestamp'),
  duration: scalar('duration'),
  type: scalar('type'),
  list: (element: CelType): CelType => ({ kind: 'list', element }),
  map: (key: CelType, value: CelType): CelType => ({ kind: 'map', key, value }),
} as const;

/** How a parameter of each declared type looks to an expression. */
export function parameterCelType(type: ParameterType): CelType {
  switch (type) {
    case 'string':
    case 'datetime':
      return T.string;
    case 'number':
      return T.double;
    case 'integer':
      return T.int;
    case 'boolean':
      return T.bool;
    case 'object':
      return T.map(T.string, T.dyn);
    case 'array':
      return T.list(T.dyn);
  }
}

/** The type as CEL writes it: `int`, `list(string)`, `map(string, dyn)`. */
export function typeName(type: CelType): string {
  if (type.kind === 'list') return `list(${typeName(type.element)})`;
  if (type.kind === 'map') return `map(${typeName(type.key)}, ${typeName(type.value)})`;
  return type.kind;
}

/** True for int, uint and double. */
export function isNumeric(type: CelType): boolean {
  return type.kind === 'int' || type.kind === 'uint' || type.kind === 'double';
}

/** True when a value of the type may be `kind` at run time (`dyn` may be anything). */
export function mayBe(type: CelType, ...kinds: CelType['kind'][]): boolean {
  return type.kind === 'dyn' || kinds.includes(type.kind);
}

/** The most precise type covering both: the type itself when equal, else `dyn` (element-wise for lists and maps). */
export function join(a: CelType, b: CelType): CelType {
  if (a.kind === 'list' && b.kind === 'list') return T.list(join(a.element, b.element));
  if (a.kind === 'map' && b.kind === 'map') return T.map(join(a.key, b.key), join(a.value, b.value));
  return a.kind === b.kind ? a : T.dyn;
}
