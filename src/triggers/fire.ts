/**
 * Firing a trigger for one event (a webhook delivery whose signature verified, or a message):
 * the one path webhooks and message consumers share.
 *
 * 1. A paused trigger ignores the event.
 * 2. `items` (CEL) selects the elements to start one run each (at most {@link MAX_TRIGGER_ITEMS});
 *    without it the event is the one item. For each: `filter`, `dedupKey` and `inputs` are
 *    evaluated on the CEL thread pool (never on the caller's event loop, each bounded by its cost).
 * 3. The items that pass the filter are counted in the trigger's rate window (in the store, so
 *    every replica shares it); over `rateLimit.perMinute`, nothing starts (`rate-limited`).
 * 4. Each item's key is claimed in the store with a fresh run id (the first item's in the count's
 *    transaction): a key bound within `dedupWindow` returns its run (`duplicate`) — unless that
 *    run never started (the process died between the claim and the start, or the start was
 *    refused), in which case this event starts it under the same id, so a run id is started at
 *    most once.
 * 5. The runbook starts as `startRunbook` starts it (`planRunbook`, done meanwhile, then
 *    `launchRunbook`: the one run-start path) for the principal recorded with the trigger, the
 *    fire recorded in the audit log before the start, in the same write as the start's policy
 *    decisions; a refusal (allow-list role lost, policy denial, inputs that do not check) is
 *    recorded after the fire and starts nothing.
 */
import { randomBytes, createHash } from 'node:crypto';
import { MaestroError, type ErrorCode } from '../errors/index.js';
import type { ExpressionBindings, Principal } from '../ir/index.js';
import { describeRun, launchRunbook, newRunId, planRunbook, type RunbookStartContext } from '../runs/index.js';
import type { TriggerKeyClaim, TriggerKeyClaimRequest, TriggerRecord } from '../store/index.js';
import { resolveTemplatesOffThread } from '../threads/index.js';
import { recordTriggerEvent, triggerAuditEntry, type TriggerAuditEvent } from './audit.js';
import { dedupWindowMs, MAX_TRIGGER_ITEMS, type Trigger, type TriggerDefinition } from './definition.js';

/** What {@link fireTrigger} needs: a runbook start's context (store, audit log, policy, Temporal, catalog). */
export type TriggerContext = RunbookStartContext & {
  /** @default () => new Date() */
  clock?: () => Date;
};

/** One event: its JSON body, its headers (lower-cased names), and the source's message id if any. */
export interface TriggerEvent {
  body: unknown;
  headers: Record<string, string>;
  /** The message id (NATS `Nats-Msg-Id` or stream sequence, Kafka topic/partition/offset): the key when the trigger has no `dedupKey`. */
  id?: string;
  /** @default a fresh random trace id */
  traceId?: string;
  /** The span the event's runs are children of (a webhook's request span or its caller's), as a `traceparent` of `traceId`. @default none */
  traceParent?: string;
}

/** What happened to an event (or to one of its items). */
export type FireOutcome = 'started' | 'duplicate' | 'ignored' | 'refused' | 'rate-limited';

/** What happened to one item. */
export interface FiredItem {
  outcome: Exclude<FireOutcome, 'rate-limited'>;
  /** The run started, or the first run of a duplicate key. */
  runId?: string;
  /** The deduplication key, as evaluated. */
  key?: string;
  /** Why it was refused: the error's code and message. */
  code?: ErrorCode;
  message?: string;
}

/** What {@link fireTrigger} answers. */
export interface FireResult {
  /** `started` when any item started a run; else `duplicate` when any was one; else `refused`, `ignored`, `rate-limited`. */
  outcome: FireOutcome;
  /** The runs started or found (duplicates), in item order. */
  runIds: string[];
  items: FiredItem[];
  /** With `rate-limited`: seconds until the window resets. */
  retryAfterSeconds?: number;
}

/** Codes of a start that is refused for this event, recorded and answered, rather than failing the delivery (the sender should not retry it). */
const REFUSALS: ReadonlySet<ErrorCode> = new Set<ErrorCode>([
  'RUNBOOK_NOT_ALLOWED',
  'POLICY_DENIED',
  'NOT_FOUND',
  'PARAMS_INVALID',
  'EXPRESSION_FAILED',
  'EXPRESSION_TOO_COSTLY',
  'CONCURRENCY_LIMIT',
  'CONFLICT',
]);

