/**
 * `maestro tasks list` and `maestro tasks describe NAME`: the task catalog with its schemas.
 */
import type { Command } from 'commander';
import type { Catalog } from '../catalog/index.js';
import { NotFoundError } from '../errors/index.js';
import type { TaskDefinition } from '../sdk/index.js';

/**
 * Adds `tasks list [--json]` and `tasks describe NAME[@range] [--json]` over the catalog `catalog`
 * loads (the built-in tasks and the configured task modules).
 */
export function registerTaskCommands(program: Command, catalog: () => Promise<Catalog>): void {
  const tasks = program.command('tasks').description('the task catalog: what `uses:` can name');
  tasks
    .command('list')
    .description('every task: name@version, how it runs, what it does')
    .option('--json', 'print the catalog as JSON, schemas included')
    .action(async (options: { json?: boolean }) => {
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
