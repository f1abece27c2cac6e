/**
 * The console's HTTP client: every request carries the session's bearer token; every refusal
 * becomes an {@link ApiError} holding the API's problem document.
 */
import type { Problem } from './types.js';

const TOKEN_KEY = 'maestro.token';

/** The token entered for this browser tab (sessionStorage: gone when the tab closes). */
export function getToken(): string | undefined {
  return sessionStorage.getItem(TOKEN_KEY) ?? undefined;
}

/** Keeps `token` for this tab, or forgets it with `undefined`. */
export function setToken(token: string | undefined): void {
  if (token === undefined) sessionStorage.removeItem(TOKEN_KEY);
  else sessionStorage.setItem(TOKEN_KEY, token);
  window.dispatchEvent(new Event(TOKEN_EVENT));
}

/** Dispatched on `window` whenever the token changes (sign-in, sign-out, rejected token). */
export const TOKEN_EVENT = 'maestro:token';

/** A request the API refused or could not answer; `problem` is its RFC 9457 document. */
export class ApiError extends Error {
  constructor(readonly problem: Problem) {
    super(problem.detail ?? problem.title);
    this.name = 'ApiError';
  }

  /** The HTTP status. */
  get status(): number {
    return this.problem.status;
  }
}

async function problemOf(res: Response): Promise<Problem> {
  const type = res.headers.get('content-type') ?? '';
  if (type.includes('json')) {
    const body = (await res.json()) as Partial<Problem>;
    return { type: body.type ?? 'about:blank', title: body.title ?? res.statusText, status: res.status, code: body.code ?? String(res.status), ...body };
  }
  const text = await res.text();
  return { type: 'about:blank', title: res.statusText || 'Request failed', status: res.status, code: String(res.status), detail: text.slice(0, 500) };
}

/**
 * Sends a request with the bearer token. A 401 forgets the token, so the console asks for a new one.
 * `accept` is the media type asked for (`text/event-stream` for a stream). @default 'application/json'
 * @throws ApiError when the response is not 2xx, or the API cannot be reached (status 0).
 */
export async function request(method: string, path: string, { json, signal, accept = 'application/json' }: { json?: unknown; signal?: AbortSignal; accept?: string } = {}): Promise<Response> {
  const token = getToken();
  let res: Response;
  try {
    res = await fetch(path, {
      method,
      headers: {
        accept,
        ...(token ? { authorization: `Bearer ${token}` } : {}),
        ...(json === undefined ? {} : { 'content-type': 'application/json' }),
      },
      ...(json === undefined ? {} : { body: JSON.stringify(json) }),
      ...(signal ? { signal } : {}),
    });
  } catch (error) {
    if (signal?.aborted) throw error;
    throw new ApiError({ type: 'about:blank', title: 'The API cannot be reached', status: 0, code: 'UNREACHABLE', detail: error instanceof Error ? error.message : String(error) });
  }
  if (res.ok) return res;
  const problem = await problemOf(res);
  if (res.status === 401) setToken(undefined);
  throw new ApiError(problem);
}

/** `request` and the JSON body of its answer. */
export async function requestJson<T>(method: string, path: string, options: { json?: unknown; signal?: AbortSignal } = {}): Promise<T> {
  const res = await request(method, path, options);
  return (await res.json()) as T;
}

/** A path with a query string of the defined, non-empty values of `query`. */
export function withQuery(path: string, query: Record<string, string | number | undefined>): string {
  const params = new URLSearchParams();
  for (const [key, value] of Object.entries(query)) {
    if (value !== undefined && value !== '') params.set(key, String(value));
  }
  const text = params.toString();
  return text ? `${path}?${text}` : path;
}
