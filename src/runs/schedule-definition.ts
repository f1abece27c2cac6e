/**
 * A schedule's definition as users write it (the JSON body of `POST /schedules`, or the `spec` of
 * a `kind: Schedule` manifest), checked and with its defaults applied: pure, no I/O. What needs the
 * registry (the target exists, its params check) and Temporal (cron expressions parse) is checked
 * by `src/runs/schedules.ts`.
 */
import { MaestroError } from '../errors/index.js';
import { parseDuration, parseTemplate, TemplateSyntaxError, type Principal } from '../ir/index.js';

/** Most `spec.cron` entries, and most `spec.intervals` entries, of one schedule. */
export const SCHEDULE_MAX_ENTRIES = 20;
/** Shortest `spec.intervals[].every`: a schedule fires at most once a second per interval. */
export const SCHEDULE_MIN_INTERVAL_MS = 1_000;
/** Longest `note`, in UTF-8 bytes. */
export const SCHEDULE_NOTE_MAX_BYTES = 1_024;
/** Shortest `catchupWindow` (Temporal's own minimum). */
export const SCHEDULE_MIN_CATCHUP_MS = 10_000;
/** Longest cron expression, in characters. */
const CRON_MAX_LENGTH = 256;

/** What Temporal does when a fire comes while the schedule's previous run is still going. */
export const OVERLAP_POLICIES = ['skip', 'buffer-one', 'buffer-all', 'cancel-other', 'allow-all'] as const;
/** One of {@link OVERLAP_POLICIES}. */
export type OverlapPolicy = (typeof OVERLAP_POLICIES)[number];

/** An interval: every `every` (a duration, `10m`), shifted by `offset`. */
export interface ScheduleInterval {
  every: string;
  /** @default none */
  offset?: string;
}

/** When a schedule fires: the union of its cron expressions and intervals, within `startAt`..`endAt`. */
export interface ScheduleTimes {
  /** @default [] */
  cron: string[];
  /** @default [] */
  intervals: ScheduleInterval[];
  /** IANA time zone the cron expressions are read in. @default 'UTC' */
  timezone: string;
  /** RFC 3339. @default none */
  startAt?: string;
  /** RFC 3339. @default none */
  endAt?: string;
  /** Up to this much random delay after each fire time (a duration). @default none */
  jitter?: string;
}

/**
 * A schedule's definition with its defaults applied: two definitions are the same schedule when
 * their canonical JSON is equal (`PUT` answers `unchanged`).
 */
export interface ScheduleDefinition {
  id: string;
  namespace: string;
  /** The workflow it starts, `name@version` (with `params`), or … */
  workflowRef?: string;
  /** … the runbook it triggers, `name` (newest at each fire) or `name@version` (with `inputs`). */
  runbook?: string;
  /** The workflow's params; `${...}` CEL templates see `schedule.time` and `schedule.id`. */
  params?: Record<string, unknown>;
  /** The runbook's inputs; templates as for `params`. */
  inputs?: Record<string, unknown>;
  spec: ScheduleTimes;
  /** @default 'skip' */
  overlap: OverlapPolicy;
  /** How late a missed fire may still be taken after an outage (a duration). @default '1m' */
  catchupWindow: string;
  /** @default false */
  paused: boolean;
  /** @default '' */
  note: string;
}

/** A schedule as it is kept (in its Temporal Schedule's action): the definition and whom it acts for. */
export interface StoredSchedule {
  definition: ScheduleDefinition;
  /** The principal its runs act for: who created it, or changed it last. */
  principal: Principal;
}

/** The JSON body of `POST /schedules` / `PUT /schedules/{id}` as received (its shape checked by the OpenAPI document). */
export interface ScheduleBody {
  id?: string;
  namespace?: string;
  workflowRef?: string;
  runbook?: string;
  params?: Record<string, unknown>;
  inputs?: Record<string, unknown>;
  spec?: { cron?: string[]; intervals?: (string | ScheduleInterval)[]; timezone?: string; startAt?: string; endAt?: string; jitter?: string };
  overlap?: OverlapPolicy;
  catchupWindow?: string;
  paused?: boolean;
  note?: string;
}

/** The bindings schedule templates see at a fire. */
export function scheduleBindings(id: string, time: string): { params: Record<string, never>; tasks: Record<string, never>; schedule: { id: string; time: string } } {
  return { params: {}, tasks: {}, schedule: { id, time } };
}

/**
 * Checks a schedule body and applies its defaults.
 * @throws MaestroError `BAD_REQUEST` naming every problem (`details.errors: [{path, message}]`).
 */
