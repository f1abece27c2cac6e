/**
 * Checks of the `${...}` CEL expressions in a task: `when`, `forEach.items` and every string in
 * `with`. Each expression is parsed (syntax errors), type-checked (undeclared references,
 * incompatible operands) and must only read tasks upstream of its own.
 */
import { parse } from '@bufbuild/cel';
import { CEL_COST_LIMIT, leastCost, parseTemplate, TemplateSyntaxError, isRecord, type TemplatePart } from '../ir/index.js';
import { checkCel, type CelEnvironment } from './cel-check.js';
import { mayBe, typeName, type CelType } from './cel-types.js';
import type { TaskGraph } from './graph.js';
import type { Reporter } from './issues.js';
import type { Path } from './path.js';
import { didYouMean } from './suggest.js';
import type { TaskManifest } from './types.js';

/** What the expressions of a task may refer to. */
export interface ExpressionScope {
  /** Declared parameters and their types. */
  params: ReadonlyMap<string, CelType>;
  graph: TaskGraph;
  /**
   * For a `finally` task: the tasks of `spec.tasks`, all ended before it starts (readable without
   * `needs`); `run.status` and `run.failedTasks` are bound too. @default undefined — a task of `spec.tasks`
   */
  ended?: ReadonlySet<string>;
}

type Expression = Extract<TemplatePart, { expr: string }>;

/** The shape the schema gives `when` and `spec.outputs` values: one `${...}` with nothing around it. */
const SOLE_EXPRESSION = /^\s*\$\{[\s\S]*\}\s*$/;

/** Checks every expression of a (schema-valid) task located at `path`. */
export function checkTaskExpressions(task: TaskManifest, path: Path, scope: ExpressionScope, reporter: Reporter): void {
  const inLoop = environment(task, scope, undefined);
  if (task.when !== undefined) {
    const whenEnv = environment(task, scope, 'in "when", which decides once whether the whole task runs');
    const type = checkSoleExpression(task.when, [...path, 'when'], whenEnv, reporter);
    if (type && !mayBe(type, 'bool')) reporter.report([...path, 'when'], `"when" must be a bool expression, got ${typeName(type)}`);
  }
  if (task.forEach !== undefined) {
    const { forEach } = task;
    const [items, itemsPath] = typeof forEach === 'string' ? [forEach, [...path, 'forEach']] : [forEach.items, [...path, 'forEach', 'items']];
    const itemsEnv = environment(task, scope, 'in forEach.items, which computes the list it comes from');
    const type = checkSoleExpression(items, itemsPath, itemsEnv, reporter);
    if (type && !mayBe(type, 'list')) reporter.report(itemsPath, `forEach.items must be a list, got ${typeName(type)}`);
  }
  if (task.with) checkTemplates(task.with, [...path, 'with'], inLoop, reporter);
}

/**
 * Checks `spec.outputs`: each value is one `${...}` over the params and any task's outputs (they
 * are evaluated once every task has ended), reported at its own path.
 */
export function checkOutputs(outputs: unknown, { params, graph }: ExpressionScope, reporter: Reporter): void {
  if (!isRecord(outputs)) return;
  const env: CelEnvironment = {
    params,
    taskProblem: (id) => (graph.ids.has(id) ? undefined : `unknown task "${id}"${hyphenHint(id, graph.ids) ?? didYouMean(id, graph.ids)}`),
    loopProblem: (name) => `"${name}" is only defined in a task with forEach`,
  };
  for (const [name, value] of Object.entries(outputs)) {
    // A value that is not one `${...}` is the schema's to report.
    if (typeof value === 'string' && SOLE_EXPRESSION.test(value)) checkSoleExpression(value, ['spec', 'outputs', name], env, reporter);
  }
}

/**
 * Checks `spec.concurrency.key`: evaluated when the run starts, before any task, so it reads only
 * `params`.
 */
export function checkConcurrencyKey(key: string, path: Path, params: ExpressionScope['params'], reporter: Reporter): void {
  checkTemplates(key, path, {
    params,
    taskProblem: () => 'concurrency.key is evaluated when the run starts, before any task: it may read only params',
    loopProblem: (name) => `"${name}" is only defined in a task with forEach`,
  }, reporter);
}

/**
 * Checks the expressions of a task's `compensate.with`: it runs once the tasks have ended, and
 * may read the task's own outputs and those of its upstream tasks.
 */
export function checkCompensateExpressions(task: TaskManifest, path: Path, { params, graph }: ExpressionScope, reporter: Reporter): void {
  const compensate = task.compensate;
  if (!compensate?.with) return;
  const env: CelEnvironment = {
    params,
    taskProblem(id) {
      if (!graph.ids.has(id)) return `unknown task "${id}"${hyphenHint(id, graph.ids) ?? didYouMean(id, graph.ids)}`;
      if (id !== task.id && !graph.isUpstream(task.id, id)) return `task "${id}" is not upstream of "${task.id}", whose compensation may read only its own outputs and its upstream tasks'`;
      return undefined;
    },
    loopProblem: (name) => `"${name}" is not defined in a compensation`,
  };
  checkTemplates(compensate.with, [...path, 'compensate', 'with'], env, reporter);
}

/**
 * The environment of a task's expressions; `item` and `index` exist only inside its forEach, and
 * not where `outsideLoop` says they are read outside the per-item input.
 */
