/**
 * The `maestro` command. Exit codes: 0 success, 1 a run that did not succeed (or an invalid
 * manifest for `validate`), 2 bad input (usage, unreadable file, invalid manifest or params).
 */
import { fileURLToPath } from 'node:url';
import { Command, CommanderError } from 'commander';
import type { Catalog } from '../catalog/index.js';
import { loadConfig } from '../config/index.js';
import { ManifestError, formatIssue, isMaestroError } from '../errors/index.js';
import { registerAuditCommands } from './audit.js';
import { registerConfigCommands } from './config.js';
import { registerImageCommands } from './images.js';
import { registerLogCommands } from './logs.js';
import { registerRunnerCommands } from './runners.js';
import { registerScheduleCommands } from './schedules.js';
import { registerProvenanceCommands } from './provenance.js';
import { registerReleaseCommands } from './release.js';
import { registerTaskCommands } from './tasks.js';
import { createApiClient } from './api-client.js';
import { addApiCommands, collect } from './api-commands.js';
import { registerApplyCommand } from './apply.js';
import type { ManifestCatalogs } from './manifest-files.js';
import { registerTriggerCommands } from './triggers.js';

/** How `--namespace` reads for the commands that take a manifest file. */
const NAMESPACE_HELP = "the manifest's namespace (default: its metadata.namespace, else default; one it names must match)";

/** Runs the CLI with `argv` (without node and script) and returns the exit code. */
export async function main(argv: string[]): Promise<number> {
  let exitCode = 0;
  const program = new Command('maestro')
    .description('Maestro: declarative, policy-checked, durable workflows on Temporal')
    .exitOverride()
    .showHelpAfterError();

  program
    .command('validate')
    .description('check manifests; prints file:line:col: path: message for each problem')
    .argument('<files...>', 'manifest files (YAML or JSON)')
    .option('--json', 'print a JSON report')
    .option('--namespace <namespace>', `${NAMESPACE_HELP}, whose registered tasks (with MAESTRO_URL) \`uses:\` may name`)
    .action(async (files: string[], options: { json?: boolean; namespace?: string }) => {
      const [catalogs, { validateFile }] = await Promise.all([configuredCatalogs(), import('./manifest-files.js')]);
      const report = await Promise.all(files.map((file) => validateFile(file, catalogs, options.namespace)));
      if (options.json) console.log(JSON.stringify(report, null, 2));
      else for (const entry of report) console.log(entry.valid ? `${entry.file}: valid` : entry.errors.map(formatIssue).join('\n'));
      exitCode = report.every((entry) => entry.valid) ? 0 : 1;
    });

  program
    .command('compile')
    .description('compile a workflow manifest; prints {digest, ir} as JSON')
    .argument('<file>')
    .option('--namespace <namespace>', `${NAMESPACE_HELP}, where its sub-workflows and (with MAESTRO_URL) registered tasks resolve`)
    .action(async (file: string, options: { namespace?: string }) => {
      const [catalogs, { compileFile }] = await Promise.all([configuredCatalogs(), import('./manifest-files.js')]);
      console.log(JSON.stringify((await compileFile(file, catalogs, options.namespace)).compiled, null, 2));
    });

  program
    .command('run')
    .description('run a workflow on Temporal (TEMPORAL_ADDRESS, default localhost:7233), checked by the policy and recorded like an API start, and show its progress')
    .argument('<file>')
    .option('-p, --param <name=value>', 'a parameter (repeatable)', collect, [])
    .option('--namespace <namespace>', `${NAMESPACE_HELP}, where the run starts`)
    .option('--no-wait', 'print the run id and return at once')
    .option('--json', 'print {runId, status, tasks} as JSON')
    .action(async (file: string, options: { param: string[]; namespace?: string; wait: boolean; json?: boolean }) => {
      const [catalogs, { compileFile, parseParams }, { checkParams }, { runWorkflow }] = await Promise.all([configuredCatalogs(), import('./manifest-files.js'), import('../manifest/index.js'), import('./run.js')]);
      const { compiled, namespace } = await compileFile(file, catalogs, options.namespace);
      const params = checkParams(compiled.ir.parameters, parseParams(compiled.ir.parameters, options.param));
      exitCode = await runWorkflow({ compiled, params, config: loadConfig(), namespace, noWait: !options.wait, json: options.json ?? false });
    });

  program
    .command('dev')
    .description('start Maestro locally: Temporal dev server (SQLite under .maestro/, Web UI), the worker and the HTTP API')
    .option('--traces', 'also start a local Jaeger (built on first use), export traces to it and print its UI URL')
    .action(async (options: { traces?: boolean }) => {
      const [{ runDev }, { runWorker }, { startLocalApi }, { PRIORITY_DYNAMIC_CONFIG }] = await Promise.all([
        import('../devserver/index.js'),
        import('../worker/index.js'),
        import('../api/index.js'),
        import('../runs/index.js'),
      ]);
      await runDev({ config: loadConfig(), startWorker: runWorker, startApi: (config) => startLocalApi(config), dynamicConfig: PRIORITY_DYNAMIC_CONFIG, traces: options.traces === true });
    });

  program
    .command('worker')
    .description('start a worker alone, against TEMPORAL_ADDRESS (default localhost:7233): /metrics, /healthz and /readyz on MAESTRO_WORKER_METRICS_HOST:PORT; SIGTERM drains it')
    .action(async () => {
      const { serveWorker } = await import('../worker/index.js');
      await serveWorker(loadConfig());
    });

  addApiCommands(program);
  registerApplyCommand(program, configuredCatalogs, (code) => (exitCode = code));
  registerScheduleCommands(program);
  registerTriggerCommands(program);

  registerAuditCommands(program, (code) => (exitCode = code));
  registerConfigCommands(program);
  registerRunnerCommands(program, (code) => (exitCode = code));
  registerImageCommands(program, (code) => (exitCode = code));
  registerLogCommands(program, (code) => (exitCode = code));
  registerProvenanceCommands(program, (code) => (exitCode = code));
  registerReleaseCommands(program, (code) => (exitCode = code));
  registerTaskCommands(program, localCatalog, () => createApiClient(loadConfig()));

  try {
    await program.parseAsync(argv, { from: 'user' });
    return exitCode;
  } catch (error) {
    return report(error);
  }
}

