/**
 * Result types of CEL's standard operators and functions (the set `celEnv()` of @bufbuild/cel
 * provides), given their argument types. Each rule returns the result type, or a problem message
 * when no overload accepts the arguments.
 */
import { isNumeric, join, mayBe, T, typeName, type CelType } from './cel-types.js';

/** A result type, or why the arguments do not fit. */
export type Typing = { type: CelType } | { problem: string };

/** How a call is written: a global function, or a method on a receiver (`s.contains(x)`). */
export type CallStyle = 'function' | 'method';

const ok = (type: CelType): Typing => ({ type });
const fail = (problem: string): Typing => ({ problem });

/** The operator as people write it: `_==_` → `==`, `!_` → `!`, `@in` → `in`. */
export function operatorName(fn: string): string {
  if (fn === '@in') return 'in';
  if (fn === '_[_]') return '[]';
  return fn.replace(/^_/, '').replace(/_$/, '');
}

const ORDERED = ['string', 'bytes', 'bool', 'timestamp', 'duration'] as const;

/** `<`, `<=`, `>`, `>=`: numbers with numbers (int, uint and double mix), else the same type. */
function ordering(op: string, a: CelType, b: CelType): Typing {
  if (a.kind === 'dyn' || b.kind === 'dyn') {
    const known = a.kind === 'dyn' ? b : a;
    return known.kind === 'dyn' || isNumeric(known) || mayBe(known, ...ORDERED) ? ok(T.bool) : fail(`"${op}" cannot order ${typeName(known)} values`);
  }
  if ((isNumeric(a) && isNumeric(b)) || (a.kind === b.kind && mayBe(a, ...ORDERED))) return ok(T.bool);
  return fail(`"${op}" cannot compare ${typeName(a)} with ${typeName(b)}`);
}

/** `==`, `!=`: the same type, any two numbers, or null with anything. */
function equality(op: string, a: CelType, b: CelType): Typing {
  if (mayBe(a, 'null') || mayBe(b, 'null') || a.kind === b.kind || (isNumeric(a) && isNumeric(b))) return ok(T.bool);
  return fail(`"${op}" cannot compare ${typeName(a)} with ${typeName(b)}`);
}

const ARITHMETIC: Record<string, CelType['kind'][]> = {
  '+': ['int', 'uint', 'double', 'string', 'bytes', 'list', 'timestamp', 'duration'],
  '-': ['int', 'uint', 'double', 'timestamp', 'duration'],
  '*': ['int', 'uint', 'double'],
  '/': ['int', 'uint', 'double'],
  '%': ['int', 'uint'],
};

/** `+ - * / %`: CEL does not mix numeric types in arithmetic (`1 + 1.0` has no overload). */
function arithmetic(op: string, a: CelType, b: CelType): Typing {
  const kinds = ARITHMETIC[op] ?? [];
  if (a.kind === 'dyn' || b.kind === 'dyn') {
    const known = a.kind === 'dyn' ? b : a;
    if (known.kind === 'dyn') return ok(T.dyn);
    if (!kinds.includes(known.kind)) return fail(`"${op}" cannot be applied to ${typeName(known)}`);
    return ok(mayBe(known, 'int', 'uint', 'double', 'string', 'bytes') ? known : T.dyn);
  }
  if (a.kind === b.kind && kinds.includes(a.kind) && a.kind !== 'timestamp') return ok(join(a, b));
  const pair = `${a.kind},${b.kind}`;
  if (op === '+' && (pair === 'timestamp,duration' || pair === 'duration,timestamp')) return ok(T.timestamp);
  if (op === '-' && pair === 'timestamp,timestamp') return ok(T.duration);
  if (op === '-' && pair === 'timestamp,duration') return ok(T.timestamp);
  const hint = isNumeric(a) && isNumeric(b) ? ' (CEL does not mix numeric types: write 2.0 for a double, or convert with double(...) or int(...))' : '';
  return fail(`"${op}" cannot be applied to ${typeName(a)} and ${typeName(b)}${hint}`);
}

