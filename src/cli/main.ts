/**
 * The `maestro` command. Exit codes: 0 success, 1 a run that did not succeed (or an invalid
 * manifest for `validate`), 2 bad input (usage, unreadable file, invalid manifest or params).
 */
import { fileURLToPath } from 'node:url';
import { Command, CommanderError } from 'commander';
import type { Catalog } from '../catalog/index.js';
import { loadCatalog } from '../tasks/index.js';
import { compileWorkflow } from '../compiler/index.js';
import { loadConfig } from '../config/index.js';
import { runDev } from '../devserver/index.js';
import { ManifestError, ParamsError, formatIssue, isMaestroError, type ManifestIssue } from '../errors/index.js';
import type { CompiledWorkflow, ParameterSpec } from '../ir/index.js';
import { checkParams, loadManifestFile, parseManifestDocuments, parseParamText, readManifestText, splitDocuments, subWorkflowUses, type Manifest, type SubWorkflows } from '../manifest/index.js';
import { openStore, resolveSubWorkflows } from '../store/index.js';
import { PRIORITY_DYNAMIC_CONFIG } from '../runs/index.js';
import { registerAuditCommands } from './audit.js';
import { registerConfigCommands } from './config.js';
import { registerImageCommands } from './images.js';
import { registerLogCommands } from './logs.js';
import { registerRunnerCommands } from './runners.js';
import { registerScheduleCommands } from './schedules.js';
import { registerProvenanceCommands } from './provenance.js';
import { registerTaskCommands } from './tasks.js';
import { addApiCommands } from './api-commands.js';
import { registerApplyCommand } from './apply.js';
import { registerTriggerCommands } from './triggers.js';
import { runWorkflow } from './run.js';

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
    .action(async (files: string[], options: { json?: boolean }) => {
      const catalog = await configuredCatalog();
      const report = await Promise.all(files.map((file) => validateFile(file, catalog)));
      if (options.json) console.log(JSON.stringify(report, null, 2));
      else for (const entry of report) console.log(entry.valid ? `${entry.file}: valid` : entry.errors.map(formatIssue).join('\n'));
      exitCode = report.every((entry) => entry.valid) ? 0 : 1;
    });

  program
    .command('compile')
    .description('compile a workflow manifest; prints {digest, ir} as JSON')
    .argument('<file>')
    .action(async (file: string) => {
      console.log(JSON.stringify(await compileFile(file), null, 2));
    });

  program
    .command('run')
    .description('run a workflow on Temporal (TEMPORAL_ADDRESS, default localhost:7233), checked by the policy and recorded like an API start, and show its progress')
    .argument('<file>')
    .option('-p, --param <name=value>', 'a parameter (repeatable)', collect, [])
    .option('--namespace <namespace>', 'Maestro namespace of the run', 'default')
    .option('--no-wait', 'print the run id and return at once')
    .option('--json', 'print {runId, status, tasks} as JSON')
    .action(async (file: string, options: { param: string[]; namespace: string; wait: boolean; json?: boolean }) => {
      const compiled = await compileFile(file, options.namespace);
      const params = checkParams(compiled.ir.parameters, parseParams(compiled.ir.parameters, options.param));
      exitCode = await runWorkflow({ compiled, params, config: loadConfig(), namespace: options.namespace, noWait: !options.wait, json: options.json ?? false });
    });

  program
    .command('dev')
    .description('start Maestro locally: Temporal dev server (SQLite under .maestro/, Web UI), the worker and the HTTP API')
    .option('--traces', 'also start a local Jaeger (built on first use), export traces to it and print its UI URL')
    .action(async (options: { traces?: boolean }) => {
      const { runWorker } = await import('../worker/index.js');
      const { startLocalApi } = await import('../api/index.js');
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
  registerApplyCommand(program, configuredCatalog, (code) => (exitCode = code));
  registerScheduleCommands(program);
  registerTriggerCommands(program);

  registerAuditCommands(program, (code) => (exitCode = code));
  registerConfigCommands(program);
  registerRunnerCommands(program, (code) => (exitCode = code));
  registerImageCommands(program, (code) => (exitCode = code));
  registerLogCommands(program, (code) => (exitCode = code));
  registerProvenanceCommands(program, (code) => (exitCode = code));
  registerTaskCommands(program, configuredCatalog);

  try {
    await program.parseAsync(argv, { from: 'user' });
    return exitCode;
  } catch (error) {
    return report(error);
  }
}

/** The catalog manifests are checked against: the built-in tasks and those of `MAESTRO_TASK_MODULES`. */
function configuredCatalog(): Promise<Catalog> {
  return loadCatalog(loadConfig());
}

async function validateFile(file: string, catalog: Catalog): Promise<{ file: string; valid: boolean; errors: ManifestIssue[] }> {
  try {
    // A file of several documents (as `maestro apply` reads) is checked document by document; its
    // workflows' sub-workflow references are checked where it is applied.
    const text = await readManifestText(file);
    if (splitDocuments(text).length > 1) parseManifestDocuments(text, file, { catalog });
    else await loadWithSubWorkflows(file, catalog);
    return { file, valid: true, errors: [] };
  } catch (error) {
    if (error instanceof ManifestError) return { file, valid: false, errors: error.issues };
    throw error;
  }
}

/**
 * Loads a manifest; a workflow's `uses: workflow/…` are resolved in the registry the API uses
 * (`MAESTRO_DATA_DIR` / `MAESTRO_DATABASE_URL`), in `namespace` (default its `metadata.namespace`),
 * and checked as registering it would.
 */
async function loadWithSubWorkflows(file: string, catalog: Catalog, namespace?: string): Promise<{ manifest: Manifest; workflows?: SubWorkflows }> {
  const manifest = await loadManifestFile(file, { catalog });
  const uses = manifest.kind === 'Workflow' ? subWorkflowUses(manifest.spec.tasks) : [];
  if (uses.length === 0) return { manifest };
  const config = loadConfig();
  const store = await openStore({ dataDir: config.dataDir, ...(config.databaseUrl === undefined ? {} : { databaseUrl: config.databaseUrl }) });
  try {
    const workflows = await resolveSubWorkflows(store, namespace ?? manifest.metadata.namespace ?? 'default', uses);
    return { manifest: await loadManifestFile(file, { catalog, workflows }), workflows };
  } finally {
    await store.close();
  }
}

async function compileFile(file: string, namespace?: string): Promise<CompiledWorkflow> {
  const catalog = await configuredCatalog();
  const { manifest, workflows } = await loadWithSubWorkflows(file, catalog, namespace);
  if (manifest.kind !== 'Workflow') {
    throw new ManifestError([
      { file, line: 1, column: 1, path: 'kind', message: `a ${manifest.kind} is triggered through the API, not compiled or run directly; run its workflow` },
    ]);
  }
  return compileWorkflow(manifest, { catalog, ...(workflows === undefined ? {} : { workflows }) });
}

function parseParams(specs: ParameterSpec[], pairs: string[]): Record<string, unknown> {
  const values: Record<string, unknown> = {};
  for (const pair of pairs) {
    const eq = pair.indexOf('=');
    if (eq <= 0) throw new ParamsError([{ name: pair, message: 'expected name=value' }]);
    const name = pair.slice(0, eq);
    const spec = specs.find((candidate) => candidate.name === name);
    values[name] = spec ? parseParamText(spec, pair.slice(eq + 1)) : pair.slice(eq + 1);
  }
  return values;
}

function collect(value: string, previous: string[]): string[] {
  return [...previous, value];
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
