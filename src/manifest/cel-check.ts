/**
 * A small CEL type checker over @bufbuild/cel's parsed AST (@bufbuild/cel does not export its
 * own checker). It knows what a Maestro expression can see — `params`, `tasks.<id>.outputs`,
 * `tasks.<id>.status`, `tasks.<id>.error`, and in forEach tasks `item` and `index`; in a runbook's `params` mapping,
 * `inputs` alone — and reports undeclared
 * references and operators applied to incompatible known types. `dyn` is compatible with
 * everything, so values known only at run time (task outputs, items) are never rejected.
 */
import { parse } from '@bufbuild/cel';
import { typeCall } from './cel-functions.js';
import { join, mayBe, T, typeName, type CelType } from './cel-types.js';
import { didYouMean } from './suggest.js';

type ParsedExpr = ReturnType<typeof parse>;
type Expr = ParsedExpr['expr'];
type Kind<C extends string> = Extract<Expr['exprKind'], { case: C }>['value'];

/** What an expression may refer to, decided by where it is written. */
export interface CelEnvironment {
  /** Declared parameters (or runbook inputs) and their types. */
  params: ReadonlyMap<string, CelType>;
  /**
   * What an expression calls the declared values: a workflow's `params` (beside `tasks`), or the
   * `inputs` of a runbook's `params` mapping (where no task exists).
   * @default 'params'
   */
  valuesName?: 'params' | 'inputs';
  /** Why `tasks.<id>` may not be read here (unknown, not upstream), or `undefined` when it may. */
  taskProblem(id: string): string | undefined;
  /** Why `item` / `index` may not be used here, or `undefined` when they may. */
  loopProblem(name: 'item' | 'index'): string | undefined;
  /** Whether `run.status` and `run.failedTasks` are bound (in `finally` tasks). @default false */
  run?: boolean;
}

/** A problem found in an expression, at a character offset of the expression's source. */
export interface CelProblem {
  offset: number;
  message: string;
}

/** The outcome of checking one expression. */
export interface CelCheckResult {
  /** The expression's type (`dyn` when known only at run time). */
  type: CelType;
  problems: CelProblem[];
}

/** Names of the namespaces an expression reads from, before they are used as plain values. */
type Namespace = { kind: 'params' } | { kind: 'tasks' } | { kind: 'task'; id: string } | { kind: 'run' };
type Typed = CelType | Namespace;

const TYPE_NAMES = new Set(['bool', 'bytes', 'double', 'dyn', 'int', 'list', 'map', 'null_type', 'string', 'type', 'uint']);
const TASK_FIELDS = ['outputs', 'status', 'error'];
const RUN_FIELDS = ['status', 'failedTasks'];

function isNamespace(typed: Typed): typed is Namespace {
  return typed.kind === 'params' || typed.kind === 'tasks' || typed.kind === 'task' || typed.kind === 'run';
}

/** A namespace used as a value is a map from names to values. */
function asValue(typed: Typed): CelType {
  return isNamespace(typed) ? T.map(T.string, T.dyn) : typed;
}

/**
 * Type-checks a parsed expression.
 *
 * @example
 * checkCel(parse('params.name > 3'), env)
 * // { type: bool, problems: [{ offset: 12, message: '">" cannot compare string with int' }] }
 */
export function checkCel(parsed: ParsedExpr, env: CelEnvironment): CelCheckResult {
  const checker = new Checker(env, parsed.sourceInfo?.positions ?? {});
  const type = checker.value(parsed.expr, new Map());
  return { type, problems: checker.problems };
}

type Scope = ReadonlyMap<string, CelType>;

class Checker {
  readonly problems: CelProblem[] = [];

  constructor(
    private readonly env: CelEnvironment,
    private readonly positions: Readonly<Record<string, number>>,
  ) {}

  /** Records a problem at the expression and returns `dyn`, so that one mistake reports once. */
  private problem(expr: Expr, message: string, offset = this.offset(expr)): CelType {
    this.problems.push({ offset, message });
    return T.dyn;
  }

  private offset(expr: Expr): number {
    return this.positions[expr.id.toString()] ?? 0;
  }

