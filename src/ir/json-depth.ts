/**
 * A bound on how deep JSON may nest, checked on its text before it is parsed or walked: the API's
 * schema validator and handlers walk a body recursively, so a body nested 100,000 deep (1 MB is
 * enough) would exhaust the stack in them, long after `JSON.parse` accepted it. Workflow-safe: the
 * interpreter checks a signal's payload with it too.
 */

/** Deepest nesting of arrays and objects a JSON body may have. */
export const MAX_JSON_DEPTH = 64;

const QUOTE = 0x22;
const BACKSLASH = 0x5c;
const OPENERS = new Set([0x5b, 0x7b]); // [ {
const CLOSERS = new Set([0x5d, 0x7d]); // ] }

/**
 * Whether JSON text (UTF-8 bytes, or a string) nests arrays and objects deeper than `max`.
 * Brackets inside strings do not count; text that is not JSON is left to the parser to refuse.
 *
 * @example
 * jsonTooDeep(Buffer.from('[[1]]'), 1) // true
 * jsonTooDeep('{"a":[1]}', 2) // false
 */
export function jsonTooDeep(text: Uint8Array | string, max: number): boolean {
  let depth = 0;
  let inString = false;
  const at = typeof text === 'string' ? (i: number) => text.charCodeAt(i) : (i: number) => text[i] as number;
  for (let i = 0; i < text.length; i += 1) {
    const byte = at(i);
    if (inString) {
      if (byte === BACKSLASH) i += 1;
      else if (byte === QUOTE) inString = false;
    } else if (byte === QUOTE) {
      inString = true;
    } else if (OPENERS.has(byte)) {
      depth += 1;
      if (depth > max) return true;
    } else if (CLOSERS.has(byte)) {
      depth -= 1;
    }
  }
  return false;
}
