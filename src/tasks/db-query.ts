import pg from 'pg';
import type { EgressGuard } from '../egress/index.js';
import { parseDuration } from '../ir/index.js';
import { defineTask, TaskError, type TaskLogger } from '../sdk/index.js';
import type { Attributes } from '@opentelemetry/api';
import { serverAttributes, withClientSpan, type TraceHeaders } from '../telemetry/index.js';
import { durationSchema } from './schemas.js';
import { untilAborted } from './shared/abort.js';
import { destinationHost } from './shared/destination.js';
import { connectorFailure, invalidInput } from './shared/failures.js';
import { secretNameSchema } from './shared/schemas.js';

/** One parameterised statement. */
export interface DbStatement {
  /** SQL text with `$1`, `$2` … placeholders; values never go into it. */
  sql: string;
  /** Values bound to the placeholders, in order. */
  params?: unknown[];
}

/** Input of `connectors/db.query`: one statement (`sql`, `params`), or `statements` run in one transaction. */
export interface DbQueryInput {
  sql?: string;
  params?: unknown[];
  statements?: DbStatement[];
  /** Name of the secret holding the `postgres://` URL. @default 'DATABASE_URL' */
  connectionSecret?: string;
  /** @default 1000 */
  maxRows?: number;
  /** @default '30s' */
  timeout?: string;
}

/** The result of one statement. */
export interface DbStatementResult {
  command: string;
  rowCount: number;
  rows: Record<string, unknown>[];
}

/** Output of `connectors/db.query`. */
export interface DbQueryOutput extends DbStatementResult {
  /** Every statement's result, in order (one entry for `sql`). */
  results: DbStatementResult[];
}

/** SQLSTATE classes worth retrying: connection exceptions, transaction rollbacks (serialization, deadlock), resources. */
const RETRYABLE_SQLSTATE = /^(08|40|53|57P0[1-3])/;

/**
 * `connectors/db.query`: runs parameterised SQL on PostgreSQL (`pg`). Statements always go through
 * the extended protocol, so values travel only as bound parameters and a statement is exactly one
 * command (stacked `;`-separated commands are refused by the server). Several `statements` run in
 * one transaction: all or nothing. Keep values out of `sql`: pass them in `params`, never in a
 * `${...}` template inside the SQL text.
 *
 * @example
 * - id: record
 *   uses: connectors/db.query@0.1.0
 *   with: { sql: "INSERT INTO deployments (service, version) VALUES ($1, $2)", params: ["${params.service}", "${params.to}"] }
 */
export const dbQuery = defineTask<DbQueryInput, DbQueryOutput>({
  name: 'connectors/db.query',
  version: '0.1.0',
  description: 'Runs parameterised SQL on PostgreSQL; several statements run in one transaction.',
  execution: 'activity',
  input: {
    type: 'object',
    properties: {
      sql: { type: 'string', minLength: 1, description: 'One SQL statement with $1, $2 … placeholders.' },
      params: { type: 'array', description: 'Values bound to the placeholders of sql; objects and arrays as JSON text ($1::jsonb).' },
      statements: {
        type: 'array',
        minItems: 1,
        maxItems: 100,
        description: 'Statements run in order in one transaction.',
        items: {
          type: 'object',
          properties: {
            sql: { type: 'string', minLength: 1 },
            params: { type: 'array' },
          },
          required: ['sql'],
          additionalProperties: false,
        },
      },
      connectionSecret: secretNameSchema('Name of the secret holding the postgres:// connection URL. Default DATABASE_URL.'),
      maxRows: { type: 'integer', minimum: 0, maximum: 100_000, default: 1000, description: 'Most rows returned per statement.' },
      timeout: durationSchema('statement_timeout and connect limit. Default 30s.'),
    },
    oneOf: [{ required: ['sql'], not: { required: ['statements'] } }, { required: ['statements'], not: { anyOf: [{ required: ['sql'] }, { required: ['params'] }] } }],
    additionalProperties: false,
  },
  output: {
    type: 'object',
    properties: {
      command: { type: 'string', description: 'The last statement\'s command, e.g. SELECT, INSERT.' },
      rowCount: { type: 'integer', minimum: 0, description: 'Rows the last statement returned or changed.' },
      rows: { type: 'array', items: { type: 'object' }, description: 'Rows the last statement returned.' },
      results: {
        type: 'array',
        items: {
          type: 'object',
          properties: { command: { type: 'string' }, rowCount: { type: 'integer' }, rows: { type: 'array', items: { type: 'object' } } },
          required: ['command', 'rowCount', 'rows'],
          additionalProperties: false,
        },
      },
    },
    required: ['command', 'rowCount', 'rows', 'results'],
    additionalProperties: false,
  },
  validate({ timeout }) {
    if (timeout !== undefined && parseDuration(timeout) === undefined) throw invalidInput('timeout', `"${timeout}" is not a duration`);
  },
  async execute(input, ctx) {
    const statements: DbStatement[] = input.statements ?? [{ sql: input.sql ?? '', params: input.params ?? [] }];
    const { maxRows = 1000 } = input;
    const timeoutMs = parseDuration(input.timeout ?? '30s') ?? 30_000;
    const connectionString = await ctx.secrets(input.connectionSecret ?? 'DATABASE_URL', { host: databaseHost });
    const client = new pg.Client({ connectionString, stream: () => ctx.egress.clientSocket(), connectionTimeoutMillis: timeoutMs, statement_timeout: timeoutMs, application_name: `maestro ${ctx.runId}/${ctx.taskId}` });
    // Errors after connect (server restart) arrive as events; the pending query rejects with them too.
    client.on('error', (error) => ctx.logger.warn('database connection error', { error: error.message }));
    const exchange = `query ${hostOf(connectionString)}`;
    let connected = false;
    try {
      return await untilAborted(
        ctx,
        async () => {
          await client.connect();
          connected = true;
          const results = await runStatements(client, statements, maxRows, ctx.logger, dbAttributes(connectionString));
          ctx.logger.info('queries run', { statements: statements.length, rowCounts: results.map((r) => r.rowCount) });
          const last = results[results.length - 1] as DbStatementResult;
          return { ...last, results };
        },
        () => (connected ? cancelBackend(connectionString, client, ctx.egress) : client.end()),
      );
    } catch (error) {
      throw connectorFailure(error, ctx.signal, exchange, { permanent: (e) => isPermanent(e), egress: ctx.egress });
    } finally {
      // After a cancellation `untilAborted` already cancelled the statement and closed the connection.
      if (!ctx.signal.aborted) await client.end().catch((error: unknown) => ctx.logger.debug('closing the connection failed', { error: String(error) }));
    }
  },
});

