/**
 * Semantic checks of a Workflow manifest: what its schema cannot say.
 */
import { isRecord, parseDuration } from '../ir/index.js';
import type { Catalog } from '../catalog/index.js';
import { compileJsonSchema, type JsonSchema, type TaskDefinition } from '../sdk/index.js';
import { checkCompensateExpressions, checkConcurrencyKey, checkOutputs, checkTaskExpressions, type ExpressionScope } from './expressions.js';
import { checkGraph, readGraph, type TaskGraph } from './graph.js';
import type { CelType } from './cel-types.js';
import type { Reporter } from './issues.js';
import { checkParameters } from './parameter-declarations.js';
import { valueAt, type Path } from './path.js';
import { getValidators } from './schemas.js';
import { checkEmbeddedSize, checkSubWorkflowTask, isSubWorkflowUses, type SubWorkflows } from './sub-workflows.js';
import type { TaskManifest } from './types.js';

/**
 * Checks parameters, the task graph, and each task that is itself schema-valid: its `uses`
 * against the catalog (or, for `workflow/…`, against what it resolved to in the registry), its
 * retry intervals and its expressions, then `spec.outputs`. Reads the raw document, so it runs
 * alongside schema validation and a file's problems are reported together.
 *
 * @param workflows what each `workflow/…` reference resolved to; absent: those references are
 *   checked where the workflow is registered (the API), not here.
 */
export function checkWorkflow(data: unknown, catalog: Catalog, reporter: Reporter, workflows?: SubWorkflows): void {
  const params = checkParameters(valueAt(data, ['spec', 'parameters']), ['spec', 'parameters'], reporter);
  const key = valueAt(data, ['spec', 'concurrency', 'key']);
  if (typeof key === 'string') checkConcurrencyKey(key, ['spec', 'concurrency', 'key'], params, reporter);
  const tasksPath = ['spec', 'tasks'];
  const graph = checkGraph(readGraph(valueAt(data, tasksPath)), tasksPath, reporter);
  const tasks = valueAt(data, tasksPath);
  if (!Array.isArray(tasks)) return;
  const scope: ExpressionScope = { params, graph };
  const subWorkflowTasks = checkTasks(tasks, tasksPath, scope, catalog, reporter, { parent: String(valueAt(data, ['metadata', 'name'])), workflows });
  if (workflows) checkEmbeddedSize(subWorkflowTasks, workflows, reporter);
  checkOutputs(valueAt(data, ['spec', 'outputs']), scope, reporter);
  checkFinally(valueAt(data, ['spec', 'finally']), graph, params, catalog, reporter);
  checkFinallyTimeout(valueAt(data, ['spec', 'finallyTimeout']), reporter);
}

/** The longest `spec.finallyTimeout`: a cancelled run must end within a day, whatever its cleanup does. */
const MAX_FINALLY_TIMEOUT_MS = 24 * 3_600_000;

function checkFinallyTimeout(text: unknown, reporter: Reporter): void {
  const ms = typeof text === 'string' ? parseDuration(text) : undefined;
  if (ms !== undefined && ms > MAX_FINALLY_TIMEOUT_MS) {
    reporter.report(['spec', 'finallyTimeout'], `must be at most 24h, got ${String(text)}: a cancelled run waits this long for its compensations and finally tasks`);
  }
}

/** Where `workflow/…` tasks resolve: the parent's name (for recursion) and what each reference resolved to. */
interface SubWorkflowContext {
  parent: string;
  workflows: SubWorkflows | undefined;
}

/**
 * Checks each schema-valid task of `tasks` (at `base`): its `uses`, retry, runIf, expressions and
 * compensation. Returns the sub-workflow tasks, which only `spec.tasks` may have (`subWorkflows`).
 */
