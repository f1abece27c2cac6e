/**
 * Task code digests: a stable sha256 of the code a catalog task runs, for cache keys and receipts.
 *
 * A task's code is its module file plus every local module it imports, transitively (relative
 * `import`/`export … from`/`import()` specifiers; type-only imports are left out because they do
 * not run), and the name and version of every package it imports. Paths are recorded relative to
 * the package root, so the digest is the same on every machine with the same sources and
 * lockfile. The definition itself (name, version, execution, schemas) is hashed in too.
 */
import { existsSync, readFileSync, statSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { builtinModules } from 'node:module';
import { dirname, join, relative, resolve, sep } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Catalog } from '../catalog/index.js';
import { ConfigError } from '../errors/index.js';
import { isBuiltinTask, type TaskDefinition } from '../sdk/index.js';
import { digestOf, sha256Hex } from '../canonical/index.js';

/** Options of {@link CodeDigester}. */
export interface CodeDigesterOptions {
  /**
   * Paths in the digest are relative to this folder.
   * @default the nearest folder above the first module hashed that holds a package.json
   */
  root?: string;
}

const BUILTINS = new Set(builtinModules);
const SPECIFIERS = /\b(import|export)\s+(type\s+)?(?:[\w*{}\s,$]*?\s*from\s*)?['"]([^'"\n]+)['"]|\bimport\s*\(\s*['"]([^'"\n]+)['"]\s*\)/g;

/** Computes module digests, hashing each file once. */
export class CodeDigester {
  private root: string | undefined;
  private readonly files = new Map<string, Promise<{ sha256: string; imports: string[] }>>();
  private readonly packages = new Map<string, string>();

  constructor(options: CodeDigesterOptions = {}) {
    this.root = options.root === undefined ? undefined : resolve(options.root);
  }

  /**
   * `sha256:<hex>` of a module and its local imports (transitively) and the versions of the
   * packages they import.
   *
   * @throws ConfigError when the module or one of its local imports does not exist.
   */
  async moduleDigest(file: string | URL): Promise<string> {
    const entry = typeof file === 'string' ? resolve(file) : fileURLToPath(file);
    const root = (this.root ??= packageRoot(entry));
    const seen = new Map<string, string>();
    const packages = new Map<string, string>();
    const queue = [entry];
    while (queue.length > 0) {
      const path = queue.pop() as string;
      if (seen.has(path)) continue;
      const { sha256, imports } = await this.file(path);
      seen.set(path, sha256);
      for (const specifier of imports) {
        if (specifier.startsWith('.')) queue.push(resolveLocal(path, specifier));
        else if (!specifier.startsWith('node:') && !BUILTINS.has(specifier)) {
          const name = packageName(specifier);
          packages.set(name, this.packageVersion(name, path));
        }
      }
    }
    return digestOf({
      files: [...seen].map(([path, sha256]) => ({ path: relative(root, path).split(sep).join('/'), sha256 })).sort((a, b) => (a.path < b.path ? -1 : 1)),
      packages: Object.fromEntries([...packages].sort(([a], [b]) => (a < b ? -1 : 1))),
    });
  }

  private file(path: string): Promise<{ sha256: string; imports: string[] }> {
    let result = this.files.get(path);
    if (!result) {
      result = readFile(path, 'utf8').then(
        (source) => ({ sha256: sha256Hex(source), imports: runtimeImports(source) }),
        (error: unknown) => {
          throw new ConfigError(`task code ${path} cannot be read`, { cause: error });
        },
      );
      this.files.set(path, result);
    }
    return result;
  }

  private packageVersion(name: string, from: string): string {
    const cached = this.packages.get(name);
    if (cached !== undefined) return cached;
    let version = 'unresolved';
    for (let dir = dirname(from); ; dir = dirname(dir)) {
      const manifest = join(dir, 'node_modules', name, 'package.json');
      if (existsSync(manifest)) {
        // Synchronous on purpose: once per package per process, and it keeps the traversal simple.
        version = (JSON.parse(readFileSync(manifest, 'utf8')) as { version?: string }).version ?? 'unversioned';
        break;
      }
      if (dirname(dir) === dir) break;
    }
    this.packages.set(name, version);
    return version;
  }
}

