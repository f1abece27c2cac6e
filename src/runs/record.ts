/**
 * Recording an action on a run before it is taken: the API's cancel, approve and retry, and the
 * retry or replay a launch starts. An action the audit log cannot record is not taken.
 */
import { MaestroError } from '../errors/index.js';
import { appendAuditEvent, type AuditEvent } from '../policy/index.js';
import type { AuditLog } from '../store/index.js';

/**
 * Appends `event` to the audit log, before the action it records is taken.
 *
 * @throws MaestroError `AUDIT_UNAVAILABLE` (503) when the audit log refuses the record.
 */
export async function recordBeforeActing(log: AuditLog, event: AuditEvent): Promise<void> {
  try {
    await appendAuditEvent(log, event);
  } catch (error) {
    throw new MaestroError('AUDIT_UNAVAILABLE', `the audit log cannot record this ${event.kind} of run ${event.runId}, so it was not done; try again later`, { cause: error });
  }
}
