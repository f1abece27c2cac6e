import { parseDuration } from '../ir/index.js';
import { defineTask, type TaskContext } from '../sdk/index.js';
import { HttpClient } from './http/send.js';
import type { HttpTaskOptions } from './http-request.js';
import { durationSchema } from './schemas.js';
import { destinationHost } from './shared/destination.js';
import { invalidInput } from './shared/failures.js';
import { secretNameSchema } from './shared/schemas.js';
import { sigPost, sigUrl } from './sig/client.js';
import { checkBatchResponse, type SigItem, type SigReceipt } from './sig/receipts.js';

/** Input of `connectors/sig.ingest`. */
export interface SigIngestInput {
  items: SigItem[];
  /** `batch`: one request (at most 500 items); `stream`: bounded batches with back-pressure. @default 'batch' */
  mode?: 'batch' | 'stream';
  /** SIG's base URL. @default the value of the secret `endpointSecret` */
  endpoint?: string;
  /** @default 'SIG_INGEST_URL' */
  endpointSecret?: string;
  /** Name of the secret holding a bearer token. */
  tokenSecret?: string;
  /** Items per request in stream mode. @default 100 */
  batchSize?: number;
  /** Requests in flight at once in stream mode. @default 2 */
  maxInFlight?: number;
  /** Times one batch is re-sent after a busy answer (429/503). @default 5 */
  maxBusyRetries?: number;
  /** Check each receipt hash against the payload sent. @default true */
  verifyReceipts?: boolean;
  /** Limit on each request. @default '30s' */
  timeout?: string;
}

/** Output of `connectors/sig.ingest`. */
export interface SigIngestOutput {
  /** One job per batch, in order. */
  jobIds: string[];
  receipts: SigReceipt[];
  batches: number;
  items: number;
}

/** The contract's `IngestBatchRequest.items.maxItems`. */
const MAX_BATCH = 500;

/**
 * `connectors/sig.ingest`: the SIG batch client of `contracts/sig.openapi.yaml` (v1). `batch` mode
 * sends all items in one `POST /ingest/batch`; `stream` mode splits them into batches of
 * `batchSize`, keeps at most `maxInFlight` requests in flight (a slow SIG slows the sender: that is
 * the back-pressure) and, when SIG answers 429/503, waits `Retry-After` and re-sends the same batch
 * (ingestion is idempotent per item id). Every receipt is checked against the canonical hash of the
 * payload sent. Progress is heartbeated after each batch.
 *
 * @example
 * - id: handoff
 *   uses: connectors/sig.ingest@0.1.0
 *   with: { mode: stream, batchSize: 200, items: "${tasks.map.outputs.rows}", tokenSecret: SIG_TOKEN }
 */
