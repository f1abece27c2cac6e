import { isMaestroError } from '../errors/index.js';
import { parseDuration } from '../ir/index.js';
import { defineTask, TaskError, type TaskContext } from '../sdk/index.js';
import { buildRequest, type QueryValue } from './http/build-request.js';
import { decodeBody, headersRecord } from './http/decode-response.js';
import { egressRefusalOf } from '../egress/index.js';
import { unreachableCode } from './http/network-error.js';
import { readBodyLimited } from './http/read-body.js';
import { redactHeaders } from './http/redact.js';
import { HttpClient } from './http/send.js';
import { durationSchema } from './schemas.js';

/** Input of `tasks/http.request`. */
export interface HttpRequestInput {
  url: string;
  /** @default 'GET' */
  method?: 'GET' | 'HEAD' | 'POST' | 'PUT' | 'PATCH' | 'DELETE' | 'OPTIONS';
  headers?: Record<string, string>;
  query?: Record<string, QueryValue | QueryValue[]>;
  /** A string is sent as is; any other JSON value as JSON. */
  body?: unknown;
  /** @default '30s' */
  timeout?: string;
  /** @default 10485760 (10 MiB) */
  maxResponseBytes?: number;
  /** @default every 2xx status */
  expectStatus?: number[];
}

/** Output of `tasks/http.request`. */
export interface HttpRequestOutput {
  status: number;
  headers: Record<string, string>;
  /** Parsed JSON when the response's content type is JSON, otherwise the text. */
  body: unknown;
}

const DEFAULT_TIMEOUT = '30s';
const DEFAULT_MAX_RESPONSE_BYTES = 10 * 1024 * 1024;
/** How much of an unexpected response's body its error carries. */
const ERROR_BODY_EXCERPT_CHARS = 1024;

/** Options of {@link createHttpRequestTask}. */
export interface HttpTaskOptions {
  /**
   * How requests reach the network: its egress policy decides which addresses each namespace may
   * connect to.
   * @default new HttpClient() — public addresses only, for every namespace
   */
  http?: HttpClient;
}

/**
 * `tasks/http.request`: one HTTP request, with the whole exchange bounded by `timeout` and the body
 * by `maxResponseBytes`. An unexpected status fails the task: retryable for 5xx and 429, not for
 * the rest; an unreachable peer (refused, reset, DNS) fails it with `PEER_UNAVAILABLE`, retryable.
 *
 * SSRF guard: the address the request is about to connect to (after DNS, and again on every
 * redirect) must be public unless the run's namespace allow-lists its range in the client's
 * `EgressPolicy`; otherwise the task fails with `EGRESS_DENIED`, not retryable, before any
 * packet is sent.
 *
 * @example
 * - id: fetch
 *   uses: tasks/http.request@0.1.0
 *   with: { url: "https://api.example.com/items", query: { since: "${params.since}" }, timeout: 10s }
 */
