/**
 * Small keyed blob storage for provenance data (task cache entries in `src/cache`, receipts in
 * `src/provenance`): the local
 * filesystem by default, S3 (or any S3-compatible server) when configured.
 */
import { randomUUID } from 'node:crypto';
import { mkdirSync, readFileSync, renameSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { rm } from 'node:fs/promises';
import { dirname, join, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { DeleteObjectCommand, GetObjectCommand, NoSuchKey, PutObjectCommand, S3Client } from '@aws-sdk/client-s3';
import { MaestroError } from '../errors/index.js';

/** Keyed bytes. Keys are `/`-separated names whose parts start with a letter or digit. */
export interface BlobStore {
  /** The bytes under `key`, or undefined when there are none. */
  get(key: string): Promise<Uint8Array | undefined>;
  /** Stores `data` under `key` (a string as UTF-8), replacing what was there; readers never see a partial write. */
  put(key: string, data: Uint8Array | string): Promise<void>;
  /** Removes `key`; removing a missing key is not an error. */
  delete(key: string): Promise<void>;
  /** Where `key` lives, for messages and references: `file:///…` or `s3://bucket/…`. */
  uriOf(key: string): string;
}

const KEY = /^[A-Za-z0-9][A-Za-z0-9._:-]*(?:\/[A-Za-z0-9][A-Za-z0-9._:-]*)*$/;

/**
 * Checks a blob key: no empty, `.`-leading (hence no `..`) or absolute parts, at most 1024 bytes.
 * @throws MaestroError `BAD_REQUEST`.
 */
export function checkBlobKey(key: string): string {
  if (!KEY.test(key) || Buffer.byteLength(key) > 1024) throw new MaestroError('BAD_REQUEST', `"${key}" is not a valid storage key`);
  return key;
}

/**
 * A {@link BlobStore} in a folder: key `a/b` is the file `<root>/a/b`. A put writes a temporary
 * file and renames it into place, so readers see the old bytes or the new ones, never a part. It
 * does not fsync: a written blob survives any crash of the process (it is in the kernel's page
 * cache), and only a power loss within the kernel's write-back delay can lose it — the durability
 * the registry's SQLite (WAL, `synchronous=NORMAL`) and the Temporal dev server have too. An fsync
 * per receipt would cost 2–5 ms at the end of every run on this class of disk; a receipt lost that
 * way is reported missing or unreadable, never mistaken for a valid one.
 *
 * A put and a get are made of synchronous calls. Its blobs are receipts and task cache entries,
 * kilobytes (outputs past `largeOutputBytes` are artifacts, not cache entries), and each
 * asynchronous file call is a round trip through libuv's thread pool: the four calls of a put
 * (mkdir, open, write and close, rename) took about 0.5 ms at the end of every run. Made directly,
 * the receipt bench's build + sign + write of a 10-task receipt fell from 1.3 to 0.9 ms. A get is
 * mostly a task cache miss before an attempt runs: asked with a `stat` that throws nothing, a miss
 * costs a few µs, where the asynchronous read's failed open cost ~90 µs and a thread pool round
 * trip (a thrown ENOENT alone ~60 µs).
 */
export class FsBlobStore implements BlobStore {
  private readonly root: string;

  /** @param root folder holding the blobs, created on first write. */
  constructor(root: string) {
    this.root = resolve(root);
  }

  async get(key: string): Promise<Uint8Array | undefined> {
    const path = this.pathOf(key);
    // Asked without an exception: absent is the common answer (a cache miss), not an error.
    if (statSync(path, { throwIfNoEntry: false }) === undefined) return undefined;
    try {
      return readFileSync(path);
    } catch (error) {
      // Removed since it was seen.
      if (errorCode(error) === 'ENOENT') return undefined;
      throw error;
    }
  }

  async put(key: string, data: Uint8Array | string): Promise<void> {
    const path = this.pathOf(key);
    const temporary = `${path}.${randomUUID()}.tmp`;
    const write = (): void => writeFileSync(temporary, data, { flag: 'wx', mode: 0o644 });
    try {
      try {
        write();
      } catch (error) {
        // The first blob in its folder: make the folder, then write.
        if (errorCode(error) !== 'ENOENT') throw error;
        mkdirSync(dirname(path), { recursive: true });
        write();
      }
      renameSync(temporary, path);
    } catch (error) {
      rmSync(temporary, { force: true });
      throw error;
    }
  }

  async delete(key: string): Promise<void> {
    await rm(this.pathOf(key), { force: true });
  }

  uriOf(key: string): string {
    return pathToFileURL(this.pathOf(key)).href;
  }

  private pathOf(key: string): string {
    return join(this.root, ...checkBlobKey(key).split('/'));
  }
}

/** Options of {@link S3BlobStore}. */
export interface S3BlobStoreOptions {
  bucket: string;
  /** Key prefix inside the bucket, e.g. `maestro/`. @default '' */
  prefix?: string;
  /** A configured client; when absent one is built from the fields below and the AWS default credential chain. */
  client?: S3Client;
  /** S3-compatible endpoint (MinIO, versitygw…). @default undefined — AWS */
  endpoint?: string;
  /** @default process.env.AWS_REGION ?? 'us-east-1' */
  region?: string;
  /** Path-style addressing, needed by most S3-compatible servers. @default true when `endpoint` is set */
  forcePathStyle?: boolean;
  /** @default undefined — the AWS default credential chain */
  credentials?: { accessKeyId: string; secretAccessKey: string };
}

/** A {@link BlobStore} in an S3 bucket: key `a/b` is the object `<prefix>a/b`. */
export class S3BlobStore implements BlobStore {
  private readonly client: S3Client;
  private readonly bucket: string;
  private readonly prefix: string;

  constructor(options: S3BlobStoreOptions) {
    const { bucket, prefix = '', endpoint, region = process.env.AWS_REGION ?? 'us-east-1', credentials } = options;
    this.bucket = bucket;
    this.prefix = prefix;
    this.client =
      options.client ??
      new S3Client({
        region,
        ...(endpoint === undefined ? {} : { endpoint }),
        forcePathStyle: options.forcePathStyle ?? endpoint !== undefined,
        ...(credentials === undefined ? {} : { credentials }),
      });
  }

  async get(key: string): Promise<Uint8Array | undefined> {
    try {
      const object = await this.client.send(new GetObjectCommand({ Bucket: this.bucket, Key: this.objectKey(key) }));
      return object.Body ? await object.Body.transformToByteArray() : new Uint8Array();
    } catch (error) {
      if (error instanceof NoSuchKey) return undefined;
      throw new MaestroError('PEER_UNAVAILABLE', `cannot read ${this.uriOf(key)}`, { cause: error });
    }
  }

  async put(key: string, data: Uint8Array | string): Promise<void> {
    try {
      await this.client.send(new PutObjectCommand({ Bucket: this.bucket, Key: this.objectKey(key), Body: data }));
    } catch (error) {
      throw new MaestroError('PEER_UNAVAILABLE', `cannot write ${this.uriOf(key)}`, { cause: error });
    }
  }

  async delete(key: string): Promise<void> {
    try {
      await this.client.send(new DeleteObjectCommand({ Bucket: this.bucket, Key: this.objectKey(key) }));
    } catch (error) {
      throw new MaestroError('PEER_UNAVAILABLE', `cannot delete ${this.uriOf(key)}`, { cause: error });
    }
  }

  uriOf(key: string): string {
    return `s3://${this.bucket}/${this.objectKey(key)}`;
  }

  private objectKey(key: string): string {
    return `${this.prefix}${checkBlobKey(key)}`;
  }
}

function errorCode(error: unknown): unknown {
  return typeof error === 'object' && error !== null ? (error as { code?: unknown }).code : undefined;
}