export function createSigIngestTask({ http = new HttpClient() }: HttpTaskOptions = {}) {
  return defineTask<SigIngestInput, SigIngestOutput>({
    name: 'connectors/sig.ingest',
    version: '0.1.0',
    description: 'Sends items to SIG (POST /ingest/batch) in one batch or as a bounded stream, and verifies the receipts.',
    execution: 'activity',
    input: {
      type: 'object',
      properties: {
        items: {
          type: 'array',
          minItems: 1,
          maxItems: 100_000,
          description: 'Items to ingest: an id and any JSON payload.',
          items: {
            type: 'object',
            properties: {
              id: { type: 'string', minLength: 1, maxLength: 256, pattern: '^[A-Za-z0-9._:/-]+$' },
              payload: { description: 'Any JSON value.' },
            },
            required: ['id', 'payload'],
            additionalProperties: false,
          },
        },
        mode: { enum: ['batch', 'stream'], default: 'batch', description: 'One request, or bounded batches with back-pressure.' },
        endpoint: { type: 'string', pattern: '^https?://', description: 'SIG base URL; from the secret endpointSecret when absent.' },
        endpointSecret: secretNameSchema('Name of the secret holding the SIG base URL. Default SIG_INGEST_URL.'),
        tokenSecret: secretNameSchema('Name of the secret holding a bearer token.'),
        batchSize: { type: 'integer', minimum: 1, maximum: MAX_BATCH, default: 100, description: 'Items per request in stream mode.' },
        maxInFlight: { type: 'integer', minimum: 1, maximum: 16, default: 2, description: 'Requests in flight at once in stream mode.' },
        maxBusyRetries: { type: 'integer', minimum: 0, maximum: 50, default: 5, description: 'Re-sends of one batch after 429/503.' },
        verifyReceipts: { type: 'boolean', default: true, description: 'Check each receipt hash against the payload sent.' },
        timeout: durationSchema('Limit on each request. Default 30s.'),
      },
      required: ['items'],
      additionalProperties: false,
    },
    output: {
      type: 'object',
      properties: {
        jobIds: { type: 'array', items: { type: 'string' } },
        receipts: {
          type: 'array',
          items: {
            type: 'object',
            properties: { id: { type: 'string' }, hash: { type: 'string', pattern: '^sha256:[0-9a-f]{64}$' } },
            required: ['id', 'hash'],
            additionalProperties: false,
          },
        },
        batches: { type: 'integer', minimum: 1 },
        items: { type: 'integer', minimum: 1 },
      },
      required: ['jobIds', 'receipts', 'batches', 'items'],
      additionalProperties: false,
    },
    validate({ items, mode = 'batch', timeout }) {
      if (mode === 'batch' && items.length > MAX_BATCH) {
        throw invalidInput('items', `batch mode sends at most ${MAX_BATCH} items in one request (got ${items.length}); use mode: stream`);
      }
      const seen = new Set<string>();
      for (const { id } of items) {
        if (seen.has(id)) throw invalidInput('items', `item id "${id}" appears twice`);
        seen.add(id);
      }
      if (timeout !== undefined && parseDuration(timeout) === undefined) throw invalidInput('timeout', `"${timeout}" is not a duration`);
    },
    async execute(input, ctx) {
      const { items, mode = 'batch', batchSize = 100, maxInFlight = 2 } = input;
      const base = input.endpoint ?? (await ctx.secrets(input.endpointSecret ?? 'SIG_INGEST_URL', { host: destinationHost }));
      const token = input.tokenSecret === undefined ? undefined : await ctx.secrets(input.tokenSecret, { host: destinationHost(base) });
      const send = batchSender({ ...input, base, token, http }, ctx);
      const batches = mode === 'batch' ? [items] : chunk(items, batchSize);
      const results = new Array<{ jobId: string; receipts: SigReceipt[] }>(batches.length);
      let next = 0;
      let sent = 0;
      let failed = false;
      // `maxInFlight` workers take batches in order: a slow SIG holds them, and nothing more is read.
      // After one batch fails, the others finish what they sent but take no new batch.
      const worker = async (): Promise<void> => {
        while (next < batches.length && !failed) {
          const index = next++;
          const batch = batches[index] as SigItem[];
          results[index] = await send(batch, index).catch((error: unknown) => {
            failed = true;
            throw error;
          });
          sent += batch.length;
          ctx.heartbeat({ sent, total: items.length });
          ctx.emit({ type: 'progress', sent, total: items.length });
        }
      };
      await Promise.all(Array.from({ length: Math.min(mode === 'batch' ? 1 : maxInFlight, batches.length) }, worker));
      ctx.logger.info('items ingested', { items: items.length, batches: batches.length });
      return { jobIds: results.map((r) => r.jobId), receipts: results.flatMap((r) => r.receipts), batches: batches.length, items: items.length };
    },
  });
}

/** `connectors/sig.ingest` with the default egress policy (public addresses only). */
export const sigIngest = createSigIngestTask();

function chunk<T>(items: T[], size: number): T[][] {
  return Array.from({ length: Math.ceil(items.length / size) }, (_, i) => items.slice(i * size, (i + 1) * size));
}

interface SenderOptions extends SigIngestInput {
  base: string;
  token: string | undefined;
  http: HttpClient;
}

/** Sends one batch, waiting out busy answers; resolves with its checked receipts. */
function batchSender(options: SenderOptions, ctx: TaskContext) {
  const { base, token, http, maxBusyRetries = 5, verifyReceipts = true } = options;
  const timeoutMs = parseDuration(options.timeout ?? '30s') ?? 30_000;
  // Checked once, before the first batch: a bad endpoint sends nothing.
  sigUrl(base, 'ingest/batch');
  return async (items: SigItem[], index: number): Promise<{ jobId: string; receipts: SigReceipt[] }> => {
    const body = await sigPost(
      { http, base, path: 'ingest/batch', body: { items }, success: 200, timeoutMs, maxBusyRetries, what: `batch ${index}, ${items.length} items`, ...(token ? { token } : {}) },
      ctx,
    );
    return checkBatchResponse(body, items, verifyReceipts);
  };
}
