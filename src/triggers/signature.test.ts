import { describe, expect, it } from 'vitest';
import { hmacSha256Hex, verifySignature } from './signature.js';

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
