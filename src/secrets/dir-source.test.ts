import { mkdir, mkdtemp, rm, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { dirSource } from './dir-source.js';
import { scopedSecrets } from './scoped.js';

let dir: string;
let folder: string;

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'maestro-dir-source-'));
  folder = join(dir, 'secrets');
  await mkdir(join(folder, '..data'), { recursive: true });
  await writeFile(join(dir, 'outside'), 'outside-value');
  await writeFile(join(folder, '..data', 'token'), 't0ken\n');
  await symlink(join('..data', 'token'), join(folder, 'token'));
  await symlink('../outside', join(folder, 'escape'));
  await symlink(join(dir, 'outside'), join(folder, 'absolute'));
  await writeFile(join(folder, 'huge'), 'x'.repeat(64 * 1024 + 1));
  await mkdir(join(folder, 'folder'));
});

afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

describe('dirSource', () => {
  it('reads a file (through a link inside the folder), without its trailing newline', async () => {
    await expect(dirSource(folder).read('token')).resolves.toBe('t0ken');
  });

  it('reads nothing outside the folder: ../ names, relative and absolute links out', async () => {
    const source = dirSource(folder);
    for (const name of ['../outside', 'escape', 'absolute', '..', '.', 'folder', 'missing']) {
      await expect(source.read(name)).resolves.toBeUndefined();
    }
  });

  it('through the resolver, a ../ name is refused and a link out is "not set", never its content', async () => {
    const secrets = scopedSecrets(dirSource(folder), {});
    const traversal: unknown = await secrets('../outside', { namespace: 'default' }).catch((e: unknown) => e);
    expect(traversal).toMatchObject({ code: 'TASK_INPUT_INVALID' });
    const link: unknown = await secrets('escape', { namespace: 'default' }).catch((e: unknown) => e);
    expect(link).toMatchObject({ code: 'CONFIG_INVALID', message: expect.stringContaining('not set') });
    expect(`${String(traversal)} ${String(link)}`).not.toContain('outside-value');
  });

  it('gives names that differ only in case one scope (a case-insensitive file system reads one file)', async () => {
    const secrets = scopedSecrets(dirSource(folder), { token: { namespaces: ['ops'] } });
    await expect(secrets('TOKEN', { namespace: 'default' })).rejects.toMatchObject({ code: 'SECRET_FORBIDDEN' });
    await expect(secrets('token', { namespace: 'ops' })).resolves.toBe('t0ken');
  });

  it('refuses a file larger than 64 KiB', async () => {
    await expect(dirSource(folder).read('huge')).rejects.toMatchObject({ code: 'CONFIG_INVALID' });
  });
});