/** Argument types each conversion function accepts. */
const CONVERSIONS: Record<string, { result: CelType; from: CelType['kind'][] }> = {
  int: { result: T.int, from: ['int', 'uint', 'double', 'string', 'timestamp', 'duration'] },
  uint: { result: T.uint, from: ['uint', 'int', 'double', 'string'] },
  double: { result: T.double, from: ['double', 'int', 'uint', 'string'] },
  bool: { result: T.bool, from: ['bool', 'string'] },
  bytes: { result: T.bytes, from: ['bytes', 'string'] },
  string: { result: T.string, from: ['string', 'bool', 'int', 'uint', 'double', 'bytes', 'timestamp', 'duration'] },
  timestamp: { result: T.timestamp, from: ['timestamp', 'string', 'int'] },
  duration: { result: T.duration, from: ['duration', 'string', 'int'] },
};

const STRING_METHODS = new Set(['contains', 'startsWith', 'endsWith', 'matches']);
const TIME_GETTERS = new Set([
  'getFullYear',
  'getMonth',
  'getDate',
  'getDayOfMonth',
  'getDayOfWeek',
  'getDayOfYear',
  'getHours',
  'getMinutes',
  'getSeconds',
  'getMilliseconds',
]);

function arity(fn: string, args: CelType[], count: number): Typing | undefined {
  return args.length === count ? undefined : fail(`${fn}() takes ${count} argument${count === 1 ? '' : 's'}, got ${args.length}`);
}

/**
 * Types a call whose arguments are already typed. For methods, `args[0]` is the receiver.
 * `&&`, `||`, `?:` and `[]` are typed by the checker itself.
 */
export function typeCall(fn: string, style: CallStyle, args: CelType[]): Typing {
  const op = operatorName(fn);
  const [a = T.dyn, b = T.dyn] = args;
  switch (fn) {
    case '!_':
      return mayBe(a, 'bool') ? ok(T.bool) : fail(`"!" needs a bool, got ${typeName(a)}`);
    case '-_':
      return mayBe(a, 'int', 'double') ? ok(a) : fail(`"-" cannot negate ${typeName(a)}`);
    case '_==_':
    case '_!=_':
      return equality(op, a, b);
    case '_<_':
    case '_<=_':
    case '_>_':
    case '_>=_':
      return ordering(op, a, b);
    case '_+_':
    case '_-_':
    case '_*_':
    case '_/_':
    case '_%_':
      return arithmetic(op, a, b);
    case '@in':
      return mayBe(b, 'list', 'map') ? ok(T.bool) : fail(`"in" needs a list or map on its right, got ${typeName(b)}`);
    case '@not_strictly_false':
      return ok(T.bool);
    case 'size': {
      // The receiver of `x.size()` is its only argument, as for `size(x)`.
      if (args.length !== 1) return fail(`size() takes 1 argument, got ${args.length}`);
      return mayBe(a, 'string', 'bytes', 'list', 'map') ? ok(T.int) : fail(`size() needs a string, bytes, list or map, got ${typeName(a)}`);
    }
    case 'type':
    case 'dyn':
      return arity(fn, args, 1) ?? ok(fn === 'type' ? T.type : T.dyn);
  }
  const conversion = style === 'function' ? CONVERSIONS[fn] : undefined;
  if (conversion) {
    return (
      arity(fn, args, 1) ??
      (mayBe(a, ...conversion.from) ? ok(conversion.result) : fail(`${fn}() cannot convert ${typeName(a)}`))
    );
  }
  if (style === 'method' && STRING_METHODS.has(fn)) {
    if (args.length !== 2) return fail(`${fn}() takes 1 argument, got ${args.length - 1}`);
    if (!mayBe(a, 'string')) return fail(`${fn}() is a string method, not one of ${typeName(a)}`);
    return mayBe(b, 'string') ? ok(T.bool) : fail(`${fn}() needs a string argument, got ${typeName(b)}`);
  }
  if (style === 'method' && TIME_GETTERS.has(fn)) {
    return mayBe(a, 'timestamp', 'duration') ? ok(T.int) : fail(`${fn}() is a timestamp method, not one of ${typeName(a)}`);
  }
  return fail(`unknown function "${fn}"`);
}
