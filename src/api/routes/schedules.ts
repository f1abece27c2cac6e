/**
 * `/schedules`: schedules on Temporal Schedules (see `src/runs/schedules.ts`). A schedule lives in
 * one namespace and is visible only to principals of it (another namespace's schedule is a 404);
 * creating, changing, pausing, firing and deleting need the operator role there. Every change is
 * appended to the audit log (kind `schedule`, under `schedule:<namespace>:<id>`) before it is made;
 * the caller of a create or change becomes the principal the schedule's runs act for, checked now
 * (the target exists, its params check, a runbook's allow-list) and again at every fire.
 */
import { digestOf } from '../../canonical/index.js';
import { MaestroError } from '../../errors/index.js';
import {
  createTemporalSchedule,
  getSchedule,
  listSchedules as listLiveSchedules,
  planScheduledStart,
  readSchedule,
  recentScheduleRuns,
  recordScheduleEvent,
  replaceTemporalSchedule,
  scheduleDefinition,
  setSchedulePaused,
  type LiveSchedule,
  type OverlapPolicy,
  type ScheduleBody,
  type ScheduleDefinition,
  type StoredSchedule,
} from '../../runs/index.js';
import type { AuthenticatedPrincipal } from '../auth/index.js';
import { caller, requestTraceId, stringParam, type ResolvedDeps, type RouteContext, type RouteHandler } from '../context.js';
import { requestNamespace, runPrincipal, visibleNamespaces } from './access.js';
import { scheduleFromManifest } from './manifests.js';

/** Longest range of a backfill: Temporal buffers every fire time of it. */
const BACKFILL_MAX_MS = 366 * 24 * 3_600_000;

/**
 * A schedule as `GET /schedules/{id}` shows it. Temporal applies a change to a schedule a moment
 * after it accepted it (describe may still show the old one): a route that just changed it passes
 * what it wrote as `written`.
 */
async function scheduleView(deps: ResolvedDeps, live: LiveSchedule, written: StoredSchedule = live.stored): Promise<Record<string, unknown>> {
  return {
    ...written.definition,
    actsFor: written.principal.subject,
    nextFireTimes: live.description.info.nextActionTimes.slice(0, 10).map((time) => time.toISOString()),
    recentRuns: await recentScheduleRuns(deps.client, deps.store, live),
  };
}

/** The schedule of the path, in `?namespace=` (default `default`): 404 unless the caller's namespace has it. */
async function pathSchedule(context: RouteContext, principal: AuthenticatedPrincipal): Promise<LiveSchedule> {
  const namespace = requestNamespace(principal, (context.query as { namespace?: string }).namespace);
  return getSchedule(context.deps.client, namespace, stringParam(context.path, 'scheduleId'));
}

/**
 * The definition of `body`, acting for the caller, checked as a fire now would be (the target
 * exists in the namespace, its params check for a fire now, the caller passes a runbook's allow-list).
 */
async function checkedSchedule(context: RouteContext, principal: AuthenticatedPrincipal, body: ScheduleBody, id: string, namespace: string): Promise<StoredSchedule> {
  const stored = { definition: scheduleDefinition(body, id, namespace), principal: runPrincipal(principal) };
  await planScheduledStart(context.deps, stored, context.deps.clock().toISOString());
  return stored;
}

function record(context: RouteContext, principal: AuthenticatedPrincipal, definition: Pick<ScheduleDefinition, 'namespace' | 'id'>, action: string, extra: { reason?: string; details?: Record<string, unknown> } = {}): Promise<void> {
  return recordScheduleEvent(context.deps, definition, { actor: principal.subject, action, traceId: requestTraceId(context), ...extra });
}

/** `POST /schedules`: 201, or 409 `SCHEDULE_EXISTS`. */
export const createSchedule: RouteHandler = async (context) => {
  const principal = caller(context);
  const body = context.body as ScheduleBody;
  if (body.id === undefined) throw new MaestroError('BAD_REQUEST', 'id is required', { details: { errors: [{ path: 'id', message: 'required' }] } });
  const namespace = requestNamespace(principal, body.namespace);
  if (await readSchedule(context.deps.client, namespace, body.id)) throw new MaestroError('SCHEDULE_EXISTS', `namespace ${namespace} has a schedule "${body.id}" already`);
  const stored = await checkedSchedule(context, principal, body, body.id, namespace);
  await record(context, principal, stored.definition, 'created', { details: { definition: stored.definition } });
  await createTemporalSchedule(context.deps.client, context.deps.config.taskQueue, stored);
  return { status: 201, body: await scheduleView(context.deps, await getSchedule(context.deps.client, namespace, body.id)) };
};

