import { describe, expect, it } from 'vitest';
import { hmacSha256Hex, standardWebhookSignature, STANDARD_WEBHOOKS_TOLERANCE_SECONDS, verifyDelivery, verifySignature } from './signature.js';

const BODY = Buffer.from('{"ref":"refs/heads/main"}');
const HMAC = { scheme: 'hmac-sha256', prefix: 'sha256=' } as const;

describe('verifySignature', () => {
  it('accepts the HMAC-SHA256 of the raw body under the secret, in either hex case', () => {
    const signature = hmacSha256Hex('s3cret', BODY);
    expect(verifySignature(HMAC, 's3cret', BODY, `sha256=${signature}`)).toBe(true);
    expect(verifySignature(HMAC, 's3cret', BODY, `sha256=${signature.toUpperCase()}`)).toBe(true);
  });

  it('refuses a missing header, a wrong prefix, another secret, a changed body and a truncated signature', () => {
    const signature = hmacSha256Hex('s3cret', BODY);
    expect(verifySignature(HMAC, 's3cret', BODY, undefined)).toBe(false);
    expect(verifySignature(HMAC, 's3cret', BODY, `sha1=${signature}`)).toBe(false);
    expect(verifySignature(HMAC, 'other', BODY, `sha256=${signature}`)).toBe(false);
    expect(verifySignature(HMAC, 's3cret', Buffer.from('{"ref":"refs/heads/evil"}'), `sha256=${signature}`)).toBe(false);
    expect(verifySignature(HMAC, 's3cret', BODY, `sha256=${signature.slice(0, 32)}`)).toBe(false);
    expect(verifySignature(HMAC, 's3cret', BODY, 'sha256=')).toBe(false);
  });

  it('compares a token scheme against the secret itself', () => {
    const token = { scheme: 'token', prefix: 'Bearer ' } as const;
    expect(verifySignature(token, 'am-token', BODY, 'Bearer am-token')).toBe(true);
    expect(verifySignature(token, 'am-token', BODY, 'Bearer am-tokeN')).toBe(false);
    expect(verifySignature(token, 'am-token', BODY, 'am-token')).toBe(false);
  });
});

describe('verifyDelivery with standard-webhooks', () => {
  // The Standard Webhooks specification's own example (https://www.standardwebhooks.com).
  const SECRET = 'whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw';
  const ID = 'msg_p5jXN8AQM9LWM0D4loKWxJek';
  const TIME = 1614265330;
  const PAYLOAD = Buffer.from('{"test": 2432232314}');
  const AUTH = { scheme: 'standard-webhooks', header: 'webhook-signature', prefix: '' } as const;
  const at = (seconds: number): Date => new Date(seconds * 1000);
  const headers = (signature: string, id = ID, timestamp = String(TIME)) => ({ 'webhook-id': id, 'webhook-timestamp': timestamp, 'webhook-signature': signature });

  it("signs as the specification's example does and accepts it, also beside a rotated key's signature", () => {
    const signature = standardWebhookSignature(SECRET, ID, TIME, PAYLOAD);
    expect(signature).toBe('v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE=');
    expect(verifyDelivery(AUTH, SECRET, PAYLOAD, headers(signature), at(TIME + 10))).toEqual({ valid: true, deliveryId: ID });
    expect(verifyDelivery(AUTH, SECRET, PAYLOAD, headers(`v1,b2xkLWtleQ== ${signature}`), at(TIME))).toEqual({ valid: true, deliveryId: ID });
  });

  it('refuses a delivery older or newer than 5 minutes: a replay of a captured delivery starts nothing', () => {
    const signature = standardWebhookSignature(SECRET, ID, TIME, PAYLOAD);
    expect(verifyDelivery(AUTH, SECRET, PAYLOAD, headers(signature), at(TIME + STANDARD_WEBHOOKS_TOLERANCE_SECONDS))).toMatchObject({ valid: true });
    expect(verifyDelivery(AUTH, SECRET, PAYLOAD, headers(signature), at(TIME + STANDARD_WEBHOOKS_TOLERANCE_SECONDS + 1))).toMatchObject({ valid: false, reason: expect.stringContaining('from the server') });
    expect(verifyDelivery(AUTH, SECRET, PAYLOAD, headers(signature), at(TIME - STANDARD_WEBHOOKS_TOLERANCE_SECONDS - 1))).toMatchObject({ valid: false });
  });

  it('refuses a moved timestamp or id, another body or key, and missing or malformed headers', () => {
    const signature = standardWebhookSignature(SECRET, ID, TIME, PAYLOAD);
    const now = at(TIME);
    expect(verifyDelivery(AUTH, SECRET, PAYLOAD, headers(signature, ID, String(TIME + 1)), now)).toMatchObject({ valid: false, reason: 'missing or invalid signature' });
    expect(verifyDelivery(AUTH, SECRET, PAYLOAD, headers(signature, 'msg_other'), now)).toMatchObject({ valid: false });
    expect(verifyDelivery(AUTH, SECRET, Buffer.from('{"test": 1}'), headers(signature), now)).toMatchObject({ valid: false });
    expect(verifyDelivery(AUTH, 'whsec_b3RoZXI=', PAYLOAD, headers(signature), now)).toMatchObject({ valid: false });
    expect(verifyDelivery(AUTH, SECRET, PAYLOAD, { 'webhook-id': ID, 'webhook-signature': signature }, now)).toMatchObject({ valid: false, reason: expect.stringContaining('missing') });
    expect(verifyDelivery(AUTH, SECRET, PAYLOAD, headers(signature, ID, '1614265330.5'), now)).toMatchObject({ valid: false, reason: expect.stringContaining('malformed') });
    expect(verifyDelivery(AUTH, SECRET, PAYLOAD, headers(signature, 'x'.repeat(257)), now)).toMatchObject({ valid: false, reason: expect.stringContaining('malformed') });
    expect(verifySignature(AUTH, SECRET, PAYLOAD, signature)).toBe(false);
  });
});
