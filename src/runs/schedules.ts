/**
 * Schedules on Temporal Schedules (no cron of Maestro's own). One Temporal Schedule per Maestro
 * schedule, id `maestro-schedule:<namespace>:<id>`; its action starts the small `scheduledRun`
 * workflow (`interpreters/scheduled-run.ts`) with the {@link StoredSchedule} as argument — the
 * definition and the principal its runs act for — so Temporal alone holds schedules, and every
 * API replica and worker reads the same. At each fire the worker's `fireSchedule` activity checks
 * the target as a live caller would be checked now (the workflow or runbook as registered now, the
 * runbook's allow-list roles, the params, the policy's run-start decision) and starts the run
 * through `launchRun` with a run id derived from (namespace, schedule, scheduled time): a retried
 * fire finds its run instead of starting a second. The workflow then waits for the run to end, so
 * Temporal's overlap policies apply to the runs, and cancels it (audited) when `cancel-other` cancels it.
 */
import { Context } from '@temporalio/activity';
import {
  ScheduleAlreadyRunning,
  ScheduleNotFoundError,
  ScheduleOverlapPolicy,
  WorkflowNotFoundError,
  isGrpcServiceError,
  type Client,
  type ScheduleDescription,
  type ScheduleOptions,
  type ScheduleSpec,
} from '@temporalio/client';
import { ApplicationFailure, TypedSearchAttributes } from '@temporalio/common';
import type { Catalog } from '../catalog/index.js';
import { cancelOnTemporal } from '../client/index.js';
import { MaestroError, NotFoundError, ParamsError } from '../errors/index.js';
import { ExpressionError, MAESTRO_NAMESPACE, parseDuration, type CompiledWorkflow } from '../ir/index.js';
import { checkParams } from '../manifest/index.js';
import type { Store } from '../store/index.js';
import { resolveTemplatesOffThread } from '../threads/index.js';
import { launchRun, type LaunchContext } from './launch.js';
import { recordBeforeActing } from './record.js';
import { RUNBOOK_PARAMS_TIMEOUT_MS } from './runbook-plan.js';
import { planRunbook } from './runbook-start.js';
import { scheduleBindings, scheduledRunId, type OverlapPolicy, type ScheduleDefinition, type StoredSchedule } from './schedule-definition.js';
import { describeRun, type ApiRunStatus } from './temporal.js';

/** The workflow type a schedule's action starts (`interpreters/scheduled-run.ts`). */
export const SCHEDULED_RUN_WORKFLOW = 'scheduledRun';

/** The argument of `scheduledRun`. */
export interface ScheduledRunInput {
  stored: StoredSchedule;
}

/** What a fire did: started (or found) its run, or refused to (audited). */
export type FireOutcome = { runId: string; status: ApiRunStatus } | { refused: { code: string; message: string } };

/** Temporal's overlap policy for each of ours. */
const OVERLAP: Record<OverlapPolicy, ScheduleOverlapPolicy> = {
  skip: ScheduleOverlapPolicy.SKIP,
  'buffer-one': ScheduleOverlapPolicy.BUFFER_ONE,
  'buffer-all': ScheduleOverlapPolicy.BUFFER_ALL,
  'cancel-other': ScheduleOverlapPolicy.CANCEL_OTHER,
  'allow-all': ScheduleOverlapPolicy.ALLOW_ALL,
};

/** The Temporal Schedule id of a Maestro schedule. */
export function temporalScheduleId(namespace: string, id: string): string {
  return `maestro-schedule:${namespace}:${id}`;
}

/** The id the audit log keeps a schedule's records under (its `runId` field): `schedule:<namespace>:<id>`. */
export function scheduleAuditId(namespace: string, id: string): string {
  return `schedule:${namespace}:${id}`;
}

/** Who the runs a schedule starts say started them. */
export function scheduleStarter(namespace: string, id: string): string {
  return `schedule:${namespace}/${id}`;
}