async function runStatements(client: pg.Client, statements: DbStatement[], maxRows: number, logger: TaskLogger, attributes: Attributes): Promise<DbStatementResult[]> {
  const transaction = statements.length > 1;
  if (transaction) await client.query('BEGIN');
  try {
    const results: DbStatementResult[] = [];
    for (const [index, { sql, params = [] }] of statements.entries()) {
      const operation = operationOf(sql);
      const result = await withClientSpan(operation ?? 'postgresql', { ...attributes, ...(operation ? { 'db.operation.name': operation } : {}) }, (trace) =>
        client.query({ text: tracedSql(sql, trace), values: params.map(toParam), queryMode: 'extended' } as pg.QueryConfig),
      );
      if (result.rows.length > maxRows) {
        throw new TaskError(`statement ${index} returned ${result.rows.length} rows, more than maxRows (${maxRows})`, {
          code: 'TASK_FAILED',
          retryable: false,
          details: { statement: index, rows: result.rows.length, maxRows },
        });
      }
      results.push({ command: result.command, rowCount: result.rowCount ?? result.rows.length, rows: result.rows as Record<string, unknown>[] });
    }
    if (transaction) await client.query('COMMIT');
    return results;
  } catch (error) {
    // The statement's error is the one to report; a failed ROLLBACK means the connection is gone,
    // which aborts the transaction anyway.
    if (transaction) await client.query('ROLLBACK').catch((rollback: unknown) => logger.warn('rollback failed', { error: String(rollback) }));
    throw error;
  }
}

/**
 * `sql` behind a sqlcommenter-style block comment, `traceparent='…'`, naming the statement's client
 * span, so the server's statement log and `pg_stat_activity` tie it to the trace. Prepended, so no
 * text of the task's can open or close it around ours; the value is checked hex and dashes, so it
 * cannot end the comment. `tracestate` is left out: it is the run's callers' vendor data, and
 * statement logs are read widely. An unnamed statement through the extended protocol: a comment
 * that changes each call costs no prepared statement, and `$n` placeholders bind as before.
 */
function tracedSql(sql: string, { traceparent }: TraceHeaders): string {
  return traceparent === undefined ? sql : `/*traceparent='${traceparent}'*/ ${sql}`;
}

/** The statement's leading keyword (`SELECT`, `INSERT`…), as the span's name; none for a comment or odd text. */
function operationOf(sql: string): string | undefined {
  return /^\s*([A-Za-z]{2,16})\b/.exec(sql)?.[1]?.toUpperCase();
}

/** The OTel database attributes of a connection: server, port, database name; never the user or password. */
function dbAttributes(connectionString: string): Attributes {
  const database = URL.canParse(connectionString) ? new URL(connectionString).pathname.slice(1) : '';
  return { 'db.system.name': 'postgresql', ...serverAttributes(connectionString, 5432), ...(database ? { 'db.namespace': database } : {}) };
}

/**
 * Objects and arrays are bound as JSON text (cast with `$1::jsonb`; for a PostgreSQL array, unnest
 * it: `ARRAY(SELECT jsonb_array_elements_text($1::jsonb))`); scalars as they are. One rule, whatever
 * the elements, so a value's shape never changes how it is bound.
 */
function toParam(value: unknown): unknown {
  return value !== null && typeof value === 'object' ? JSON.stringify(value) : value;
}

/**
 * Cancels the running statement on the server (`pg_cancel_backend` from a second connection), then
 * closes the connection: ending the client alone would leave the statement running.
 */
async function cancelBackend(connectionString: string, client: pg.Client, egress: EgressGuard): Promise<void> {
  const pid = (client as pg.Client & { processID?: number }).processID;
  if (pid !== undefined) {
    const canceller = new pg.Client({ connectionString, stream: () => egress.clientSocket(), connectionTimeoutMillis: 5_000 });
    await canceller.connect();
    try {
      await canceller.query('SELECT pg_cancel_backend($1)', [pid]);
    } finally {
      await canceller.end();
    }
  }
  await client.end();
}

function isPermanent(error: unknown): boolean {
  const code = (error as { code?: unknown }).code;
  // A SQLSTATE: only connection, rollback and resource classes may pass on retry.
  return error instanceof pg.DatabaseError && typeof code === 'string' && !RETRYABLE_SQLSTATE.test(code);
}

/** `host:port/db` of a connection URL, for messages: never the credentials. */
/** The server a connection string names: pg connects to its `?host=` when there is one. */
function databaseHost(connectionString: string): string {
  const host = URL.canParse(connectionString) ? new URL(connectionString).searchParams.get('host') : null;
  return host ?? destinationHost(connectionString);
}

function hostOf(connectionString: string): string {
  if (!URL.canParse(connectionString)) return 'the database';
  const url = new URL(connectionString);
  return `postgres://${url.host}${url.pathname}`;
}
