import { setTimeout as sleep } from 'node:timers/promises';
import { TaskError, type TaskContext } from '../../sdk/index.js';
import { postJson, retryableStatus } from '../http/post-json.js';
import type { HttpClient } from '../http/send.js';
import { durationSchema } from '../schemas.js';
import { destinationHost } from '../shared/destination.js';
import { invalidInput } from '../shared/failures.js';
import { secretNameSchema } from '../shared/schemas.js';

/** The `Sig-Api-Version` every request of `contracts/sig.openapi.yaml` carries. */
const API_VERSION = '1';
/** Longest wait honoured from a `Retry-After`; a longer one is clamped to it. */
const MAX_RETRY_AFTER_MS = 30_000;

/** Options of {@link sigPost}. */
export interface SigPostOptions {
  http: HttpClient;
  /** SIG's base URL (`http(s)://…`); checked before anything is sent. */
  base: string;
  /** Path below the base, without a leading slash, e.g. `ingest/batch`. */
  path: string;
  /** Bearer token. @default none */
  token?: string;
  body: unknown;
  /** The status(es) that mean success (200 for ingest, 202 for claims, 201 or 200 for export). */
  success: number | readonly number[];
  /** Limit on each request. */
  timeoutMs: number;
  /** Times the request is re-sent after a busy answer (429/503). */
  maxBusyRetries: number;
  /** What the request is, for errors and logs (no secrets), e.g. `batch 3, 100 items`. */
  what: string;
}

/** How a one-request SIG connector reaches SIG (its input fields beside the payload). */
export interface SigConnectionInput {
  /** SIG's base URL. @default the value of the secret `endpointSecret` */
  endpoint?: string;
  /** @default the connector's own, e.g. 'SIG_URL' */
  endpointSecret?: string;
  /** Name of the secret holding a bearer token. */
  tokenSecret?: string;
  /** Times the request is re-sent after a busy answer (429/503). @default 5 */
  maxBusyRetries?: number;
  /** Limit on the request. @default '30s' */
  timeout?: string;
}

/** The JSON Schema properties of {@link SigConnectionInput}, the endpoint secret defaulting to `defaultSecret`. */
export function sigConnectionProperties(defaultSecret: string) {
  return {
    endpoint: { type: 'string', pattern: '^https?://', description: 'SIG base URL; from the secret endpointSecret when absent.' },
    endpointSecret: secretNameSchema(`Name of the secret holding the SIG base URL. Default ${defaultSecret}.`),
    tokenSecret: secretNameSchema('Name of the secret holding a bearer token.'),
    maxBusyRetries: { type: 'integer', minimum: 0, maximum: 50, default: 5, description: 'Re-sends after 429/503.' },
    timeout: durationSchema('Limit on the request. Default 30s.'),
  };
}

/**
 * SIG's base URL (the input's, else its endpoint secret's) and bearer token (its token secret,
 * scoped to SIG's host), read only inside the attempt.
 */
export async function sigConnection(input: SigConnectionInput, defaultSecret: string, ctx: TaskContext): Promise<{ base: string; token: string | undefined }> {
  const base = input.endpoint ?? (await ctx.secrets(input.endpointSecret ?? defaultSecret, { host: destinationHost }));
  const token = input.tokenSecret === undefined ? undefined : await ctx.secrets(input.tokenSecret, { host: destinationHost(base) });
  return { base, token };
}

/**
 * The URL of `path` below a SIG base URL.
 *
 * @throws TaskError `TASK_INPUT_INVALID` (path `endpoint`) when `base` is not an http(s) URL.
 */
export function sigUrl(base: string, path: string): string {
  if (!URL.canParse(base) || !/^https?:$/.test(new URL(base).protocol)) throw invalidInput('endpoint', 'must be an http(s) URL');
  return new URL(path, base.endsWith('/') ? base : `${base}/`).toString();
}

/**
 * POSTs one request of the SIG API (v1) and returns its parsed JSON body. A busy SIG (429/503) is
 * waited out (its `Retry-After`, else an exponential pause) and the same request re-sent, which
 * the contract makes safe; after `maxBusyRetries` it fails as `PEER_UNAVAILABLE` (retryable). Any
 * other status fails as `TASK_FAILED`, retryable for 5xx and 408 only.
 */
export async function sigPost(options: SigPostOptions, ctx: TaskContext): Promise<unknown> {
  const { http, base, path, token, body, success, timeoutMs, maxBusyRetries, what } = options;
  const url = sigUrl(base, path);
  const exchange = `POST ${url} (${what})`;
  const headers: Record<string, string> = { 'sig-api-version': API_VERSION, ...(token ? { authorization: `Bearer ${token}` } : {}) };
  for (let busy = 0; ; busy++) {
    const response = await postJson({ http, url, body, headers, timeoutMs, exchange }, ctx);
    if (typeof success === 'number' ? response.status === success : success.includes(response.status)) return parseJson(response.text, exchange);
    const isBusy = response.status === 429 || response.status === 503;
    if (isBusy && busy < maxBusyRetries) {
      const waitMs = retryAfterMs(response.headers.get('retry-after'), busy);
      ctx.logger.info('SIG is busy; waiting before re-sending', { request: what, waitMs, status: response.status });
      await sleep(waitMs, undefined, { signal: ctx.signal }).catch((error: unknown) => {
        throw ctx.signal.aborted ? ctx.signal.reason : error;
      });
      continue;
    }
    throw new TaskError(`${exchange} answered ${response.status}${isBusy ? ` after ${busy} re-sends` : ''}: ${response.text.slice(0, 300)}`, {
      code: isBusy ? 'PEER_UNAVAILABLE' : 'TASK_FAILED',
      retryable: retryableStatus(response.status),
      details: { status: response.status },
    });
  }
}

/** `Retry-After` in seconds (clamped), or an exponential default when absent. */
function retryAfterMs(header: string | null, attempt: number): number {
  const seconds = header !== null && /^\d+$/.test(header.trim()) ? Number(header) : undefined;
  return Math.min(seconds === undefined ? 100 * 2 ** attempt : seconds * 1000, MAX_RETRY_AFTER_MS);
}

function parseJson(text: string, exchange: string): unknown {
  try {
    return JSON.parse(text) as unknown;
  } catch (error) {
    // JSON.parse reports malformed text only by throwing a SyntaxError.
    if (!(error instanceof SyntaxError)) throw error;
    throw new TaskError(`${exchange}: the response is not JSON`, { code: 'TASK_FAILED', retryable: false, cause: error });
  }
}