function specOf({ spec }: ScheduleDefinition): ScheduleSpec {
  return {
    cronExpressions: spec.cron,
    intervals: spec.intervals.map((interval) => ({ every: parseDuration(interval.every) ?? 0, ...(interval.offset === undefined ? {} : { offset: parseDuration(interval.offset) ?? 0 }) })),
    timezone: spec.timezone,
    ...(spec.startAt === undefined ? {} : { startAt: new Date(spec.startAt) }),
    ...(spec.endAt === undefined ? {} : { endAt: new Date(spec.endAt) }),
    ...(spec.jitter === undefined ? {} : { jitter: parseDuration(spec.jitter) ?? 0 }),
  };
}

function actionOf(stored: StoredSchedule, taskQueue: string): ScheduleOptions['action'] {
  const { namespace, id } = stored.definition;
  const input: ScheduledRunInput = { stored };
  return { type: 'startWorkflow', workflowType: SCHEDULED_RUN_WORKFLOW, taskQueue, args: [input], workflowId: `maestro-schedule-${namespace}.${id}` };
}

function policiesOf(definition: ScheduleDefinition): ScheduleOptions['policies'] {
  return { overlap: OVERLAP[definition.overlap], catchupWindow: parseDuration(definition.catchupWindow) ?? 60_000 };
}

/**
 * Temporal refuses a spec it cannot read (a cron expression, a time zone): a 400 naming it. The
 * SDK reports such a refusal as a `TypeError` carrying Temporal's reason (its `rethrowGrpcError`).
 */
function invalidSpec(error: unknown, definition: ScheduleDefinition): never {
  const cause = error instanceof Error ? error.cause : undefined;
  const reason = error instanceof TypeError ? error.message : isGrpcServiceError(cause) && cause.code === 3 ? cause.details : undefined;
  if (reason === undefined) throw error;
  throw new MaestroError('BAD_REQUEST', `schedule ${definition.namespace}/${definition.id}: Temporal refuses its spec: ${reason}`, {
    cause: error,
    details: { errors: [{ path: 'spec', message: reason }] },
  });
}

/**
 * Creates the Temporal Schedule.
 * @throws MaestroError `SCHEDULE_EXISTS` (409) when the namespace has a schedule with this id.
 * @throws MaestroError `BAD_REQUEST` when Temporal refuses the spec (a cron expression it cannot parse).
 */
export async function createTemporalSchedule(client: Client, taskQueue: string, stored: StoredSchedule): Promise<void> {
  const { definition } = stored;
  try {
    await client.schedule.create({
      scheduleId: temporalScheduleId(definition.namespace, definition.id),
      spec: specOf(definition),
      action: actionOf(stored, taskQueue),
      policies: policiesOf(definition),
      state: { paused: definition.paused, note: definition.note },
      memo: { maestroNamespace: definition.namespace, maestroSchedule: definition.id },
      typedSearchAttributes: new TypedSearchAttributes([{ key: MAESTRO_NAMESPACE, value: definition.namespace }]),
    });
  } catch (error) {
    if (error instanceof ScheduleAlreadyRunning) throw new MaestroError('SCHEDULE_EXISTS', `namespace ${definition.namespace} has a schedule "${definition.id}" already`, { cause: error });
    invalidSpec(error, definition);
  }
}

/** Replaces a schedule's definition and principal, and sets its paused state and note. */
export async function replaceTemporalSchedule(client: Client, taskQueue: string, stored: StoredSchedule): Promise<void> {
  const { definition } = stored;
  const handle = client.schedule.getHandle(temporalScheduleId(definition.namespace, definition.id));
  try {
    await handle.update((previous) => ({
      ...previous,
      spec: specOf(definition),
      action: actionOf(stored, taskQueue),
      policies: policiesOf(definition),
      state: { ...previous.state, paused: definition.paused, note: definition.note },
    }));
  } catch (error) {
    invalidSpec(error, definition);
  }
}

/**
 * Pauses or unpauses a schedule, keeping its note (Temporal's own pause and unpause replace the
 * note, and take an empty one as no change at all). Idempotent.
 */