/** Longest all of one item's expressions may take together. */
const ITEM_TIMEOUT_MS = 2_000;
/** A key longer than this is stored as its digest. */
const MAX_STORED_KEY = 256;

/** The trigger a store record holds. */
export function triggerOf(record: TriggerRecord): Trigger {
  return { ...(record.definition as unknown as TriggerDefinition), paused: record.paused, name: record.name, namespace: record.namespace };
}

/** The `startedBy` of a trigger's runs, and the actor of its fires. */
export function triggerActor(trigger: Pick<Trigger, 'namespace' | 'name'>): string {
  return `trigger:${trigger.namespace}/${trigger.name}`;
}

function wrap(expression: string): string {
  return `\${${expression}}`;
}

function refusal(error: unknown): { code: ErrorCode; message: string } | undefined {
  return error instanceof MaestroError && REFUSALS.has(error.code) ? { code: error.code, message: error.message } : undefined;
}

/** Evaluates named CEL expressions over the bindings, off the event loop. @throws MaestroError `EXPRESSION_FAILED` | `EXPRESSION_TOO_COSTLY`. */
async function evaluateAll(expressions: Record<string, string>, bindings: ExpressionBindings): Promise<Record<string, unknown>> {
  // Nothing to evaluate costs no round trip to a thread.
  if (Object.keys(expressions).length === 0) return {};
  const templates = Object.fromEntries(Object.entries(expressions).map(([name, expression]) => [name, wrap(expression)]));
  const resolved = await resolveTemplatesOffThread(templates, bindings, new Set(), { timeoutMs: ITEM_TIMEOUT_MS });
  const values: Record<string, unknown> = {};
  for (const [name, result] of Object.entries(resolved)) {
    if ('error' in result) throw new MaestroError(result.error.code, `${name}: ${result.error.message}`, { details: { errors: [{ path: name, message: result.error.message }] } });
    values[name] = result.value;
  }
  return values;
}

/** A run id a store claim returned exists: started on Temporal, or waiting in the admission queue. */
async function runExists(context: TriggerContext, runId: string): Promise<boolean> {
  if ((await context.store.getAdmission(runId)) !== undefined) return true;
  return (await describeRun(context.client, runId)) !== undefined;
}

/** How long a delivery whose key another one claimed waits for that one's run to start, before starting it itself. */
const TAKE_OVER_AFTER_MS = 1_000;

/**
 * Whether the run a key is bound to has started, or does within {@link TAKE_OVER_AFTER_MS}: a
 * concurrent delivery of the same event is usually starting it right now. One that has not by
 * then died between its claim and its start (or was refused): this delivery starts it, under the
 * same run id, so it still starts once.
 */
