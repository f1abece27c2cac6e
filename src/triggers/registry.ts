/**
 * The trigger registry: writing a definition (create, or create-or-replace for GitOps) with its
 * audit record before the write, and the listing message consumers read.
 */
import { canonicalJson } from '../canonical/index.js';
import { MaestroError } from '../errors/index.js';
import type { Principal } from '../ir/index.js';
import type { AuditLog, Store, TriggerRecord } from '../store/index.js';
import { recordTriggerEvent } from './audit.js';
import { consumerNames, normalizeTrigger, type Trigger, type TriggerSource } from './definition.js';
import { triggerOf } from './fire.js';

/** What {@link saveTrigger} needs. */
export interface RegistryContext {
  store: Store;
  auditLog: AuditLog;
  /** @default () => new Date() */
  clock?: () => Date;
}

/** A definition to save. */
export interface SaveTriggerRequest {
  namespace: string;
  name: string;
  /** The request body (or a manifest's `spec`), shape checked; without name and namespace. */
  body: Readonly<Record<string, unknown>>;
  /** The writer: the principal the trigger acts for from now on. */
  principal: Principal;
  /** `create` refuses a taken name (409 `TRIGGER_EXISTS`); `replace` creates or replaces. */
  mode: 'create' | 'replace';
  traceId?: string;
}

/** What {@link saveTrigger} answers. */
export interface SavedTrigger {
  trigger: Trigger;
  outcome: 'created' | 'updated' | 'unchanged';
}

/**
 * Checks and saves a definition. An equal definition (after defaults) saved by an equal principal
 * is `unchanged` and records nothing; otherwise `create` or `update` is recorded in the audit log
 * first.
 *
 * @throws MaestroError `BAD_REQUEST` (a bad expression or duration), `TRIGGER_EXISTS`, `CONFLICT`
 *   (a message source's durable or group id is another trigger's), `AUDIT_UNAVAILABLE`.
 */
export async function saveTrigger(context: RegistryContext, request: SaveTriggerRequest): Promise<SavedTrigger> {
  const { namespace, name, principal } = request;
  const { paused, ...definition } = normalizeTrigger(request.body);
  const now = (context.clock ?? (() => new Date()))().toISOString();
  const existing = await context.store.getTrigger(namespace, name);
  if (existing !== undefined && request.mode === 'create') throw new MaestroError('TRIGGER_EXISTS', `trigger ${name} exists in namespace ${namespace}; PUT /triggers/${name} replaces it`);
  const trigger: Trigger = { ...definition, paused, namespace, name };
  const unchanged =
    existing !== undefined &&
    existing.paused === paused &&
    canonicalJson(existing.definition) === canonicalJson(definition) &&
    canonicalJson(existing.principal) === canonicalJson(principal);
  if (unchanged) return { trigger, outcome: 'unchanged' };
  if (definition.source !== undefined) await refuseSharedConsumer(context.store, namespace, name, definition.source);
  await recordTriggerEvent(context.auditLog, {
    namespace,
    trigger: name,
    actor: principal.subject,
    action: existing === undefined ? 'create' : 'update',
    ...(request.traceId === undefined ? {} : { traceId: request.traceId }),
    details: { runbook: definition.runbook, source: definition.source === undefined ? 'webhook' : Object.keys(definition.source)[0] },
  });
  const outcome = await context.store.putTrigger(
    { namespace, name, definition: definition as unknown as Record<string, unknown>, principal, message: definition.source !== undefined, paused },
    request.mode,
    now,
  );
  return { trigger, outcome };
}

/**
 * Refuses a message source whose JetStream durable or Kafka group id another trigger (of any
 * namespace, paused or not) already consumes under: sharing one would split its messages between
 * the two, letting a namespace's operator take another's events. Two saves racing for one name can
 * both pass; the broker's own ACLs are the boundary for clients outside Maestro (docs/security.md).
 */
async function refuseSharedConsumer(store: Store, namespace: string, name: string, source: TriggerSource): Promise<void> {
  const wanted = new Set(consumerNames(source));
  for (const record of await store.listTriggers({ message: true })) {
    if (record.namespace === namespace && record.name === name) continue;
    const other = triggerOf(record).source;
    if (other === undefined || !consumerNames(other).some((consumer) => wanted.has(consumer))) continue;
    // Another namespace's trigger is not named: its existence is all this tells.
    const holder = record.namespace === namespace ? `trigger ${record.name}` : 'a trigger of another namespace';
    const field = 'nats' in source ? 'source.nats.durable' : 'source.kafka.groupId';
    throw new MaestroError('CONFLICT', `${field} is already consumed by ${holder} on the same broker; give this trigger its own`, { details: { errors: [{ path: field, message: 'is taken on this broker' }] } });
  }
}

/**
 * The enabled message triggers (those with a `source`, not paused), of every namespace: what the
 * message consumers run. Pass each record to `fireTrigger`.
 */
export function listMessageTriggers(store: Store): Promise<TriggerRecord[]> {
  return store.listTriggers({ message: true, paused: false });
}