export async function setSchedulePaused(client: Client, definition: Pick<ScheduleDefinition, 'namespace' | 'id'>, paused: boolean): Promise<void> {
  const handle = client.schedule.getHandle(temporalScheduleId(definition.namespace, definition.id));
  await handle.update((previous) => ({ ...previous, state: { ...previous.state, paused } }));
}

/** A schedule as Temporal holds it now. */
export interface LiveSchedule {
  stored: StoredSchedule;
  description: ScheduleDescription;
}

/**
 * The schedule `id` of `namespace`, or undefined when there is none. The definition's `paused` and
 * `note` are Temporal's state now (pause and unpause change them).
 */
export async function readSchedule(client: Client, namespace: string, id: string): Promise<LiveSchedule | undefined> {
  let description: ScheduleDescription;
  try {
    description = await client.schedule.getHandle(temporalScheduleId(namespace, id)).describe();
  } catch (error) {
    if (error instanceof ScheduleNotFoundError) return undefined;
    throw error;
  }
  const { action } = description;
  const input = action.type === 'startWorkflow' && action.workflowType === SCHEDULED_RUN_WORKFLOW ? (action.args?.[0] as ScheduledRunInput | undefined) : undefined;
  const stored = input?.stored;
  if (stored?.definition.namespace !== namespace || stored.definition.id !== id) return undefined;
  return { stored: { ...stored, definition: { ...stored.definition, paused: description.state.paused, note: description.state.note ?? '' } }, description };
}

/**
 * The schedule, or a 404 — also when it belongs to another namespace (its id says nothing about
 * whether another namespace has one).
 */
export async function getSchedule(client: Client, namespace: string, id: string): Promise<LiveSchedule> {
  const live = await readSchedule(client, namespace, id);
  if (!live) throw new NotFoundError(`no schedule "${id}" in namespace ${namespace}`);
  return live;
}

/** A schedule in a listing. */
export interface ScheduleSummaryView {
  id: string;
  namespace: string;
  paused: boolean;
  note: string;
  /** The next fire time (RFC 3339), if any. */
  nextFireTime?: string;
}

/** The schedules of `namespaces` (`undefined`: all), by namespace and id. */
export async function listSchedules(client: Client, namespaces: readonly string[] | undefined): Promise<ScheduleSummaryView[]> {
  const query = namespaces === undefined ? undefined : `MaestroNamespace IN (${namespaces.map((ns) => `'${ns.replace(/'/g, '')}'`).join(', ')})`;
  const items: ScheduleSummaryView[] = [];
  for await (const summary of client.schedule.list(query === undefined ? {} : { query })) {
    const namespace = summary.memo?.maestroNamespace;
    const id = summary.memo?.maestroSchedule;
    if (typeof namespace !== 'string' || typeof id !== 'string') continue;
    if (namespaces !== undefined && !namespaces.includes(namespace)) continue;
    const next = summary.info?.nextActionTimes[0];
    items.push({ id, namespace, paused: summary.state.paused, note: summary.state.note ?? '', ...(next === undefined ? {} : { nextFireTime: next.toISOString() }) });
  }
  return items.sort((a, b) => a.namespace.localeCompare(b.namespace) || a.id.localeCompare(b.id));
}

/** One of a schedule's recent fires: the run it started (or would have), its scheduled time and status. */
export interface ScheduleRunView {
  runId: string;
  scheduledTime: string;
  /** The run's status; `NOT_STARTED` when the fire was refused (see the audit log) or has not started it yet. */
  status: ApiRunStatus | 'NOT_STARTED';
}

/** The recent fires of a live schedule, newest first, with their runs' status. */
export async function recentScheduleRuns(client: Client, store: Store, live: LiveSchedule): Promise<ScheduleRunView[]> {
  const { namespace, id } = live.stored.definition;
  const recent = [...live.description.info.recentActions].reverse();
  return Promise.all(
    recent.map(async (action) => {
      // The scheduled time a fire's workflow sees (TemporalScheduledStartTime) is in whole seconds.
      const scheduledTime = new Date(Math.floor(action.scheduledAt.getTime() / 1_000) * 1_000).toISOString();
      const runId = scheduledRunId(namespace, id, scheduledTime);
      const execution = await describeRun(client, runId);
      const status = execution?.status ?? ((await store.getAdmission(runId)) ? 'QUEUED' : 'NOT_STARTED');
      return { runId, scheduledTime, status };
    }),
  );
}

