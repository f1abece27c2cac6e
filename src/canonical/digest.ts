/**
 * Canonical JSON (RFC 8785) and the digests built on it: the one way Maestro turns a value into
 * bytes to hash or sign (IR digests, cache keys, receipts, audit records, approval proofs).
 * Pure, no I/O; it sits at the bottom of the layers so every module can use it.
 */
import { hash } from 'node:crypto';
import canonicalize from 'canonicalize';
import { MaestroError } from '../errors/index.js';

/** `sha256:<hex>` of the RFC 8785 canonical JSON of a value. */
export function digestOf(value: unknown): string {
  return `sha256:${hash('sha256', canonicalJson(value))}`;
}

/** The RFC 8785 canonical JSON of a JSON value (what {@link digestOf} hashes). */
export function canonicalJson(value: unknown): string {
  // A string on its own (most of an audit record's members) is written as JSON.stringify writes it,
  // as RFC 8785 says; lone surrogates are refused, as for strings inside objects.
  if (typeof value === 'string') {
    if (!value.isWellFormed()) throw new MaestroError('INTERNAL', 'cannot canonicalise a string with a lone surrogate');
    return JSON.stringify(value);
  }
  const canonical = canonicalize(value);
  if (canonical === undefined) throw new MaestroError('INTERNAL', 'cannot canonicalise an undefined value');
  return canonical;
}

/** Lower-case hex sha256 of bytes (a string is hashed as UTF-8). */
export function sha256Hex(data: Uint8Array | string): string {
  return hash('sha256', data);
}

/**
 * Lower-case hex sha256 of the RFC 8785 canonical JSON of a value: the hex part of
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

/**
 * sha256 (hex) of a task's outputs, as receipts record it and the task cache checks its entries:
 * the RFC 8785 canonical JSON of the outputs as the run records them, artifact references
 * included (they name their content by sha256, so the hash still commits to every byte).
 */
export function outputsSha256(outputs: unknown): string {
  return canonicalSha256(outputs ?? null);
}