function environment(task: TaskManifest, { params, graph, ended }: ExpressionScope, outsideLoop: string | undefined): CelEnvironment {
  return {
    params,
    ...(ended === undefined ? {} : { run: true }),
    taskProblem(id) {
      if (ended?.has(id)) return undefined;
      if (!graph.ids.has(id)) return `unknown task "${id}"${hyphenHint(id, graph.ids) ?? didYouMean(id, graph.ids)}`;
      if (id === task.id) return `task "${task.id}" cannot read its own outputs`;
      if (!graph.isUpstream(task.id, id)) return `task "${id}" is not upstream of "${task.id}": add it to "needs" to read its outputs`;
      return undefined;
    },
    loopProblem(name) {
      if (task.forEach === undefined) return `"${name}" is only defined in a task with forEach`;
      return outsideLoop === undefined ? undefined : `"${name}" is not defined ${outsideLoop}`;
    },
  };
}

/** Advice for `tasks.create-ns`, which CEL reads as `tasks.create - ns`. */
function hyphenHint(id: string, ids: ReadonlySet<string>): string | undefined {
  const hyphenated = [...ids].find((candidate) => candidate.startsWith(`${id}-`));
  return hyphenated === undefined ? undefined : ` (a task id with "-" is written tasks['${hyphenated}'])`;
}

/**
 * Checks each `${...}` expression in a JSON value's strings (a task's `with`, a runbook's
 * `params`): syntax and types in `env`, each problem reported at its position under `path`.
 */
export function checkTemplates(value: unknown, path: Path, env: CelEnvironment, reporter: Reporter): void {
  if (typeof value === 'string') {
    for (const expression of expressionsIn(value, path, reporter)) checkExpression(value, expression, path, env, reporter);
  } else if (Array.isArray(value)) {
    value.forEach((item: unknown, index) => checkTemplates(item, [...path, index], env, reporter));
  } else if (isRecord(value)) {
    for (const [key, item] of Object.entries(value)) checkTemplates(item, [...path, key], env, reporter);
  }
}

/**
 * Checks a string that must be exactly one `${...}` (`when`, `forEach.items`) and returns its
 * type, or `undefined` when it has problems.
 */
function checkSoleExpression(text: string, path: Path, env: CelEnvironment, reporter: Reporter): CelType | undefined {
  const parts = templateParts(text, path, reporter);
  if (!parts) return undefined;
  const expressions = parts.filter(isExpression);
  const [expression] = expressions;
  if (!expression || expressions.length > 1 || parts.some((part) => 'text' in part && part.text.trim() !== '')) {
    reporter.report(path, `must be exactly one expression "\${...}" with nothing around it, e.g. "\${params.env == 'prod'}"`);
    return undefined;
  }
  return checkExpression(text, expression, path, env, reporter);
}

function isExpression(part: TemplatePart): part is Expression {
  return 'expr' in part;
}

function templateParts(text: string, path: Path, reporter: Reporter): TemplatePart[] | undefined {
  try {
    return parseTemplate(text);
  } catch (error) {
    if (!(error instanceof TemplateSyntaxError)) throw error;
    reporter.report(path, error.message, reporter.source.atChar(path, error.offset));
    return undefined;
  }
}

function expressionsIn(text: string, path: Path, reporter: Reporter): Expression[] {
  return templateParts(text, path, reporter)?.filter(isExpression) ?? [];
}

/** Parses and type-checks one expression; returns its type, or `undefined` when it has problems. */
function checkExpression(text: string, expression: Expression, path: Path, env: CelEnvironment, reporter: Reporter): CelType | undefined {
  const inner = text.slice(expression.offset);
  const start = expression.offset + inner.length - inner.trimStart().length;
  const at = (offset: number) => reporter.source.atChar(path, start + offset);
  if (expression.expr === '') {
    reporter.report(path, 'empty expression "${}"', at(0));
    return undefined;
  }
  let parsed: ReturnType<typeof parse>;
  try {
    parsed = parse(expression.expr);
  } catch (error) {
    const syntax = syntaxError(error);
    reporter.report(path, `CEL syntax error in "${expression.expr}": ${syntax.message}`, at(syntax.offset));
    return undefined;
  }
  const { type, problems } = checkCel(parsed, env);
  for (const problem of problems) reporter.report(path, problem.message, at(problem.offset));
  const cost = leastCost(parsed.expr);
  if (cost > CEL_COST_LIMIT) {
    reporter.report(path, `"${expression.expr}" costs at least ${cost} units, more than the limit of ${CEL_COST_LIMIT}: nest fewer macros or iterate shorter lists`, at(0), 'EXPRESSION_TOO_COSTLY');
    return undefined;
  }
  return problems.length === 0 ? type : undefined;
}

/**
 * The message and offset of a CEL parse error. @bufbuild/cel throws an error carrying
 * `rawMessage` and `location.start.offset`; anything else is not a syntax error and propagates.
 */
function syntaxError(error: unknown): { message: string; offset: number } {
  if (error instanceof Error && 'rawMessage' in error && typeof error.rawMessage === 'string') {
    const location = 'location' in error && isRecord(error.location) ? error.location : undefined;
    const start = location && isRecord(location.start) ? location.start.offset : undefined;
    return { message: error.rawMessage, offset: typeof start === 'number' ? start : 0 };
  }
  throw error;
}
