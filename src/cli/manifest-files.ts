/**
 * The `maestro validate`, `compile` and `run` side of the CLI: manifest files read, checked and
 * compiled against the catalog (sub-workflows resolved in the registry, registered tasks listed by
 * the API). Loaded only by those commands, so the others start without the compiler, the store or
 * the task catalog.
 */
import type { Catalog } from '../catalog/index.js';
import { compileWorkflow } from '../compiler/index.js';
import { loadConfig } from '../config/index.js';
import { MaestroError, ManifestError, ParamsError, type ManifestIssue } from '../errors/index.js';
import type { CompiledWorkflow, ParameterSpec } from '../ir/index.js';
import { loadManifestFile, parseManifestDocuments, parseParamText, readManifestText, splitDocuments, subWorkflowUses, type Manifest, type SubWorkflows } from '../manifest/index.js';
import { remoteDefinition } from '../runs/index.js';
import { openStore, resolveSubWorkflows } from '../store/index.js';
import type { ApiClient } from './api-client.js';
import type { ListedTask } from './tasks.js';

/** Checks one manifest file; its problems as issues, or valid. */
export async function validateFile(file: string, catalog: Catalog): Promise<{ file: string; valid: boolean; errors: ManifestIssue[] }> {
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

/** Compiles a workflow manifest file against `catalog`, its sub-workflows resolved in `namespace`. */
export async function compileFile(file: string, catalog: Catalog, namespace?: string): Promise<CompiledWorkflow> {
  const { manifest, workflows } = await loadWithSubWorkflows(file, catalog, namespace);
  if (manifest.kind !== 'Workflow') {
    throw new ManifestError([
      { file, line: 1, column: 1, path: 'kind', message: `a ${manifest.kind} is triggered through the API, not compiled or run directly; run its workflow` },
    ]);
  }
  return compileWorkflow(manifest, { catalog, ...(workflows === undefined ? {} : { workflows }) });
}

/** `name=value` pairs as parameter values, each parsed by its spec's type. */
export function parseParams(specs: ParameterSpec[], pairs: string[]): Record<string, unknown> {
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

/** A task listed with its registration: one an external worker registered. */
type RegisteredListedTask = ListedTask & Required<Pick<ListedTask, 'namespace' | 'language' | 'taskQueue' | 'codeDigest' | 'timeoutMs'>>;

/**
 * `catalog` with the tasks registered with the API (`GET /tasks`) in `namespace`, or in every
 * namespace of the caller when none is named: what `maestro validate`, `compile`, `run` and
 * `apply` check manifests against when `MAESTRO_URL` is set, as the API itself would.
 *
 * @throws MaestroError when the API cannot be reached or refuses the caller (401, 403 for a
 * namespace the token lacks).
 */
export async function withRegisteredTasks(catalog: Catalog, api: ApiClient, namespace?: string): Promise<Catalog> {
  const query = namespace === undefined ? '' : `?namespace=${encodeURIComponent(namespace)}`;
  const { items } = await api.request<{ items: ListedTask[] }>('GET', `/tasks${query}`);
  const registered = items.filter((task): task is RegisteredListedTask => task.namespace !== undefined && (namespace === undefined || task.namespace === namespace));
  if (registered.length === 0) return catalog;
  // Without a namespace, one name@version registered differently in two namespaces has no one
  // answer: compiling against either could print a digest the API would not give. Ask for one.
  const seen = new Map<string, RegisteredListedTask>();
  for (const task of registered) {
    const key = `${task.name}@${task.version}`;
    const first = seen.get(key);
    if (first !== undefined && (first.codeDigest !== task.codeDigest || first.taskQueue !== task.taskQueue)) {
      throw new MaestroError('BAD_REQUEST', `${key} is registered differently in namespaces ${first.namespace} and ${task.namespace}: name one with --namespace`);
    }
    seen.set(key, task);
  }
  return catalog.with(registered.map((task) => remoteDefinition({ ...task, inputSchema: task.input, outputSchema: task.output })));
}