/** What a schedule's fire needs besides the launch context: the registry (the store) and the catalog. */
export type ScheduleFireContext = LaunchContext & { catalog: Catalog };

/** What a schedule starts at `scheduledTime`: the compiled workflow and its checked params. */
interface ScheduledStart {
  compiled: CompiledWorkflow;
  params: Record<string, unknown>;
}

/**
 * Resolves a schedule's `params` or `inputs` for a fire at `scheduledTime`, on a thread (each
 * expression bounded by the CEL cost limit, all together by 2 s), and checks its target as a live
 * caller acting for `principal` would be checked now.
 * @throws NotFoundError when the workflow or runbook is not registered in the namespace.
 * @throws MaestroError `RUNBOOK_NOT_ALLOWED`, `FORBIDDEN`, `PARAMS_INVALID`, `EXPRESSION_TOO_COSTLY`.
 */
export async function planScheduledStart(context: { store: Store; catalog: Catalog }, stored: StoredSchedule, scheduledTime: string): Promise<ScheduledStart> {
  const { definition, principal } = stored;
  const { namespace, id } = definition;
  if (!principal.namespaces.includes('*') && !principal.namespaces.includes(namespace)) {
    throw new MaestroError('FORBIDDEN', `${principal.subject}, whom schedule ${namespace}/${id} acts for, has no access to namespace ${namespace}`);
  }
  const values = await resolveValues(definition, definition.params ?? definition.inputs ?? {}, scheduledTime);
  if (definition.runbook !== undefined) {
    const { compiled, params } = await planRunbook(context, { namespace, runbook: definition.runbook, inputs: values, principal });
    return { compiled, params };
  }
  const [name = '', version = ''] = (definition.workflowRef ?? '').split('@');
  const workflow = await context.store.getWorkflow(namespace, name, version);
  if (!workflow) throw new NotFoundError(`workflow ${definition.workflowRef} is not registered in namespace ${namespace}`);
  return { compiled: { ir: workflow.ir, digest: workflow.digest }, params: checkParams(workflow.ir.parameters, values) };
}

async function resolveValues(definition: ScheduleDefinition, templates: Record<string, unknown>, scheduledTime: string): Promise<Record<string, unknown>> {
  const where = `schedule ${definition.namespace}/${definition.id}`;
  // Most schedules have no template: no thread round trip for them.
  if (!JSON.stringify(templates).includes('${')) return { ...templates };
  let resolved;
  try {
    resolved = await resolveTemplatesOffThread(templates, scheduleBindings(definition.id, scheduledTime), new Set(), { timeoutMs: RUNBOOK_PARAMS_TIMEOUT_MS });
  } catch (error) {
    if (!(error instanceof ExpressionError)) throw error;
    throw new MaestroError('EXPRESSION_TOO_COSTLY', `${where}: ${error.message}`);
  }
  const values: Record<string, unknown> = {};
  const problems: { name: string; message: string }[] = [];
  for (const [name, result] of Object.entries(resolved)) {
    if ('value' in result) values[name] = result.value;
    else problems.push({ name, message: `${where} cannot compute it: ${result.error.message}` });
  }
  if (problems.length > 0) throw new ParamsError(problems);
  return values;
}

/** Records an action on a schedule in the audit log, before it is taken. */
export function recordScheduleEvent(
  context: Pick<LaunchContext, 'auditLog'>,
  definition: Pick<ScheduleDefinition, 'namespace' | 'id'>,
  event: { actor: string; action: string; reason?: string; traceId?: string; details?: Record<string, unknown> },
): Promise<void> {
  return recordBeforeActing(context.auditLog, {
    kind: 'schedule',
    runId: scheduleAuditId(definition.namespace, definition.id),
    namespace: definition.namespace,
    actor: event.actor,
    action: event.action,
    ...(event.reason === undefined ? {} : { reason: event.reason }),
    ...(event.traceId === undefined ? {} : { traceId: event.traceId }),
    ...(event.details === undefined ? {} : { details: event.details }),
  });
}

