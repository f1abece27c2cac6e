import { resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { ConfigError } from '../errors/index.js';
import { isTaskDefinition, type TaskDefinition } from '../sdk/index.js';

/** Tasks loaded from your own modules, and where each came from. */
export interface TaskModules {
  /** The tasks, in module order. */
  tasks: TaskDefinition[];
  /** Module file of each task, by task name: what its code digest (cache key, receipt) hashes. */
  modules: Record<string, string>;
}

/**
 * Imports each module and returns the tasks it exports (every export, default or named, that
 * `defineTask` returned) with the file each came from.
 *
 * @throws {@link ConfigError} (`CONFIG_INVALID`) naming the module when it cannot be imported (a
 * task definition it builds is invalid, it does not exist, it does not compile), exports no task,
 * or defines a task name another module defines too.
 *
 * @example
 * const { tasks } = await loadTaskModules(['./tasks/hello.ts']);
 */
export async function loadTaskModules(paths: readonly string[]): Promise<TaskModules> {
  const tasks: TaskDefinition[] = [];
  const modules: Record<string, string> = {};
  for (const path of paths.map((file) => resolve(file))) {
    let exports: Record<string, unknown>;
    try {
      exports = (await import(pathToFileURL(path).href)) as Record<string, unknown>;
    } catch (error) {
      throw new ConfigError(`task module ${path} could not be loaded: ${error instanceof Error ? error.message : String(error)}`, { cause: error });
    }
    const defined = [...new Set(Object.values(exports).filter(isTaskDefinition))];
    if (defined.length === 0) {
      throw new ConfigError(`task module ${path} exports no task: export the result of defineTask(...), e.g. \`export default defineTask({ ... })\``);
    }
    for (const task of defined) {
      const other = modules[task.name];
      if (other !== undefined && other !== path) {
        throw new ConfigError(`task ${task.name} is defined in two modules, ${other} and ${path}: keep its versions in one module`);
      }
      modules[task.name] = path;
    }
    tasks.push(...defined);
  }
  return { tasks, modules };
}

/**
 * `extra` added to `base`, refusing a task whose `name@version` is already there: a module must not
 * silently replace a built-in task or another module's.
 *
 * @throws {@link ConfigError} (`CONFIG_INVALID`) naming the duplicated task.
 */
export function addTasks(base: readonly TaskDefinition[], extra: readonly TaskDefinition[]): TaskDefinition[] {
  const seen = new Set(base.map(label));
  for (const task of extra) {
    if (seen.has(label(task))) throw new ConfigError(`task ${label(task)} is defined twice: a task module may add versions, not replace them`);
    seen.add(label(task));
  }
  return [...base, ...extra];
}

function label(task: TaskDefinition): string {
  return `${task.name}@${task.version}`;
}
