/**
 * `/triggers`: register, replace, read, pause and delete webhook and message triggers. A trigger
 * lives in one namespace and is visible only to principals of it; writing needs the operator role
 * there (the operation's `x-maestro-roles`), and the writer's principal becomes the one every fire
 * acts for. Each change is audited before it is made.
 */
import { MaestroError, NotFoundError } from '../../errors/index.js';
import type { TriggerManifest } from '../../manifest/index.js';
import type { TriggerRecord } from '../../store/index.js';
import { recordTriggerEvent, saveTrigger, triggerOf } from '../../triggers/index.js';
import { caller, requestTraceId, stringParam, type RouteContext, type RouteHandler } from '../context.js';
import { requestNamespace, runPrincipal, visibleNamespaces } from './access.js';
import { triggerFromBody } from './manifests.js';

/** A trigger as the API shows it: the definition, where it acts, for whom, and its recent runs. */
function triggerView(record: TriggerRecord): Record<string, unknown> {
  const trigger = triggerOf(record);
  const kind = trigger.source === undefined ? 'webhook' : 'nats' in trigger.source ? 'nats' : 'kafka';
  return {
    ...trigger,
    kind,
    ...(kind === 'webhook' ? { hookPath: `/hooks/${record.namespace}/${record.name}` } : {}),
    actsAs: { subject: record.principal.subject, roles: record.principal.roles },
    createdAt: record.createdAt,
    updatedAt: record.updatedAt,
    ...(record.lastFiredAt === undefined ? {} : { lastFiredAt: record.lastFiredAt }),
    recentRuns: record.recentRuns,
  };
}

/** The definition a request sends: a `kind: Trigger` manifest, or the JSON body. */
function definitionOf(context: RouteContext): { name?: string; namespace?: string; spec: Record<string, unknown> } {
  if (context.req.is(['application/yaml', 'application/x-yaml', 'text/yaml', 'text/x-yaml'])) {
    const manifest: TriggerManifest = triggerFromBody(context);
    return { name: manifest.metadata.name, ...(manifest.metadata.namespace === undefined ? {} : { namespace: manifest.metadata.namespace }), spec: manifest.spec };
  }
  const { name, namespace, ...spec } = context.body as Record<string, unknown>;
  // The JSON body is checked against the manifest schema as the `spec` of a manifest, so both
  // forms have one definition of what is valid.
  triggerFromBody({ deps: context.deps, rawBody: JSON.stringify({ apiVersion: 'maestro/v1', kind: 'Trigger', metadata: { name: name ?? 'unnamed' }, spec }) });
  return { ...(typeof name === 'string' ? { name } : {}), ...(typeof namespace === 'string' ? { namespace } : {}), spec };
}

async function save(context: RouteContext, mode: 'create' | 'replace'): Promise<{ status: number; body: unknown }> {
  const principal = caller(context);
  const given = definitionOf(context);
  const pathName = context.path.name as string | undefined;
  const queryNamespace = (context.query as { namespace?: string }).namespace;
  if (pathName !== undefined && given.name !== undefined && given.name !== pathName) {
    throw new MaestroError('BAD_REQUEST', `the body names trigger ${given.name}, the path ${pathName}`);
  }
  if (given.namespace !== undefined && queryNamespace !== undefined && given.namespace !== queryNamespace) {
    throw new MaestroError('BAD_REQUEST', `the body's namespace ${given.namespace} is not the query's ${queryNamespace}`);
  }
  const name = pathName ?? given.name;
  if (name === undefined) throw new MaestroError('BAD_REQUEST', 'name is required', { details: { errors: [{ path: 'body.name', message: 'is required' }] } });
  const namespace = requestNamespace(principal, given.namespace ?? queryNamespace);
  const { outcome } = await saveTrigger(
    { store: context.deps.store, auditLog: context.deps.auditLog, clock: context.deps.clock },
    { namespace, name, body: given.spec, principal: runPrincipal(principal), mode, traceId: requestTraceId(context) },
  );
  const record = await context.deps.store.getTrigger(namespace, name);
  if (!record) throw new NotFoundError(`trigger ${name} was deleted in namespace ${namespace} while it was saved`);
  return { status: outcome === 'created' ? 201 : 200, body: { namespace, name, outcome, trigger: triggerView(record) } };
}

/** The trigger a name route addresses, in a namespace the caller may see. @throws NotFoundError when there is none. */
async function addressed(context: RouteContext): Promise<TriggerRecord> {
  const namespace = requestNamespace(caller(context), (context.query as { namespace?: string }).namespace);
  const name = stringParam(context.path, 'name');
  const record = await context.deps.store.getTrigger(namespace, name);
  if (!record) throw new NotFoundError(`no trigger ${name} in namespace ${namespace}`);
  return record;
}

/** `POST /triggers`: 201, or 409 `TRIGGER_EXISTS`. */
export const createTrigger: RouteHandler = (context) => save(context, 'create');

/** `PUT /triggers/{name}`: 201 created, 200 updated or unchanged. */
export const putTrigger: RouteHandler = (context) => save(context, 'replace');

/** `GET /triggers[?namespace=]`. */
export const listTriggers: RouteHandler = async (context) => {
  const namespaces = visibleNamespaces(caller(context), (context.query as { namespace?: string }).namespace);
  const records = await context.deps.store.listTriggers(namespaces === undefined ? {} : { namespaces });
  return { status: 200, body: { items: records.map(triggerView) } };
};

/** `GET /triggers/{name}?namespace=`. */
export const getTrigger: RouteHandler = async (context) => ({ status: 200, body: triggerView(await addressed(context)) });

/** `DELETE /triggers/{name}?namespace=`: audited, then deleted with its deduplication keys. */
export const deleteTrigger: RouteHandler = async (context) => {
  const record = await addressed(context);
  await recordTriggerEvent(context.deps.auditLog, { namespace: record.namespace, trigger: record.name, actor: caller(context).subject, action: 'delete', traceId: requestTraceId(context) });
  await context.deps.store.deleteTrigger(record.namespace, record.name);
  return { status: 200, body: { namespace: record.namespace, name: record.name } };
};

function setPaused(paused: boolean): RouteHandler {
  return async (context) => {
    const record = await addressed(context);
    if (record.paused !== paused) {
      await recordTriggerEvent(context.deps.auditLog, {
        namespace: record.namespace,
        trigger: record.name,
        actor: caller(context).subject,
        action: paused ? 'pause' : 'unpause',
        traceId: requestTraceId(context),
      });
      await context.deps.store.setTriggerPaused(record.namespace, record.name, paused, context.deps.clock().toISOString());
    }
    return { status: 200, body: triggerView({ ...record, paused }) };
  };
}

/** `POST /triggers/{name}/pause`. */
export const pauseTrigger: RouteHandler = setPaused(true);

/** `POST /triggers/{name}/unpause`. */
export const unpauseTrigger: RouteHandler = setPaused(false);
