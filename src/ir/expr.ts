/**
 * Evaluation of CEL expressions and `${...}` templates against a run's bindings. Pure and
 * deterministic: the interpreter calls it inside the workflow sandbox.
 */
import { celEnv, isCelList, isCelMap, isCelUint, parse, plan, type CelInput } from '@bufbuild/cel';
import { parseTemplate } from './template.js';

/**
 * What an expression can see: `params`, `tasks.<id>.outputs`, inside forEach `item` and `index`,
 * and in a runbook's `params` mapping `inputs`.
 */
export interface ExpressionBindings {
  params: Record<string, unknown>;
  tasks: Record<string, { outputs?: unknown; status: string }>;
  item?: unknown;
  index?: number;
  /** A runbook trigger's inputs. @default undefined — not bound */
  inputs?: Record<string, unknown>;
}

/** An expression that failed to evaluate (missing field, no matching overload, ...). */
export class ExpressionError extends Error {
  constructor(
    message: string,
    readonly expression: string,
  ) {
    super(message);
    this.name = 'ExpressionError';
  }
}

const env = celEnv();
type Program = ReturnType<typeof plan>;
/**
 * Planned programs by expression text, shared by every run in the worker (a pure function of the
 * text, so sharing cannot change an outcome). Bounded: cleared when full.
 */
const programs = new Map<string, Program>();
const MAX_PROGRAMS = 10_000;

function program(expression: string): Program {
  let compiled = programs.get(expression);
  if (!compiled) {
    compiled = plan(env, parse(expression));
    if (programs.size >= MAX_PROGRAMS) programs.clear();
    programs.set(expression, compiled);
  }
  return compiled;
}

/**
 * Evaluates one CEL expression and returns plain JSON: CEL ints become numbers, lists arrays,
 * maps objects. `integerParams` names the integer params (and inputs), which CEL sees as ints.
 *
 * @throws ExpressionError when evaluation fails.
 */
export function evaluate(expression: string, bindings: ExpressionBindings, integerParams: ReadonlySet<string> = new Set()): unknown {
  const input: Record<string, unknown> = { params: withIntegers(bindings.params, integerParams), tasks: bindings.tasks };
  if (bindings.inputs !== undefined) input.inputs = withIntegers(bindings.inputs, integerParams);
  if ('item' in bindings) input.item = bindings.item ?? null;
  if (bindings.index !== undefined) input.index = BigInt(bindings.index);
  let result: unknown;
  try {
    result = program(expression)(input as Record<string, CelInput>);
  } catch (error) {
    throw new ExpressionError(`\${${expression}}: ${(error as Error).message}`, expression);
  }
  if (result instanceof Error) throw new ExpressionError(`\${${expression}}: ${result.message}`, expression);
  return toJson(result);
}

/** The values with those named in `integers` as CEL ints (JSON numbers are CEL doubles otherwise). */
function withIntegers(values: Record<string, unknown>, integers: ReadonlySet<string>): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const [name, value] of Object.entries(values)) {
    out[name] = integers.has(name) && typeof value === 'number' && Number.isInteger(value) ? BigInt(value) : value;
  }
  return out;
}

/** Converts a CEL value to JSON. */
function toJson(value: unknown): unknown {
  if (typeof value === 'bigint') return Number(value);
  if (isCelUint(value)) return Number(value.value);
  if (isCelList(value)) return Array.from(value, toJson);
  if (isCelMap(value)) {
    const out: Record<string, unknown> = {};
    for (const [key, item] of value.entries()) out[String(toJson(key))] = toJson(item);
    return out;
  }
  if (value instanceof Uint8Array) return Array.from(value);
  if (Array.isArray(value)) return value.map(toJson);
  if (value !== null && typeof value === 'object') {
    const out: Record<string, unknown> = {};
    for (const [key, item] of Object.entries(value)) out[key] = toJson(item);
    return out;
  }
  return value;
}

/**
 * Resolves every `${...}` in a JSON value. A string that is exactly one `${expr}` becomes the
 * expression's value with its type; other strings interpolate each value as text.
 */
export function resolveTemplates(value: unknown, bindings: ExpressionBindings, integerParams?: ReadonlySet<string>): unknown {
  if (typeof value === 'string') {
    const parts = parseTemplate(value);
    if (parts.length === 1 && parts[0] && 'expr' in parts[0]) return evaluate(parts[0].expr, bindings, integerParams);
    if (!parts.some((part) => 'expr' in part)) return value;
    return parts
      .map((part) => ('expr' in part ? stringify(evaluate(part.expr, bindings, integerParams)) : part.text))
      .join('');
  }
  if (Array.isArray(value)) return value.map((item) => resolveTemplates(item, bindings, integerParams));
  if (value !== null && typeof value === 'object') {
    const out: Record<string, unknown> = {};
    for (const [key, item] of Object.entries(value)) out[key] = resolveTemplates(item, bindings, integerParams);
    return out;
  }
  return value;
}

function stringify(value: unknown): string {
  if (typeof value === 'string') return value;
  if (value === null || value === undefined) return '';
  return typeof value === 'object' ? JSON.stringify(value) : String(value);
}