/**
 * The built-in tasks and those of `MAESTRO_TASK_MODULES`. Imported on first use: defining the
 * built-in tasks compiles their schemas, which commands that only call the API (most of them)
 * never need.
 */
async function localCatalog(): Promise<Catalog> {
  const { loadCatalog } = await import('../tasks/index.js');
  return loadCatalog(loadConfig());
}

/**
 * The catalogs manifests are checked against, by namespace: {@link localCatalog}, and with an API
 * configured (`MAESTRO_URL`) the tasks external workers registered with it (`GET /tasks`) in the
 * manifest's namespace, so that a manifest compiles here as the API would compile it.
 */
async function configuredCatalogs(): Promise<ManifestCatalogs> {
  const config = loadConfig();
  const { manifestCatalogs } = await import('./manifest-files.js');
  return manifestCatalogs(localCatalog, config.apiUrl === undefined ? undefined : createApiClient(config));
}

function report(error: unknown): number {
  if (error instanceof CommanderError) return error.exitCode === 0 ? 0 : 2;
  if (error instanceof ManifestError) {
    console.error(error.issues.map(formatIssue).join('\n'));
    return error.exitCode;
  }
  if (isMaestroError(error)) {
    console.error(`maestro: ${error.message}`);
    return error.exitCode;
  }
  if (isNodeError(error) && error.code === 'ENOENT') {
    console.error(`maestro: ${error.message}`);
    return 2;
  }
  console.error(error);
  return 1;
}

function isNodeError(error: unknown): error is NodeJS.ErrnoException {
  return error instanceof Error && 'code' in error;
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  process.exitCode = await main(process.argv.slice(2));
}
