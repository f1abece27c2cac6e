import { createHash, randomUUID } from 'node:crypto';
import { mkdir, open, readFile, rename, rm, stat } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { MaestroError, NotFoundError } from '../errors/index.js';
import type { ArtifactRef } from '../ir/index.js';

/**
 * Content-addressed storage for data too large for workflow history: outputs are kept here and
 * history holds an {@link ArtifactRef} to them.
 */
export interface ArtifactStore {
  /** Stores the bytes (a string is stored as UTF-8) and returns their reference. Storing the same content twice is a no-op. */
  put(data: Uint8Array | string): Promise<ArtifactRef>;
  /**
   * The bytes a reference names, checked against its sha256.
   * @throws NotFoundError (`NOT_FOUND`) when the artifact is absent; MaestroError `INTERNAL` when
   * the stored bytes do not match the reference; MaestroError `BAD_REQUEST` for a malformed reference.
   */
  get(ref: ArtifactRef): Promise<Uint8Array>;
}

/** Options of {@link FsArtifactStore}. */
export interface FsArtifactStoreOptions {
  /**
   * Directory holding the artifacts, created on first write; relative paths resolve against the
   * working directory.
   * @default '.maestro/artifacts'
   */
  root?: string;
}

const URI_PREFIX = 'artifact://sha256/';
const SHA256_HEX = /^[0-9a-f]{64}$/;

/**
 * An {@link ArtifactStore} on the local filesystem: the artifact with sha256 `h` lives at
 * `<root>/sha256/<h[0..2]>/<h>`, written to a temporary file, flushed and renamed into place so a
 * reader never sees a partial artifact.
 */
export class FsArtifactStore implements ArtifactStore {
  private readonly root: string;

  /** Creates a store over `options.root`; nothing touches the disk until the first `put`. */
  constructor(options: FsArtifactStoreOptions = {}) {
    const { root = '.maestro/artifacts' } = options;
    this.root = root;
  }

  /** {@inheritDoc ArtifactStore.put} */
  async put(data: Uint8Array | string): Promise<ArtifactRef> {
    const bytes = typeof data === 'string' ? Buffer.from(data, 'utf8') : data;
    const sha256 = sha256Hex(bytes);
    const path = this.pathOf(sha256);
    // Content addressing makes an existing file of the right size this very artifact already.
    if ((await sizeOf(path)) !== bytes.byteLength) await writeAtomically(path, bytes);
    return { $artifact: { uri: `${URI_PREFIX}${sha256}`, sha256, size: bytes.byteLength } };
  }

  /** {@inheritDoc ArtifactStore.get} */
  async get(ref: ArtifactRef): Promise<Uint8Array> {
    const { uri, sha256, size } = ref.$artifact;
    if (!SHA256_HEX.test(sha256) || uri !== `${URI_PREFIX}${sha256}`) {
      throw new MaestroError('BAD_REQUEST', `"${uri}" is not an artifact reference of the form ${URI_PREFIX}<sha256>`);
    }
    let bytes: Buffer;
    try {
      bytes = await readFile(this.pathOf(sha256));
    } catch (error) {
      if (errorCode(error) === 'ENOENT') throw new NotFoundError(`artifact ${uri} does not exist`, { cause: error });
      throw error;
    }
    const actual = sha256Hex(bytes);
    if (actual !== sha256 || bytes.byteLength !== size) {
      throw new MaestroError('INTERNAL', `artifact ${uri} is corrupted: its content hashes to ${actual}`, {
        details: { uri, expectedSize: size, actualSize: bytes.byteLength, actualSha256: actual },
      });
    }
    return bytes;
  }

  private pathOf(sha256: string): string {
    return join(this.root, 'sha256', sha256.slice(0, 2), sha256);
  }
}

/** Whether a value is an {@link ArtifactRef}: an object whose only key is a well-formed `$artifact`. */
export function isArtifactRef(value: unknown): value is ArtifactRef {
  if (!isPlainObject(value) || Object.keys(value).length !== 1) return false;
  const artifact = value['$artifact'];
  return (
    isPlainObject(artifact) &&
    typeof artifact['uri'] === 'string' &&
    typeof artifact['sha256'] === 'string' &&
    typeof artifact['size'] === 'number'
  );
}

