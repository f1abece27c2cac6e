/**
 * `GET /runs`: a Temporal visibility query over Maestro's search attributes, one page at a time
 * (the raw `ListWorkflowExecutions` call, for its page token). Nothing is scanned in Node.
 */
import { createHash } from 'node:crypto';
import type { Client } from '@temporalio/client';
import { defaultPayloadConverter, type Payload } from '@temporalio/common';
import type { temporal } from '@temporalio/proto';
import { MaestroError } from '../errors/index.js';
import { INTERPRETER_WORKFLOW, MAESTRO_DIGEST, MAESTRO_NAMESPACE, MAESTRO_STATUS, MAESTRO_VERSION, MAESTRO_WORKFLOW } from '../ir/index.js';
import { executionStatusName, missingSearchAttribute, runStatusOf, type ApiRunStatus } from './temporal.js';

/** Filters of a run listing (already validated against the OpenAPI schema). */
export interface RunFilter {
  status?: ApiRunStatus;
  /** `name` or `name@version`. */
  workflowRef?: string;
  /** Only these namespaces; undefined: every namespace. */
  namespaces?: readonly string[];
  /** ISO date-time: started at or after. */
  since?: string;
  /** ISO date-time: started before. */
  until?: string;
  /** Only runs whose id starts with this (a schedule's runs: `scheduledRunIdPrefix`). */
  runIdPrefix?: string;
}

/** One row of a listing. */
export interface RunSummary {
  runId: string;
  workflowRef: string;
  digest: string;
  namespace: string;
  status: ApiRunStatus;
  startedAt: string;
  endedAt?: string;
  /** A sub-workflow's run: the run whose task started it (Temporal's parent execution). */
  parentRunId?: string;
}

/** A page of runs and the token of the next one. */
export interface RunPage {
  items: RunSummary[];
  nextPageToken?: string;
}

/** A visibility query string literal; values are schema-checked already, quotes are escaped anyway. */
function literal(value: string): string {
  return `'${value.replaceAll('\\', '\\\\').replaceAll("'", "\\'")}'`;
}

/** RFC 3339's leap second (`23:59:60`), which JavaScript dates cannot hold. */
const LEAP_SECOND = /^(.*[Tt ]\d{2}:\d{2}:)60(\.\d+)?(.*)$/;

/**
 * The instant of an RFC 3339 date-time (schema-checked already), as ISO text. A leap second
 * counts as the second after it (POSIX time, as Temporal's clock has it); an instant outside years
 * 0000–9999 cannot be queried on Temporal and is the caller's mistake.
 *
 * @throws MaestroError `BAD_REQUEST` naming the parameter, never a RangeError.
 */
export function instantOf(name: string, value: string): string {
  const leap = LEAP_SECOND.exec(value);
  const time = leap ? new Date(`${leap[1]}59${leap[3]}`).getTime() + 1000 : new Date(value).getTime();
  const year = new Date(time).getUTCFullYear();
  if (!Number.isFinite(time) || year < 0 || year > 9999) {
    throw new MaestroError('BAD_REQUEST', `${name} "${value}" is not a date-time between years 0000 and 9999`, {
      details: { errors: [{ path: `query.${name}`, message: 'is not a date-time between years 0000 and 9999' }] },
    });
  }
  return new Date(time).toISOString();
}

/**
 * The clause of a status filter. An ended run's status is Temporal's (as {@link runStatusOf} reads
 * it): a run Temporal ended itself (terminated, timed out) never published its own, so its
 * `MaestroStatus` still says how it was going. A live run's is the interpreter's.
 */
function statusClause(status: ApiRunStatus): string {
  switch (status) {
    case 'SUCCEEDED':
      return "ExecutionStatus = 'Completed'";
    case 'FAILED':
      return "ExecutionStatus IN ('Failed', 'Terminated', 'TimedOut')";
    case 'CANCELLED':
      return "ExecutionStatus = 'Canceled'";
    default:
      return `ExecutionStatus = 'Running' AND ${MAESTRO_STATUS.name} = ${literal(status)}`;
  }
}

/** The visibility query for a filter. */
export function visibilityQuery(filter: RunFilter): string {
  const clauses = [`WorkflowType = ${literal(INTERPRETER_WORKFLOW)}`, `ExecutionStatus != 'ContinuedAsNew'`];
  if (filter.namespaces !== undefined) clauses.push(`${MAESTRO_NAMESPACE.name} IN (${filter.namespaces.map(literal).join(', ')})`);
  if (filter.status !== undefined) clauses.push(statusClause(filter.status));
  if (filter.workflowRef !== undefined) {
    const [name = '', version] = filter.workflowRef.split('@');
    clauses.push(`${MAESTRO_WORKFLOW.name} = ${literal(name)}`);
    if (version !== undefined) clauses.push(`${MAESTRO_VERSION.name} = ${literal(version)}`);
  }
  if (filter.since !== undefined) clauses.push(`StartTime >= ${literal(instantOf('since', filter.since))}`);
  if (filter.until !== undefined) clauses.push(`StartTime < ${literal(instantOf('until', filter.until))}`);
  if (filter.runIdPrefix !== undefined) clauses.push(`WorkflowId STARTS_WITH ${literal(filter.runIdPrefix)}`);
  return clauses.join(' AND ');
}

