/** A message payload as bytes: a string as UTF-8, any other JSON value as its JSON text. */
export function payloadBytes(value: unknown): Uint8Array {
  return new TextEncoder().encode(typeof value === 'string' ? value : JSON.stringify(value));
}