/**
 * Keeps outputs small enough for workflow history. When their JSON exceeds `limitBytes`, the largest
 * top-level fields, largest first, are stored as JSON and replaced by {@link ArtifactRef}s until the
 * rest fits; a value that is not a plain object, or whose fields cannot be made to fit, is stored
 * whole. Outputs within the limit are returned unchanged.
 *
 * @param limitBytes largest UTF-8 JSON size kept inline; default 256 KiB.
 */
export async function offloadLargeFields(outputs: unknown, store: ArtifactStore, limitBytes = 256 * 1024): Promise<unknown> {
  const json = JSON.stringify(outputs);
  if (json === undefined || Buffer.byteLength(json) <= limitBytes) return outputs;
  const fields = isPlainObject(outputs) ? planOffload(outputs, Buffer.byteLength(json), limitBytes) : undefined;
  if (!isPlainObject(outputs) || !fields) return store.put(json);
  const result: Record<string, unknown> = { ...outputs };
  for (const { key, json: fieldJson } of fields) result[key] = await store.put(fieldJson);
  return result;
}

/**
 * Replaces every {@link ArtifactRef} inside a value, at any depth, by the JSON it refers to. Values
 * read from the store are returned as stored, without resolving references inside them.
 */
export async function resolveArtifactRefs(value: unknown, store: ArtifactStore): Promise<unknown> {
  if (isArtifactRef(value)) return JSON.parse(new TextDecoder().decode(await store.get(value))) as unknown;
  if (Array.isArray(value)) return Promise.all(value.map((item) => resolveArtifactRefs(item, store)));
  if (!isPlainObject(value)) return value;
  const entries = await Promise.all(
    Object.entries(value).map(async ([key, item]) => [key, await resolveArtifactRefs(item, store)] as const),
  );
  return Object.fromEntries(entries);
}

/**
 * The fields to offload, largest first, so the object's JSON falls within the limit; `undefined`
 * when offloading every field would still leave it too large (many small fields).
 */
function planOffload(outputs: Record<string, unknown>, totalBytes: number, limitBytes: number): { key: string; json: string }[] | undefined {
  const fields = Object.entries(outputs)
    .flatMap(([key, value]) => {
      const json = JSON.stringify(value);
      return json === undefined ? [] : [{ key, json, bytes: Buffer.byteLength(json) }];
    })
    .sort((a, b) => b.bytes - a.bytes);
  const chosen: { key: string; json: string }[] = [];
  let bytes = totalBytes;
  for (const field of fields) {
    if (bytes <= limitBytes) break;
    bytes += refBytes(field.bytes) - field.bytes;
    chosen.push({ key: field.key, json: field.json });
  }
  return bytes <= limitBytes ? chosen : undefined;
}

/** JSON size of the reference that replaces a stored value of `size` bytes. */
function refBytes(size: number): number {
  const ref: ArtifactRef = { $artifact: { uri: `${URI_PREFIX}${'0'.repeat(64)}`, sha256: '0'.repeat(64), size } };
  return Buffer.byteLength(JSON.stringify(ref));
}

async function writeAtomically(path: string, bytes: Uint8Array): Promise<void> {
  await mkdir(dirname(path), { recursive: true });
  const temporary = `${path}.${randomUUID()}.tmp`;
  try {
    const file = await open(temporary, 'wx');
    try {
      await file.writeFile(bytes);
      await file.sync();
    } finally {
      await file.close();
    }
    await rename(temporary, path);
  } catch (error) {
    // `force`: the temporary file may never have been created. A failed clean-up keeps both errors.
    await rm(temporary, { force: true }).catch((cleanup: unknown) => {
      throw new AggregateError([error, cleanup], `could not write artifact ${path}`);
    });
    throw error;
  }
}

async function sizeOf(path: string): Promise<number | undefined> {
  try {
    return (await stat(path)).size;
  } catch (error) {
    if (errorCode(error) === 'ENOENT') return undefined;
    throw error;
  }
}

function sha256Hex(bytes: Uint8Array): string {
  return createHash('sha256').update(bytes).digest('hex');
}

function errorCode(error: unknown): unknown {
  return typeof error === 'object' && error !== null ? (error as { code?: unknown }).code : undefined;
}

function isPlainObject(value: unknown): value is Record<string, unknown> {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) return false;
  const prototype: unknown = Object.getPrototypeOf(value);
  return prototype === Object.prototype || prototype === null;
}
