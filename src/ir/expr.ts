/**
 * Evaluation of CEL expressions and `${...}` templates against a run's bindings. Pure and
 * deterministic: the interpreter calls it inside the workflow sandbox.
 */
import { CelScalar, celEnv, celFunc, celList, celMap, isCelList, isCelMap, isCelUint, parse, plan, type CelInput } from '@bufbuild/cel';
import { parseTemplate } from './template.js';

/**
 * What an expression can see: `params`, `tasks.<id>.outputs` (`.status`, `.error`), inside forEach `item` and `index`,
 * and in a runbook's `params` mapping `inputs`.
 */
export interface ExpressionBindings {
  params: Record<string, unknown>;
  /** Settled tasks: `error` is `{code, message}` of one that did not succeed, else null. */
  tasks: Record<string, { outputs?: unknown; status: string; error?: { code: string; message: string } | null }>;
  item?: unknown;
  index?: number;
  /** A runbook trigger's inputs. @default undefined — not bound */
  inputs?: Record<string, unknown>;
  /** In `finally` tasks: how the run has ended so far and which tasks failed. @default undefined — not bound */
  run?: { status: string; failedTasks: string[] };
  /** In a schedule's `params`/`inputs`: its id and the scheduled fire time (RFC 3339). @default undefined — not bound */
  schedule?: { id: string; time: string };
  /** A trigger's event (webhook delivery or message): its JSON `body` and lower-cased `headers`. @default undefined — not bound */
  event?: { body: unknown; headers: Record<string, string> };
}

/** Why an expression failed: its evaluation went wrong, or it would cost more than the limit. */
export type ExpressionErrorCode = 'EXPRESSION_FAILED' | 'EXPRESSION_TOO_COSTLY';

/** An expression that failed to evaluate (missing field, no matching overload, over its cost limit, ...). */
export class ExpressionError extends Error {
  constructor(
    message: string,
    readonly expression: string,
    /** @default 'EXPRESSION_FAILED' */
    readonly code: ExpressionErrorCode = 'EXPRESSION_FAILED',
    /** Where in the expression's text the failure is, 1-based (`undefined` when not known). */
    readonly at?: { line: number; column: number },
  ) {
    super(message);
    this.name = 'ExpressionError';
  }
}

/**
 * The most an expression may cost, in cost units: each macro (`all`, `exists`, `map`, `filter`,
 * ...) costs, before it starts, its list's length × the number of nodes of its body (every
 * iteration, as if none stopped early), and each list a `map` or `filter` builds costs its length
 * at each step (building a list of n costs about n²/2). The rest of an expression runs once and
 * is bounded by its text. A constant, not a setting: the interpreter
 * must decide the same way when it replays a run, whatever the worker's configuration. 100,000
 * units take at most ~50 ms on one core (the cheapest iteration, 6 units, takes ~2.5 µs in
 * @bufbuild/cel), so no expression holds the API's or the worker's event loop for long; a `map`
 * builds a list of up to about 440 elements.
 */
export const CEL_COST_LIMIT = 100_000;

/** Options of {@link evaluate} and {@link resolveTemplates}. */
export interface EvaluateOptions {
  /** The cost an evaluation may spend (see {@link CEL_COST_LIMIT}). @default CEL_COST_LIMIT */
  costLimit?: number;
}

/**
 * The cost meter of the evaluation under way. Evaluation is synchronous, so one meter per module
 * (per workflow context in the sandbox) is never shared by two evaluations at once.
 */
const meter = {
  /** Cost units spent so far. */
  spent: 0,
  /** The evaluation's limit. */
  limit: CEL_COST_LIMIT,
  /** Offset in the expression of the macro that would go over the limit, once one has. */
  exceededAt: undefined as number | undefined,
};

/** Inserted names start with `@`, which the CEL grammar does not allow: an expression cannot call them. */
const CHARGE = '@maestro_charge';
const FLATTEN = '@maestro_flatten';

const env = celEnv({
  funcs: [
    // Wraps the list (or map) each macro iterates: charges its whole run — its length × the weight
    // of one iteration — before it starts, so an unaffordable macro never runs. An error stops
    // the comprehension at once, and the meter records where.
    celFunc(CHARGE, [CelScalar.INT, CelScalar.INT, CelScalar.DYN], CelScalar.DYN, (offset, weight, range) => {
      const size = isCelList(range) || isCelMap(range) ? range.size : 0;
      meter.spent += Number(weight) * size;
      if (meter.spent > meter.limit) {
        meter.exceededAt ??= Number(offset);
        throw new Error('over the cost limit');
      }
      return range;
    }),
    // Wraps each step of a macro that builds a list (`map`, `filter`): the list is charged its
    // length and kept flat (@bufbuild/cel chains each `accumulator + [x]` onto the last, so a long
    // list becomes a chain as deep as it is long: quadratic to read and a stack overflow past a
    // few thousand elements).
    celFunc(FLATTEN, [CelScalar.INT, CelScalar.DYN], CelScalar.DYN, (offset, value) => {
      if (!isCelList(value)) return value;
      meter.spent += value.size;
      if (meter.spent > meter.limit) {
        meter.exceededAt ??= Number(offset);
        throw new Error('over the cost limit');
      }
      const flat: CelInput[] = new Array<CelInput>(value.size);
      for (let index = 0; index < value.size; index += 1) flat[index] = value.get(index) as CelInput;
      return celList(flat);
    }),
  ],
});
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
    const parsed = parse(expression);
    if (parsed.expr) meterComprehensions(parsed.expr, parsed.sourceInfo?.positions ?? {}, { next: maxId(parsed.expr) + 1n });
    compiled = plan(env, parsed);
    if (programs.size >= MAX_PROGRAMS) programs.clear();
    programs.set(expression, compiled);
  }
  return compiled;
}

