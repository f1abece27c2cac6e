/** Headers whose values are credentials: never logged. */
const SECRET_HEADERS: ReadonlySet<string> = new Set(['authorization', 'proxy-authorization', 'cookie', 'set-cookie']);

/** Headers as a log-safe record: credential-bearing values replaced by `[redacted]`. */
export function redactHeaders(headers: Headers): Record<string, string> {
  const safe = new Map<string, string>();
  headers.forEach((value, name) => safe.set(name, SECRET_HEADERS.has(name) ? '[redacted]' : value));
  return Object.fromEntries(safe);
}
