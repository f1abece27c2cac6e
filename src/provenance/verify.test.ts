import { describe, expect, it } from 'vitest';
import { ARTIFACT, compiledFixture, fixtureReceipt, runFixture, testKey } from '../../test/provenance/fixtures.js';
import { ConfigError } from '../errors/index.js';
import { generateSigningKey } from './keys.js';
import { localBundleSigner, signStatement, type SerializedBundle } from './signing.js';
import { verifyReceipt } from './verify.js';

async function signedFixture(key = testKey()): Promise<SerializedBundle> {
  return signStatement(fixtureReceipt(), localBundleSigner(key));
}

/** The bundle with one byte of its decoded DSSE payload changed. */
function withPayloadByte(bundle: SerializedBundle, index: number): SerializedBundle {
  const copy = structuredClone(bundle);
  if (!copy.dsseEnvelope) throw new Error('not a DSSE bundle');
  const payload = Buffer.from(copy.dsseEnvelope.payload, 'base64');
  payload[index] = (payload[index] ?? 0) ^ 0x01;
  copy.dsseEnvelope.payload = payload.toString('base64');
  return copy;
}

describe('signing and verifying receipts', () => {
  it('signs a receipt as a DSSE envelope in a Sigstore bundle v0.3 that verifies with the public key, offline', async () => {
    const bundle = await signedFixture();
    expect(bundle.mediaType).toBe('application/vnd.dev.sigstore.bundle.v0.3+json');
    expect(bundle.dsseEnvelope?.payloadType).toBe('application/vnd.in-toto+json');
    expect(bundle.verificationMaterial.publicKey?.hint).toBe(testKey().keyId);
    const result = verifyReceipt(JSON.stringify(bundle), { publicKeys: [testKey().publicKeyPem] });
    expect(result).toMatchObject({ ok: true, keyId: testKey().keyId });
    if (result.ok) expect(result.statement.predicate.runDetails.metadata?.invocationId).toBe('run-fixture');
  });

  it("verifies a cached run's receipt, which marks the cached task", async () => {
    const { digest } = compiledFixture();
    const run = runFixture(digest);
    Object.assign(run.tasks[0] ?? {}, { cached: true });
    const bundle = await signStatement(fixtureReceipt({ run }), localBundleSigner(testKey()));
    const result = verifyReceipt(bundle, { publicKeys: [testKey().publicKeyPem], run });
    expect(result.ok).toBe(true);
    if (result.ok) expect(result.statement.predicate.runDetails.byproducts?.find((b) => b.name === 'task/shape')?.annotations).toMatchObject({ cached: true });
  });

  it('verifies Ed25519-signed receipts too', async () => {
    const key = generateSigningKey('ed25519');
    expect(verifyReceipt(await signedFixture(key), { publicKeys: [key.publicKeyPem] })).toMatchObject({ ok: true });
  });

  it('rejects a receipt with one byte of its payload changed: the signature no longer matches', async () => {
    const bundle = await signedFixture();
    // Byte 60 sits inside the first subject's digest in the canonical JSON.
    const result = verifyReceipt(withPayloadByte(bundle, 60), { publicKeys: [testKey().publicKeyPem] });
    expect(result).toMatchObject({ ok: false, code: 'BAD_SIGNATURE' });
    if (!result.ok) expect(result.reason).toMatch(/payload or the signature was changed after signing/);
  });

  it('rejects a receipt whose signature has one byte changed', async () => {
    const bundle = structuredClone(await signedFixture());
    const signature = bundle.dsseEnvelope?.signatures[0];
    if (!signature) throw new Error('no signature');
    const bytes = Buffer.from(signature.sig, 'base64');
    bytes[bytes.length - 2] = (bytes[bytes.length - 2] ?? 0) ^ 0x01;
    signature.sig = bytes.toString('base64');
    expect(verifyReceipt(bundle, { publicKeys: [testKey().publicKeyPem] })).toMatchObject({ ok: false, code: 'BAD_SIGNATURE' });
  });

  it('rejects a receipt checked against another key, naming the signing key', async () => {
    const other = generateSigningKey();
    const result = verifyReceipt(await signedFixture(), { publicKeys: [other.publicKeyPem] });
    expect(result).toMatchObject({ ok: false, code: 'UNTRUSTED_KEY' });
    if (!result.ok) expect(result.reason).toContain(testKey().keyId.slice(0, 16));
  });

  it('rejects a receipt re-signed by an attacker who claims the trusted key id', async () => {
    const attacker = generateSigningKey();
    const bundle = structuredClone(await signedFixture(attacker));
    bundle.verificationMaterial.publicKey = { hint: testKey().keyId };
    expect(verifyReceipt(bundle, { publicKeys: [testKey().publicKeyPem] })).toMatchObject({ ok: false, code: 'BAD_SIGNATURE' });
  });

  it('refuses a trusted key with one byte changed as an invalid key, not as a valid one', async () => {
    const pem = testKey().publicKeyPem;
    const body = pem.split('\n')[1] ?? '';
    const broken = pem.replace(body, `${body.slice(0, 30)}${body[30] === 'A' ? 'B' : 'A'}${body.slice(31)}`);
    let result: unknown;
    try {
      result = verifyReceipt(await signedFixture(), { publicKeys: [broken] });
    } catch (error) {
      expect(error).toBeInstanceOf(ConfigError);
      return;
    }
    // A change that still parses is a different key.
    expect(result).toMatchObject({ ok: false, code: 'UNTRUSTED_KEY' });
  });

  it('checks a run state against the subjects: one changed output is a SUBJECT_MISMATCH naming the task', async () => {
    const bundle = await signedFixture();
    const { digest } = compiledFixture();
    expect(verifyReceipt(bundle, { publicKeys: [testKey().publicKeyPem], run: runFixture(digest) })).toMatchObject({ ok: true });
    const run = runFixture(digest);
    const shape = run.tasks[0];
    if (shape) shape.outputs = { rows: [{ v: 2 }, { v: 5 }] };
    const result = verifyReceipt(bundle, { publicKeys: [testKey().publicKeyPem], run });
    expect(result).toMatchObject({ ok: false, code: 'SUBJECT_MISMATCH' });
    if (!result.ok) expect(result.reason).toMatch(/^outputs of task "shape" hashes to sha256:[0-9a-f]{64}, but the receipt says/);
  });

  it('checks artifact bytes against their subject: one changed byte is a SUBJECT_MISMATCH, an unknown name SUBJECT_MISSING', async () => {
    const data = Buffer.from('artifact content');
    const { createHash } = await import('node:crypto');
    const sha256 = createHash('sha256').update(data).digest('hex');
    const { digest } = compiledFixture();
    const run = runFixture(digest);
    const fetch = run.tasks[3];
    if (fetch) fetch.outputs = { status: 200, headers: {}, body: { $artifact: { ...ARTIFACT, uri: `artifact://sha256/${sha256}`, sha256, size: data.length } } };
    const bundle = await signStatement(fixtureReceipt({ run }), localBundleSigner(testKey()));
    const publicKeys = [testKey().publicKeyPem];
    const name = `artifact://sha256/${sha256}`;
    expect(verifyReceipt(bundle, { publicKeys, artifacts: { [name]: data } })).toMatchObject({ ok: true });
    const changed = Buffer.from(data);
    changed[0] = (changed[0] ?? 0) ^ 0x20;
    expect(verifyReceipt(bundle, { publicKeys, artifacts: { [name]: changed } })).toMatchObject({ ok: false, code: 'SUBJECT_MISMATCH' });
    expect(verifyReceipt(bundle, { publicKeys, artifacts: { 'artifact://sha256/ff': data } })).toMatchObject({ ok: false, code: 'SUBJECT_MISSING' });
  });

  it('says what is wrong with something that is not a bundle', () => {
    const publicKeys = [testKey().publicKeyPem];
    expect(verifyReceipt('{not json', { publicKeys })).toEqual({ ok: false, code: 'MALFORMED', reason: 'the file is not JSON' });
    expect(verifyReceipt({ mediaType: 'x' }, { publicKeys })).toMatchObject({ ok: false, code: 'MALFORMED' });
  });

  it('refuses a correctly signed statement that is not SLSA provenance', async () => {
    const statement = { ...fixtureReceipt(), predicateType: 'https://example.com/other' };
    const bundle = await signStatement(statement, localBundleSigner(testKey()));
    expect(verifyReceipt(bundle, { publicKeys: [testKey().publicKeyPem] })).toMatchObject({ ok: false, code: 'BAD_PAYLOAD' });
  });

  it('refuses a keyless bundle when no trusted root is configured', async () => {
    const bundle = structuredClone(await signedFixture());
    bundle.verificationMaterial = { certificate: { rawBytes: 'AAAA' }, tlogEntries: [], timestampVerificationData: { rfc3161Timestamps: [] } } as never;
    expect(verifyReceipt(bundle, { publicKeys: [testKey().publicKeyPem] })).toEqual({
      ok: false,
      code: 'UNTRUSTED_KEY',
      reason: 'signed keylessly (Fulcio certificate); verifying it needs a Sigstore trusted root',
    });
  });
});
