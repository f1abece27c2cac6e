import { TaskError, type TaskContext } from '../../sdk/index.js';
import { connectorFailure } from '../shared/failures.js';
import { egressRefusalOf } from '../../egress/index.js';
import { readBodyLimited } from './read-body.js';
import type { HttpClient } from './send.js';

/** Options of {@link postJson}. */
export interface PostJsonOptions {
  http: HttpClient;
  url: string;
  body: unknown;
  headers?: Record<string, string>;
  /** Limit on the whole exchange. */
  timeoutMs: number;
  /** @default 1048576 */
  maxResponseBytes?: number;
  /** How the exchange is named in errors and logs: must not contain secrets (e.g. a webhook URL). */
  exchange: string;
}

/** A response that arrived: status, headers, body text. */
export interface PostJsonResponse {
  status: number;
  headers: Headers;
  text: string;
}

/**
 * POSTs JSON through the egress-checked {@link HttpClient} and returns the response, whatever its
 * status. Failures to get one map to `EGRESS_DENIED` (egress refused), `TASK_TIMEOUT`,
 * `PEER_UNAVAILABLE` or `TASK_FAILED`; the cancellation itself when `ctx.signal` aborted.
 */
export async function postJson(options: PostJsonOptions, ctx: TaskContext): Promise<PostJsonResponse> {
  const { http, url, body, headers = {}, timeoutMs, maxResponseBytes = 1024 * 1024, exchange } = options;
  const deadline = AbortSignal.timeout(timeoutMs);
  const signal = AbortSignal.any([ctx.signal, deadline]);
  const request = new Request(url, { method: 'POST', headers: { 'content-type': 'application/json', accept: 'application/json', ...headers }, body: JSON.stringify(body) });
  try {
    const response = await http.send(request, { signal, namespace: ctx.namespace });
    const bytes = await readBodyLimited(response, maxResponseBytes);
    return { status: response.status, headers: response.headers, text: new TextDecoder().decode(bytes) };
  } catch (error) {
    if (ctx.signal.aborted) throw ctx.signal.reason;
    const refused = egressRefusalOf(error);
    if (refused) throw refused;
    if (deadline.aborted) throw new TaskError(`${exchange} did not complete within ${timeoutMs} ms`, { code: 'TASK_TIMEOUT', retryable: true, cause: error });
    throw connectorFailure(error, ctx.signal, exchange);
  }
}

/** Whether a status is worth retrying: 5xx, 429 and 408. */
export function retryableStatus(status: number): boolean {
  return status >= 500 || status === 429 || status === 408;
}
