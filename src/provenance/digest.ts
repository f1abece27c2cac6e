import { hash } from 'node:crypto';
import { canonicalJson, digestOf } from '../compiler/index.js';
import { MaestroError } from '../errors/index.js';

/** Lower-case hex sha256 of bytes (a string is hashed as UTF-8). */
export function sha256Hex(data: Uint8Array | string): string {
  return hash('sha256', data);
}

/**
 * Lower-case hex sha256 of the RFC 8785 canonical JSON of a value: the hex part of the compiler's
 * {@link digestOf}, which is the one canonical-JSON hash in Maestro.
 */
export function canonicalSha256(value: unknown): string {
  return hexOf(digestOf(value));
}

/** The hex of a `sha256:<hex>` digest. @throws MaestroError `BAD_REQUEST` for any other form. */
export function hexOf(digest: string): string {
  const match = /^sha256:([0-9a-f]{64})$/.exec(digest);
  if (!match?.[1]) throw new MaestroError('BAD_REQUEST', `"${digest}" is not a digest of the form sha256:<64 hex>`);
  return match[1];
}

export { canonicalJson, digestOf };