async function startedSoon(context: TriggerContext, runId: string): Promise<boolean> {
  const deadline = Date.now() + TAKE_OVER_AFTER_MS;
  for (;;) {
    if (await runExists(context, runId)) return true;
    if (Date.now() >= deadline) return false;
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}

function storedKey(key: string): string {
  return key.length <= MAX_STORED_KEY ? key : `sha256:${createHash('sha256').update(key).digest('hex')}`;
}

function keyText(value: unknown): string | undefined {
  if (value === null || value === undefined || value === '') return undefined;
  return typeof value === 'string' ? value : JSON.stringify(value);
}

/** The elements `items` selects, or the event itself as the one item (`undefined`: no `item` bound). */
async function itemsOf(trigger: Trigger, base: ExpressionBindings): Promise<unknown[] | undefined> {
  if (trigger.items === undefined) return undefined;
  const { items } = await evaluateAll({ items: trigger.items }, base);
  if (!Array.isArray(items)) throw new MaestroError('EXPRESSION_FAILED', `items: ${trigger.items} is a ${items === null ? 'null' : typeof items}, not a list`);
  if (items.length > MAX_TRIGGER_ITEMS) throw new MaestroError('EXPRESSION_FAILED', `items: ${items.length} elements, more than the ${MAX_TRIGGER_ITEMS} runs one event may start`);
  return items;
}

/** One item, evaluated: whether it passes the filter, its key and inputs. */
interface PlannedItem {
  pass: boolean;
  key?: string;
  inputs: Record<string, unknown>;
}

async function planItem(trigger: Trigger, bindings: ExpressionBindings, event: TriggerEvent): Promise<PlannedItem> {
  const expressions: Record<string, string> = {};
  if (trigger.filter !== undefined) expressions.filter = trigger.filter;
  if (trigger.dedupKey !== undefined) expressions.dedupKey = trigger.dedupKey;
  for (const [input, expression] of Object.entries(trigger.inputs)) expressions[`inputs.${input}`] = expression;
  const values = await evaluateAll(expressions, bindings);
  const filter = values.filter;
  if (trigger.filter !== undefined && typeof filter !== 'boolean' && filter !== null) {
    throw new MaestroError('EXPRESSION_FAILED', `filter: ${trigger.filter} is a ${typeof filter}, not a bool`);
  }
  const inputs: Record<string, unknown> = {};
  for (const input of Object.keys(trigger.inputs)) {
    const value = values[`inputs.${input}`];
    // A null input is not given: the runbook's default (or its required check) applies.
    if (value !== null && value !== undefined) inputs[input] = value;
  }
  const key = trigger.dedupKey === undefined ? event.id : keyText(values.dedupKey);
  return { pass: trigger.filter === undefined || filter === true, ...(key === undefined ? {} : { key: storedKey(key) }), inputs };
}

/** The claim of an item's key, for a fresh run id. */
function keyClaim(trigger: Trigger, key: string, now: Date): TriggerKeyClaimRequest {
  return {
    namespace: trigger.namespace,
    trigger: trigger.name,
    key,
    runId: newRunId(),
    now: now.toISOString(),
    expiresAt: new Date(now.getTime() + dedupWindowMs(trigger)).toISOString(),
  };
}

/**
 * Starts (or finds) the run of one item that passed the filter.
 * @param claimed its key's claim when made already (with the event's count), else it is claimed here
 */
async function fireItem(
  context: TriggerContext,
  trigger: Trigger,
  principal: Principal,
  item: PlannedItem,
  trace: { traceId: string; traceParent?: string },
  now: Date,
  claimed?: TriggerKeyClaim,
): Promise<FiredItem> {
  const { traceId } = trace;
  const actor = triggerActor(trigger);
  const start = { namespace: trigger.namespace, runbook: trigger.runbook, inputs: item.inputs, principal, startedBy: actor, ...trace };
  // Planned (runbook found, allow-list and inputs checked) while the key is claimed: only reads,
  // so nothing happens if the item turns out a duplicate.
  const planning = planRunbook(context, start);
  planning.catch(() => undefined); // awaited below, where its refusal is handled
  let runId = newRunId();
  let fresh = true;
  if (item.key !== undefined) {
    const claim = claimed ?? (await context.store.claimTriggerKey(keyClaim(trigger, item.key, now)));
    runId = claim.runId;
    fresh = claim.fresh;
    if (!fresh && (await startedSoon(context, runId))) return { outcome: 'duplicate', runId, key: item.key };
  }
  const keyDetails = item.key === undefined ? {} : { key: item.key };
  const fire: TriggerAuditEvent = { namespace: trigger.namespace, trigger: trigger.name, actor, action: 'fire', runId, traceId, details: { runbook: trigger.runbook, ...keyDetails } };
  try {
    const plan = await planning.catch(async (error: unknown) => {
      // Refused before its start was decided (the runbook gone, a role lost, inputs that do not
      // check): the fire is recorded on its own, before its refusal.
      if (refusal(error) !== undefined) await recordTriggerEvent(context.auditLog, fire);
      throw error;
    });
    // The fire is recorded in the same write as the start's policy decisions, before the start.
    const result = await launchRunbook(context, plan, { ...start, runId }, [triggerAuditEntry(fire)]);
    // A key claimed before is the first delivery's run, whoever started it in the end.
    return { outcome: fresh && result.created ? 'started' : 'duplicate', runId: result.runId, ...keyDetails };
  } catch (error) {
    const refused = refusal(error);
    if (refused === undefined) throw error;
    await recordTriggerEvent(context.auditLog, { namespace: trigger.namespace, trigger: trigger.name, actor, action: 'refused', runId, traceId, reason: refused.message, details: { code: refused.code, ...keyDetails } });
    return { outcome: 'refused', ...keyDetails, ...refused };
  }
}

function overall(items: readonly FiredItem[]): FireOutcome {
  for (const outcome of ['started', 'duplicate', 'refused'] as const) if (items.some((item) => item.outcome === outcome)) return outcome;
  return 'ignored';
}

/**
 * Fires `record` for one event (see the module's comment for the steps). Message consumers call
 * it per message, the webhook route per verified delivery.
 *
 * @returns the outcome and the runs; `refused` items carry the refusal's code and message (recorded in the audit log).
 * @throws MaestroError `AUDIT_UNAVAILABLE`, `POLICY_UNAVAILABLE`, `UNAVAILABLE` or a Temporal error when the
 *   start could not be decided or made: nothing was started for that item, and firing the same event again
 *   (a redelivery) completes it under the same run id.
 * @example
 * const { outcome, runIds } = await fireTrigger(context, record, { body, headers: {}, id: `${stream}:${seq}` });
 */
export async function fireTrigger(context: TriggerContext, record: TriggerRecord, event: TriggerEvent): Promise<FireResult> {
  const trigger = triggerOf(record);
  if (trigger.paused) return { outcome: 'ignored', runIds: [], items: [] };
  const now = (context.clock ?? (() => new Date()))();
  const traceId = event.traceId ?? randomBytes(16).toString('hex');
  const base: ExpressionBindings = { params: {}, tasks: {}, event: { body: event.body, headers: event.headers } };
  let planned: PlannedItem[];
  try {
    const items = await itemsOf(trigger, base);
    planned = items === undefined ? [await planItem(trigger, base, event)] : await Promise.all(items.map((item, index) => planItem(trigger, { ...base, item, index }, event)));
  } catch (error) {
    const refused = refusal(error);
    if (refused === undefined) throw error;
    await recordTriggerEvent(context.auditLog, { namespace: trigger.namespace, trigger: trigger.name, actor: triggerActor(trigger), action: 'refused', traceId, reason: refused.message, details: { code: refused.code } });
    return { outcome: 'refused', runIds: [], items: [{ outcome: 'refused', ...refused }] };
  }
  const passing = planned.filter((item) => item.pass);
  if (passing.length === 0) return { outcome: 'ignored', runIds: [], items: planned.map(() => ({ outcome: 'ignored' })) };
  const window = now.toISOString().slice(0, 16);
  const limit = trigger.rateLimit.perMinute;
  // The first item's key is claimed in the count's transaction (one write, where most events have
  // one item); the others' each before its own start, so a start that fails leaves theirs free.
  const firstKey = passing[0]?.key;
  const { total, claim } =
    firstKey === undefined
      ? { total: await context.store.countTriggerEvents(trigger.namespace, trigger.name, window, passing.length) }
      : await context.store.countTriggerEventsAndClaim(window, passing.length, limit, keyClaim(trigger, firstKey, now));
  if (total > limit) {
    return { outcome: 'rate-limited', runIds: [], items: [], retryAfterSeconds: Math.max(1, 60 - now.getUTCSeconds()) };
  }
  const trace = { traceId, ...(event.traceParent === undefined ? {} : { traceParent: event.traceParent }) };
  const items: FiredItem[] = [];
  // One item after the other: a payload's runs start in its order, and never more at once than one event's worth.
  for (const item of planned) items.push(item.pass ? await fireItem(context, trigger, record.principal, item, trace, now, item === passing[0] ? claim : undefined) : { outcome: 'ignored' });
  const runIds = items.flatMap((item) => (item.runId !== undefined && item.outcome !== 'refused' ? [item.runId] : []));
  if (runIds.length > 0) await context.store.markTriggerFired(trigger.namespace, trigger.name, now.toISOString(), runIds);
  return { outcome: overall(items), runIds, items };
}