function keyword(fields: Record<string, Payload> | null | undefined, name: string): string | undefined {
  const payload = fields?.[name];
  if (!payload) return undefined;
  const value = defaultPayloadConverter.fromPayload<unknown>(payload);
  return typeof value === 'string' ? value : undefined;
}

function isoOf(timestamp: temporal.api.workflow.v1.IWorkflowExecutionInfo['startTime']): string | undefined {
  if (!timestamp?.seconds) return undefined;
  return new Date(Number(timestamp.seconds) * 1000 + Math.floor((timestamp.nanos ?? 0) / 1e6)).toISOString();
}

function summaryOf(info: temporal.api.workflow.v1.IWorkflowExecutionInfo): RunSummary {
  const fields = info.searchAttributes?.indexedFields as Record<string, Payload> | null | undefined;
  const workflow = keyword(fields, MAESTRO_WORKFLOW.name) ?? '';
  const version = keyword(fields, MAESTRO_VERSION.name) ?? '';
  const endedAt = isoOf(info.closeTime);
  return {
    runId: info.execution?.workflowId ?? '',
    workflowRef: `${workflow}@${version}`,
    digest: keyword(fields, MAESTRO_DIGEST.name) ?? '',
    namespace: keyword(fields, MAESTRO_NAMESPACE.name) ?? 'default',
    status: runStatusOf(executionStatusName(info.status), keyword(fields, MAESTRO_STATUS.name)),
    startedAt: isoOf(info.startTime) ?? '',
    ...(endedAt ? { endedAt } : {}),
    ...(info.parentExecution?.workflowId ? { parentRunId: info.parentExecution.workflowId } : {}),
  };
}

/** Which query a page token belongs to: a token is only valid with the filters it came from. */
function fingerprint(query: string): string {
  return createHash('sha256').update(query).digest('hex').slice(0, 16);
}

/** Wraps Temporal's page token with the fingerprint of its query. */
function encodeToken(query: string, raw: Uint8Array): string {
  return Buffer.from(JSON.stringify({ q: fingerprint(query), t: Buffer.from(raw).toString('base64url') })).toString('base64url');
}

/**
 * Temporal's page token inside one of ours.
 * @throws MaestroError `BAD_REQUEST` for a token that is not ours or belongs to other filters.
 */
function decodeToken(query: string, token: string): Buffer {
  let envelope: unknown;
  try {
    envelope = JSON.parse(Buffer.from(token, 'base64url').toString('utf8'));
  } catch (error) {
    throw new MaestroError('BAD_REQUEST', 'pageToken is not a token this API issued', { cause: error, details: { errors: [{ path: 'query.pageToken', message: 'is not a token this API issued' }] } });
  }
  const { q, t } = (envelope ?? {}) as { q?: unknown; t?: unknown };
  if (q !== fingerprint(query) || typeof t !== 'string') {
    throw new MaestroError('BAD_REQUEST', 'pageToken belongs to other filters; repeat the query that returned it', {
      details: { errors: [{ path: 'query.pageToken', message: 'belongs to other filters' }] },
    });
  }
  return Buffer.from(t, 'base64url');
}

/** How long one visibility call may take (Temporal's client retries transient failures within it). */
const LIST_DEADLINE_MS = 10_000;

/**
 * One page of the runs Temporal visibility shows matching `filter`, newest first (queued runs,
 * which are not on Temporal yet, are the admission queue's).
 * @param query a complete visibility query to use instead of the filter's.
 * @throws MaestroError `BAD_REQUEST` for a page token that is not from this query.
 */
export async function listFromTemporal(client: Client, filter: RunFilter, page: { limit: number; pageToken?: string }, query = visibilityQuery(filter)): Promise<RunPage> {
  const nextPageToken = page.pageToken === undefined ? undefined : decodeToken(query, page.pageToken);
  const response = await client.connection
    .withDeadline(Date.now() + LIST_DEADLINE_MS, () =>
      client.workflowService.listWorkflowExecutions({
        namespace: client.options.namespace,
        pageSize: page.limit,
        query,
        ...(nextPageToken === undefined ? {} : { nextPageToken }),
      }),
    )
    .catch((error: unknown) => {
      throw missingSearchAttribute(error, client.options.namespace) ?? error;
    });
  const next = response.nextPageToken && response.nextPageToken.length > 0 ? encodeToken(query, response.nextPageToken) : undefined;
  return { items: (response.executions ?? []).map(summaryOf), ...(next ? { nextPageToken: next } : {}) };
}
