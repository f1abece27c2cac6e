import { mkdir, mkdtemp, rm, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { MAX_MANIFEST_BYTES } from '../manifest/index.js';
import { builtinCatalog } from '../tasks/index.js';
import { MAX_APPLY_FILES, manifestFiles, readDocuments } from './apply.js';

let dir: string;

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'maestro-apply-files-'));
});
afterAll(() => rm(dir, { recursive: true, force: true }));

async function tree(root: string, files: Record<string, string>): Promise<string> {
  const base = join(dir, root);
  for (const [name, content] of Object.entries(files)) {
    await mkdir(join(base, name, '..'), { recursive: true });
    await writeFile(join(base, name), content);
  }
  return base;
}

describe('manifestFiles', () => {
  it("reads a directory's *.yaml and *.yml at any depth, sorted, skipping hidden entries and other files", async () => {
    const base = await tree('walk', { 'b.yml': '', 'a.yaml': '', 'notes.md': '', 'sub/c.YAML': '', '.git/config.yaml': '', '.hidden.yaml': '' });
    expect(await manifestFiles([base])).toEqual([join(base, 'a.yaml'), join(base, 'b.yml'), join(base, 'sub', 'c.YAML')]);
  });

  it('takes a named file whatever its extension, and each file once', async () => {
    const base = await tree('named', { 'm.json': '', 'a.yaml': '' });
    expect(await manifestFiles([join(base, 'm.json'), base, join(base, 'a.yaml')])).toEqual([join(base, 'm.json'), join(base, 'a.yaml')]);
  });

  it('follows symbolic links without looping', async () => {
    const base = await tree('links', { 'sub/a.yaml': '' });
    await symlink(base, join(base, 'sub', 'loop'));
    await symlink(join(base, 'sub', 'a.yaml'), join(base, 'link.yaml'));
    expect(await manifestFiles([base])).toEqual([join(base, 'link.yaml')]);
  });

  it(`refuses more than ${MAX_APPLY_FILES} files`, async () => {
    const base = await tree('many', Object.fromEntries(Array.from({ length: MAX_APPLY_FILES + 1 }, (_, i) => [`f${i}.yaml`, ''])));
    await expect(manifestFiles([base])).rejects.toMatchObject({ code: 'PAYLOAD_TOO_LARGE' });
  });
});

describe('readDocuments', () => {
  it(`refuses a file over ${MAX_MANIFEST_BYTES} bytes before reading it`, async () => {
    const base = await tree('large', { 'big.yaml': `# ${'x'.repeat(MAX_MANIFEST_BYTES)}\n` });
    await expect(readDocuments([join(base, 'big.yaml')], builtinCatalog)).rejects.toMatchObject({ code: 'PAYLOAD_TOO_LARGE', message: expect.stringContaining('big.yaml') });
  });

  it('reports the invalid documents of every file together', async () => {
    const base = await tree('invalid', { 'a.yaml': 'kind: Nope\n', 'b.yaml': 'a: 1\n---\nkind: Workflow\n' });
    const error = await readDocuments([join(base, 'a.yaml'), join(base, 'b.yaml')], builtinCatalog).catch((caught: unknown) => caught);
    expect((error as { issues: { file: string; line: number }[] }).issues.map((i) => `${i.file.slice(base.length + 1)}:${i.line}`)).toEqual(expect.arrayContaining(['a.yaml:1', 'b.yaml:1', 'b.yaml:3']));
  });
});
