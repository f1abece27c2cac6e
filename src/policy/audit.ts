/**
 * The audit side of the decision log: events people cause (approvals, cancellations, retries),
 * the auditor's read access (`GET /audit?runId=`), and chain verification (`maestro audit verify`).
 */
import { MaestroError } from '../errors/index.js';
import type { Principal } from '../ir/index.js';
import { auditRecordId, type AuditLog, type AuditRecord, type ChainReport } from '../store/index.js';

/** Something a person did to a run, kept in the same chain as the policy decisions. */
export interface AuditEvent {
  /**
   * `replay`: a replay of the run was started (its id in `details.replayRunId`); `signal`: a signal
   * was sent (its name in `details.name`); `pause`: the run was paused or resumed; `schedule`: a
   * schedule was created, changed, deleted, paused, unpaused, triggered, backfilled, fired or
   * refused a fire (under `runId` `schedule:<namespace>:<id>`); `budget`: a start refused, or a
   * task failed or its run paused, by the namespace's budget.
   */
  kind: 'approval' | 'cancellation' | 'retry' | 'replay' | 'signal' | 'pause' | 'schedule' | 'budget';
  runId: string;
  namespace: string;
  /** The task concerned (approvals). */
  taskId?: string;
  /** Who: the authenticated principal's name. */
  actor: string;
  /** What: `approve` | `reject`, `cancel`, `retry-from-start` | `retry-from-failed`, `replay`, `signal`, `pause` | `resume`; `refused` when the run did not take an approval or signal. */
  action: string;
  /** Why: the person's comment, if any. */
  reason?: string;
  /** @default new Date() */
  time?: Date;
  traceId?: string;
  /** E.g. `{ newRunId }` for a retry. */
  details?: Record<string, unknown>;
}

/**
 * Appends an approval, cancellation or retry to the audit log.
 *
 * @example
 * await appendAuditEvent(log, { kind: 'approval', runId, namespace, taskId: 'gate', actor: principal.name, action: 'approve', reason: comment });
 */
export function appendAuditEvent(log: AuditLog, event: AuditEvent): Promise<AuditRecord> {
  return log.append({
    kind: event.kind,
    id: auditRecordId(),
    time: (event.time ?? new Date()).toISOString(),
    namespace: event.namespace,
    runId: event.runId,
    ...(event.taskId === undefined ? {} : { taskId: event.taskId }),
    ...(event.traceId === undefined ? {} : { traceId: event.traceId }),
    actor: event.actor,
    result: event.action,
    reasons: event.reason === undefined || event.reason === '' ? [] : [event.reason],
    ...(event.details === undefined ? {} : { details: event.details }),
  });
}

/** The role that may read the audit log (`admin` holds it too). */
export const AUDITOR_ROLE = 'auditor';

/** Query of {@link listAuditRecords} (the query string of `GET /audit`). */
export interface AuditListQuery {
  runId?: string;
  /** `decision`, `decision-reuse`, `approval`, `cancellation`, `retry`, … */
  kind?: string;
  /** Records after this `seq` (the previous page's `next`). @default 0 */
  after?: number;
  /** Records at or after this time. @default undefined — no lower bound */
  from?: Date;
  /** Records before this time. @default undefined — no upper bound */
  to?: Date;
  /** @default 100, at most 1000 */
  limit?: number;
}

/**
 * `GET /audit?runId=&kind=&after=&limit=`: the records an auditor may see (their namespaces only),
 * in chain order, with `next` to page on.
 *
 * @throws MaestroError `FORBIDDEN` unless the reader holds `auditor` or `admin`.
 */
export async function listAuditRecords(log: AuditLog, reader: Principal, query: AuditListQuery = {}): Promise<{ items: AuditRecord[]; next?: number }> {
  requireAuditor(reader);
  const limit = Math.min(Math.max(1, query.limit ?? 100), 1000);
  const items = await log.list({
    ...(query.runId === undefined ? {} : { runId: query.runId }),
    ...(query.kind === undefined ? {} : { kind: query.kind }),
    ...(query.from === undefined ? {} : { from: query.from.toISOString() }),
    ...(query.to === undefined ? {} : { to: query.to.toISOString() }),
    namespaces: reader.namespaces,
    after: query.after ?? 0,
    limit,
  });
  const last = items.at(-1);
  return { items, ...(items.length === limit && last ? { next: last.seq } : {}) };
}

