/**
 * The `maestro validate`, `compile`, `run` and `apply` side of the CLI: manifest files read,
 * checked and compiled in their namespace (a manifest's `metadata.namespace`, else `default`, as
 * the API registers it) against that namespace's catalog (sub-workflows resolved in the registry,
 * registered tasks listed by the API). Loaded only by those commands, so the others start without
 * the compiler, the store or the task catalog.
 */
import type { Catalog } from '../catalog/index.js';
import { compileWorkflow } from '../compiler/index.js';
import { loadConfig } from '../config/index.js';
import { MaestroError, ManifestError, ParamsError, type ManifestIssue } from '../errors/index.js';
import type { CompiledWorkflow, ParameterSpec } from '../ir/index.js';
import {
  DEFAULT_NAMESPACE,
  declaredNamespace,
  parseManifest,
  parseManifestDocuments,
  parseParamText,
  readManifestText,
  splitDocuments,
  subWorkflowUses,
  type Manifest,
  type SubWorkflows,
} from '../manifest/index.js';
import { remoteDefinition } from '../runs/index.js';
import { openStore, resolveSubWorkflows } from '../store/index.js';
import type { ApiClient } from './api-client.js';
import type { ListedTask } from './tasks.js';

/**
 * The namespace a manifest is checked, compiled and run in, as the API registers it: its
 * `metadata.namespace`, else `default`. `--namespace` (`named`) names it for a manifest naming
 * none, and must be the manifest's own otherwise, as the API refuses a body whose namespace is not
 * the query's.
 * @throws MaestroError `BAD_REQUEST` when the manifest and `--namespace` name different namespaces.
 */
export function manifestNamespace(declared: string | undefined, named: string | undefined): string {
  if (declared !== undefined && named !== undefined && declared !== named) {
    throw new MaestroError('BAD_REQUEST', `the manifest's namespace ${declared} is not --namespace ${named}: its tasks resolve in ${declared}, as the API registers it`);
  }
  return named ?? declared ?? DEFAULT_NAMESPACE;
}

/**
 * The catalogs manifests are checked against, by namespace, each built once: the local tasks (the
 * built-in tasks and `MAESTRO_TASK_MODULES`), and with an API configured (`MAESTRO_URL`) the tasks
 * external workers registered with it in that namespace (`GET /tasks`), as the API compiles them.
 */
export interface ManifestCatalogs {
  /**
   * The catalog of one namespace (`GET /tasks?namespace=`).
   * @throws MaestroError when the API cannot be reached or refuses the caller (401, 403 for a
   *   namespace the token lacks, as the API would refuse the manifest).
   */
  of(namespace: string): Promise<Catalog>;
  /**
   * The catalogs of every namespace from one listing of the caller's (`GET /tasks`), for files of
   * documents in several namespaces: a namespace the caller lacks has the local tasks only, and
   * the API refuses its documents.
   */
  byNamespace(): Promise<(namespace: string) => Catalog>;
}

/**
 * {@link ManifestCatalogs} over `local` and, when given, the API `api`.
 * @param local the local catalog, loaded on first use
 */
export function manifestCatalogs(local: () => Promise<Catalog>, api?: ApiClient): ManifestCatalogs {
  const loaded = once(local);
  const listed = (query: string): Promise<ListedTask[]> => (api ? api.request<{ items: ListedTask[] }>('GET', `/tasks${query}`).then(({ items }) => items) : Promise.resolve([]));
  const namespaces = new Map<string, Promise<Catalog>>();
  const all = once(async () => {
    const [catalog, items] = await Promise.all([loaded(), listed('')]);
    const built = new Map<string, Catalog>();
    return (namespace: string): Catalog => {
      const found = built.get(namespace) ?? withRegisteredTasks(catalog, items, namespace);
      built.set(namespace, found);
      return found;
    };
  });
  return {
    of(namespace) {
      let catalog = namespaces.get(namespace);
      if (catalog === undefined) {
        catalog = Promise.all([loaded(), listed(`?namespace=${encodeURIComponent(namespace)}`)]).then(([base, items]) => withRegisteredTasks(base, items, namespace));
        namespaces.set(namespace, catalog);
      }
      return catalog;
    },
    byNamespace: all,
  };
}

