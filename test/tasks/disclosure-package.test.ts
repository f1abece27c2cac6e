/**
 * ops/disclosure.package: the one disclosure packer (`packDisclosure`) behind a task, with the
 * roots of its config; bundles verify with `verifyDisclosure`.
 */
import { createHash } from 'node:crypto';
import { mkdir, readFile, symlink, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import yauzl from 'yauzl';
import { loadConfig } from '../../src/config/index.js';
import { createDisclosurePackageTask, disclosurePackage, disclosureProvenance, type DisclosurePackageInput } from '../../src/tasks/index.js';
import { FsBlobStore } from '../../src/store/index.js';
import { ReceiptStore, createReceiptWriter, defaultSigningKeyFile, loadSigningKey, localBundleSigner, verifyDisclosure } from '../../src/provenance/index.js';
import { createTestContext, validateTaskInput } from '../../src/sdk/index.js';
import { FsArtifactStore } from '../../src/store/index.js';
import { CODE_DIGESTS, PARAMS, compiledFixture, runFixture, tempDir, testKey } from '../provenance/fixtures.js';
import { taskFailure } from './helpers.js';

let dir: string;
let cleanup: () => Promise<void>;
let root: string;
let outside: string;
let task: ReturnType<typeof createDisclosurePackageTask>;
const publicKeys = [testKey().publicKeyPem];

beforeAll(async () => {
  ({ dir, cleanup } = await tempDir('maestro-disclosure-task-'));
  root = join(dir, 'cases');
  outside = join(dir, 'secrets');
  await Promise.all([mkdir(join(root, '123', 'evidence'), { recursive: true }), mkdir(outside)]);
  await writeFile(join(root, '123', 'report.txt'), 'the report');
  await writeFile(join(root, '123', 'evidence', 'log.json'), '{"events":[1,2,3]}');
  await writeFile(join(outside, 'key.pem'), 'PRIVATE');
  await symlink(join(outside, 'key.pem'), join(root, '123', 'innocent.txt'));
  // A signed receipt of a finished run, naming one artifact, in the worker's stores.
  const artifacts = new FsArtifactStore({ root: join(dir, 'artifacts') });
  const receipts = new ReceiptStore(new FsBlobStore(join(dir, 'data')));
  const signer = localBundleSigner(testKey());
  const { ir, digest } = compiledFixture();
  const state = runFixture(digest, 'run-7');
  const fetch = state.tasks[3];
  if (fetch) fetch.outputs = { status: 200, headers: {}, body: await artifacts.put(JSON.stringify({ big: 'payload' })) };
  await createReceiptWriter({ receipts, signer, builderId: 'urn:test', workerBuildId: `sha256:${'0'.repeat(64)}`, taskCodeDigests: CODE_DIGESTS })({ runId: 'run-7', ir, digest, params: PARAMS, state });
  const decisions = { excerpt: (runId: string) => Promise.resolve([{ id: `d-${runId}`, allow: true }]) };
  task = createDisclosurePackageTask({ fileRoots: [root], provenance: () => Promise.resolve({ receipts, artifacts, signer, publicKeys, decisionLog: decisions }) });
});

afterAll(() => cleanup());

const run = (input: DisclosurePackageInput, t = task) => {
  validateTaskInput(t, input as unknown as Record<string, unknown>);
  return t.execute(input, createTestContext());
};

/** Entry names of a zip file. */
function entryNames(file: string): Promise<string[]> {
  return new Promise((resolve, reject) => {
    yauzl.open(file, { lazyEntries: true }, (openError, zip) => {
      if (openError || !zip) return reject(openError ?? new Error('no zip'));
      const names: string[] = [];
      zip.on('entry', (entry: yauzl.Entry) => {
        names.push(entry.fileName);
        zip.readEntry();
      });
      zip.on('end', () => resolve(names.sort()));
      zip.on('error', reject);
      zip.readEntry();
    });
  });
}

const sha = (text: string) => createHash('sha256').update(text).digest('hex');

describe('ops/disclosure.package', () => {
  it('zips the files with a signed manifest of their SHA-256 hashes that verifies', async () => {
    const output = await run({ files: ['123/report.txt', join(root, '123', 'evidence', 'log.json')], outPath: '123/bundle.zip' });
    expect(output.bundle).toBe(join(root, '123', 'bundle.zip'));
    expect(output.manifest).toEqual([
      { path: 'files/123/evidence/log.json', sha256: sha('{"events":[1,2,3]}'), size: 18 },
      { path: 'files/123/report.txt', sha256: sha('the report'), size: 10 },
    ]);
    expect(output.sha256).toBe(createHash('sha256').update(await readFile(output.bundle)).digest('hex'));
    expect(await entryNames(output.bundle)).toEqual(['files/123/evidence/log.json', 'files/123/report.txt', 'manifest.sigstore.json']);
    expect(await verifyDisclosure(output.bundle, { publicKeys })).toMatchObject({ ok: true, files: 3 });
  });

  it('signs with the settings the worker gives it, not with the environment\'s', async () => {
    // As runWorker does: the task gets its worker's settings (here a data folder the environment does not name).
    const config = loadConfig({ MAESTRO_DATA_DIR: join(dir, 'worker-data') });
    expect(process.env.MAESTRO_DATA_DIR).not.toBe(config.dataDir);
    const configured = createDisclosurePackageTask({ fileRoots: [root], provenance: () => disclosureProvenance(config) });
    const output = await run({ files: ['123/report.txt'], outPath: '123/configured.zip' }, configured);
    const workerKey = await loadSigningKey(defaultSigningKeyFile(config));
    expect(await verifyDisclosure(output.bundle, { publicKeys: [workerKey.publicKey] })).toMatchObject({ ok: true, files: 2 });
    expect(await verifyDisclosure(output.bundle, { publicKeys })).toMatchObject({ ok: false });
  });

  it('discloses a run: its receipt, approvals, decision log excerpt and artifacts', async () => {
    const output = await run({ runIds: ['run-7'], files: ['123/report.txt'], outPath: 'run-7.zip' });
    expect(output.manifest.map((entry) => entry.path)).toEqual([
      expect.stringMatching(/^artifacts\/sha256\/[0-9a-f]{64}$/),
      'files/123/report.txt',
      'runs/run-7/approvals.json',
      'runs/run-7/decisions.json',
      'runs/run-7/receipt.sigstore.json',
    ]);
    expect(await verifyDisclosure(output.bundle, { publicKeys })).toMatchObject({ ok: true, runs: ['run-7'] });
  });

  it('lists the same hashes for the same files', async () => {
    const a = await run({ files: ['123/report.txt'], outPath: 'a.zip' });
    const b = await run({ files: ['123/report.txt'], outPath: 'b.zip' });
    expect(a.manifest).toEqual(b.manifest);
  });

  it.each([
    ['a path outside the roots', () => join(outside, 'key.pem')],
    ['a relative path climbing out', () => '../secrets/key.pem'],
    ['a symlink pointing outside', () => '123/innocent.txt'],
  ])('refuses %s as POLICY_DENIED', async (_, file) => {
    const error = await taskFailure(run({ files: [file()], outPath: 'x.zip' }));
    expect(error).toMatchObject({ code: 'POLICY_DENIED', retryable: false });
  });

  it('refuses to write outside the roots', async () => {
    const error = await taskFailure(run({ files: ['123/report.txt'], outPath: join(outside, 'stolen.zip') }));
    expect(error).toMatchObject({ code: 'POLICY_DENIED' });
  });

  it('refuses files adding up to more than maxBytes', async () => {
    const error = await taskFailure(run({ files: ['123/report.txt', '123/evidence/log.json'], outPath: 'big.zip', maxBytes: 20 }));
    expect(error).toMatchObject({ code: 'TASK_INPUT_INVALID', retryable: false });
  });

  it('refuses a missing file or a run without receipt', async () => {
    await expect(taskFailure(run({ files: ['123/nope.txt'], outPath: 'x.zip' }))).resolves.toMatchObject({ code: 'TASK_INPUT_INVALID' });
    await expect(taskFailure(run({ runIds: ['run-unknown'], outPath: 'x.zip' }))).resolves.toMatchObject({ code: 'TASK_INPUT_INVALID' });
  });

  it('refuses every path when no root is configured', async () => {
    const error = await taskFailure(run({ files: [join(root, '123', 'report.txt')], outPath: join(root, 'x.zip') }, disclosurePackage));
    expect(error).toMatchObject({ code: 'CONFIG_INVALID' });
  });

  it('has a schema refusing an output that is not a .zip, or nothing to disclose', () => {
    expect(() => validateTaskInput(task, { files: ['a'], outPath: 'bundle.tar' })).toThrow('outPath: must match pattern');
    expect(() => validateTaskInput(task, { files: [], outPath: 'bundle.zip' })).toThrow(expect.objectContaining({ code: 'TASK_INPUT_INVALID' }));
    expect(() => validateTaskInput(task, { outPath: 'bundle.zip' })).toThrow(expect.objectContaining({ code: 'TASK_INPUT_INVALID' }));
  });

  it('writes nothing for an attempt cancelled before it packs', async () => {
    const ctx = createTestContext();
    const reason = new Error('run cancelled');
    ctx.abort(reason);
    await expect(task.execute({ files: ['123/report.txt'], outPath: 'cancelled.zip' }, ctx)).rejects.toBe(reason);
    await expect(readFile(join(root, 'cancelled.zip'))).rejects.toMatchObject({ code: 'ENOENT' });
  });
});
