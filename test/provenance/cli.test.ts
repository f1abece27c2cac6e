import { execFile } from 'node:child_process';
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
import { main } from '../../src/cli/main.js';
import { loadConfig } from '../../src/config/index.js';
import {
  buildSourceAttestation,
  createReceiptWriter,
  generateSigningKey,
  openProvenance,
  signStatement,
} from '../../src/provenance/index.js';
import { FsArtifactStore } from '../../src/store/index.js';
import { CODE_DIGESTS, PARAMS, compiledFixture, runFixture, tempDir } from './fixtures.js';

let dir: string;
let cleanup: () => Promise<void>;
const saved = { dataDir: process.env.MAESTRO_DATA_DIR, cwd: process.cwd() };

beforeAll(async () => {
  ({ dir, cleanup } = await tempDir('maestro-cli-'));
  process.env.MAESTRO_DATA_DIR = join(dir, 'data');
  process.chdir(dir);
  // A run's receipt, written by the configured (dev, created on first use) key.
  const config = loadConfig();
  const provenance = await openProvenance(config);
  const artifacts = new FsArtifactStore({ root: config.artifactDir });
  const ref = await artifacts.put('{"large":"output"}');
  const { ir, digest } = compiledFixture();
  const state = runFixture(digest, 'run-cli');
  const fetch = state.tasks[3];
  if (fetch) fetch.outputs = { status: 200, headers: {}, body: ref };
  const write = createReceiptWriter({ receipts: provenance.receipts, signer: provenance.signer, builderId: provenance.builderId, workerBuildId: 'w', taskCodeDigests: CODE_DIGESTS });
  await write({ runId: 'run-cli', ir, digest, params: PARAMS, state });
  await writeFile(join(dir, 'state.json'), JSON.stringify(state));
});
afterEach(() => vi.restoreAllMocks());
afterAll(async () => {
  process.chdir(saved.cwd);
  if (saved.dataDir === undefined) delete process.env.MAESTRO_DATA_DIR;
  else process.env.MAESTRO_DATA_DIR = saved.dataDir;
  await cleanup();
});

/** Runs the CLI; returns its exit code and what it printed. */
async function cli(...argv: string[]): Promise<{ code: number; out: string }> {
  const lines: string[] = [];
  vi.spyOn(console, 'log').mockImplementation((...args: unknown[]) => void lines.push(args.join(' ')));
  vi.spyOn(console, 'error').mockImplementation((...args: unknown[]) => void lines.push(args.join(' ')));
  const writes = vi.spyOn(process.stdout, 'write').mockImplementation((chunk: string | Uint8Array) => {
    lines.push(Buffer.from(chunk).toString());
    return true;
  });
  const code = await main(argv);
  writes.mockRestore();
  return { code, out: lines.join('\n') };
}

describe('maestro receipt', () => {
  it('show prints the stored receipt; verify checks it with the configured keys and the run state', async () => {
    const shown = await cli('receipt', 'show', 'run-cli');
    expect(shown.code).toBe(0);
    await writeFile(join(dir, 'receipt.json'), shown.out);
    const verified = await cli('receipt', 'verify', 'receipt.json', '--run-state', 'state.json');
    expect(verified).toMatchObject({ code: 0, out: expect.stringMatching(/^receipt\.json: verified \(key [0-9a-f]{64}; 6 subjects\)$/) });
  });

  it('exits 1 with the reason when one byte of the receipt changed', async () => {
    const bundle = JSON.parse(await readFile(join(dir, 'data', 'receipts', 'run-cli.sigstore.json'), 'utf8')) as { dsseEnvelope: { payload: string } };
    const payload = Buffer.from(bundle.dsseEnvelope.payload, 'base64');
    payload[100] = (payload[100] ?? 0) ^ 1;
    bundle.dsseEnvelope.payload = payload.toString('base64');
    await writeFile(join(dir, 'tampered.json'), JSON.stringify(bundle));
    const result = await cli('receipt', 'verify', 'tampered.json', '--json');
    expect(result.code).toBe(1);
    expect(JSON.parse(result.out)).toMatchObject({ ok: false, code: 'BAD_SIGNATURE' });
  });

  it('exits 1 naming the key when verified against another key', async () => {
    await writeFile(join(dir, 'other.pub'), generateSigningKey().publicKeyPem);
    const result = await cli('receipt', 'verify', join(dir, 'data', 'receipts', 'run-cli.sigstore.json'), '--key', 'other.pub');
    expect(result).toMatchObject({ code: 1, out: expect.stringMatching(/NOT verified \(UNTRUSTED_KEY\): signed by key [0-9a-f]{16}…/) });
  });

  it('exits 2 for a run without receipt', async () => {
    expect(await cli('receipt', 'show', 'run-nope')).toMatchObject({ code: 2, out: expect.stringContaining('run "run-nope" has no receipt') });
  });
});

