/**
 * Registered tasks (store migration 6): tasks whose code runs outside Maestro's worker — a Python
 * worker, say — registered by that worker with `POST /tasks` so that manifests of the namespace can
 * `uses:` them (see `docs/python-tasks.md`). A registration belongs to its namespace, and a
 * `name@version` never changes: registering it again with other content is refused.
 *
 * Table `registered_tasks` — one row per namespace, name and version:
 * | column | meaning |
 * |---|---|
 * | namespace, name, version | primary key: the task version, in the namespace that registered it |
 * | content_digest | `sha256:` of the canonical JSON of what makes two registrations the same ({@link registeredTaskContent}) |
 * | definition | the record's other fields (language, schemas, digest, queue, deterministic, timeout, description), JSON |
 * | registered_at, registered_by | when (ISO 8601 UTC) and by whom (the principal's subject) |
 */
import { digestOf } from '../canonical/index.js';
import { MaestroError } from '../errors/index.js';
import type { SqlDriver, SqlRow } from './sql/driver.js';
import { namespaceClause } from './sql/namespace-clause.js';

/** A task registered by an external worker in one namespace. */
export interface RegisteredTask {
  /** The namespace whose manifests may use it (only those). */
  namespace: string;
  /** `group/name`, never a built-in task's name. */
  name: string;
  /** Exact semver version. */
  version: string;
  description: string;
  /** The language of its code, e.g. `python`. */
  language: string;
  /** JSON Schema of its input (`with`). */
  inputSchema: Record<string, unknown>;
  /** JSON Schema of its output. */
  outputSchema: Record<string, unknown>;
  /** Same input, same output: its results may be cached (keyed on {@link codeDigest}). */
  deterministic: boolean;
  /** `sha256:<64 hex>` of its code, as its worker computed it. */
  codeDigest: string;
  /** The Temporal task queue its worker serves it on. */
  taskQueue: string;
  /** Start-to-close timeout of one attempt, milliseconds. */
  timeoutMs: number;
  /** When it was first registered (ISO 8601 UTC). */
  registeredAt: string;
  /** The subject of the principal who registered it. */
  registeredBy: string;
}

/** Reads and writes of registered tasks; the {@link Store} has them. */
export interface RegisteredTaskStore {
  /**
   * Registers a task version in `task.namespace`.
   * @returns `created`, or `unchanged` when the same content is registered already (the stored record stays).
   * @throws MaestroError `TASK_VERSION_CONFLICT` when `name@version` is registered there with other content.
   */
  putRegisteredTask(task: RegisteredTask): Promise<'created' | 'unchanged'>;
  /** The registered `name@version` of `namespace` (never another namespace's). */
  getRegisteredTask(namespace: string, name: string, version: string): Promise<RegisteredTask | undefined>;
  /**
   * Registered tasks by namespace, name, then registration time.
   * @param namespaces only these namespaces' @default undefined — every namespace's
   */
  listRegisteredTasks(namespaces?: readonly string[]): Promise<RegisteredTask[]>;
}

/**
 * What makes two registrations of a `name@version` the same: the language, schemas, code digest,
 * task queue and determinism. The description and timeout may differ (the first one stays).
 */
function registeredTaskContent(task: RegisteredTask): unknown {
  const { language, inputSchema, outputSchema, deterministic, codeDigest, taskQueue } = task;
  return { language, inputSchema, outputSchema, deterministic, codeDigest, taskQueue };
}

type Definition = Omit<RegisteredTask, 'namespace' | 'name' | 'version' | 'registeredAt' | 'registeredBy'>;

function recordOf(row: SqlRow): RegisteredTask {
  const definition = JSON.parse(String(row.definition)) as Definition;
  return {
    namespace: String(row.namespace),
    name: String(row.name),
    version: String(row.version),
    ...definition,
    registeredAt: String(row.registered_at),
    registeredBy: String(row.registered_by),
  };
}

const COLUMNS = 'namespace, name, version, definition, registered_at, registered_by';

/** The registered tasks of the store on `db`. */
export function createRegisteredTaskStore(db: SqlDriver): RegisteredTaskStore {
  return {
    putRegisteredTask(task) {
      const { namespace, name, version, registeredAt, registeredBy, ...definition } = task;
      const contentDigest = digestOf(registeredTaskContent(task));
      return db.transaction(async (tx) => {
        await tx.lock(`task:${namespace}/${name}@${version}`);
        const [found] = await tx.all('SELECT content_digest FROM registered_tasks WHERE namespace = $1 AND name = $2 AND version = $3', [namespace, name, version]);
        if (found) {
          if (String(found.content_digest) === contentDigest) return 'unchanged';
          throw new MaestroError('TASK_VERSION_CONFLICT', `task ${name}@${version} is already registered in namespace ${namespace} with other content (schemas, code digest, task queue or determinism); register a new version`, {
            details: { contentDigest: String(found.content_digest) },
          });
        }
        await tx.run(`INSERT INTO registered_tasks (${COLUMNS}, content_digest) VALUES ($1, $2, $3, $4, $5, $6, $7)`, [
          namespace,
          name,
          version,
          JSON.stringify(definition),
          registeredAt,
          registeredBy,
          contentDigest,
        ]);
        return 'created';
      });
    },

    async getRegisteredTask(namespace, name, version) {
      const [row] = await db.all(`SELECT ${COLUMNS} FROM registered_tasks WHERE namespace = $1 AND name = $2 AND version = $3`, [namespace, name, version]);
      return row === undefined ? undefined : recordOf(row);
    },

    async listRegisteredTasks(namespaces) {
      const { where, params } = namespaceClause(namespaces, 'namespace');
      const rows = await db.all(`SELECT ${COLUMNS} FROM registered_tasks ${where} ORDER BY namespace, name, registered_at, version`, params);
      return rows.map(recordOf);
    },
  };
}
