/**
 * Webhook authentication: the signature (or token) a delivery carries, checked against the
 * trigger's secret in constant time. Both sides are reduced to a SHA-256 digest before
 * `timingSafeEqual`, so neither the comparison's time nor its length check says how much of a
 * guess was right.
 */
import { createHash, createHmac, timingSafeEqual } from 'node:crypto';
import type { TriggerAuth } from './definition.js';

/** The HMAC-SHA256 of `body` under `secret`, as lower-case hex (what senders put after `sha256=`). */
export function hmacSha256Hex(secret: string, body: Uint8Array): string {
  return createHmac('sha256', secret).update(body).digest('hex');
}

function digest(text: string): Buffer {
  return createHash('sha256').update(text, 'utf8').digest();
}

/**
 * Whether the delivery's header proves it came from a holder of `secret`: for `hmac-sha256`, the
 * hex HMAC of the raw body after `auth.prefix` (case-insensitive hex); for `token`, the secret
 * itself after the prefix.
 *
 * @param header the header's value as received, `undefined` when absent (always false)
 * @example
 * verifySignature({ secret: 'gh', scheme: 'hmac-sha256', header: 'x-hub-signature-256', prefix: 'sha256=' }, 's3cret', body, req.headers['x-hub-signature-256'])
 */
export function verifySignature(auth: Pick<TriggerAuth, 'scheme' | 'prefix'>, secret: string, body: Uint8Array, header: string | undefined): boolean {
  if (header === undefined || !header.startsWith(auth.prefix)) return false;
  const presented = header.slice(auth.prefix.length).trim();
  const expected = auth.scheme === 'hmac-sha256' ? hmacSha256Hex(secret, body) : secret;
  const given = auth.scheme === 'hmac-sha256' ? presented.toLowerCase() : presented;
  return timingSafeEqual(digest(given), digest(expected));
}
