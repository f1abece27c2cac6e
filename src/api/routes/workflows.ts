/**
 * `/workflows`: register (validate, compile, store content-addressed), list, and read back. A
 * workflow belongs to the namespace of its `metadata.namespace` (default `default`): registering
 * it needs access to that namespace, and it is found only from inside it.
 */
import { compileWorkflow } from '../../compiler/index.js';
import { NotFoundError } from '../../errors/index.js';
import { subWorkflowUses } from '../../manifest/index.js';
import { namespaceCatalog } from '../../runs/index.js';
import { resolveSubWorkflows } from '../../store/index.js';
import { caller, stringParam, type RouteHandler } from '../context.js';
import { requestNamespace, visibleNamespaces } from './access.js';
import { requestDeclaredNamespace, workflowFromBody } from './manifests.js';

/**
 * `POST /workflows`: 201 when new, 200 when the identical workflow is there, 409 when it differs.
 * Its `uses: workflow/…` references resolve in its own namespace (then it is checked again against
 * them: params, recursion, size), and the IR pins and embeds what they resolved to.
 */
export const registerWorkflow: RouteHandler = async (context) => {
  const principal = caller(context);
  // Its tasks resolve against its namespace's registered tasks too, so the namespace is read first.
  const namespace = requestNamespace(principal, requestDeclaredNamespace(context));
  const catalog = await namespaceCatalog(context.deps.store, context.deps.catalog, namespace);
  const first = workflowFromBody(context, undefined, catalog);
  const workflows = await resolveSubWorkflows(context.deps.store, namespace, subWorkflowUses(first.manifest.spec.tasks));
  const { manifest, text } = workflows.size === 0 ? first : workflowFromBody(context, workflows, catalog);
  const { ir, digest } = compileWorkflow(manifest, { catalog, workflows });
  const outcome = await context.deps.store.putWorkflow({
    namespace,
    name: ir.name,
    version: ir.version,
    digest,
    ir,
    manifest: text,
    createdAt: context.deps.clock().toISOString(),
    createdBy: principal.subject,
  });
  return { status: outcome === 'created' ? 201 : 200, body: { namespace, name: ir.name, version: ir.version, digest } };
};

/** `GET /workflows[?namespace=]`: the versions registered in the caller's namespaces (or the one named). */
export const listWorkflows: RouteHandler = async (context) => {
  const namespaces = visibleNamespaces(caller(context), (context.query as { namespace?: string }).namespace);
  return { status: 200, body: { items: await context.deps.store.listWorkflows(namespaces) } };
};

/** `GET /workflows/{name}/versions/{version}[?namespace=]`: looked up in the namespace named, default `default`. */
export const getWorkflow: RouteHandler = async (context) => {
  const namespace = requestNamespace(caller(context), (context.query as { namespace?: string }).namespace);
  const name = stringParam(context.path, 'name');
  const version = stringParam(context.path, 'version');
  const entry = await context.deps.store.getWorkflow(namespace, name, version);
  if (!entry) throw new NotFoundError(`workflow ${name}@${version} is not registered in namespace ${namespace}`);
  return { status: 200, body: entry };
};