/** `load`, called on the first call only; every call gets its promise. */
function once<T>(load: () => Promise<T>): () => Promise<T> {
  let pending: Promise<T> | undefined;
  return () => (pending ??= load());
}

/** Checks one manifest file, in the namespace {@link manifestNamespace} gives it; its problems as issues, or valid. */
export async function validateFile(file: string, catalogs: ManifestCatalogs, named?: string): Promise<{ file: string; valid: boolean; errors: ManifestIssue[] }> {
  try {
    // A file of several documents (as `maestro apply` reads) is checked document by document, each
    // in its namespace; its workflows' sub-workflow references are checked where it is applied.
    const text = await readManifestText(file);
    if (splitDocuments(text).length > 1) {
      const catalogOf = await catalogs.byNamespace();
      parseManifestDocuments(text, file, { catalog: (declared) => catalogOf(manifestNamespace(declared, named)) });
    } else await loadWithSubWorkflows(file, text, catalogs, named);
    return { file, valid: true, errors: [] };
  } catch (error) {
    if (error instanceof ManifestError) return { file, valid: false, errors: error.issues };
    throw error;
  }
}

/** A manifest file read, checked and resolved in its namespace. */
interface LoadedManifest {
  manifest: Manifest;
  /** Where it is checked, compiled and run: see {@link manifestNamespace}. */
  namespace: string;
  catalog: Catalog;
  workflows?: SubWorkflows;
}

/**
 * Parses a manifest's `text` in its namespace (see {@link manifestNamespace}): its tasks resolve
 * in that namespace's catalog, and a workflow's `uses: workflow/…` in the registry the API uses
 * (`MAESTRO_DATA_DIR` / `MAESTRO_DATABASE_URL`), checked as registering it would.
 */
async function loadWithSubWorkflows(file: string, text: string, catalogs: ManifestCatalogs, named: string | undefined): Promise<LoadedManifest> {
  const namespace = manifestNamespace(declaredNamespace(text, file), named);
  const catalog = await catalogs.of(namespace);
  const manifest = parseManifest(text, file, { catalog });
  const uses = manifest.kind === 'Workflow' ? subWorkflowUses(manifest.spec.tasks) : [];
  if (uses.length === 0) return { manifest, namespace, catalog };
  const config = loadConfig();
  const store = await openStore({ dataDir: config.dataDir, ...(config.databaseUrl === undefined ? {} : { databaseUrl: config.databaseUrl }) });
  try {
    const workflows = await resolveSubWorkflows(store, namespace, uses);
    return { manifest: parseManifest(text, file, { catalog, workflows }), namespace, catalog, workflows };
  } finally {
    await store.close();
  }
}

/**
 * Compiles a workflow manifest file in its namespace (see {@link manifestNamespace}), as the API
 * would register it there; the namespace is the one a run of it starts in.
 */
export async function compileFile(file: string, catalogs: ManifestCatalogs, named?: string): Promise<{ compiled: CompiledWorkflow; namespace: string }> {
  const { manifest, namespace, catalog, workflows } = await loadWithSubWorkflows(file, await readManifestText(file), catalogs, named);
  if (manifest.kind !== 'Workflow') {
    throw new ManifestError([
      { file, line: 1, column: 1, path: 'kind', message: `a ${manifest.kind} is triggered through the API, not compiled or run directly; run its workflow` },
    ]);
  }
  return { compiled: compileWorkflow(manifest, { catalog, ...(workflows === undefined ? {} : { workflows }) }), namespace };
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

/** `catalog` with the tasks of `listed` (`GET /tasks`) registered in `namespace`. */
function withRegisteredTasks(catalog: Catalog, listed: readonly ListedTask[], namespace: string): Catalog {
  const registered = listed.filter((task): task is RegisteredListedTask => task.namespace === namespace);
  if (registered.length === 0) return catalog;
  return catalog.with(registered.map((task) => remoteDefinition({ ...task, inputSchema: task.input, outputSchema: task.output })));
}
