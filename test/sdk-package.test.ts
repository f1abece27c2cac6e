/**
 * The package `npm pack` makes, as a task author gets it: unpacked into an empty project, a task
 * written against `@summit/maestro/sdk` is type-checked by `tsc` against the shipped `.d.ts` and run
 * from the shipped JavaScript, with nothing of the repository's sources in reach.
 *
 * Offline: `npm install --offline <tarball>` cannot resolve the package's dependencies (npm's cache
 * holds the tarballs `npm ci` fetched, not the registry metadata a fresh install resolves ranges
 * with: ENOTCACHED). So the test unpacks the tarball where npm would put it
 * (`node_modules/@summit/maestro`) and links each dependency the packed package.json declares, and
 * only those, from the repository's node_modules: an import of anything undeclared fails as it
 * would for a user.
 */
import { execFile } from 'node:child_process';
import { mkdir, mkdtemp, readFile, readdir, realpath, rename, rm, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

const run = promisify(execFile);
const REPO = join(dirname(fileURLToPath(import.meta.url)), '..');

/** The packed package.json, as far as the test reads it. */
interface PackedManifest {
  exports: Record<string, string | Record<string, string>>;
  dependencies: Record<string, string>;
}

let dir: string;
let project: string;
let packed: PackedManifest;
let files: string[];

/** Every file below `root`, relative to it, `/`-separated. */
async function listFiles(root: string): Promise<string[]> {
  const entries = await readdir(root, { recursive: true, withFileTypes: true });
  return entries.filter((entry) => entry.isFile()).map((entry) => join(entry.parentPath, entry.name).slice(root.length + 1).split('\\').join('/'));
}

/** Links `node_modules/<name>` of the project to the repository's copy. */
async function linkDependency(name: string): Promise<void> {
  const link = join(project, 'node_modules', name);
  await mkdir(dirname(link), { recursive: true });
  await symlink(await realpath(join(REPO, 'node_modules', name)), link, 'dir');
}

const TASK = `
import { createTestContext, defineTask, TaskError, validateTaskInput, type TaskContext } from '@summit/maestro/sdk';

export const greet = defineTask<{ name: string }, { greeting: string }>({
  name: 'acme/greet',
  version: '1.0.0',
  description: 'Greets someone.',
  input: { type: 'object', properties: { name: { type: 'string', minLength: 1 } }, required: ['name'], additionalProperties: false },
  output: { type: 'object', properties: { greeting: { type: 'string' } }, required: ['greeting'] },
  async execute({ name }, ctx: TaskContext) {
    ctx.logger.info('greeting', { name });
    ctx.heartbeat({ step: 1 });
    return { greeting: \`Hello, \${name}!\` };
  },
});

// The SDK's types reach the author: a result that is not the declared output does not compile.
export const wrong = () =>
  // @ts-expect-error -- 'greting' is not in { greeting: string }
  defineTask<{ name: string }, { greeting: string }>({ name: 'acme/wrong', version: '1.0.0', description: 'Wrong.', input: { type: 'object' }, output: { type: 'object' }, execute: async () => ({ greting: 'x' }) });

const ctx = createTestContext({ runId: 'run-1' });
validateTaskInput(greet, { name: 'Ada' });
const output = await greet.execute({ name: 'Ada' }, ctx);
let refused: string | undefined;
try {
  validateTaskInput(greet, { name: '' });
} catch (error) {
  if (error instanceof TaskError) refused = \`\${error.code} retryable=\${String(error.retryable)}\`;
}
console.log(JSON.stringify({ output, logs: ctx.logs, heartbeats: ctx.heartbeats, refused }));
`;

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'maestro-sdk-package-'));
  // `prepack` compiles the SDK into lib/ first (scripts/sdk.mjs).
  await run('npm', ['pack', '--pack-destination', dir], { cwd: REPO });
  const tarballs = (await readdir(dir)).filter((name) => name.endsWith('.tgz'));
  expect(tarballs).toHaveLength(1);
  project = join(dir, 'project');
  const scope = join(project, 'node_modules', '@summit');
  await mkdir(scope, { recursive: true });
  await run('tar', ['-xzf', join(dir, tarballs[0]!), '-C', scope]);
  await rename(join(scope, 'package'), join(scope, 'maestro'));
  packed = JSON.parse(await readFile(join(scope, 'maestro', 'package.json'), 'utf8')) as PackedManifest;
  files = await listFiles(join(scope, 'maestro'));
  // The package's dependencies, and what the author's project brings itself: tsc and Node's types.
  for (const name of [...Object.keys(packed.dependencies), 'typescript', '@types/node']) await linkDependency(name);
  await writeFile(join(project, 'package.json'), JSON.stringify({ name: 'acme-tasks', private: true, type: 'module' }));
  await writeFile(
    join(project, 'tsconfig.json'),
    JSON.stringify({
      // skipLibCheck off: the shipped .d.ts are checked too.
      compilerOptions: { target: 'ES2022', module: 'NodeNext', moduleResolution: 'NodeNext', strict: true, skipLibCheck: false, outDir: 'dist', types: ['node'] },
      files: ['task.ts'],
    }),
  );
  await writeFile(join(project, 'task.ts'), TASK);
}, 240_000);

afterAll(async () => {
  if (dir) await rm(dir, { recursive: true, force: true });
});

describe('the package npm pack makes', () => {
  it('ships compiled JavaScript and .d.ts, and every file its exports name', () => {
    expect(files).toContain('lib/sdk/index.js');
    expect(files).toContain('lib/sdk/index.d.ts');
    const targets = Object.values(packed.exports).flatMap((target) => (typeof target === 'string' ? [target] : Object.values(target)));
    for (const target of targets) expect(files).toContain(target.replace(/^\.\//, ''));
    // No TypeScript sources, tests or repository folders: the tarball is the SDK.
    expect(files.filter((file) => /(?<!\.d)\.ts$/.test(file) || file.includes('.test.'))).toEqual([]);
    expect(files.filter((file) => /^(src|test|interpreters|workers|console|contracts)\//.test(file))).toEqual([]);
  });

  it('type-checks (a wrong output type included) and runs a task written against @summit/maestro/sdk', async () => {
    await run(process.execPath, [join(project, 'node_modules', 'typescript', 'bin', 'tsc'), '-p', project], { cwd: project });
    const { stdout } = await run(process.execPath, [join(project, 'dist', 'task.js')], { cwd: project });
    expect(JSON.parse(stdout)).toEqual({
      output: { greeting: 'Hello, Ada!' },
      logs: [{ level: 'info', message: 'greeting', fields: { name: 'Ada' } }],
      heartbeats: [{ step: 1 }],
      refused: 'TASK_INPUT_INVALID retryable=false',
    });
  }, 180_000);

  it('gives its maestro command a clear refusal: the CLI runs from a clone', async () => {
    const result = await run(process.execPath, [join(project, 'node_modules', '@summit', 'maestro', 'bin', 'maestro.js'), '--help'], { cwd: project }).then(
      () => ({ code: 0, stderr: '' }),
      (error: { code: number; stderr: string }) => error,
    );
    expect(result.code).toBe(2);
    expect(result.stderr).toMatch(/task SDK only \(@summit\/maestro\/sdk\)/);
  });
});
