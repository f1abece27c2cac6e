/**
 * A connector skeleton: copy this file to write a connector of your own. It sends records to an
 * HTTP service in batches, and shows the five things every connector gets right:
 *
 * 1. **Secrets** come from `ctx.secrets(name, { host })` inside the task, never from `with:` (which
 *    lands in workflow history) and never in a log line; `host` is where the value is sent, so a
 *    secret bound to hosts is never sent anywhere else.
 * 2. **Heartbeats**: a long task calls `ctx.heartbeat(progress)` regularly, so Temporal knows it is
 *    alive and can deliver a cancellation.
 * 3. **Abort**: pass `ctx.signal` to every I/O call; once it aborts, throw `ctx.signal.reason` so the
 *    run records a cancellation, not a failure.
 * 4. **Retryable vs non-retryable errors**: throw a `TaskError`. `retryable: true` (the default)
 *    lets the task's `retry:` policy try again (the peer is down, overloaded, timed out);
 *    `retryable: false` fails the task at once (bad input, bad credentials: trying again would fail
 *    the same way).
 * 5. **Bad input sends nothing**: the JSON Schema and `validate` run before `execute`.
 *
 * Where the service lives is the operator's decision, not the manifest's: the base URL is a secret
 * too, so a workflow cannot point the connector (and its token) at another host.
 *
 * ```yaml
 * - id: push
 *   uses: connectors/acme.send@0.1.0
 *   with: { records: "${tasks.extract.outputs.rows}", batchSize: 100 }
 * ```
 * with `MAESTRO_SECRET_ACME_URL` and `MAESTRO_SECRET_ACME_TOKEN` set on the worker.
 */
import { defineTask, TaskError } from '@summit/maestro/sdk';

/** Input of `connectors/acme.send`. */
export interface AcmeSendInput {
  /** The records to send, each a JSON object. */
  records: Record<string, unknown>[];
  /** Records per request. @default 100 */
  batchSize?: number;
}

/** Output of `connectors/acme.send`. */
export interface AcmeSendOutput {
  /** Records the service accepted. */
  sent: number;
  /** Requests made. */
  batches: number;
}

/** Statuses worth trying again: the request was fine, the service was not (yet). */
const RETRYABLE_STATUSES = new Set([408, 425, 429, 500, 502, 503, 504]);

/** `connectors/acme.send@0.1.0`: POSTs `records` to `<acme.url>/records` in batches. */
export default defineTask<AcmeSendInput, AcmeSendOutput>({
  name: 'connectors/acme.send',
  version: '0.1.0',
  description: 'Sends records to the ACME records API in batches (skeleton connector).',
  input: {
    type: 'object',
    properties: {
      records: { type: 'array', items: { type: 'object' }, maxItems: 100_000 },
      batchSize: { type: 'integer', minimum: 1, maximum: 1000, default: 100 },
    },
    required: ['records'],
    additionalProperties: false,
  },
  output: {
    type: 'object',
    properties: { sent: { type: 'integer' }, batches: { type: 'integer' } },
    required: ['sent', 'batches'],
  },

  // Checks the schema cannot express. Throwing here means nothing was sent: never retry it.
  validate({ records }) {
    const index = records.findIndex((record) => typeof record['id'] !== 'string');
    if (index >= 0) throw new TaskError(`records[${index}].id must be a string`, { code: 'TASK_INPUT_INVALID', retryable: false });
  },

  async execute({ records, batchSize = 100 }, ctx) {
    // Resolved here, inside the activity: the values never reach history. Never log them.
    // Each says where its value goes, for the secret's destination check (MAESTRO_SECRETS `hosts`):
    // the URL is itself the address; the token goes to the host the URL names.
    const baseUrl = await ctx.secrets('acme.url', { host: (url) => new URL(url).hostname });
    const token = await ctx.secrets('acme.token', { host: new URL(baseUrl).hostname });
    let sent = 0;
    let batches = 0;
    for (let start = 0; start < records.length; start += batchSize) {
      const batch = records.slice(start, start + batchSize);
      let response: Response;
      try {
        response = await fetch(new URL('records', withSlash(baseUrl)), {
          method: 'POST',
          headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
          body: JSON.stringify({ records: batch }),
          // Cancelling the run (or the attempt's timeout) aborts the request in flight.
          signal: ctx.signal,
        });
      } catch (error) {
        if (ctx.signal.aborted) throw ctx.signal.reason;
        // Refused, reset, DNS: the service may be back on the next attempt.
        throw new TaskError(`ACME is unreachable: ${error instanceof Error ? error.message : String(error)}`, { code: 'PEER_UNAVAILABLE', retryable: true, cause: error });
      }
      // Read the body even when unused: it frees the connection for the next batch.
      await response.arrayBuffer();
      if (!response.ok) {
        const retryable = RETRYABLE_STATUSES.has(response.status);
        // The status says what went wrong; the body may echo the request, so it stays out of logs.
        throw new TaskError(`ACME answered ${response.status} to batch ${batches + 1}`, {
          code: retryable ? 'PEER_UNAVAILABLE' : 'TASK_FAILED',
          retryable,
          details: { status: response.status, sentBefore: sent },
        });
      }
      sent += batch.length;
      batches++;
      // Progress for Temporal (liveness, and the details a retry could resume from) and for the run's log.
      ctx.heartbeat({ sent });
      ctx.emit({ type: 'progress', sent, total: records.length });
    }
    ctx.logger.info('records sent', { sent, batches });
    return { sent, batches };
  },
});

function withSlash(url: string): string {
  return url.endsWith('/') ? url : `${url}/`;
}
