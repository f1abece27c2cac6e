import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ConfigError } from '../errors/index.js';
import { loadCatalog, loadTaskModules } from './index.js';

const SDK = new URL('../sdk/index.ts', import.meta.url).href;

const taskSource = (name: string, version = '0.1.0', exportAs = 'export default') => `
import { defineTask } from '${SDK}';
${exportAs} defineTask({
  name: '${name}', version: '${version}', description: 'a test task',
  input: { type: 'object' }, output: { type: 'object' },
  async execute() { return {}; },
});
`;

describe('loadTaskModules', () => {
  let dir: string;
  const file = async (name: string, source: string): Promise<string> => {
    const path = join(dir, name);
    await writeFile(path, source);
    return path;
  };

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'maestro-task-modules-'));
  });
  afterAll(() => rm(dir, { recursive: true, force: true }));

  it('adds every task a module exports, default or named, beside the built-in tasks', async () => {
    const paths = [await file('a.ts', taskSource('acme/one')), await file('b.ts', taskSource('acme/two', '1.0.0', 'export const two ='))];
    const catalog = await loadCatalog({ taskModules: paths });
    expect(['acme/one@0.1.0', 'acme/two@^1.0.0', 'tasks/http.request@0.1.0'].map((uses) => catalog.resolve(uses).ok)).toEqual([true, true, true]);
    expect(catalog.modules).toEqual({ 'acme/one': paths[0], 'acme/two': paths[1] });
  });

  it('refuses a module that exports no defineTask result, naming it', async () => {
    const path = await file('plain.ts', `export default { name: 'acme/plain', version: '0.1.0', execute: async () => ({}) };`);
    const error = await loadTaskModules([path]).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(ConfigError);
    expect(error).toMatchObject({ code: 'CONFIG_INVALID', message: expect.stringContaining(`task module ${path} exports no task`) });
  });

  it('refuses a module that cannot be loaded or defines an invalid task, naming it', async () => {
    const invalid = await file('invalid.ts', taskSource('Not A Name'));
    for (const path of [join(dir, 'missing.ts'), invalid]) {
      await expect(loadTaskModules([path])).rejects.toMatchObject({ code: 'CONFIG_INVALID', message: expect.stringContaining(`task module ${path} could not be loaded`) });
    }
  });

  it('refuses a task name defined in two modules', async () => {
    const paths = [await file('c.ts', taskSource('acme/three')), await file('d.ts', taskSource('acme/three', '2.0.0'))];
    await expect(loadTaskModules(paths)).rejects.toMatchObject({ code: 'CONFIG_INVALID', message: expect.stringContaining('acme/three is defined in two modules') });
  });

  it('refuses a task that redefines a name@version already in the catalog', async () => {
    const path = await file('shadow.ts', taskSource('tasks/http.request'));
    await expect(loadCatalog({ taskModules: [path] })).rejects.toMatchObject({ code: 'CONFIG_INVALID', message: expect.stringContaining('tasks/http.request@0.1.0 is defined twice') });
  });
});