/** `GET /schedules[?namespace=]`. */
export const listSchedules: RouteHandler = async (context) => {
  const namespaces = visibleNamespaces(caller(context), (context.query as { namespace?: string }).namespace);
  return { status: 200, body: { items: await listLiveSchedules(context.deps.client, namespaces) } };
};

/** `GET /schedules/{id}`. */
export const getScheduleRoute: RouteHandler = async (context) => {
  const live = await pathSchedule(context, caller(context));
  return { status: 200, body: await scheduleView(context.deps, live) };
};

/** The body of a `PUT`: JSON, or a `kind: Schedule` manifest; its id must be the path's. */
function putBody(context: RouteContext, id: string): { body: ScheduleBody; namespace: string | undefined } {
  const query = (context.query as { namespace?: string }).namespace;
  if (typeof context.body === 'string') {
    const manifest = scheduleFromManifest(context);
    if (manifest.id !== id) throw new MaestroError('BAD_REQUEST', `metadata.name "${manifest.id}" is not the schedule of the path, "${id}"`);
    return { body: manifest.body, namespace: manifest.namespace ?? query };
  }
  const body = context.body as ScheduleBody;
  if (body.id !== undefined && body.id !== id) throw new MaestroError('BAD_REQUEST', `id "${body.id}" is not the schedule of the path, "${id}"`);
  return { body, namespace: body.namespace ?? query };
}

/** `PUT /schedules/{id}`: create or replace; 201 `created`, 200 `updated`, or `unchanged` (same definition, same principal). */
export const putSchedule: RouteHandler = async (context) => {
  const principal = caller(context);
  const id = stringParam(context.path, 'scheduleId');
  const { body, namespace: named } = putBody(context, id);
  const namespace = requestNamespace(principal, named);
  const existing = await readSchedule(context.deps.client, namespace, id);
  const definition = scheduleDefinition(body, id, namespace);
  // As for triggers: the same definition written by someone else is a change of whom its runs act for.
  if (existing && digestOf(existing.stored.definition) === digestOf(definition) && digestOf(existing.stored.principal) === digestOf(runPrincipal(principal))) {
    return { status: 200, body: { ...(await scheduleView(context.deps, existing)), outcome: 'unchanged' } };
  }
  const stored = await checkedSchedule(context, principal, body, id, namespace);
  await record(context, principal, stored.definition, existing ? 'changed' : 'created', { details: { definition: stored.definition } });
  if (existing) await replaceTemporalSchedule(context.deps.client, context.deps.config.taskQueue, stored);
  else await createTemporalSchedule(context.deps.client, context.deps.config.taskQueue, stored);
  const view = await scheduleView(context.deps, await getSchedule(context.deps.client, namespace, id), stored);
  return { status: existing ? 200 : 201, body: { ...view, outcome: existing ? 'updated' : 'created' } };
};

/** A definition as the body that defines it (for a patch to apply to). */
function bodyOf(definition: ScheduleDefinition): ScheduleBody {
  const body: ScheduleBody & Partial<ScheduleDefinition> = { ...definition };
  delete body.id;
  delete body.namespace;
  return body;
}

/** `PATCH /schedules/{id}`: the fields given replace the schedule's. */
export const updateSchedule: RouteHandler = async (context) => {
  const principal = caller(context);
  const live = await pathSchedule(context, principal);
  const { namespace, id } = live.stored.definition;
  const { id: patchId, namespace: patchNamespace, ...patch } = context.body as ScheduleBody;
  if ((patchId !== undefined && patchId !== id) || (patchNamespace !== undefined && patchNamespace !== namespace)) {
    throw new MaestroError('BAD_REQUEST', 'a schedule keeps its id and namespace: create another one instead');
  }
  const merged: ScheduleBody = { ...bodyOf(live.stored.definition), ...patch };
  // A new target replaces the other kind of target, and what it took.
  if (patch.workflowRef !== undefined) {
    delete merged.runbook;
    delete merged.inputs;
  }
  if (patch.runbook !== undefined) {
    delete merged.workflowRef;
    delete merged.params;
  }
  const stored = await checkedSchedule(context, principal, merged, id, namespace);
  await record(context, principal, stored.definition, 'changed', { details: { definition: stored.definition } });
  await replaceTemporalSchedule(context.deps.client, context.deps.config.taskQueue, stored);
  return { status: 200, body: await scheduleView(context.deps, await getSchedule(context.deps.client, namespace, id), stored) };
};

