import { createHash } from 'node:crypto';
import { createWriteStream } from 'node:fs';
import { readFile, rename, rm, stat } from 'node:fs/promises';
import { basename } from 'node:path';
import { pipeline } from 'node:stream/promises';
import yazl from 'yazl';
import { defineTask, TaskError } from '../../sdk/index.js';
import { realRoots, rootedFile, rootedOutput } from './disclosure/roots.js';
import { invalidInput } from './shared/failures.js';

/** Options of {@link createDisclosurePackageTask}. */
export interface FileTaskOptions {
  /**
   * Folders the task may read from and write to (config `fileRoots`, `MAESTRO_FILE_ROOTS`).
   * @default [] — every path is refused
   */
  fileRoots?: readonly string[];
}

/** Input of `ops/disclosure.package`. */
export interface DisclosurePackageInput {
  /** Files to package; relative paths are relative to the first allowed root. */
  files: string[];
  /** Where the zip goes (inside an allowed root); replaced if it exists. */
  outPath: string;
  /** @default 104857600 (100 MiB) */
  maxBytes?: number;
}

/** One packaged file. */
export interface DisclosureEntry {
  /** Name in the zip: `files/<path relative to its root>`. */
  path: string;
  sha256: string;
  size: number;
}

/** Output of `ops/disclosure.package`. */
export interface DisclosurePackageOutput {
  bundle: string;
  /** Hex SHA-256 of the zip. */
  sha256: string;
  size: number;
  manifest: DisclosureEntry[];
}

const DEFAULT_MAX_BYTES = 100 * 1024 * 1024;
/** Every entry gets this time, so the same files always give the same zip, byte for byte. */
const FIXED_MTIME = new Date('1980-01-01T00:00:00Z');

/**
 * `ops/disclosure.package`: packages files into a zip with a `manifest.json` listing each file's
 * SHA-256 and size. Only files whose real path (symlinks resolved) lies inside an allowed root are
 * read, and the zip is only written inside one (`POLICY_DENIED` otherwise); the total size is
 * bounded by `maxBytes`. The zip is deterministic (fixed entry times, sorted entries) and written
 * atomically (temp file, then rename), so a retry replaces it with the same bytes.
 *
 * @example
 * - id: package
 *   uses: ops/disclosure.package@0.1.0
 *   with: { files: [cases/123/report.pdf, cases/123/evidence.json], outPath: bundles/case-123.zip }
 */
export function createDisclosurePackageTask({ fileRoots = [] }: FileTaskOptions = {}) {
  return defineTask<DisclosurePackageInput, DisclosurePackageOutput>({
    name: 'ops/disclosure.package',
    version: '0.1.0',
    description: 'Zips files from allowed folders with a manifest of SHA-256 hashes; size-bounded and deterministic.',
    execution: 'activity',
    input: {
      type: 'object',
      properties: {
        files: { type: 'array', minItems: 1, maxItems: 1000, uniqueItems: true, items: { type: 'string', minLength: 1 }, description: 'Files to package.' },
        outPath: { type: 'string', pattern: '\\.zip$', description: 'Where the zip goes, inside an allowed folder.' },
        maxBytes: { type: 'integer', minimum: 1, maximum: 2 ** 31 - 1, default: DEFAULT_MAX_BYTES, description: 'Most bytes of files packaged, in total.' },
      },
      required: ['files', 'outPath'],
      additionalProperties: false,
    },
    output: {
      type: 'object',
      properties: {
        bundle: { type: 'string', description: 'Absolute path of the zip.' },
        sha256: { type: 'string', pattern: '^[0-9a-f]{64}$' },
        size: { type: 'integer', minimum: 0 },
        manifest: {
          type: 'array',
          items: {
            type: 'object',
            properties: { path: { type: 'string' }, sha256: { type: 'string', pattern: '^[0-9a-f]{64}$' }, size: { type: 'integer', minimum: 0 } },
            required: ['path', 'sha256', 'size'],
            additionalProperties: false,
          },
        },
      },
      required: ['bundle', 'sha256', 'size', 'manifest'],
      additionalProperties: false,
    },
    async execute({ files, outPath, maxBytes = DEFAULT_MAX_BYTES }, ctx) {
      const roots = await realRoots(fileRoots);
      if (roots.length === 0) {
        throw new TaskError('ops/disclosure.package has no folder it may use: set MAESTRO_FILE_ROOTS', { code: 'CONFIG_INVALID', retryable: false });
      }
      const sources = await Promise.all(files.map((file) => rootedFile(file, roots)));
      const out = await rootedOutput(outPath, roots);
      const sizes = await Promise.all(sources.map(async ({ real }) => (await stat(real)).size));
      const total = sizes.reduce((sum, size) => sum + size, 0);
      if (total > maxBytes) throw invalidInput('files', `add up to ${total} bytes, more than maxBytes (${maxBytes})`);
      const names = new Set<string>();
      const manifest: DisclosureEntry[] = [];
      const zip = new yazl.ZipFile();
      for (const source of [...sources].sort((a, b) => a.name.localeCompare(b.name))) {
        ctx.signal.throwIfAborted();
        const path = `files/${source.name}`;
        if (names.has(path)) throw invalidInput('files', `two files would both be ${path} in the zip`);
        names.add(path);
        const bytes = await readFile(source.real, { signal: ctx.signal });
        manifest.push({ path, sha256: createHash('sha256').update(bytes).digest('hex'), size: bytes.byteLength });
        zip.addBuffer(bytes, path, { mtime: FIXED_MTIME, mode: 0o100644 });
      }
      zip.addBuffer(Buffer.from(`${JSON.stringify({ version: 1, files: manifest }, null, 2)}\n`), 'manifest.json', { mtime: FIXED_MTIME, mode: 0o100644 });
      zip.end();
      const temp = `${out}.${ctx.runId.replace(/[^A-Za-z0-9-]/g, '')}.${ctx.attempt}.partial`;
      const hash = createHash('sha256');
      let size = 0;
      zip.outputStream.on('data', (chunk: Buffer) => {
        hash.update(chunk);
        size += chunk.byteLength;
      });
      try {
        await pipeline(zip.outputStream, createWriteStream(temp), { signal: ctx.signal });
        await rename(temp, out);
      } catch (error) {
        await rm(temp, { force: true });
        throw ctx.signal.aborted ? ctx.signal.reason : error;
      }
      const sha256 = hash.digest('hex');
      ctx.logger.info('disclosure bundle written', { bundle: basename(out), files: manifest.length, size });
      ctx.emit({ type: 'artifact', path: out, sha256 });
      return { bundle: out, sha256, size, manifest };
    },
  });
}

/** `ops/disclosure.package` with no allowed folder: configure `fileRoots` to use it. */
export const disclosurePackage = createDisclosurePackageTask();
