/**
 * `/workflows`: register (validate, compile, store content-addressed), list, and read back.
 */
import { compileWorkflow } from '../../compiler/index.js';
import { NotFoundError } from '../../errors/index.js';
import { caller, stringParam, type RouteHandler } from '../context.js';
import { workflowFromBody } from './manifests.js';

/** `POST /workflows`: 201 when new, 200 when the identical workflow is there, 409 when it differs. */
export const registerWorkflow: RouteHandler = async (context) => {
  const principal = caller(context);
  const { manifest, text } = workflowFromBody(context);
  const { ir, digest } = compileWorkflow(manifest, { catalog: context.deps.catalog });
  const outcome = await context.deps.store.putWorkflow({
    name: ir.name,
    version: ir.version,
    digest,
    ir,
    manifest: text,
    createdAt: context.deps.clock().toISOString(),
    createdBy: principal.name,
  });
  return { status: outcome === 'created' ? 201 : 200, body: { name: ir.name, version: ir.version, digest } };
};

/** `GET /workflows`. */
export const listWorkflows: RouteHandler = async (context) => ({ status: 200, body: { items: await context.deps.store.listWorkflows() } });

/** `GET /workflows/{name}/versions/{version}`. */
export const getWorkflow: RouteHandler = async (context) => {
  const name = stringParam(context.path, 'name');
  const version = stringParam(context.path, 'version');
  const entry = await context.deps.store.getWorkflow(name, version);
  if (!entry) throw new NotFoundError(`workflow ${name}@${version} is not registered`);
  return { status: 200, body: entry };
};