/** @throws MaestroError `FORBIDDEN` unless `reader` holds `auditor` or `admin`. */
function requireAuditor(reader: Principal): void {
  if (!reader.roles.includes(AUDITOR_ROLE) && !reader.roles.includes('admin')) {
    throw new MaestroError('FORBIDDEN', `reading the audit log needs the ${AUDITOR_ROLE} role; ${reader.subject} holds ${reader.roles.join(', ') || 'none'}`);
  }
}

/**
 * For people: `audit log intact: …`, `audit log BROKEN at record #n …`, or `audit log UNGUARDED
 * (its chain is whole): …` — then, when the database no longer refuses changes, a line for each
 * trigger missing, switched off or changed.
 */
export function describeChainReport(report: ChainReport): string {
  const broken = report.firstBroken;
  const chain =
    broken === undefined
      ? `audit log ${report.unguarded ? 'UNGUARDED (its chain is whole)' : 'intact'}: ${report.records} record(s), head ${report.head}`
      : `audit log BROKEN at record #${broken.seq} (id ${broken.id}): ${broken.problem}; the ${report.records} record(s) before it are intact`;
  return [chain, ...(report.unguarded ?? [])].join('\n');
}

/** The part of an API route context {@link auditRoutes} reads (the API's `RouteContext` fits). */
export interface AuditRouteContext {
  /** The authenticated caller; undefined on open routes. */
  principal: Principal | undefined;
  /** The validated query string. */
  query: Record<string, unknown>;
}

/**
 * The audit log's API operations, by OpenAPI `operationId`: `listAudit` serves
 * `GET /audit?runId=&kind=&from=&to=&after=&limit=` (auditor role) as `200 {items, next?}`, and
 * `verifyAuditChain` serves `GET /audit/verification` (auditor role) as `200` {@link ChainReport}.
 * A chain walk reads every record, so concurrent requests share the one walk under way.
 *
 * @example
 * const { listAudit, verifyAuditChain } = auditRoutes({ log });
 * // ROUTE_HANDLERS.listAudit = (context) => listAudit(context)
 */
export function auditRoutes({ log }: { log: AuditLog }): Record<'listAudit' | 'verifyAuditChain', (context: AuditRouteContext) => Promise<{ status: number; body: unknown }>> {
  const text = (value: unknown): string | undefined => (typeof value === 'string' && value !== '' ? value : undefined);
  const count = (value: unknown): number | undefined => {
    const number = typeof value === 'string' ? Number(value) : value;
    return typeof number === 'number' && Number.isInteger(number) && number >= 0 ? number : undefined;
  };
  const time = (value: unknown, name: string): Date | undefined => {
    const given = text(value);
    if (given === undefined) return undefined;
    const date = new Date(given);
    if (Number.isNaN(date.getTime())) throw new MaestroError('BAD_REQUEST', `${name} "${given}" is not a date-time`);
    return date;
  };
  const signedIn = (principal: Principal | undefined): Principal => {
    if (!principal) throw new MaestroError('UNAUTHENTICATED', 'reading the audit log needs a bearer token');
    return principal;
  };
  return {
    async listAudit({ principal, query }) {
      const reader = signedIn(principal);
      const runId = text(query.runId);
      const kind = text(query.kind);
      const after = count(query.after);
      const limit = count(query.limit);
      const from = time(query.from, 'from');
      const to = time(query.to, 'to');
      const page = await listAuditRecords(log, reader, {
        ...(runId === undefined ? {} : { runId }),
        ...(kind === undefined ? {} : { kind }),
        ...(from === undefined ? {} : { from }),
        ...(to === undefined ? {} : { to }),
        ...(after === undefined ? {} : { after }),
        ...(limit === undefined ? {} : { limit }),
      });
      return { status: 200, body: page };
    },
    async verifyAuditChain({ principal }) {
      requireAuditor(signedIn(principal));
      let walk = walks.get(log);
      if (walk === undefined) {
        walk = log.verify().finally(() => walks.delete(log));
        walks.set(log, walk);
      }
      return { status: 200, body: await walk };
    },
  };
}

/** Each log's chain walk under way, shared by the requests that come meanwhile (see {@link auditRoutes}). */
const walks = new WeakMap<AuditLog, Promise<ChainReport>>();
