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

/**
 * The RFC 8785 canonical JSON of a JSON value (what {@link digestOf} hashes).
 *
 * `known` holds the canonical JSON already made of some objects inside `value` (by identity), which
 * is written as is rather than made again: a run's state holds its tasks' outputs, whose canonical
 * JSON a receipt needs on its own too.
 */
export function canonicalJson(value: unknown, known?: ReadonlyMap<object, string>): string {
  // A string on its own (most of an audit record's members) is written as JSON.stringify writes it,
  // as RFC 8785 says; lone surrogates are refused, as for strings inside objects.
  if (typeof value === 'string') {
    if (!value.isWellFormed()) throw new MaestroError('INTERNAL', 'cannot canonicalise a string with a lone surrogate');
    return JSON.stringify(value);
  }
  try {
    return plainJson(value, 0, known);
  } catch (error) {
    if (error !== NOT_PLAIN) throw error;
  }
  // Not plain JSON (a toJSON method, a cycle, NaN, a lone surrogate, undefined, a function...):
  // the canonicalize package decides, whatever it makes of such a value or refuses it with.
  const canonical = canonicalize(value);
  if (canonical === undefined) throw new MaestroError('INTERNAL', 'cannot canonicalise an undefined value');
  return canonical;
}

/** Thrown by {@link plainJson} at the first value that is not plain JSON. */
const NOT_PLAIN = Symbol('not plain JSON');

/**
 * Nesting past which {@link plainJson} leaves a value to the canonicalize package, which tells a
 * cycle (refused) from a deep value; plain JSON this deep is still canonicalised, only slower.
 */
const PLAIN_DEPTH = 1000;

/**
 * RFC 8785 canonical JSON of plain JSON (null, booleans, finite numbers, well-formed strings,
 * arrays without holes, objects without `toJSON`), written as the canonicalize package writes it
 * (keys sorted by UTF-16 code units, numbers as ECMAScript writes them, members whose value is
 * undefined left out, undefined array items as null) without its per-character surrogate scan and
 * cycle set, which made it most of a receipt's cost. Throws {@link NOT_PLAIN} at anything else.
 */
function plainJson(value: unknown, depth: number, known: ReadonlyMap<object, string> | undefined): string {
  switch (typeof value) {
    case 'string':
      return plainString(value);
    case 'number':
      if (!Number.isFinite(value)) throw NOT_PLAIN;
      return JSON.stringify(value);
    case 'boolean':
      return value ? 'true' : 'false';
    case 'object': {
      if (value === null) return 'null';
      if (depth >= PLAIN_DEPTH || typeof (value as { toJSON?: unknown }).toJSON === 'function') throw NOT_PLAIN;
      const made = known?.get(value);
      if (made !== undefined) return made;
      if (Array.isArray(value)) {
        let out = '[';
        for (let index = 0; index < value.length; index += 1) {
          const item: unknown = value[index];
          if (index > 0) out += ',';
          if (item === undefined || typeof item === 'symbol') {
            // canonicalize skips a hole (Array#map) but writes null for an undefined item.
            if (!(index in value)) throw NOT_PLAIN;
            out += 'null';
          } else {
            out += plainJson(item, depth + 1, known);
          }
        }
        return `${out}]`;
      }
      const record = value as Record<string, unknown>;
      let out = '{';
      for (const key of Object.keys(record).sort()) {
        const item = record[key];
        if (item === undefined || typeof item === 'symbol') continue;
        if (out.length > 1) out += ',';
        out += `${plainString(key)}:${plainJson(item, depth + 1, known)}`;
      }
      return `${out}}`;
    }
    default:
      throw NOT_PLAIN;
  }
}

/** What JSON.stringify escapes in a string (quote, backslash, control characters) and surrogates (lone ones are refused). */
const NEEDS_ESCAPE_OR_CHECK = /[\u0000-\u001f"\\\ud800-\udfff]/;

/** A string as JSON: as it is between quotes when nothing in it needs escaping, which is most strings. */
function plainString(value: string): string {
  if (!NEEDS_ESCAPE_OR_CHECK.test(value)) return `"${value}"`;
  if (!value.isWellFormed()) throw NOT_PLAIN;
  return JSON.stringify(value);
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
 * the sha256 of {@link outputsJson}.
 */
export function outputsSha256(outputs: unknown): string {
  return sha256Hex(outputsJson(outputs));
}

/**
 * What {@link outputsSha256} hashes: the RFC 8785 canonical JSON of a task's outputs as the run
 * records them (none: null), artifact references included (they name their content by sha256, so
 * the hash still commits to every byte).
 */
export function outputsJson(outputs: unknown): string {
  return canonicalJson(outputs ?? null);
}
