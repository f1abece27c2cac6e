/**
 * Webhook authentication: the signature (or token) a delivery carries, checked against the
 * trigger's secret in constant time. Both sides are reduced to a SHA-256 digest before
 * `timingSafeEqual`, so neither the comparison's time nor its length check says how much of a
 * guess was right.
 *
 * `hmac-sha256` signs the body alone: a delivery captured on the way can be sent again, and is
 * refused only as a duplicate within the trigger's `dedupWindow`. `standard-webhooks` (the
 * Standard Webhooks specification, https://www.standardwebhooks.com) signs the delivery's id and
 * time with the body: a delivery older than {@link STANDARD_WEBHOOKS_TOLERANCE_SECONDS} is refused,
 * and a newer one's id is its deduplication key, so no replay starts a run.
 */
import { createHash, createHmac, timingSafeEqual } from 'node:crypto';
import type { TriggerAuth } from './definition.js';

/** How far a `standard-webhooks` delivery's `webhook-timestamp` may be from the server's clock (the specification's 5 minutes). */
export const STANDARD_WEBHOOKS_TOLERANCE_SECONDS = 300;
/** The longest `webhook-id` accepted: it becomes a deduplication key. */
const MAX_WEBHOOK_ID = 256;
/** The most signatures one `webhook-signature` header may list (a sender rotating keys sends two). */
const MAX_SIGNATURES = 8;

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
  if (auth.scheme === 'standard-webhooks') return false; // signs more than one header: verifyDelivery
  if (header === undefined || !header.startsWith(auth.prefix)) return false;
  const presented = header.slice(auth.prefix.length).trim();
  const expected = auth.scheme === 'hmac-sha256' ? hmacSha256Hex(secret, body) : secret;
  const given = auth.scheme === 'hmac-sha256' ? presented.toLowerCase() : presented;
  return timingSafeEqual(digest(given), digest(expected));
}

/** The key of a Standard Webhooks secret: the bytes after `whsec_` base64-decoded, else the secret's UTF-8 bytes. */
function standardWebhooksKey(secret: string): Buffer {
  return secret.startsWith('whsec_') ? Buffer.from(secret.slice('whsec_'.length), 'base64') : Buffer.from(secret, 'utf8');
}

/**
 * The `v1,<base64>` signature a Standard Webhooks sender puts in `webhook-signature`: the
 * HMAC-SHA256 of `<id>.<timestamp>.<body>` under the secret's key.
 *
 * @example
 * standardWebhookSignature('whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw', 'msg_p5jXN8AQM9LWM0D4loKWxJek', 1614265330, body)
 */
export function standardWebhookSignature(secret: string, id: string, timestamp: number, body: Uint8Array): string {
  const mac = createHmac('sha256', standardWebhooksKey(secret)).update(`${id}.${timestamp}.`).update(body).digest('base64');
  return `v1,${mac}`;
}

/** A delivery's headers, lower-cased names (Node's `IncomingHttpHeaders`). */
export type DeliveryHeaders = Readonly<Record<string, string | string[] | undefined>>;

/** What {@link verifyDelivery} found: valid (with the delivery's own id, when the scheme signs one) or why not. */
export type DeliveryCheck = { valid: true; deliveryId?: string } | { valid: false; reason: string };

function first(headers: DeliveryHeaders, name: string): string | undefined {
  const value = headers[name];
  return Array.isArray(value) ? value[0] : value;
}

function verifyStandardWebhook(secret: string, body: Uint8Array, headers: DeliveryHeaders, now: Date): DeliveryCheck {
  const id = first(headers, 'webhook-id');
  const timestamp = first(headers, 'webhook-timestamp');
  const signatures = first(headers, 'webhook-signature');
  if (id === undefined || timestamp === undefined || signatures === undefined) return { valid: false, reason: 'missing webhook-id, webhook-timestamp or webhook-signature' };
  if (id.length === 0 || id.length > MAX_WEBHOOK_ID || !/^\d{1,12}$/.test(timestamp)) return { valid: false, reason: 'malformed webhook-id or webhook-timestamp' };
  const expected = digest(standardWebhookSignature(secret, id, Number(timestamp), body));
  const presented = signatures.split(' ').filter(Boolean).slice(0, MAX_SIGNATURES);
  // Every listed signature is compared, so the time says nothing of which (if any) matched.
  const matched = presented.map((signature) => timingSafeEqual(digest(signature), expected)).includes(true);
  if (!matched) return { valid: false, reason: 'missing or invalid signature' };
  // Checked once the signature holds: the timestamp is signed, so only its sender could set it.
  if (Math.abs(now.getTime() / 1000 - Number(timestamp)) > STANDARD_WEBHOOKS_TOLERANCE_SECONDS) {
    return { valid: false, reason: `webhook-timestamp is more than ${STANDARD_WEBHOOKS_TOLERANCE_SECONDS} s from the server's clock (a replay, or a sender's clock off)` };
  }
  return { valid: true, deliveryId: id };
}

/**
 * Whether a delivery proves it came from a holder of `secret`, by the trigger's scheme: the
 * `auth.header` of `hmac-sha256` and `token` ({@link verifySignature}), or the three headers of
 * `standard-webhooks` with its timestamp within {@link STANDARD_WEBHOOKS_TOLERANCE_SECONDS} of `now`.
 */
export function verifyDelivery(auth: Pick<TriggerAuth, 'scheme' | 'header' | 'prefix'>, secret: string, body: Uint8Array, headers: DeliveryHeaders, now: Date): DeliveryCheck {
  if (auth.scheme === 'standard-webhooks') return verifyStandardWebhook(secret, body, headers, now);
  return verifySignature(auth, secret, body, first(headers, auth.header)) ? { valid: true } : { valid: false, reason: 'missing or invalid signature' };
}
