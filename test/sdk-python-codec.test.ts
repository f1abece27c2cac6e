/**
 * The Python SDK's payload codec (sdk/python/src/maestro_sdk/codec.py) against Maestro's
 * (src/codec/payload-codec.ts), both ways: a payload either one encrypts, the other decrypts; a
 * flipped byte is refused by both. (pytest also decrypts a committed vector the TypeScript codec made.)
 */
import { spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { join } from 'node:path';
import type { Payload } from '@temporalio/common';
import { beforeAll, describe, expect, it } from 'vitest';
import { AesGcmPayloadCodec } from '../src/codec/index.js';
import { parsePayloadKeys } from '../src/config/index.js';
import { MaestroError } from '../src/errors/index.js';
import { REPO_ROOT, runScript } from './peers/install.js';
import { PYTHON_SDK_BIN } from './peers/python-worker.js';

const PYTHON = join(PYTHON_SDK_BIN, 'python');
/** Reads `{keys, op, payload}` on stdin, encrypts or decrypts with the Python codec, prints the payload (or the error). */
const SCRIPT = `
import base64, json, sys
from temporalio.api.common.v1 import Payload
from maestro_sdk.codec import AesGcmPayloadCodec, parse_payload_keys
request = json.load(sys.stdin)
codec = AesGcmPayloadCodec(parse_payload_keys(request["keys"], "test"))
spec = request["payload"]
payload = Payload(metadata={k: base64.b64decode(v) for k, v in spec["metadata"].items()}, data=base64.b64decode(spec["data"]))
try:
    out = codec.encrypt(payload) if request["op"] == "encrypt" else codec.decrypt(payload)
except Exception as error:
    print(json.dumps({"error": type(error).__name__ + ": " + str(error)}))
    sys.exit(0)
print(json.dumps({"metadata": {k: base64.b64encode(v).decode() for k, v in out.metadata.items()}, "data": base64.b64encode(out.data).decode()}))
`;

interface Wire {
  metadata: Record<string, string>;
  data: string;
}
const toWire = (payload: Payload): Wire => ({
  metadata: Object.fromEntries(Object.entries(payload.metadata ?? {}).map(([key, value]) => [key, Buffer.from(value).toString('base64')])),
  data: Buffer.from(payload.data ?? []).toString('base64'),
});
const fromWire = (wire: Wire): Payload => ({
  metadata: Object.fromEntries(Object.entries(wire.metadata).map(([key, value]) => [key, new Uint8Array(Buffer.from(value, 'base64'))])),
  data: new Uint8Array(Buffer.from(wire.data, 'base64')),
});

function python(keys: string, op: 'encrypt' | 'decrypt', payload: Payload): Wire | { error: string } {
  const result = spawnSync(PYTHON, ['-c', SCRIPT], { input: JSON.stringify({ keys, op, payload: toWire(payload) }), encoding: 'utf8' });
  if (result.status !== 0) throw new Error(`python exited ${result.status}: ${result.stderr}`);
  return JSON.parse(result.stdout) as Wire | { error: string };
}

describe('the Python payload codec', () => {
  const keys = `current=${randomBytes(32).toString('base64')},old=${randomBytes(32).toString('base64')}`;
  const codec = new AesGcmPayloadCodec(parsePayloadKeys(keys, 'test'));
  const plain: Payload = { metadata: { encoding: new TextEncoder().encode('json/plain') }, data: new TextEncoder().encode(JSON.stringify({ greeting: 'Grüße ✓', n: [1, 2] })) };

  beforeAll(() => runScript('node', [join(REPO_ROOT, 'scripts', 'python.mjs'), 'install']), 600_000);

  it('decrypts what the TypeScript codec encrypted, and refuses it with a flipped byte', () => {
    const encrypted = codec.encrypt(plain);
    const decrypted = python(keys, 'decrypt', encrypted);
    expect(decrypted).toEqual(toWire(plain));
    const altered = { ...encrypted, data: Uint8Array.from(encrypted.data!, (byte, index) => (index === 30 ? byte ^ 1 : byte)) };
    expect(python(keys, 'decrypt', altered)).toEqual({ error: expect.stringContaining('fails authentication') });
  });

  it('encrypts what the TypeScript codec decrypts, and the TypeScript codec refuses it with a flipped byte', async () => {
    const encrypted = fromWire(python(keys, 'encrypt', plain) as Wire);
    expect(new TextDecoder().decode(encrypted.metadata!['encryption-key-id'])).toBe('current');
    expect((await codec.decode([encrypted])).map(toWire)).toEqual([toWire(plain)]);
    const altered = { ...encrypted, data: Uint8Array.from(encrypted.data!, (byte, index) => (index === encrypted.data!.length - 1 ? byte ^ 1 : byte)) };
    await expect(codec.decode([altered])).rejects.toThrow(MaestroError);
  });
});