function checkTasks(
  tasks: unknown[],
  base: Path,
  scope: ExpressionScope,
  catalog: Catalog,
  reporter: Reporter,
  subWorkflows?: SubWorkflowContext,
): { task: TaskManifest; path: Path }[] {
  const { task: isTask } = getValidators();
  const subWorkflowTasks: { task: TaskManifest; path: Path }[] = [];
  tasks.forEach((task: unknown, index) => {
    if (!isTask(task)) return;
    const path = [...base, index];
    if (subWorkflows && isSubWorkflowUses(task.uses)) {
      const resolution = subWorkflows.workflows?.get(task.uses);
      if (resolution) checkSubWorkflowTask(task, path, subWorkflows.parent, resolution, reporter);
      subWorkflowTasks.push({ task, path });
    } else {
      const definition = checkUses(task, path, catalog, reporter);
      const execution = definition?.execution;
      if (execution === 'approval') checkApprovalGate(task, path, reporter);
      if (definition?.execution === 'remote') checkLiteralInput(task, path, definition.input, reporter);
      if (execution === 'signal') checkSignalWait(task, path, reporter);
    }
    checkRetry(task, path, reporter);
    checkRunIf(task, path, reporter);
    checkTaskExpressions(task, path, scope, reporter);
    checkCompensate(task, path, scope, catalog, reporter);
  });
  return subWorkflowTasks;
}

/**
 * The `finally` tasks: a graph of their own (they need only each other, and their ids differ from
 * the tasks'), each checked like a task, with `run` and every task of `spec.tasks` readable.
 */
function checkFinally(tasks: unknown, main: TaskGraph, params: ReadonlyMap<string, CelType>, catalog: Catalog, reporter: Reporter): void {
  if (!Array.isArray(tasks)) return;
  const base: Path = ['spec', 'finally'];
  const read = readGraph(tasks);
  for (const task of read) {
    if (main.ids.has(task.id)) reporter.report([...base, task.index, 'id'], `task id "${task.id}" is already the id of a task in spec.tasks`);
    task.needs = task.needs.filter((need) => {
      if (!main.ids.has(need.id)) return true;
      reporter.report(
        [...base, task.index, 'needs', need.index],
        `finally task "${task.id}" needs "${need.id}", a task of spec.tasks: finally tasks start once every task has ended, and need only other finally tasks (read tasks.${need.id} without listing it)`,
      );
      return false;
    });
  }
  checkTasks(tasks, base, { params, graph: checkGraph(read, base, reporter), ended: main.ids }, catalog, reporter);
}

/**
 * A task's `compensate`: its `uses` must resolve, its retry intervals make sense, and it cannot
 * be combined with `forEach` (which items to undo, and how, is the task's to say: give the items
 * a task of their own, or compensate in one task over `tasks.<id>.outputs`).
 */
function checkCompensate(task: TaskManifest, path: Path, scope: ExpressionScope, catalog: Catalog, reporter: Reporter): void {
  const { compensate } = task;
  if (!compensate) return;
  const at = [...path, 'compensate'];
  if (scope.ended !== undefined) {
    reporter.report(at, 'a finally task cannot have a compensation: compensations undo the tasks of spec.tasks when the run fails');
    return;
  }
  if (task.forEach !== undefined) {
    reporter.report(at, 'a forEach task cannot have a compensation: compensate its items in one task that reads tasks.<id>.outputs, or in a finally task');
  }
  const resolved = catalog.resolve(compensate.uses);
  if (!resolved.ok) reporter.report([...at, 'uses'], resolved.message);
  checkRetry({ id: task.id, uses: compensate.uses, ...(compensate.retry === undefined ? {} : { retry: compensate.retry }) }, at, reporter);
  checkCompensateExpressions(task, path, scope, reporter);
}

/** `runIf: failure | always` reacts to how the task's needs ended: without needs it has nothing to react to. */
function checkRunIf(task: TaskManifest, path: Path, reporter: Reporter): void {
  if ((task.runIf === 'failure' || task.runIf === 'always') && (task.needs ?? []).length === 0) {
    reporter.report([...path, 'runIf'], `runIf: ${task.runIf} reacts to how the tasks in "needs" ended; list them in "needs"`);
  }
}

/** Reports a `uses` the catalog cannot resolve; returns the task it names otherwise. */
function checkUses(task: TaskManifest, path: Path, catalog: Catalog, reporter: Reporter): TaskDefinition | undefined {
  const resolved = catalog.resolve(task.uses);
  if (resolved.ok) return resolved.definition;
  reporter.report([...path, 'uses'], resolved.message);
  return undefined;
}

/** True for a value written as an expression, whose value is only known (and checked) at run time. */
function isTemplate(value: unknown): boolean {
  return typeof value === 'string' && value.includes('${');
}

/**
 * An approval gate's inputs written out in the manifest must make a gate someone has to pass: at
 * least one approver role and at least one approval. Inputs written as `${...}` are checked by the
 * interpreter once evaluated.
 */
