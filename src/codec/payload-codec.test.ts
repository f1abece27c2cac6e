import { randomBytes } from 'node:crypto';
import { mkdtemp, readFile, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { defaultPayloadConverter } from '@temporalio/common';
import { describe, expect, it } from 'vitest';
import { parsePayloadKeys } from '../config/index.js';
import { AesGcmPayloadCodec, openValue, payloadKeys, sealValue } from './index.js';

const key = (id: string) => ({ id, key: randomBytes(32) });
const text = (payload: { data?: Uint8Array | null }) => Buffer.from(payload.data ?? []).toString();

describe('AesGcmPayloadCodec', () => {
  it('encrypts every payload under the current key id and decrypts it back', async () => {
    const codec = new AesGcmPayloadCodec([key('new'), key('old')]);
    const plain = defaultPayloadConverter.toPayload({ token: 'hunter2' });
    const [encrypted] = await codec.encode([plain]);
    expect(text(encrypted!)).not.toContain('hunter2');
    expect(Buffer.from(encrypted!.metadata!['encryption-key-id']!).toString()).toBe('new');
    const [decoded] = await codec.decode([encrypted!]);
    expect(defaultPayloadConverter.fromPayload(decoded!)).toEqual({ token: 'hunter2' });
    expect(Buffer.from(decoded!.metadata!.encoding!).toString()).toBe('json/plain');
  });

  it('decrypts with an older key after rotation, and passes unencrypted payloads through', async () => {
    const old = key('old');
    const [before] = await new AesGcmPayloadCodec([old]).encode([defaultPayloadConverter.toPayload('x')]);
    const rotated = new AesGcmPayloadCodec([key('new'), old]);
    const plain = defaultPayloadConverter.toPayload('recorded before the codec');
    expect((await rotated.decode([before!, plain])).map((p) => defaultPayloadConverter.fromPayload(p))).toEqual(['x', 'recorded before the codec']);
  });

  it('refuses an unknown key id and an altered ciphertext with PAYLOAD_UNDECRYPTABLE', async () => {
    const [encrypted] = await new AesGcmPayloadCodec([key('gone')]).encode([defaultPayloadConverter.toPayload('x')]);
    await expect(new AesGcmPayloadCodec([key('other')]).decode([encrypted!])).rejects.toMatchObject({ code: 'PAYLOAD_UNDECRYPTABLE' });
    const same = key('k');
    const [mine] = await new AesGcmPayloadCodec([same]).encode([defaultPayloadConverter.toPayload('x')]);
    const data = Buffer.from(mine!.data!);
    data[20] = (data[20] ?? 0) ^ 1;
    await expect(new AesGcmPayloadCodec([same]).decode([{ ...mine!, data }])).rejects.toMatchObject({ code: 'PAYLOAD_UNDECRYPTABLE' });
  });

  it('decodes a payload it encrypted itself once, and only its exact ciphertext under the same key id', async () => {
    const same = key('k');
    const codec = new AesGcmPayloadCodec([same, key('other')]);
    const value = { token: 'hunter2' };
    const [first, second, third] = await codec.encode([1, 2, 3].map(() => defaultPayloadConverter.toPayload(value)));
    // Remembered, then decrypted like any other payload the second time.
    for (let i = 0; i < 2; i += 1) expect(defaultPayloadConverter.fromPayload((await codec.decode([first!]))[0]!)).toEqual(value);
    const altered = Buffer.from(second!.data!);
    altered[20] = (altered[20] ?? 0) ^ 1;
    await expect(codec.decode([{ ...second!, data: altered }])).rejects.toMatchObject({ code: 'PAYLOAD_UNDECRYPTABLE' });
    const relabelled = { ...third!, metadata: { ...third!.metadata, 'encryption-key-id': Buffer.from('other') } };
    await expect(codec.decode([relabelled])).rejects.toMatchObject({ code: 'PAYLOAD_UNDECRYPTABLE' });
  });

  it('seals a value for the store and opens it again', () => {
    const codec = new AesGcmPayloadCodec([key('k')]);
    const sealed = sealValue(codec, { password: 'hunter2' });
    expect(Buffer.from(sealed, 'base64').toString()).not.toContain('hunter2');
    expect(openValue(codec, sealed)).toEqual({ password: 'hunter2' });
  });
});

describe('payload keys', () => {
  it('parses id=base64 lists and a bare key, and refuses short keys and repeated ids', () => {
    const a = randomBytes(32).toString('base64');
    const b = randomBytes(32).toString('base64');
    expect(parsePayloadKeys(`new=${a},\nold=${b}`, 'test').map((k) => k.id)).toEqual(['new', 'old']);
    expect(parsePayloadKeys(a, 'test')[0]?.id).toBe('k1');
    expect(() => parsePayloadKeys(`k=${randomBytes(16).toString('base64')}`, 'test')).toThrow(/32 bytes/);
    expect(() => parsePayloadKeys(`k=${a},k=${b}`, 'test')).toThrow(/differ/);
  });

  it('creates <dataDir>/payload-key once, mode 0600, and every later process reads the same key', async () => {
    const dataDir = await mkdtemp(join(tmpdir(), 'maestro-keys-'));
    try {
      const first = payloadKeys({ dataDir });
      const second = payloadKeys({ dataDir });
      expect(second[0]?.key.equals(first[0]!.key)).toBe(true);
      expect((await stat(join(dataDir, 'payload-key'))).mode & 0o777).toBe(0o600);
      expect(await readFile(join(dataDir, 'payload-key'), 'utf8')).toMatch(/^k[0-9a-z]+=/);
    } finally {
      await rm(dataDir, { recursive: true, force: true });
    }
  });
});
