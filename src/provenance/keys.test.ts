import { stat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { tempDir } from '../../test/provenance/fixtures.js';
import { ConfigError } from '../errors/index.js';
import { loadSigningKey, parsePublicKey, publicKeyFileOf, readPublicKeys } from './keys.js';

const cleanups: (() => Promise<void>)[] = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0)) await cleanup();
});

async function dir(): Promise<string> {
  const temp = await tempDir();
  cleanups.push(temp.cleanup);
  return temp.dir;
}

describe('signing keys', () => {
  it('creates the dev key on first use, private key mode 0600 in a 0700 folder, and reuses it after', async () => {
    const file = join(await dir(), 'keys', 'receipt-signing.key');
    const created = await loadSigningKey(file, { create: true });
    expect(created.algorithm).toBe('ecdsa-p256');
    expect((await stat(file)).mode & 0o777).toBe(0o600);
    expect((await stat(join(file, '..'))).mode & 0o777).toBe(0o700);
    const [published] = await readPublicKeys([publicKeyFileOf(file)]);
    expect(published?.equals(created.publicKey)).toBe(true);
    expect((await loadSigningKey(file)).keyId).toBe(created.keyId);
  });

  it('gives every process starting at once the same key', async () => {
    const file = join(await dir(), 'k.key');
    const keys = await Promise.all(Array.from({ length: 8 }, () => loadSigningKey(file, { create: true })));
    expect(new Set(keys.map((key) => key.keyId)).size).toBe(1);
  });

  it('creates Ed25519 keys on request', async () => {
    const key = await loadSigningKey(join(await dir(), 'ed.key'), { create: true, algorithm: 'ed25519' });
    expect(key.algorithm).toBe('ed25519');
  });

  it('refuses a configured key file that does not exist instead of making a fresh, untrusted one', async () => {
    const file = join(await dir(), 'missing.key');
    await expect(loadSigningKey(file)).rejects.toThrow(ConfigError);
    await expect(loadSigningKey(file)).rejects.toThrow(/does not exist \(set MAESTRO_SIGNING_KEY/);
  });

  it('refuses keys that are not ECDSA P-256 or Ed25519', async () => {
    const { generateKeyPairSync } = await import('node:crypto');
    const rsa = generateKeyPairSync('rsa', { modulusLength: 2048 }).privateKey.export({ type: 'pkcs8', format: 'pem' }).toString();
    const file = join(await dir(), 'rsa.key');
    await writeFile(file, rsa);
    await expect(loadSigningKey(file)).rejects.toThrow(/must be an ECDSA P-256 or Ed25519 key/);
    expect(() => parsePublicKey('not a key', 'MAESTRO_TRUSTED_KEYS_DIR/x.pub')).toThrow(/x\.pub is not a valid PEM public key/);
  });
});
