/**
 * The audit records of triggers: created, changed, deleted, paused or unpaused, fired, refused —
 * one each, appended before the action is taken (an action the audit log cannot record is not).
 */
import { MaestroError } from '../errors/index.js';
import { auditRecordId, type AuditEntry, type AuditLog } from '../store/index.js';

/** Audit `kind` of every trigger record. */
export const TRIGGER_AUDIT_KIND = 'trigger';

/** One trigger event for the audit log. */
export interface TriggerAuditEvent {
  namespace: string;
  /** The trigger's name. */
  trigger: string;
  /** Who: the caller's subject, or `trigger:<ns>/<name>` for a fire. */
  actor: string;
  /** `create` | `update` | `delete` | `pause` | `unpause` | `fire` | `refused`. */
  action: 'create' | 'update' | 'delete' | 'pause' | 'unpause' | 'fire' | 'refused';
  /** The run a fire starts (or a refusal would have started). */
  runId?: string;
  traceId?: string;
  /** Why (a refusal's message). */
  reason?: string;
  /** E.g. `{ key, code }`; never the event's body. */
  details?: Record<string, unknown>;
}

/** The audit log's record of a trigger event: what {@link recordTriggerEvent} appends, or a run start appends with its decisions (a fire). */
export function triggerAuditEntry(event: TriggerAuditEvent): AuditEntry {
  return {
    kind: TRIGGER_AUDIT_KIND,
    id: auditRecordId(),
    time: new Date().toISOString(),
    namespace: event.namespace,
    ...(event.runId === undefined ? {} : { runId: event.runId }),
    ...(event.traceId === undefined ? {} : { traceId: event.traceId }),
    actor: event.actor,
    result: event.action,
    reasons: event.reason === undefined ? [] : [event.reason],
    details: { trigger: event.trigger, ...event.details },
  };
}

/**
 * Appends a trigger event to the audit log, before the action it records is taken.
 *
 * @throws MaestroError `AUDIT_UNAVAILABLE` (503) when the audit log refuses the record.
 */
export async function recordTriggerEvent(log: AuditLog, event: TriggerAuditEvent): Promise<void> {
  try {
    await log.append(triggerAuditEntry(event));
  } catch (error) {
    throw new MaestroError('AUDIT_UNAVAILABLE', `the audit log cannot record this ${event.action} of trigger ${event.namespace}/${event.trigger}, so it was not done; try again later`, { cause: error });
  }
}
