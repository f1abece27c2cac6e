import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { tempDir } from '../../test/provenance/fixtures.js';
import { CodeDigester } from './code-digest.js';

let dir: string;
let cleanup: () => Promise<void>;

beforeEach(async () => {
  ({ dir, cleanup } = await tempDir());
  await writeFile(join(dir, 'package.json'), '{"name":"pkg"}');
  await mkdir(join(dir, 'tasks', 'lib'), { recursive: true });
  await mkdir(join(dir, 'node_modules', 'left-pad'), { recursive: true });
  await writeFile(join(dir, 'node_modules', 'left-pad', 'package.json'), '{"name":"left-pad","version":"1.3.0"}');
  await writeFile(join(dir, 'tasks', 'lib', 'helper.ts'), 'export const twice = (n: number) => n * 2;\n');
  await writeFile(join(dir, 'tasks', 'lib', 'types.ts'), 'export type N = number;\n');
  await writeFile(
    join(dir, 'tasks', 'task.ts'),
    [
      "import { twice } from './lib/helper.js';",
      "import type { N } from './lib/types.js';",
      "import { createHash } from 'node:crypto';",
      "import leftPad from 'left-pad';",
      'export const run = (n: N) => leftPad(String(twice(n)), 3) + createHash;',
    ].join('\n'),
  );
});
afterEach(() => cleanup());

const digest = (root = dir) => new CodeDigester({ root }).moduleDigest(join(root, 'tasks', 'task.ts'));

describe('CodeDigester', () => {
  it('is stable: the same sources give the same digest, wherever the tree lives', async () => {
    const first = await digest();
    expect(first).toMatch(/^sha256:[0-9a-f]{64}$/);
    expect(await digest()).toBe(first);
    const copy = await tempDir();
    try {
      const { cp } = await import('node:fs/promises');
      await cp(dir, copy.dir, { recursive: true });
      expect(await digest(copy.dir)).toBe(first);
    } finally {
      await copy.cleanup();
    }
  });

  it('changes when the module or a local module it imports changes', async () => {
    const before = await digest();
    await writeFile(join(dir, 'tasks', 'lib', 'helper.ts'), 'export const twice = (n: number) => n * 3;\n');
    const afterHelper = await digest();
    expect(afterHelper).not.toBe(before);
    await writeFile(join(dir, 'tasks', 'task.ts'), "import { twice } from './lib/helper.js';\nexport const run = twice;\n");
    expect(await digest()).not.toBe(afterHelper);
  });

  it('changes with the version of an imported package, not with type-only imports', async () => {
    const before = await digest();
    await writeFile(join(dir, 'tasks', 'lib', 'types.ts'), 'export type N = number; // edited\n');
    expect(await digest()).toBe(before);
    await writeFile(join(dir, 'node_modules', 'left-pad', 'package.json'), '{"name":"left-pad","version":"1.3.1"}');
    expect(await digest()).not.toBe(before);
  });

  it('fails clearly when a local import does not exist', async () => {
    await writeFile(join(dir, 'tasks', 'task.ts'), "import { gone } from './gone.js';\nexport const run = gone;\n");
    await expect(digest()).rejects.toThrow(/imports "\.\/gone\.js", which does not exist/);
  });
});
