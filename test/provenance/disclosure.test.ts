import { createHash } from 'node:crypto';
import { createWriteStream } from 'node:fs';
import { mkdir, readFile, symlink, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { pipeline } from 'node:stream/promises';
import yauzl from 'yauzl';
import yazl from 'yazl';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  ReceiptStore,
  createReceiptWriter,
  emptyDecisionLog,
  generateSigningKey,
  localBundleSigner,
  packDisclosure,
  verifyDisclosure,
  type DecisionLog,
  type PackDisclosureOptions,
} from '../../src/provenance/index.js';
import { FsArtifactStore, FsBlobStore } from '../../src/store/index.js';
import { CODE_DIGESTS, PARAMS, compiledFixture, runFixture, tempDir, testKey } from './fixtures.js';

let dir: string;
let cleanup: () => Promise<void>;
let base: Omit<PackDisclosureOptions, 'outPath' | 'runIds'>;
const publicKeys = [testKey().publicKeyPem];
const decisions: DecisionLog = { excerpt: (runId) => Promise.resolve([{ id: `d-${runId}`, allow: true }]) };

beforeAll(async () => {
  ({ dir, cleanup } = await tempDir('maestro-disclosure-'));
  const artifacts = new FsArtifactStore({ root: join(dir, 'artifacts') });
  const receipts = new ReceiptStore(new FsBlobStore(join(dir, 'data')));
  const signer = localBundleSigner(testKey());
  const write = createReceiptWriter({ receipts, signer, builderId: 'urn:test', workerBuildId: 'sha256:' + '0'.repeat(64), taskCodeDigests: CODE_DIGESTS });
  const { ir, digest } = compiledFixture();
  for (const runId of ['run-a', 'run-b']) {
    const ref = await artifacts.put(JSON.stringify({ big: `payload of ${runId}` }));
    const state = runFixture(digest, runId);
    const fetch = state.tasks[3];
    if (fetch) fetch.outputs = { status: 200, headers: {}, body: ref };
    await write({ runId, ir, digest, params: PARAMS, state });
  }
  await mkdir(join(dir, 'reports'));
  await writeFile(join(dir, 'reports', 'summary.txt'), 'all good\n');
  base = { roots: [dir], receipts, artifacts, signer, publicKeys, decisionLog: decisions };
});
afterAll(() => cleanup());

async function pack(name: string, changes: Partial<PackDisclosureOptions> = {}) {
  return packDisclosure({ ...base, runIds: ['run-a', 'run-b'], outPath: join(dir, name), files: [join(dir, 'reports', 'summary.txt')], ...changes });
}

/** Reads every entry of a zip: name → bytes. */
async function entries(path: string): Promise<Map<string, Buffer>> {
  const zip = await yauzl.openPromise(path);
  const out = new Map<string, Buffer>();
  await new Promise<void>((resolve, reject) => {
    zip.on('error', reject);
    zip.on('end', () => resolve());
    zip.on('entry', (entry: yauzl.Entry) => {
      void zip
        .openReadStreamPromise(entry)
        .then(async (stream) => {
          const chunks: Buffer[] = [];
          for await (const chunk of stream) chunks.push(chunk as Buffer);
          out.set(entry.fileName, Buffer.concat(chunks));
          zip.readEntry();
        })
        .catch(reject);
    });
    zip.readEntry();
  });
  zip.close();
  return out;
}

/** Writes a zip with the given entries, in order. */
async function writeZip(path: string, files: Map<string, Buffer>): Promise<void> {
  const zip = new yazl.ZipFile();
  for (const [name, data] of files) zip.addBuffer(data, name);
  zip.end();
  await pipeline(zip.outputStream, createWriteStream(path));
}