describe('maestro disclosure', () => {
  it('packs runs into a bundle that verifies; a changed byte in the zip fails verification', async () => {
    await mkdir(join(dir, 'reports'), { recursive: true });
    await writeFile(join(dir, 'reports', 'note.txt'), 'findings\n');
    const packed = await cli('disclosure', 'pack', 'run-cli', '-o', 'bundle.zip', '--file', 'reports/note.txt');
    expect(packed).toMatchObject({ code: 0, out: expect.stringMatching(/bundle\.zip: 6 files, \d+ bytes, sha256:[0-9a-f]{64}$/) });
    expect(await cli('disclosure', 'verify', 'bundle.zip')).toMatchObject({ code: 0, out: 'bundle.zip: verified (6 files; runs run-cli)' });
    const zip = await readFile(join(dir, 'bundle.zip'));
    const middle = Math.floor(zip.length / 2);
    zip[middle] = (zip[middle] ?? 0) ^ 0xff;
    await writeFile(join(dir, 'bundle.zip'), zip);
    expect(await cli('disclosure', 'verify', 'bundle.zip')).toMatchObject({ code: 1, out: expect.stringMatching(/^bundle\.zip: NOT verified \(/) });
  });

  it('refuses a file outside the working folder', async () => {
    const result = await cli('disclosure', 'pack', 'run-cli', '-o', 'b2.zip', '--file', '/etc/hostname');
    expect(result).toMatchObject({ code: 1, out: expect.stringContaining('outside the allowed folders') });
  });
});

describe('release attestation', () => {
  it('attests a source tree; receipt verify --files checks every file and names a changed one', async () => {
    const tree = join(dir, 'tree');
    await mkdir(join(tree, 'src'), { recursive: true });
    await promisify(execFile)('git', ['init', '-q'], { cwd: tree });
    await writeFile(join(tree, '.gitignore'), 'ignored.txt\n');
    await writeFile(join(tree, 'ignored.txt'), 'not part of the build');
    await writeFile(join(tree, 'package.json'), '{"name":"demo","version":"1.0.0"}');
    await writeFile(
      join(tree, 'package-lock.json'),
      JSON.stringify({ lockfileVersion: 3, packages: { '': {}, 'node_modules/left-pad': { version: '1.3.0', integrity: `sha512-${Buffer.alloc(64, 1).toString('base64')}` } } }),
    );
    await writeFile(join(tree, 'src', 'index.ts'), 'export const x = 1;\n');
    const statement = await buildSourceAttestation({ root: tree });
    expect(statement.subject.map((s) => s.name)).toEqual(['.gitignore', 'package-lock.json', 'package.json', 'src/index.ts']);
    expect(statement.predicate.buildDefinition.resolvedDependencies).toContainEqual({
      name: 'left-pad@1.3.0',
      uri: 'pkg:npm/left-pad@1.3.0',
      digest: { sha512: '01'.repeat(64) },
    });
    const provenance = await openProvenance(loadConfig());
    await writeFile(join(dir, 'attestation.json'), JSON.stringify(await signStatement(statement, provenance.signer)));
    expect(await cli('receipt', 'verify', 'attestation.json', '--files', tree)).toMatchObject({ code: 0 });
    await writeFile(join(tree, 'src', 'index.ts'), 'export const x = 2;\n');
    expect(await cli('receipt', 'verify', 'attestation.json', '--files', tree)).toMatchObject({
      code: 1,
      out: expect.stringContaining('subject "src/index.ts" hashes to sha256:'),
    });
  });
});
