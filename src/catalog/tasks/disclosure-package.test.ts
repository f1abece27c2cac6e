import { createHash } from 'node:crypto';
import { mkdir, mkdtemp, readFile, rm, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import yauzl from 'yauzl';
import { createTestContext, TaskError, validateTaskInput } from '../../sdk/index.js';
import { createDisclosurePackageTask, disclosurePackage, type DisclosurePackageInput } from './disclosure-package.js';

let dir: string;
let root: string;
let outside: string;
let task: ReturnType<typeof createDisclosurePackageTask>;

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'maestro-disclosure-'));
  root = join(dir, 'cases');
  outside = join(dir, 'secrets');
  await Promise.all([mkdir(join(root, '123', 'evidence'), { recursive: true }), mkdir(outside)]);
  await writeFile(join(root, '123', 'report.txt'), 'the report');
  await writeFile(join(root, '123', 'evidence', 'log.json'), '{"events":[1,2,3]}');
  await writeFile(join(outside, 'key.pem'), 'PRIVATE');
  await symlink(join(outside, 'key.pem'), join(root, '123', 'innocent.txt'));
  task = createDisclosurePackageTask({ fileRoots: [root] });
});

afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

const run = (input: DisclosurePackageInput, t = task) => {
  validateTaskInput(t, input as unknown as Record<string, unknown>);
  return t.execute(input, createTestContext());
};

async function failure(promise: Promise<unknown>): Promise<TaskError> {
  const error: unknown = await promise.then(() => new Error('succeeded'), (e: unknown) => e);
  if (error instanceof TaskError) return error;
  throw error;
}

/** Entry name → content of a zip file. */
function unzip(file: string): Promise<Map<string, string>> {
  return new Promise((resolve, reject) => {
    yauzl.open(file, { lazyEntries: true }, (openError, zip) => {
      if (openError || !zip) return reject(openError ?? new Error('no zip'));
      const entries = new Map<string, string>();
      zip.on('entry', (entry: yauzl.Entry) =>
        zip.openReadStream(entry, (readError, stream) => {
          if (readError || !stream) return reject(readError ?? new Error('no stream'));
          const chunks: Buffer[] = [];
          stream.on('data', (chunk: Buffer) => chunks.push(chunk));
          stream.on('end', () => {
            entries.set(entry.fileName, Buffer.concat(chunks).toString('utf8'));
            zip.readEntry();
          });
        }),
      );
      zip.on('end', () => resolve(entries));
      zip.on('error', reject);
      zip.readEntry();
    });
  });
}

const sha = (text: string) => createHash('sha256').update(text).digest('hex');

describe('ops/disclosure.package', () => {
  it('zips the files with a manifest of their SHA-256 hashes', async () => {
    const output = await run({ files: ['123/report.txt', join(root, '123', 'evidence', 'log.json')], outPath: '123/bundle.zip' });
    expect(output.bundle).toBe(join(root, '123', 'bundle.zip'));
    expect(output.manifest).toEqual([
      { path: 'files/123/evidence/log.json', sha256: sha('{"events":[1,2,3]}'), size: 18 },
      { path: 'files/123/report.txt', sha256: sha('the report'), size: 10 },
    ]);
    expect(output.sha256).toBe(createHash('sha256').update(await readFile(output.bundle)).digest('hex'));
    const entries = await unzip(output.bundle);
    expect(entries.get('files/123/report.txt')).toBe('the report');
    expect(JSON.parse(entries.get('manifest.json') ?? '{}')).toEqual({ version: 1, files: output.manifest });
  });

  it('gives the same bytes for the same files', async () => {
    const a = await run({ files: ['123/report.txt'], outPath: 'a.zip' });
    const b = await run({ files: ['123/report.txt'], outPath: 'b.zip' });
    expect(a.sha256).toBe(b.sha256);
  });

  it.each([
    ['a path outside the roots', () => join(outside, 'key.pem')],
    ['a relative path climbing out', () => '../secrets/key.pem'],
    ['a symlink pointing outside', () => '123/innocent.txt'],
  ])('refuses %s as POLICY_DENIED', async (_, file) => {
    const error = await failure(run({ files: [file()], outPath: 'x.zip' }));
    expect(error).toMatchObject({ code: 'POLICY_DENIED', retryable: false });
  });

  it('refuses to write outside the roots', async () => {
    const error = await failure(run({ files: ['123/report.txt'], outPath: join(outside, 'stolen.zip') }));
    expect(error).toMatchObject({ code: 'POLICY_DENIED' });
  });

  it('refuses files adding up to more than maxBytes', async () => {
    const error = await failure(run({ files: ['123/report.txt', '123/evidence/log.json'], outPath: 'big.zip', maxBytes: 20 }));
    expect(error).toMatchObject({ code: 'TASK_INPUT_INVALID', retryable: false });
  });

  it('refuses a missing file', async () => {
    await expect(failure(run({ files: ['123/nope.txt'], outPath: 'x.zip' }))).resolves.toMatchObject({ code: 'TASK_INPUT_INVALID' });
  });

  it('refuses every path when no root is configured', async () => {
    const error = await failure(run({ files: [join(root, '123', 'report.txt')], outPath: join(root, 'x.zip') }, disclosurePackage));
    expect(error).toMatchObject({ code: 'CONFIG_INVALID' });
  });

  it('has a schema refusing an output that is not a .zip', () => {
    expect(() => validateTaskInput(task, { files: ['a'], outPath: 'bundle.tar' })).toThrow('outPath: must match pattern');
  });
});