export function createHttpRequestTask({ http = new HttpClient() }: HttpTaskOptions = {}) {
  return defineTask<HttpRequestInput, HttpRequestOutput>({
    name: 'tasks/http.request',
    version: '0.1.0',
    description: 'Sends an HTTP request and returns the status, headers and body (JSON parsed).',
    execution: 'activity',
    input: {
      type: 'object',
      properties: {
        url: { type: 'string', format: 'uri', pattern: '^https?://', description: 'Absolute http or https URL.' },
        method: {
          enum: ['GET', 'HEAD', 'POST', 'PUT', 'PATCH', 'DELETE', 'OPTIONS'],
          default: 'GET',
          description: 'HTTP method.',
        },
        headers: {
          type: 'object',
          description: 'Request headers by name.',
          propertyNames: { pattern: "^[!#$%&'*+.^_`|~0-9A-Za-z-]+$" },
          additionalProperties: { type: 'string' },
        },
        query: {
          type: 'object',
          description: 'Query parameters appended to the URL; a list repeats the parameter.',
          additionalProperties: {
            anyOf: [{ type: ['string', 'number', 'boolean'] }, { type: 'array', items: { type: ['string', 'number', 'boolean'] } }],
          },
        },
        body: {
          description: 'Request body: a string is sent as is; any other JSON value as JSON (Content-Type application/json unless set).',
        },
        timeout: durationSchema('Limit on the whole exchange, body included.'),
        maxResponseBytes: {
          type: 'integer',
          minimum: 1,
          default: DEFAULT_MAX_RESPONSE_BYTES,
          description: 'Largest response body accepted, in bytes (after decompression).',
        },
        expectStatus: {
          type: 'array',
          description: 'Statuses that count as success; any 2xx when absent.',
          items: { type: 'integer', minimum: 100, maximum: 599 },
          minItems: 1,
          uniqueItems: true,
        },
      },
      required: ['url'],
      additionalProperties: false,
    },
    output: {
      type: 'object',
      properties: {
        status: { type: 'integer', description: 'The response status.' },
        headers: {
          type: 'object',
          description: 'Response headers, names in lower case; repeated headers joined with ", ".',
          additionalProperties: { type: 'string' },
        },
        body: { description: 'Parsed JSON when the content type is JSON (null when empty), otherwise the text.' },
      },
      required: ['status', 'headers', 'body'],
      additionalProperties: false,
    },
    async execute(input, ctx) {
      const { method = 'GET', timeout = DEFAULT_TIMEOUT, maxResponseBytes = DEFAULT_MAX_RESPONSE_BYTES } = input;
      const timeoutMs = parseDuration(timeout);
      if (timeoutMs === undefined) {
        throw new TaskError(`timeout: "${timeout}" is not a duration`, { code: 'TASK_INPUT_INVALID', retryable: false });
      }
      const request = buildRequest({ ...input, method });
      const deadline = AbortSignal.timeout(timeoutMs);
      const signal = AbortSignal.any([ctx.signal, deadline]);
      const { url } = request;
      const started = performance.now();
      ctx.logger.info('http request', { method, url, headers: redactHeaders(request.headers) });
      try {
        const response = await http.send(request, { signal, namespace: ctx.namespace });
        const bytes = await readBodyLimited(response, maxResponseBytes);
        ctx.logger.info('http response', {
          status: response.status,
          bytes: bytes.byteLength,
          durationMs: Math.round(performance.now() - started),
        });
        const body = decodeBody(bytes, response.headers.get('content-type'));
        const expected = input.expectStatus?.includes(response.status) ?? (response.status >= 200 && response.status < 300);
        if (!expected) throw unexpectedStatus(response, body, `${method} ${url}`);
        return { status: response.status, headers: headersRecord(response.headers), body };
      } catch (error) {
        throw failure(error, ctx, deadline, `${method} ${url}`, timeout);
      }
    },
  });
}

/** `tasks/http.request` with the default policy: public addresses only (see {@link createHttpRequestTask}). */
export const httpRequest = createHttpRequestTask();

function unexpectedStatus(response: Response, body: unknown, exchange: string): TaskError {
  const { status } = response;
  const text = typeof body === 'string' ? body : JSON.stringify(body);
  return new TaskError(`${exchange} answered ${status} ${response.statusText}`.trimEnd(), {
    code: 'TASK_FAILED',
    retryable: status >= 500 || status === 429,
    details: { status, body: text.slice(0, ERROR_BODY_EXCERPT_CHARS) },
  });
}

/**
 * What a failed exchange surfaces as: the cancellation itself when the run was cancelled, this
 * task's own errors as they are, then a timeout, an unreachable peer, or any other fetch failure.
 */
function failure(error: unknown, ctx: TaskContext, deadline: AbortSignal, exchange: string, timeout: string): unknown {
  if (ctx.signal.aborted) return ctx.signal.reason;
  if (isMaestroError(error)) return error;
  const refused = egressRefusalOf(error);
  if (refused) return refused;
  if (deadline.aborted) {
    return new TaskError(`${exchange} did not complete within ${timeout}`, { code: 'TASK_TIMEOUT', retryable: true, cause: error });
  }
  const code = unreachableCode(error);
  if (code !== undefined) {
    return new TaskError(`${exchange}: peer unavailable (${code})`, {
      code: 'PEER_UNAVAILABLE',
      retryable: true,
      cause: error,
      details: { cause: code },
    });
  }
  const reason = error instanceof Error ? error.message : String(error);
  return new TaskError(`${exchange} failed: ${reason}`, { code: 'TASK_FAILED', retryable: true, cause: error });
}