describe('disclosure bundles', () => {
  it('round trip: packs receipts, approvals, decisions, artifacts and files with a signed manifest that verifies', async () => {
    const packed = await pack('round-trip.zip');
    expect(packed.digest).toMatch(/^sha256:[0-9a-f]{64}$/);
    const files = await entries(packed.path);
    expect([...files.keys()].sort()).toEqual(
      [
        'manifest.sigstore.json',
        'runs/run-a/receipt.sigstore.json',
        'runs/run-a/approvals.json',
        'runs/run-a/decisions.json',
        'runs/run-b/receipt.sigstore.json',
        'runs/run-b/approvals.json',
        'runs/run-b/decisions.json',
        'files/reports/summary.txt',
        ...[...files.keys()].filter((name) => name.startsWith('artifacts/sha256/')),
      ].sort(),
    );
    expect([...files.keys()].filter((name) => name.startsWith('artifacts/'))).toHaveLength(2);
    expect(JSON.parse(files.get('runs/run-a/approvals.json')?.toString() ?? '')).toEqual([
      { taskId: 'approve', approvals: [{ approver: 'alice', decision: 'approve', comment: 'ship it', at: '2026-01-01T00:00:04.000Z' }] },
    ]);
    expect(JSON.parse(files.get('runs/run-b/decisions.json')?.toString() ?? '')).toEqual([{ id: 'd-run-b', allow: true }]);
    expect(await verifyDisclosure(packed.path, { publicKeys })).toEqual({ ok: true, runs: ['run-a', 'run-b'], files: files.size, keyId: testKey().keyId });
    expect(packed.entries.find((entry) => entry.path === 'files/reports/summary.txt')).toEqual({
      path: 'files/reports/summary.txt',
      sha256: createHash('sha256').update('all good\n').digest('hex'),
      size: 9,
    });
  });

  it('names a file whose content was changed', async () => {
    const packed = await pack('tampered.zip');
    const files = await entries(packed.path);
    files.set('runs/run-b/decisions.json', Buffer.from('[]\n'));
    await writeZip(packed.path, files);
    expect(await verifyDisclosure(packed.path, { publicKeys })).toMatchObject({ ok: false, code: 'TAMPERED', file: 'runs/run-b/decisions.json' });
  });

  it('names a file that is missing', async () => {
    const packed = await pack('missing.zip');
    const files = await entries(packed.path);
    const artifact = [...files.keys()].find((name) => name.startsWith('artifacts/')) ?? '';
    files.delete(artifact);
    await writeZip(packed.path, files);
    expect(await verifyDisclosure(packed.path, { publicKeys })).toMatchObject({ ok: false, code: 'MISSING', file: artifact });
  });

  it('names an extra file', async () => {
    const packed = await pack('extra.zip');
    const files = await entries(packed.path);
    files.set('files/smuggled.txt', Buffer.from('not in the manifest'));
    await writeZip(packed.path, files);
    expect(await verifyDisclosure(packed.path, { publicKeys })).toMatchObject({ ok: false, code: 'EXTRA', file: 'files/smuggled.txt' });
  });

  it('rejects an entry whose path escapes the bundle', async () => {
    const packed = await pack('traversal.zip');
    const files = await entries(packed.path);
    files.set('xx/evil.sh', Buffer.from('rm -rf ~'));
    await writeZip(packed.path, files);
    // yazl refuses to write "../", so patch the name in the local header and the central directory.
    const bytes = await readFile(packed.path);
    await writeFile(packed.path, Buffer.from(bytes.toString('latin1').replaceAll('xx/evil.sh', '../evil.sh'), 'latin1'));
    expect(await verifyDisclosure(packed.path, { publicKeys })).toMatchObject({ ok: false, code: 'UNSAFE_PATH', file: '../evil.sh' });
  });

  it('rejects a manifest signed by another key, or one changed after signing', async () => {
    const packed = await pack('other-key.zip');
    const other = generateSigningKey();
    expect(await verifyDisclosure(packed.path, { publicKeys: [other.publicKeyPem] })).toMatchObject({ ok: false, code: 'BAD_MANIFEST', file: 'manifest.sigstore.json' });
    const files = await entries(packed.path);
    const manifest = JSON.parse(files.get('manifest.sigstore.json')?.toString() ?? '') as { dsseEnvelope: { payload: string } };
    const payload = Buffer.from(manifest.dsseEnvelope.payload, 'base64').toString().replace('reports/summary.txt', 'reports/summary.txx');
    manifest.dsseEnvelope.payload = Buffer.from(payload).toString('base64');
    files.set('manifest.sigstore.json', Buffer.from(JSON.stringify(manifest)));
    await writeZip(packed.path, files);
    const result = await verifyDisclosure(packed.path, { publicKeys });
    expect(result).toMatchObject({ ok: false, code: 'BAD_MANIFEST' });
    if (!result.ok) expect(result.reason).toContain('BAD_SIGNATURE');
  });

  it('bounds the size it reads and writes', async () => {
    const packed = await pack('bounded.zip');
    expect(await verifyDisclosure(packed.path, { publicKeys, maxBytes: 1000 })).toMatchObject({ ok: false, code: 'TOO_LARGE' });
    expect(await verifyDisclosure(packed.path, { publicKeys, maxEntries: 3 })).toMatchObject({ ok: false, code: 'TOO_LARGE' });
    await expect(pack('too-big.zip', { maxBytes: 1000 })).rejects.toMatchObject({ code: 'PAYLOAD_TOO_LARGE' });
  });

  it('refuses files outside the allowed roots, symlinks, and an output outside the roots', async () => {
    const outside = await tempDir('maestro-outside-');
    try {
      await writeFile(join(outside.dir, 'secret.txt'), 'nope');
      await symlink(join(outside.dir, 'secret.txt'), join(dir, 'reports', 'link.txt'));
      await expect(pack('a.zip', { files: [join(dir, 'reports', '..', '..', outside.dir.split('/').pop() ?? '', 'secret.txt')] })).rejects.toThrow(/outside the allowed folders/);
      await expect(pack('b.zip', { files: [join(dir, 'reports', 'link.txt')] })).rejects.toMatchObject({ code: 'POLICY_DENIED' });
      await expect(pack('b2.zip', { files: ['reports/link.txt'] })).rejects.toThrow(/is a symbolic link/);
      await expect(pack('c.zip', { outPath: join(outside.dir, 'out.zip') })).rejects.toThrow(/outside the allowed folders/);
      await expect(pack('d.zip', { runIds: ['../run-a'] })).rejects.toMatchObject({ code: 'BAD_REQUEST' });
      await expect(pack('e.zip', { runIds: ['run-missing'] })).rejects.toMatchObject({ code: 'NOT_FOUND' });
    } finally {
      await outside.cleanup();
    }
  });

  it('refuses to pack a receipt that does not verify', async () => {
    await expect(pack('untrusted.zip', { publicKeys: [generateSigningKey().publicKeyPem] })).rejects.toThrow(/does not verify \(UNTRUSTED_KEY\)/);
  });

  it('reports a file that is not a zip as MALFORMED', async () => {
    await writeFile(join(dir, 'not.zip'), 'hello');
    expect(await verifyDisclosure(join(dir, 'not.zip'), { publicKeys })).toMatchObject({ ok: false, code: 'MALFORMED' });
  });

  it('packs files alone (the ops/disclosure.package case) into a signed bundle that verifies', async () => {
    const packed = await pack('files-only.zip', { runIds: [] });
    expect(packed.entries.map((entry) => entry.path)).toEqual(['files/reports/summary.txt']);
    expect(packed.size).toBe((await readFile(packed.path)).length);
    expect(await verifyDisclosure(packed.path, { publicKeys })).toMatchObject({ ok: true, runs: [], files: 2 });
  });

  it('works with the empty decision log stand-in', async () => {
    const packed = await pack('empty-log.zip', { decisionLog: emptyDecisionLog, files: [] });
    expect(JSON.parse((await entries(packed.path)).get('runs/run-a/decisions.json')?.toString() ?? '')).toEqual([]);
    expect(await verifyDisclosure(packed.path, { publicKeys })).toMatchObject({ ok: true });
  });
});