type Expr = NonNullable<ReturnType<typeof parse>['expr']>;

/**
 * The number of nodes of an expression that one evaluation of it visits, loops aside: a nested
 * comprehension counts its range, start and result, since its iterations are charged on their own.
 */
function nodeCount(expr: Expr | undefined): number {
  if (!expr) return 0;
  const kind = expr.exprKind;
  const visited = kind.case === 'comprehensionExpr' ? [kind.value.iterRange, kind.value.accuInit, kind.value.result] : children(expr);
  return visited.reduce((count, child) => count + nodeCount(child), 1);
}

/** The sub-expressions of an expression, in source order. */
function children(expr: Expr): Expr[] {
  const kind = expr.exprKind;
  switch (kind.case) {
    case 'selectExpr':
      return kind.value.operand ? [kind.value.operand] : [];
    case 'callExpr':
      return [...(kind.value.target ? [kind.value.target] : []), ...kind.value.args];
    case 'listExpr':
      return kind.value.elements;
    case 'structExpr':
      return kind.value.entries.flatMap((entry) => [...(entry.keyKind.case === 'mapKey' ? [entry.keyKind.value] : []), ...(entry.value ? [entry.value] : [])]);
    case 'comprehensionExpr': {
      const { iterRange, accuInit, loopCondition, loopStep, result } = kind.value;
      return [iterRange, accuInit, loopCondition, loopStep, result].filter((child): child is Expr => child !== undefined);
    }
    default:
      return [];
  }
}

/**
 * What one iteration of a comprehension is charged, besides the macros inside it: a fixed part
 * (@bufbuild/cel makes a scope for each iteration and converts its element) and its body's nodes.
 */
function iterationWeight(comprehension: Extract<Expr['exprKind'], { case: 'comprehensionExpr' }>['value']): number {
  return ITERATION_BASE_COST + nodeCount(comprehension.loopCondition) + nodeCount(comprehension.loopStep);
}

const ITERATION_BASE_COST = 5;

/**
 * The least an evaluation of a parsed expression is charged whatever the data it reads: a macro
 * over a list or map written in the expression iterates once per element, one over data known
 * only at run time perhaps not at all. The compiler refuses an expression whose least cost is over
 * {@link CEL_COST_LIMIT}: it would fail at every run.
 *
 * @example
 * leastCost(parse('[1, 2, 3].all(x, x > 0)').expr) // 3 iterations × their weight
 */
export function leastCost(expr: Expr | undefined): number {
  if (!expr) return 0;
  const own = children(expr);
  if (expr.exprKind.case !== 'comprehensionExpr') return own.reduce((sum, child) => sum + leastCost(child), 0);
  const { iterRange, accuInit, loopCondition, loopStep, result } = expr.exprKind.value;
  const range = iterRange?.exprKind;
  const iterations = range?.case === 'listExpr' ? range.value.elements.length : range?.case === 'structExpr' ? range.value.entries.length : 0;
  const perIteration = iterationWeight(expr.exprKind.value) + leastCost(loopCondition) + leastCost(loopStep);
  return leastCost(iterRange) + leastCost(accuInit) + leastCost(result) + iterations * perIteration;
}

function maxId(expr: Expr): bigint {
  return children(expr).reduce((max, child) => {
    const id = maxId(child);
    return id > max ? id : max;
  }, expr.id);
}

/**
 * Puts the cost meter into every comprehension (macros arrive expanded into them): the range
 * becomes `@maestro_charge(offset, weight, range)` and, where the accumulator is a list, the step
 * `@maestro_flatten(offset, step)`. Both pass an error through untouched (a call with an error argument
 * is not made), and return their argument otherwise, so no outcome changes below the limit.
 */
function meterComprehensions(expr: Expr, positions: Readonly<Record<string, number>>, ids: { next: bigint }): void {
  for (const child of children(expr)) meterComprehensions(child, positions, ids);
  if (expr.exprKind.case !== 'comprehensionExpr') return;
  const comprehension = expr.exprKind.value;
  const offset = positions[expr.id.toString()] ?? 0;
  if (comprehension.iterRange) {
    const weight = iterationWeight(comprehension);
    comprehension.iterRange = call(ids, CHARGE, [integer(ids, offset), integer(ids, weight), comprehension.iterRange]);
  }
  if (comprehension.loopStep && comprehension.accuInit?.exprKind.case === 'listExpr') comprehension.loopStep = call(ids, FLATTEN, [integer(ids, offset), comprehension.loopStep]);
}