/** Options of {@link catalogCodeDigests}. */
export interface CatalogCodeDigestOptions {
  /**
   * Folder of the task modules, each found by the convention `group/name.part` →
   * `<tasksDir>/name-part.ts` (`tasks/transform.map` → `transform-map.ts`).
   * @default Maestro's `src/tasks`
   */
  tasksDir?: string;
  /** Module files by task name, for tasks outside the convention. @default {} */
  modules?: Readonly<Record<string, string | URL>>;
  /** @default a new CodeDigester */
  digester?: CodeDigester;
}

/**
 * The code digest of every task in a catalog, by exact `uses` (`name@version`): what the worker
 * computes once at start-up and passes to the task cache and the receipt writer.
 *
 * @throws ConfigError when a task's module cannot be found: every executable task must have one.
 */
export async function catalogCodeDigests(catalog: Catalog, options: CatalogCodeDigestOptions = {}): Promise<Record<string, string>> {
  const { tasksDir = fileURLToPath(new URL('../tasks/', import.meta.url)), modules = {}, digester = new CodeDigester() } = options;
  const entries = await Promise.all(
    catalog.list().map(async (definition) => {
      const module = modules[definition.name] ?? conventionalModule(tasksDir, definition.name);
      return [`${definition.name}@${definition.version}`, await taskCodeDigest(definition, module, digester)] as const;
    }),
  );
  return Object.fromEntries(entries);
}

/**
 * `sha256:<hex>` of a task: its definition (name, version, execution, determinism, schemas) and
 * its module's code digest. A built-in timer or approval task without a module is its definition.
 *
 * @throws ConfigError when an executable task has no module file.
 */
export async function taskCodeDigest(definition: TaskDefinition, module: string | URL | undefined, digester = new CodeDigester()): Promise<string> {
  const builtin = isBuiltinTask(definition);
  const path = module === undefined ? undefined : typeof module === 'string' ? module : fileURLToPath(module);
  const hasModule = path !== undefined && isFile(path);
  if (!hasModule && !builtin) {
    throw new ConfigError(`no module file for task ${definition.name}@${definition.version}${path ? ` (looked for ${path})` : ''}`);
  }
  return digestOf({
    definition: {
      name: definition.name,
      version: definition.version,
      execution: definition.execution ?? 'activity',
      deterministic: definition.deterministic ?? false,
      input: definition.input,
      output: definition.output,
    },
    code: hasModule ? await digester.moduleDigest(path) : null,
  });
}

function conventionalModule(tasksDir: string, name: string): string {
  const base = (name.split('/')[1] ?? name).replace(/\./g, '-');
  return join(tasksDir, `${base}.ts`);
}

/** Specifiers of the imports that run: type-only imports and exports are left out. */
function runtimeImports(source: string): string[] {
  const specifiers: string[] = [];
  for (const match of source.matchAll(SPECIFIERS)) {
    const dynamic = match[4];
    if (dynamic !== undefined) specifiers.push(dynamic);
    else if (match[2] === undefined && match[3] !== undefined) specifiers.push(match[3]);
  }
  return specifiers;
}

/** `./x.js` as TypeScript sources name it: the `.ts` file when the `.js` one does not exist. */
function resolveLocal(from: string, specifier: string): string {
  const base = resolve(dirname(from), specifier);
  const candidates = [base, base.replace(/\.js$/, '.ts'), base.replace(/\.mjs$/, '.mts'), `${base}.ts`, join(base, 'index.ts')];
  const found = candidates.find(isFile);
  if (!found) throw new ConfigError(`${from} imports "${specifier}", which does not exist`);
  return found;
}

function packageName(specifier: string): string {
  const parts = specifier.split('/');
  return specifier.startsWith('@') ? parts.slice(0, 2).join('/') : (parts[0] ?? specifier);
}

function packageRoot(file: string): string {
  for (let dir = dirname(file); ; dir = dirname(dir)) {
    if (existsSync(join(dir, 'package.json'))) return dir;
    if (dirname(dir) === dir) return dirname(file);
  }
}

function isFile(path: string): boolean {
  return statSync(path, { throwIfNoEntry: false })?.isFile() ?? false;
}