  /** Where an operand such as `tasks.a.outputs` or `params['x']` starts: the parser places it at its last `.` or `[`. */
  private start(expr: Expr): number {
    const kind = expr.exprKind;
    if (kind.case === 'selectExpr' && kind.value.operand) return this.start(kind.value.operand);
    const [operand] = kind.case === 'callExpr' && kind.value.function === '_[_]' ? kind.value.args : [];
    return operand ? this.start(operand) : this.offset(expr);
  }

  value(expr: Expr, scope: Scope): CelType {
    return asValue(this.typed(expr, scope));
  }

  private typed(expr: Expr, scope: Scope): Typed {
    const kind = expr.exprKind;
    switch (kind.case) {
      case 'constExpr':
        return constantType(kind.value);
      case 'identExpr':
        return this.ident(expr, kind.value.name, scope);
      case 'selectExpr': {
        if (!kind.value.operand) return T.dyn;
        const field = this.member(expr, this.typed(kind.value.operand, scope), kind.value.field);
        return kind.value.testOnly ? T.bool : field;
      }
      case 'callExpr':
        return this.call(expr, kind.value, scope);
      case 'listExpr':
        return T.list(joinAll(kind.value.elements.map((element) => this.value(element, scope))));
      case 'structExpr':
        return this.struct(expr, kind.value, scope);
      case 'comprehensionExpr':
        return this.comprehension(kind.value, scope);
      default:
        return T.dyn;
    }
  }

  private ident(expr: Expr, name: string, scope: Scope): Typed {
    const local = scope.get(name);
    if (local) return local;
    const values = this.env.valuesName ?? 'params';
    if (name === values) return { kind: 'params' };
    if (name === 'tasks' && values === 'params') return { kind: 'tasks' };
    if (name === 'run' && values === 'params') {
      return this.env.run ? { kind: 'run' } : this.problem(expr, '"run" is only defined in the tasks of spec.finally');
    }
    if (name === 'item' || name === 'index') {
      const problem = this.env.loopProblem(name);
      if (problem) return this.problem(expr, problem);
      return name === 'item' ? T.dyn : T.int;
    }
    if (TYPE_NAMES.has(name)) return T.type;
    const known = values === 'params' ? ['params', 'tasks', 'item', 'index'] : [values];
    return this.problem(expr, `undeclared reference "${name}"${didYouMean(name, known)}`);
  }

  /** `operand.field`, and `operand['field']` with a constant key. */
  private member(expr: Expr, operand: Typed, field: string): Typed {
    switch (operand.kind) {
      case 'params': {
        const type = this.env.params.get(field);
        const noun = this.env.valuesName === 'inputs' ? 'input' : 'parameter';
        return type ?? this.problem(expr, `undeclared ${noun} "${field}"${didYouMean(field, this.env.params.keys())}`, this.start(expr));
      }
      case 'tasks': {
        const problem = this.env.taskProblem(field);
        return problem ? this.problem(expr, problem, this.start(expr)) : { kind: 'task', id: field };
      }
      case 'task':
        if (field === 'outputs') return T.dyn;
        if (field === 'status') return T.string;
        // `{code, message}` of a task that FAILED, was SKIPPED or CANCELLED; null when it succeeded.
        if (field === 'error') return T.dyn;
        return this.problem(
          expr,
          `tasks.${operand.id} has no field "${field}"; use .outputs, .status or .error${didYouMean(field, TASK_FIELDS)}`,
          this.start(expr),
        );
      case 'run':
        if (field === 'status') return T.string;
        if (field === 'failedTasks') return T.list(T.string);
        return this.problem(expr, `run has no field "${field}"; use .status or .failedTasks${didYouMean(field, RUN_FIELDS)}`, this.start(expr));
      case 'map':
        return operand.value;
      case 'dyn':
        return T.dyn;
      default:
        return this.problem(expr, `cannot select field "${field}" of ${typeName(operand)}`);
    }
  }

