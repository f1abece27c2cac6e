/**
 * Semantic checks of a Workflow manifest: what its schema cannot say.
 */
import { parseDuration } from '../ir/index.js';
import type { Catalog } from '../catalog/index.js';
import { checkTaskExpressions, type ExpressionScope } from './expressions.js';
import { checkGraph, readGraph } from './graph.js';
import type { Reporter } from './issues.js';
import { checkParameters } from './parameters.js';
import { valueAt, type Path } from './path.js';
import { getValidators } from './schemas.js';
import type { TaskManifest } from './types.js';

/**
 * Checks parameters, the task graph, and each task that is itself schema-valid: its `uses`
 * against the catalog, its retry intervals and its expressions. Reads the raw document, so it
 * runs alongside schema validation and a file's problems are reported together.
 */
export function checkWorkflow(data: unknown, catalog: Catalog, reporter: Reporter): void {
  const params = checkParameters(valueAt(data, ['spec', 'parameters']), ['spec', 'parameters'], reporter);
  const tasksPath = ['spec', 'tasks'];
  const graph = checkGraph(readGraph(valueAt(data, tasksPath)), tasksPath, reporter);
  const tasks = valueAt(data, tasksPath);
  if (!Array.isArray(tasks)) return;
  const { task: isTask } = getValidators();
  const scope: ExpressionScope = { params, graph };
  tasks.forEach((task: unknown, index) => {
    if (!isTask(task)) return;
    const path = [...tasksPath, index];
    checkUses(task, path, catalog, reporter);
    checkRetry(task, path, reporter);
    checkTaskExpressions(task, path, scope, reporter);
  });
}

function checkUses(task: TaskManifest, path: Path, catalog: Catalog, reporter: Reporter): void {
  const resolved = catalog.resolve(task.uses);
  if (!resolved.ok) reporter.report([...path, 'uses'], resolved.message);
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
