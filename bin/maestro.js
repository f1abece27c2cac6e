#!/usr/bin/env node
// The `maestro` command. Maestro ships TypeScript sources: register tsx so Node can load them, then
// hand the arguments to the CLI. `main` may resolve to an exit code.
import { register } from 'tsx/esm/api';

register();
const { main } = await import('../src/cli/main.ts');
const exitCode = await main(process.argv.slice(2));
if (typeof exitCode === 'number') process.exitCode = exitCode;
