#!/usr/bin/env node
// The `maestro` command. Maestro ships TypeScript sources: register tsx so Node can load them, then
// hand the arguments to the CLI. `main` may resolve to an exit code.
import { existsSync } from 'node:fs';
import { register } from 'tsx/esm/api';

const cli = new URL('../src/cli/main.ts', import.meta.url);
if (!existsSync(cli)) {
  // npm ships every `bin` file, but the package `npm pack` makes holds the task SDK only.
  console.error('maestro: the command runs from a clone of the Maestro repository; this package holds the task SDK only (@summit/maestro/sdk)');
  process.exit(2);
}
register();
const { main } = await import(cli.href);
const exitCode = await main(process.argv.slice(2));
if (typeof exitCode === 'number') process.exitCode = exitCode;
