/** System and undici error codes meaning the peer could not be reached or dropped the connection. */
const UNREACHABLE_CODES: ReadonlySet<string> = new Set([
  'ECONNREFUSED',
  'ECONNRESET',
  'ECONNABORTED',
  'ENOTFOUND',
  'EAI_AGAIN',
  'ETIMEDOUT',
  'EHOSTUNREACH',
  'ENETUNREACH',
  'EPIPE',
  'UND_ERR_SOCKET',
  'UND_ERR_CLOSED',
  'UND_ERR_CONNECT_TIMEOUT',
  'UND_ERR_HEADERS_TIMEOUT',
  'UND_ERR_BODY_TIMEOUT',
]);

/**
 * The code of the network failure behind a `fetch` error, when the peer was unreachable: undici
 * rejects with a `TypeError` whose `cause` (or, when several addresses were tried, the cause's
 * `errors`) carries the system error code.
 */
export function unreachableCode(error: unknown): string | undefined {
  const pending: unknown[] = [error];
  for (let seen = 0; seen < 16 && pending.length > 0; seen++) {
    const candidate = pending.shift();
    if (typeof candidate !== 'object' || candidate === null) continue;
    const { code, cause, errors } = candidate as { code?: unknown; cause?: unknown; errors?: unknown };
    if (typeof code === 'string' && UNREACHABLE_CODES.has(code)) return code;
    pending.push(cause, ...(Array.isArray(errors) ? errors : []));
  }
  return undefined;
}
