/**
 * Sends one HTTP request and resolves with the response head; the body streams afterwards. This is
 * the one place the catalog's HTTP tasks open connections, so the SSRF guard (a check of the
 * resolved address at connect time, applied again on every redirect) plugs in here.
 */
export function sendHttpRequest(request: Request, signal: AbortSignal): Promise<Response> {
  return fetch(request, { signal, redirect: 'follow' });
}
