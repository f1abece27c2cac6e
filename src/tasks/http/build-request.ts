import { TaskError } from '../../errors/index.js';

/** A query parameter value; a list repeats the parameter. */
export type QueryValue = string | number | boolean;

/** What {@link buildRequest} needs: the request part of `tasks/http.request`'s input. */
export interface RequestSpec {
  url: string;
  method: string;
  headers?: Record<string, string>;
  query?: Record<string, QueryValue | QueryValue[]>;
  body?: unknown;
}

/**
 * Builds the `Request`: query parameters appended to the URL, a string body sent as is, any other
 * body sent as JSON with `Content-Type: application/json` unless a content type is given.
 *
 * @throws TaskError `TASK_INPUT_INVALID` for a URL that is not http(s) or carries credentials, or a
 * method, header or body `fetch` refuses (e.g. a body on a GET).
 */
export function buildRequest(spec: RequestSpec): Request {
  const url = parseUrl(spec.url);
  for (const [name, value] of Object.entries(spec.query ?? {})) {
    for (const item of Array.isArray(value) ? value : [value]) url.searchParams.append(name, String(item));
  }
  try {
    const headers = new Headers(spec.headers);
    let body: string | undefined;
    if (typeof spec.body === 'string') {
      body = spec.body;
    } else if (spec.body !== undefined) {
      body = JSON.stringify(spec.body);
      if (!headers.has('content-type')) headers.set('content-type', 'application/json');
    }
    return new Request(url, { method: spec.method, headers, body });
  } catch (error) {
    // The Fetch API signals a malformed request (method, header, body on GET) with a TypeError.
    if (!(error instanceof TypeError)) throw error;
    throw invalid(error.message, error);
  }
}

function parseUrl(text: string): URL {
  if (!URL.canParse(text)) throw invalid(`url: "${text}" is not a URL`);
  const url = new URL(text);
  if (url.protocol !== 'http:' && url.protocol !== 'https:') throw invalid(`url: scheme must be http or https, not ${url.protocol}`);
  // Refused here, before fetch would refuse it with a message quoting the password.
  if (url.username !== '' || url.password !== '') throw invalid('url: must not carry credentials; send them in an Authorization header');
  return url;
}

function invalid(message: string, cause?: unknown): TaskError {
  return new TaskError(`invalid request: ${message}`, { code: 'TASK_INPUT_INVALID', retryable: false, cause });
}
