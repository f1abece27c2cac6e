/**
 * Reads an OPA bundle (`opa build` output: a gzipped tar) without unpacking it to disk.
 */
import { readFile } from 'node:fs/promises';
import { gunzipSync } from 'node:zlib';
import { ConfigError } from '../errors/index.js';

/** What the embedded PDP needs from a `opa build -t wasm` bundle. */
export interface WasmBundle {
  /** The compiled policy (`/policy.wasm`). */
  wasm: Uint8Array;
  /** The bundle's data document (`/data.json`), `{}` when it has none. */
  data: Record<string, unknown>;
  /** `.manifest`'s revision, `''` when it has none. */
  revision: string;
  /** Entrypoints the manifest lists for the module. */
  entrypoints: string[];
}

/** Regular files of a tar archive, by path without a leading `/` or `./`. */
function untar(archive: Uint8Array): Map<string, Uint8Array> {
  const files = new Map<string, Uint8Array>();
  const text = (start: number, length: number): string => {
    const field = archive.subarray(start, start + length);
    const end = field.indexOf(0);
    return new TextDecoder().decode(end < 0 ? field : field.subarray(0, end));
  };
  let paxPath: string | undefined;
  let offset = 0;
  while (offset + 512 <= archive.length) {
    if (archive.subarray(offset, offset + 512).every((byte) => byte === 0)) break;
    const size = Number.parseInt(text(offset + 124, 12).trim() || '0', 8);
    const type = String.fromCharCode(archive[offset + 156] ?? 0);
    const prefix = text(offset + 257, 6).startsWith('ustar') ? text(offset + 345, 155) : '';
    const name = paxPath ?? (prefix ? `${prefix}/${text(offset, 100)}` : text(offset, 100));
    const body = archive.subarray(offset + 512, offset + 512 + size);
    paxPath = undefined;
    if (type === 'x') {
      // A PAX extended header: `<len> path=<value>\n` records; only the path matters here.
      paxPath = /(?:^|\n)\d+ path=([^\n]*)\n/.exec(new TextDecoder().decode(body))?.[1];
    } else if (type === '0' || type === '\0') {
      files.set(name.replace(/^\.?\//, ''), body);
    }
    offset += 512 + Math.ceil(size / 512) * 512;
  }
  return files;
}

/**
 * Loads a wasm bundle built by `opa build -t wasm` (see scripts/opa.mjs).
 *
 * @throws {ConfigError} `TOOL_MISSING` when the file is missing (with the command that builds it),
 * `CONFIG_INVALID` when it is not a wasm bundle.
 */
export async function readWasmBundle(path: string): Promise<WasmBundle> {
  let gzipped: Buffer;
  try {
    gzipped = await readFile(path);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'ENOENT') throw error;
    throw new ConfigError(`policy bundle ${path} does not exist: build it with \`npm run policy -- build\` (installs OPA and compiles policies/)`, {
      code: 'TOOL_MISSING',
      cause: error,
    });
  }
  let files: Map<string, Uint8Array>;
  try {
    files = untar(gunzipSync(gzipped));
  } catch (error) {
    throw new ConfigError(`policy bundle ${path} is not a gzipped tar (opa build output): ${(error as Error).message}`, { cause: error });
  }
  const wasm = files.get('policy.wasm');
  if (!wasm) throw new ConfigError(`policy bundle ${path} has no policy.wasm: build it with \`opa build -t wasm\``);
  const json = (name: string): Record<string, unknown> => {
    const bytes = files.get(name);
    if (!bytes) return {};
    const value = JSON.parse(new TextDecoder().decode(bytes)) as unknown;
    if (value === null || typeof value !== 'object' || Array.isArray(value)) throw new ConfigError(`policy bundle ${path}: ${name} is not a JSON object`);
    return value as Record<string, unknown>;
  };
  const manifest = json('.manifest');
  const modules = Array.isArray(manifest.wasm) ? (manifest.wasm as { entrypoint?: unknown }[]) : [];
  return {
    wasm,
    data: json('data.json'),
    revision: typeof manifest.revision === 'string' ? manifest.revision : '',
    entrypoints: modules.map((module) => module.entrypoint).filter((entrypoint): entrypoint is string => typeof entrypoint === 'string'),
  };
}