export function scheduleDefinition(body: ScheduleBody, id: string, namespace: string): ScheduleDefinition {
  const problems: { path: string; message: string }[] = [];
  const problem = (path: string, message: string): void => void problems.push({ path, message });
  if ((body.workflowRef === undefined) === (body.runbook === undefined)) problem('', 'give exactly one of workflowRef and runbook');
  if (body.workflowRef !== undefined && !body.workflowRef.includes('@')) problem('workflowRef', 'must be name@version');
  if (body.params !== undefined && body.workflowRef === undefined) problem('params', 'params go with workflowRef (a runbook takes inputs)');
  if (body.inputs !== undefined && body.runbook === undefined) problem('inputs', 'inputs go with runbook (a workflow takes params)');
  const spec = body.spec ?? {};
  const cron = spec.cron ?? [];
  const intervals = (spec.intervals ?? []).map((interval) => (typeof interval === 'string' ? { every: interval } : interval));
  if (cron.length + intervals.length === 0) problem('spec', 'give at least one cron expression or interval');
  if (cron.length > SCHEDULE_MAX_ENTRIES) problem('spec.cron', `at most ${SCHEDULE_MAX_ENTRIES} entries`);
  if (intervals.length > SCHEDULE_MAX_ENTRIES) problem('spec.intervals', `at most ${SCHEDULE_MAX_ENTRIES} entries`);
  cron.forEach((expression, index) => {
    if (expression.length > CRON_MAX_LENGTH || expression.trim() === '') problem(`spec.cron[${index}]`, `a cron expression of 1 to ${CRON_MAX_LENGTH} characters`);
  });
  intervals.forEach((interval, index) => {
    const every = parseDuration(interval.every);
    if (every === undefined || every < SCHEDULE_MIN_INTERVAL_MS) problem(`spec.intervals[${index}].every`, `a duration of at least ${SCHEDULE_MIN_INTERVAL_MS / 1000}s (e.g. 10m)`);
    if (interval.offset !== undefined && parseDuration(interval.offset) === undefined) problem(`spec.intervals[${index}].offset`, 'a duration (e.g. 5m)');
  });
  const timezone = spec.timezone ?? 'UTC';
  if (!validTimeZone(timezone)) problem('spec.timezone', `unknown time zone "${timezone}" (an IANA name, e.g. Europe/Paris)`);
  const startAt = spec.startAt === undefined ? undefined : instant(spec.startAt, 'spec.startAt', problem);
  const endAt = spec.endAt === undefined ? undefined : instant(spec.endAt, 'spec.endAt', problem);
  if (startAt !== undefined && endAt !== undefined && Date.parse(startAt) >= Date.parse(endAt)) problem('spec.endAt', 'must be after startAt');
  if (spec.jitter !== undefined && parseDuration(spec.jitter) === undefined) problem('spec.jitter', 'a duration (e.g. 30s)');
  const catchupWindow = body.catchupWindow ?? '1m';
  const catchup = parseDuration(catchupWindow);
  if (catchup === undefined || catchup < SCHEDULE_MIN_CATCHUP_MS) problem('catchupWindow', `a duration of at least ${SCHEDULE_MIN_CATCHUP_MS / 1000}s`);
  const note = body.note ?? '';
  if (Buffer.byteLength(note, 'utf8') > SCHEDULE_NOTE_MAX_BYTES) problem('note', `at most ${SCHEDULE_NOTE_MAX_BYTES} bytes`);
  templateProblems(body.params ?? body.inputs ?? {}, body.params === undefined ? 'inputs' : 'params', problem);
  if (problems.length > 0) {
    throw new MaestroError('BAD_REQUEST', `schedule ${namespace}/${id} is invalid: ${problems.map((p) => (p.path ? `${p.path}: ${p.message}` : p.message)).join('; ')}`, { details: { errors: problems } });
  }
  return {
    id,
    namespace,
    ...(body.workflowRef === undefined ? {} : { workflowRef: body.workflowRef, params: body.params ?? {} }),
    ...(body.runbook === undefined ? {} : { runbook: body.runbook, inputs: body.inputs ?? {} }),
    spec: {
      cron,
      intervals: intervals.map((interval) => ({ every: interval.every, ...(interval.offset === undefined ? {} : { offset: interval.offset }) })),
      timezone,
      ...(startAt === undefined ? {} : { startAt }),
      ...(endAt === undefined ? {} : { endAt }),
      ...(spec.jitter === undefined ? {} : { jitter: spec.jitter }),
    },
    overlap: body.overlap ?? 'skip',
    catchupWindow,
    paused: body.paused ?? false,
    note,
  };
}

function validTimeZone(zone: string): boolean {
  try {
    new Intl.DateTimeFormat('en', { timeZone: zone });
    return true;
  } catch {
    return false;
  }
}

/** An RFC 3339 instant as its canonical ISO form, or a problem. */
function instant(text: string, path: string, problem: (path: string, message: string) => void): string | undefined {
  const time = Date.parse(text);
  if (Number.isNaN(time)) {
    problem(path, 'an RFC 3339 time');
    return undefined;
  }
  return new Date(time).toISOString();
}

/** Every `${...}` in the values must parse (they are evaluated at each fire). */
function templateProblems(value: unknown, path: string, problem: (path: string, message: string) => void): void {
  if (typeof value === 'string') {
    try {
      parseTemplate(value);
    } catch (error) {
      if (!(error instanceof TemplateSyntaxError)) throw error;
      problem(path, error.message);
    }
  } else if (Array.isArray(value)) {
    value.forEach((item, index) => templateProblems(item, `${path}[${index}]`, problem));
  } else if (value !== null && typeof value === 'object') {
    for (const [key, item] of Object.entries(value)) templateProblems(item, `${path}.${key}`, problem);
  }
}

/**
 * The run id of a schedule's fire: the same for the same (namespace, schedule, scheduled time), so
 * a retried fire (a worker lost mid-fire, an activity retried) finds the run it started instead
 * of starting a second one — Temporal refuses a second workflow with the same id.
 * @example scheduledRunId('data', 'nightly', '2026-12-06T02:00:00Z') // 'sched-data.nightly-20261206T020000.000Z'
 */
export function scheduledRunId(namespace: string, id: string, scheduledTime: string): string {
  const stamp = new Date(scheduledTime).toISOString().replace(/[-:]/g, '');
  return `sched-${namespace}.${id}-${stamp}`;
}
