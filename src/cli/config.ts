/**
 * `maestro config settings`: the reference of every setting (variable, config-file key, default,
 * description), generated from the declarations, so the docs are regenerated rather than copied.
 */
import type { Command } from 'commander';
import { settingsMarkdown, settingsReference } from '../config/index.js';

/** Adds `config settings [--json]`: Markdown tables by section, or the rows as JSON. */
export function registerConfigCommands(program: Command): void {
  const config = program.command('config').description("Maestro's settings");
  config
    .command('settings')
    .description('print every setting (environment variable, config-file key, default, description) as Markdown')
    .option('--json', 'print the settings as JSON rows instead')
    .action((options: { json?: boolean }) => {
      process.stdout.write(options.json ? `${JSON.stringify(settingsReference(), null, 2)}\n` : settingsMarkdown());
    });
}