function checkApprovalGate(task: TaskManifest, path: Path, reporter: Reporter): void {
  const input: Record<string, unknown> = task.with ?? {};
  const at = (key: string): Path => [...path, 'with', key];
  const { approvers, minApprovals, allowSelfApproval } = input;
  if (approvers === undefined) {
    reporter.report([...path, 'with'], 'an approval gate needs "approvers": the roles allowed to decide');
  } else if (Array.isArray(approvers)) {
    if (approvers.length === 0) reporter.report(at('approvers'), 'must name at least one role: a gate nobody may approve waits forever');
    approvers.forEach((role: unknown, index) => {
      if (!isTemplate(role) && (typeof role !== 'string' || role === '')) reporter.report([...at('approvers'), index], 'must be a role name');
    });
  } else if (!isTemplate(approvers)) {
    reporter.report(at('approvers'), 'must be a list of role names, or one ${...} expression giving one');
  }
  if (minApprovals !== undefined && !isTemplate(minApprovals) && !(Number.isInteger(minApprovals) && (minApprovals as number) >= 1)) {
    reporter.report(at('minApprovals'), `must be an integer of at least 1, got ${JSON.stringify(minApprovals)}: with fewer the gate would pass without anyone approving`);
  }
  if (allowSelfApproval !== undefined && !isTemplate(allowSelfApproval) && typeof allowSelfApproval !== 'boolean') {
    reporter.report(at('allowSelfApproval'), `must be true or false, got ${JSON.stringify(allowSelfApproval)}`);
  }
}

/**
 * The inputs of a registered task written out in the manifest (no `${...}` inside) are checked
 * against its schema's `properties` here, each with its own line; a missing required input is
 * reported unless `with` has expressions that could still supply it. Values with expressions are
 * checked by the attempt once evaluated. A property schema that does not compile on its own (it
 * refers elsewhere with `$ref`, say) is left to the attempt.
 */
function checkLiteralInput(task: TaskManifest, path: Path, schema: JsonSchema, reporter: Reporter): void {
  const input: Record<string, unknown> = task.with ?? {};
  const properties = isRecord(schema.properties) ? schema.properties : {};
  for (const [key, value] of Object.entries(input)) {
    const property = properties[key];
    if (!isRecord(property) || JSON.stringify(value).includes('${')) continue;
    const compiled = compileJsonSchema(property as JsonSchema, { strict: false });
    if (!compiled.ok) continue;
    for (const problem of compiled.check(value)) reporter.report([...path, 'with', key], `${problem.path === '(root)' ? '' : `${problem.path}: `}${problem.message}`);
  }
  const required = Array.isArray(schema.required) ? schema.required.filter((name): name is string => typeof name === 'string') : [];
  if (JSON.stringify(input).includes('${')) return;
  for (const name of required) if (!Object.hasOwn(input, name)) reporter.report([...path, 'with'], `missing required input "${name}" of ${task.uses}`);
}

/**
 * A signal wait's `schema` is written out, with no `${...}`, and compiles: the API checks every
 * payload against it before the run sees it, so a schema that could not compile would refuse them all.
 */
function checkSignalWait(task: TaskManifest, path: Path, reporter: Reporter): void {
  const { schema } = task.with ?? {};
  if (schema === undefined) return;
  const at: Path = [...path, 'with', 'schema'];
  if (typeof schema !== 'object' || schema === null || Array.isArray(schema) || JSON.stringify(schema).includes('${')) {
    reporter.report(at, 'must be a JSON Schema object written out in the manifest, without ${...}');
    return;
  }
  const compiled = compileJsonSchema(schema as JsonSchema, { strict: false });
  if (!compiled.ok) reporter.report(at, `does not compile: ${compiled.message}`);
}

function checkRetry(task: TaskManifest, path: Path, reporter: Reporter): void {
  const { initialInterval, maxInterval } = task.retry ?? {};
  if (initialInterval === undefined || maxInterval === undefined) return;
  const initial = parseDuration(initialInterval);
  const max = parseDuration(maxInterval);
  if (initial !== undefined && max !== undefined && initial > max) {
    reporter.report([...path, 'retry', 'initialInterval'], `initialInterval ${initialInterval} is longer than maxInterval ${maxInterval}`);
  }
}
