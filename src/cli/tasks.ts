/**
 * `maestro tasks list` and `maestro tasks describe NAME`: the task catalog with its schemas.
 */
import type { Command } from 'commander';
import type { Catalog } from '../catalog/index.js';
import { NotFoundError } from '../errors/index.js';
import type { TaskDefinition } from '../sdk/index.js';
import type { ApiClient } from './api-client.js';

/** A task as `GET /tasks` lists it: built-in, or registered by an external worker (with its namespace, queue and the rest of its registration). */
export interface ListedTask {
  name: string;
  version: string;
  execution: string;
  description: string;
  deterministic: boolean;
  input: Record<string, unknown>;
  output: Record<string, unknown>;
  namespace?: string;
  language?: string;
  taskQueue?: string;
  codeDigest?: string;
  timeoutMs?: number;
}

/**
 * Adds `tasks list [--json] [--api [--namespace NS]]` and `tasks describe NAME[@range] [--json]`
 * over the catalog `catalog` loads (the built-in tasks and the configured task modules) or, with
 * `--api`, the API's catalog: those and the tasks external (e.g. Python) workers registered in the
 * caller's namespaces.
 */
export function registerTaskCommands(program: Command, catalog: () => Promise<Catalog>, api: () => ApiClient): void {
  const tasks = program.command('tasks').description('the task catalog: what `uses:` can name');
  tasks
    .command('list')
    .description('every task: name@version, how it runs, what it does')
    .option('--json', 'print the catalog as JSON, schemas included')
    .option('--api', "list the API's catalog: built-in tasks and those registered in your namespaces (POST /tasks)")
    .option('--namespace <namespace>', 'with --api: the registered tasks of this namespace only')
    .action(async (options: { json?: boolean; api?: boolean; namespace?: string }) => {
      if (options.api) {
        const query = options.namespace === undefined ? '' : `?namespace=${encodeURIComponent(options.namespace)}`;
        const { items } = await api().request<{ items: ListedTask[] }>('GET', `/tasks${query}`);
        if (options.json) {
          console.log(JSON.stringify(items, null, 2));
          return;
        }
        const width = Math.max(...items.map((t) => `${t.name}@${t.version}`.length));
        for (const t of items) {
          const where = t.namespace === undefined ? '' : `  [${t.namespace}, queue ${t.taskQueue ?? ''}]`;
          console.log(`${`${t.name}@${t.version}`.padEnd(width)}  ${t.execution.padEnd(14)}  ${t.description}${where}`);
        }
        return;
      }
      const definitions = (await catalog()).list();
      if (options.json) {
        console.log(JSON.stringify(definitions.map(describe), null, 2));
        return;
      }
      const width = Math.max(...definitions.map((d) => `${d.name}@${d.version}`.length));
      for (const d of definitions) console.log(`${`${d.name}@${d.version}`.padEnd(width)}  ${(d.execution ?? 'activity').padEnd(14)}  ${d.description}`);
    });
  tasks
    .command('describe')
    .description('one task with its input and output JSON Schemas')
    .argument('<name>', 'a task name, optionally with a version or range: tasks/http.request or tasks/http.request@^0.1')
    .option('--json', 'print the description as JSON')
    .action(async (name: string, options: { json?: boolean }) => {
      const resolved = (await catalog()).resolve(name.includes('@') ? name : `${name}@*`);
      if (!resolved.ok) throw new NotFoundError(resolved.message);
      const description = describe(resolved.definition);
      if (options.json) {
        console.log(JSON.stringify(description, null, 2));
        return;
      }
      console.log(`${description.uses} (${description.execution}${description.deterministic ? ', deterministic' : ''})`);
      console.log(`${description.description}\n`);
      console.log(`input:\n${JSON.stringify(description.input, null, 2)}\n`);
      console.log(`output:\n${JSON.stringify(description.output, null, 2)}`);
    });
}

function describe(definition: TaskDefinition) {
  return {
    uses: `${definition.name}@${definition.version}`,
    execution: definition.execution ?? 'activity',
    deterministic: definition.deterministic ?? false,
    description: definition.description,
    input: definition.input,
    output: definition.output,
  };
}