  private call(expr: Expr, call: Kind<'callExpr'>, scope: Scope): Typed {
    const { function: fn, args, target } = call;
    if (fn === '_[_]') return this.index(expr, args, scope);
    if (fn === '_&&_' || fn === '_||_') {
      for (const arg of args) {
        const type = this.value(arg, scope);
        if (!mayBe(type, 'bool')) this.problem(arg, `"${fn.slice(1, -1)}" needs bool operands, got ${typeName(type)}`, this.start(arg));
      }
      return T.bool;
    }
    if (fn === '_?_:_') {
      const [condition, then, otherwise] = args.map((arg) => this.value(arg, scope));
      if (condition && !mayBe(condition, 'bool')) this.problem(expr, `"?:" needs a bool condition, got ${typeName(condition)}`);
      return join(then ?? T.dyn, otherwise ?? T.dyn);
    }
    const types = [...(target ? [target] : []), ...args].map((arg) => this.value(arg, scope));
    const typing = typeCall(fn, target ? 'method' : 'function', types);
    return 'type' in typing ? typing.type : this.problem(expr, typing.problem);
  }

  /** `a[b]`: a constant key into `params` or `tasks` is checked like a field selection. */
  private index(expr: Expr, args: Expr[], scope: Scope): Typed {
    const [operandExpr, keyExpr] = args;
    if (!operandExpr || !keyExpr) return T.dyn;
    const operand = this.typed(operandExpr, scope);
    const key = keyExpr.exprKind.case === 'constExpr' ? keyExpr.exprKind.value.constantKind : undefined;
    if (isNamespace(operand) && key?.case === 'stringValue') return this.member(expr, operand, key.value);
    const keyType = this.value(keyExpr, scope);
    const container = asValue(operand);
    if (container.kind === 'list') {
      return mayBe(keyType, 'int', 'uint') ? container.element : this.problem(expr, `a list index must be an int, got ${typeName(keyType)}`);
    }
    if (container.kind === 'map') return container.value;
    if (container.kind === 'dyn') return T.dyn;
    return this.problem(expr, `cannot index ${typeName(container)}`);
  }

  private struct(expr: Expr, struct: Kind<'structExpr'>, scope: Scope): Typed {
    if (struct.messageName) return this.problem(expr, `unknown message type "${struct.messageName}"`);
    const keys: CelType[] = [];
    const values: CelType[] = [];
    for (const entry of struct.entries) {
      if (entry.keyKind.case === 'mapKey') keys.push(this.value(entry.keyKind.value, scope));
      if (entry.value) values.push(this.value(entry.value, scope));
    }
    return T.map(joinAll(keys), joinAll(values));
  }

  /** Macros (`all`, `exists`, `map`, `filter`, ...) arrive expanded into comprehensions. */
  private comprehension(c: Kind<'comprehensionExpr'>, scope: Scope): Typed {
    const range = c.iterRange ? this.value(c.iterRange, scope) : T.dyn;
    let first: CelType = T.dyn;
    let second: CelType = T.dyn;
    if (range.kind === 'list') [first, second] = c.iterVar2 ? [T.int, range.element] : [range.element, T.dyn];
    else if (range.kind === 'map') [first, second] = [range.key, range.value];
    else if (range.kind !== 'dyn' && c.iterRange) this.problem(c.iterRange, `cannot iterate over ${typeName(range)}`, this.start(c.iterRange));
    const accumulator = c.accuInit ? this.value(c.accuInit, scope) : T.dyn;
    const inner = new Map(scope).set(c.iterVar, first).set(c.accuVar, accumulator);
    if (c.iterVar2) inner.set(c.iterVar2, second);
    if (c.loopCondition) this.value(c.loopCondition, inner);
    const step = c.loopStep ? this.value(c.loopStep, inner) : accumulator;
    const result = new Map(scope).set(c.accuVar, join(accumulator, step));
    return c.result ? this.value(c.result, result) : T.dyn;
  }
}

function constantType(constant: Kind<'constExpr'>): CelType {
  switch (constant.constantKind.case) {
    case 'boolValue':
      return T.bool;
    case 'int64Value':
      return T.int;
    case 'uint64Value':
      return T.uint;
    case 'doubleValue':
      return T.double;
    case 'stringValue':
      return T.string;
    case 'bytesValue':
      return T.bytes;
    case 'nullValue':
      return T.null;
    case 'durationValue':
      return T.duration;
    case 'timestampValue':
      return T.timestamp;
    default:
      return T.dyn;
  }
}

/** The join of all types; `dyn` for none (an empty list literal). */
function joinAll(types: CelType[]): CelType {
  const [first, ...rest] = types;
  return first ? rest.reduce(join, first) : T.dyn;
}