/** How often `awaitScheduledRun` looks at its run. */
const AWAIT_POLL_MS = 1_000;

/**
 * The activities of `scheduledRun`, over the worker's launch context: `fireSchedule`,
 * `awaitScheduledRun`, `cancelScheduledRun`. Without a context (a worker that cannot start runs),
 * each fails without retry, saying so.
 */
export function createScheduleActivities(context: ScheduleFireContext | undefined) {
  const need = (): ScheduleFireContext => {
    if (context === undefined) throw ApplicationFailure.create({ type: 'UNAVAILABLE', message: 'this worker was started without a launch context: it cannot start scheduled runs', nonRetryable: true });
    return context;
  };
  return {
    /**
     * Starts the run of one fire (see the file's comment); a refusal (the target gone, the
     * principal no longer allowed, the policy's denial) is audited and returned, and starts nothing.
     */
    async fireSchedule({ stored, scheduledTime }: ScheduledRunInput & { scheduledTime: string }): Promise<FireOutcome> {
      const launch = need();
      const { definition, principal } = stored;
      const runId = scheduledRunId(definition.namespace, definition.id, scheduledTime);
      const actor = scheduleStarter(definition.namespace, definition.id);
      const details = { runId, scheduledTime, actsFor: principal.subject };
      try {
        const { compiled, params } = await planScheduledStart(launch, stored, scheduledTime);
        await recordScheduleEvent(launch, definition, { actor, action: 'fired', details });
        const result = await launchRun(launch, {
          runId,
          compiled,
          params,
          namespace: definition.namespace,
          startedBy: actor,
          principal,
          schedule: { scheduleId: definition.id, scheduledTime },
        });
        return { runId: result.runId, status: result.status };
      } catch (error) {
        if (!(error instanceof MaestroError) || error.retryable) throw error;
        await recordScheduleEvent(launch, definition, { actor, action: 'refused', reason: error.message, details: { ...details, code: error.code } });
        return { refused: { code: error.code, message: error.message } };
      }
    },
    /** Waits for a run to end (heartbeating, so a cancelled fire stops waiting); returns its status. */
    async awaitScheduledRun({ runId }: { runId: string }): Promise<string> {
      const { client, store } = need();
      const activity = Context.current();
      for (;;) {
        const execution = await describeRun(client, runId);
        if (execution?.closed) return execution.status;
        // Not on Temporal: waiting in the admission queue, or gone (cancelled while queued).
        if (!execution && !(await store.getAdmission(runId)) && !(await describeRun(client, runId))) return 'NOT_STARTED';
        activity.heartbeat();
        await activity.sleep(AWAIT_POLL_MS);
      }
    },
    /** Cancels a fire's run when Temporal cancels the fire (`cancel-other`), recorded first as every cancellation is. */
    async cancelScheduledRun({ stored, runId }: ScheduledRunInput & { runId: string }): Promise<void> {
      const launch = need();
      const { definition } = stored;
      const execution = await describeRun(launch.client, runId);
      const queued = !execution && (await launch.store.getAdmission(runId)) !== undefined;
      if (execution?.closed ?? !queued) return;
      await recordBeforeActing(launch.auditLog, {
        kind: 'cancellation',
        runId,
        namespace: definition.namespace,
        actor: scheduleStarter(definition.namespace, definition.id),
        action: 'cancel',
        reason: 'a newer fire of its schedule replaces it (overlap: cancel-other)',
        details: { queued },
      });
      if (queued) {
        await launch.store.releaseRun(runId);
        await launch.store.releaseRunCharge(runId);
        return;
      }
      try {
        await cancelOnTemporal(launch.client, runId);
      } catch (error) {
        if (!(error instanceof WorkflowNotFoundError)) throw error;
      }
    },
  };
}

/** The activities of `scheduledRun`'s, for `proxyActivities` in the workflow. */
export type ScheduleActivities = ReturnType<typeof createScheduleActivities>;