/** `DELETE /schedules/{id}`: 200; runs it started go on. */
export const deleteSchedule: RouteHandler = async (context) => {
  const principal = caller(context);
  const live = await pathSchedule(context, principal);
  await record(context, principal, live.stored.definition, 'deleted');
  await context.deps.client.schedule.getHandle(live.description.scheduleId).delete();
  const { namespace, id } = live.stored.definition;
  return { status: 200, body: { id, namespace } };
};

function reasonOf(body: unknown): string | undefined {
  return (body as { reason?: string } | undefined)?.reason;
}

/** `POST /schedules/{id}/pause` and `/unpause`: idempotent; 200 with the schedule. */
function setPaused(paused: boolean): RouteHandler {
  return async (context) => {
    const principal = caller(context);
    const live = await pathSchedule(context, principal);
    const reason = reasonOf(context.body);
    await record(context, principal, live.stored.definition, paused ? 'paused' : 'unpaused', reason === undefined ? {} : { reason });
    await setSchedulePaused(context.deps.client, live.stored.definition, paused);
    const written = { ...live.stored, definition: { ...live.stored.definition, paused } };
    return { status: 200, body: await scheduleView(context.deps, live, written) };
  };
}
export const pauseSchedule = setPaused(true);
export const unpauseSchedule = setPaused(false);

const TEMPORAL_OVERLAP = {
  skip: 'SKIP',
  'buffer-one': 'BUFFER_ONE',
  'buffer-all': 'BUFFER_ALL',
  'cancel-other': 'CANCEL_OTHER',
  'allow-all': 'ALLOW_ALL',
} as const satisfies Record<OverlapPolicy, string>;

/** `POST /schedules/{id}/trigger`: 202; one fire now. */
export const triggerSchedule: RouteHandler = async (context) => {
  const principal = caller(context);
  const live = await pathSchedule(context, principal);
  const overlap = (context.body as { overlap?: OverlapPolicy } | undefined)?.overlap ?? 'allow-all';
  await record(context, principal, live.stored.definition, 'triggered', { details: { overlap } });
  await context.deps.client.schedule.getHandle(live.description.scheduleId).trigger(TEMPORAL_OVERLAP[overlap]);
  const { namespace, id } = live.stored.definition;
  return { status: 202, body: { id, namespace } };
};

/** `POST /schedules/{id}/backfill {from, to, overlap}`: 202; a fire for each time of the spec in the range. */
export const backfillSchedule: RouteHandler = async (context) => {
  const principal = caller(context);
  const live = await pathSchedule(context, principal);
  const body = context.body as { from: string; to: string; overlap?: OverlapPolicy };
  const from = new Date(body.from);
  const to = new Date(body.to);
  if (!(from < to)) throw new MaestroError('BAD_REQUEST', 'from must be before to');
  if (to.getTime() > context.deps.clock().getTime()) throw new MaestroError('BAD_REQUEST', 'to must not be in the future: a backfill fires for past times (the schedule fires for the future)');
  if (to.getTime() - from.getTime() > BACKFILL_MAX_MS) throw new MaestroError('BAD_REQUEST', 'a backfill covers at most 366 days; split it');
  const overlap = body.overlap ?? 'allow-all';
  await record(context, principal, live.stored.definition, 'backfilled', { details: { from: from.toISOString(), to: to.toISOString(), overlap } });
  // [from, to): a past hour at 10-minute intervals is 6 fires, not 7.
  await context.deps.client.schedule.getHandle(live.description.scheduleId).backfill({ start: from, end: new Date(to.getTime() - 1), overlap: TEMPORAL_OVERLAP[overlap] });
  const { namespace, id } = live.stored.definition;
  return { status: 202, body: { id, namespace } };
};