function call(ids: { next: bigint }, name: string, args: Expr[]): Expr {
  return { $typeName: 'cel.expr.Expr', id: ids.next++, exprKind: { case: 'callExpr', value: { $typeName: 'cel.expr.Expr.Call', function: name, args, target: undefined } } } as unknown as Expr;
}

function integer(ids: { next: bigint }, value: number): Expr {
  return { $typeName: 'cel.expr.Expr', id: ids.next++, exprKind: { case: 'constExpr', value: { $typeName: 'cel.expr.Constant', constantKind: { case: 'int64Value', value: BigInt(value) } } } } as unknown as Expr;
}

/** Line and column (1-based) of a character offset of a text. */
function lineAndColumn(text: string, offset: number): { line: number; column: number } {
  const before = text.slice(0, offset);
  const lines = before.split('\n');
  return { line: lines.length, column: (lines.at(-1)?.length ?? 0) + 1 };
}

/**
 * Evaluates one CEL expression and returns plain JSON: CEL ints become numbers, lists arrays,
 * maps objects. `integerParams` names the integer params (and inputs), which CEL sees as ints.
 *
 * @throws ExpressionError when evaluation fails (`EXPRESSION_FAILED`) or would cost more than
 *   `costLimit` (`EXPRESSION_TOO_COSTLY`, at the line and column of the macro that went over).
 */
export function evaluate(expression: string, bindings: ExpressionBindings, integerParams: ReadonlySet<string> = new Set(), { costLimit = CEL_COST_LIMIT }: EvaluateOptions = {}): unknown {
  // As CEL maps once per evaluation: @bufbuild/cel converts a plain object (copying its entries)
  // at every reference to it, so `[tasks.a.outputs.x, tasks.b.outputs.x, ...]` over n tasks cost n².
  const input: Record<string, unknown> = { params: asCelMap(withIntegers(bindings.params, integerParams)), tasks: asCelMap(bindings.tasks) };
  if (bindings.inputs !== undefined) input.inputs = asCelMap(withIntegers(bindings.inputs, integerParams));
  if (bindings.run !== undefined) input.run = bindings.run;
  if (bindings.schedule !== undefined) input.schedule = bindings.schedule;
  if (bindings.event !== undefined) {
    input.body = bindings.event.body ?? null;
    input.headers = asCelMap(bindings.event.headers);
  }
  if ('item' in bindings) input.item = bindings.item ?? null;
  if (bindings.index !== undefined) input.index = BigInt(bindings.index);
  let result: unknown;
  const run = program(expression);
  meter.spent = 0;
  meter.limit = costLimit;
  meter.exceededAt = undefined;
  try {
    result = run(input as Record<string, CelInput>);
  } catch (error) {
    throw new ExpressionError(`\${${expression}}: ${(error as Error).message}`, expression);
  }
  // Checked before the result: `||` and `&&` can absorb the error that stopped the macro.
  if (meter.exceededAt !== undefined) {
    const at = lineAndColumn(expression, meter.exceededAt);
    throw new ExpressionError(
      `\${${expression}}: costs more than the limit of ${costLimit} (the macro at line ${at.line}, column ${at.column} would go over)`,
      expression,
      'EXPRESSION_TOO_COSTLY',
      at,
    );
  }
  if (result instanceof Error) throw new ExpressionError(`\${${expression}}: ${result.message}`, expression);
  return toJson(result);
}

/** A plain object as the CEL map @bufbuild/cel would make of it at each reference (see `toCel`). */
function asCelMap(values: Record<string, unknown>): CelInput {
  return celMap(new Map(Object.entries(values) as [string, CelInput][]));
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
export function resolveTemplates(value: unknown, bindings: ExpressionBindings, integerParams?: ReadonlySet<string>, options?: EvaluateOptions): unknown {
  if (typeof value === 'string') {
    const parts = parseTemplate(value);
    if (parts.length === 1 && parts[0] && 'expr' in parts[0]) return evaluate(parts[0].expr, bindings, integerParams, options);
    if (!parts.some((part) => 'expr' in part)) return value;
    return parts
      .map((part) => ('expr' in part ? stringify(evaluate(part.expr, bindings, integerParams, options)) : part.text))
      .join('');
  }
  if (Array.isArray(value)) return value.map((item) => resolveTemplates(item, bindings, integerParams, options));
  if (value !== null && typeof value === 'object') {
    const out: Record<string, unknown> = {};
    for (const [key, item] of Object.entries(value)) out[key] = resolveTemplates(item, bindings, integerParams, options);
    return out;
  }
  return value;
}

function stringify(value: unknown): string {
  if (typeof value === 'string') return value;
  if (value === null || value === undefined) return '';
  return typeof value === 'object' ? JSON.stringify(value) : String(value);
}
