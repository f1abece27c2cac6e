/**
 * Disclosure bundles: one zip holding, for a set of runs, their receipts, approvals, policy
 * decision log excerpts and the artifacts the receipts name, plus a signed manifest (an in-toto
 * statement whose subjects are every other file with its sha256). `verifyDisclosure` checks every
 * hash and signature and names the first file that is tampered with, missing or extra.
 *
 * Layout:
 * ```
 * manifest.sigstore.json               the signed manifest
 * runs/<runId>/receipt.sigstore.json   the run's receipt, byte for byte as stored
 * runs/<runId>/approvals.json          the approvals recorded in the receipt
 * runs/<runId>/decisions.json          the decision log excerpt for the run
 * artifacts/sha256/<hex>               every artifact a receipt names
 * files/<name>                         extra files given to the packer
 * ```
 */
import { createHash, randomUUID, type KeyObject } from 'node:crypto';
import { createReadStream, createWriteStream } from 'node:fs';
import { lstat, readFile, realpath, rename, rm, stat } from 'node:fs/promises';
import { basename, dirname, isAbsolute, join, relative, resolve, sep } from 'node:path';
import { pipeline } from 'node:stream/promises';
import yauzl from 'yauzl';
import yazl from 'yazl';
import { MaestroError } from '../errors/index.js';
import { isRecord } from '../ir/index.js';
import type { ArtifactStore } from '../store/index.js';
import { sha256Hex } from '../canonical/index.js';
import type { ReceiptStore } from './receipt-store.js';
import { signStatement, type BundleSigner } from './signing.js';
import {
  IN_TOTO_STATEMENT_TYPE,
  MAESTRO_DISCLOSURE_PREDICATE,
  type ProvenanceStatement,
  type Statement,
} from './statement.js';
import { verifyBundle, verifyReceipt } from './verify.js';

/** One entry of the policy decision log. */
export interface DecisionRecord {
  /** The decision id receipts refer to. */
  id: string;
  [field: string]: unknown;
}

/**
 * The policy decision log, as the packer reads it. The policy engine (src/policy) provides the
 * real one; until then {@link emptyDecisionLog} stands in.
 */
export interface DecisionLog {
  /** The decisions taken for a run, oldest first. */
  excerpt(runId: string): Promise<DecisionRecord[]>;
}

/** A decision log with no entries. */
export const emptyDecisionLog: DecisionLog = { excerpt: () => Promise.resolve([]) };

/** Name of the signed manifest inside a bundle. */
export const MANIFEST_ENTRY = 'manifest.sigstore.json';
const DEFAULT_PACK_BYTES = 256 * 1024 * 1024;
const DEFAULT_VERIFY_BYTES = 1024 * 1024 * 1024;
const DEFAULT_MAX_ENTRIES = 100_000;
/** Metadata files (manifest, receipts, approvals, decisions) are read into memory; bound them. */
const MAX_METADATA_BYTES = 64 * 1024 * 1024;
/** Fixed entry times, so the same contents give the same zip. */
const ZIP_MTIME = new Date('2000-01-01T00:00:00Z');
const RUN_ID = /^[A-Za-z0-9][A-Za-z0-9._:-]{0,254}$/;

/** Predicate of a disclosure manifest. */
export interface DisclosurePredicate {
  runs: { runId: string; receiptDigest: string }[];
  createdAt: string;
}

/** Options of {@link packDisclosure}. */
export interface PackDisclosureOptions {
  runIds: readonly string[];
  /** The zip to write; its folder must be inside one of `roots`. */
  outPath: string;
  /** Folders the packer may read extra `files` from and write `outPath` into. */
  roots: readonly string[];
  /** Upper bound of the bundle's content, in bytes before compression. @default 268435456 (256 MiB) */
  maxBytes?: number;
  receipts: ReceiptStore;
  artifacts: ArtifactStore;
  signer: BundleSigner;
  /** @default emptyDecisionLog */
  decisionLog?: DecisionLog;
  /** Every receipt must verify against these keys before it is packed. */
  publicKeys: readonly (string | Buffer | KeyObject)[];
  /**
   * Extra regular files (reports…) to include as `files/<path relative to its root>`; each must be
   * inside `roots` (relative paths are relative to the first root) and not a symlink. @default []
   */
  files?: readonly string[];
  /** Recorded in the manifest. @default new Date() */
  createdAt?: Date;
}

/** Result of {@link packDisclosure}. */
export interface PackDisclosureResult {
  path: string;
  /** Files in the bundle, the manifest included. */
  files: number;
  /** Content bytes before compression. */
  bytes: number;
  /** Every file but the manifest, as the manifest lists it. */
  entries: { path: string; sha256: string; size: number }[];
  /** `sha256:<hex>` of the zip file. */
  digest: string;
  /** Size of the zip file, bytes. */
  size: number;
}

/**
 * Writes a disclosure bundle for `runIds`.
 *
 * @throws MaestroError `POLICY_DENIED` for a path outside `roots` or a symlink; `BAD_REQUEST` for a
 * non-regular file, a duplicate file name, a bad run id or a receipt that does not verify;
 * `NOT_FOUND` for a missing file, a run without receipt or a missing artifact; `PAYLOAD_TOO_LARGE`
 * past `maxBytes`.
 */
export async function packDisclosure(options: PackDisclosureOptions): Promise<PackDisclosureResult> {
  const { runIds, receipts, artifacts, signer, decisionLog = emptyDecisionLog, files = [], maxBytes = DEFAULT_PACK_BYTES } = options;
  const roots = await Promise.all(options.roots.map((root) => realpath(resolve(root))));
  if (roots.length === 0) throw new MaestroError('POLICY_DENIED', 'no allowed folder (roots) to write the bundle into');
  const outPath = resolve(roots[0] as string, options.outPath);
  const outFolder = await realpath(dirname(outPath)).catch((error: unknown) => {
    throw new MaestroError('NOT_FOUND', `${options.outPath}: its folder does not exist`, { cause: error });
  });
  assertInside(roots, join(outFolder, basename(outPath)), options.outPath);
  const existingOut = await lstat(outPath).catch((error: unknown) => (isCode(error, 'ENOENT') ? undefined : Promise.reject(error)));
  if (existingOut && !existingOut.isFile()) throw new MaestroError('BAD_REQUEST', `${outPath} exists and is not a regular file`);

  const entries = new Map<string, Uint8Array>();
  let bytes = 0;
  const add = (name: string, data: Uint8Array): void => {
    if (entries.has(name)) throw new MaestroError('BAD_REQUEST', `two files would be stored as "${name}"`);
    bytes += data.byteLength;
    if (bytes > maxBytes) throw new MaestroError('PAYLOAD_TOO_LARGE', `the bundle would exceed ${maxBytes} bytes (at "${name}")`);
    entries.set(name, data);
  };

  const runs: DisclosurePredicate['runs'] = [];
  for (const runId of [...new Set(runIds)]) {
    if (!RUN_ID.test(runId)) throw new MaestroError('BAD_REQUEST', `"${runId}" is not a run id`);
    const receipt = await receipts.read(runId);
    const verified = verifyReceipt(receipt.bundle, { publicKeys: options.publicKeys });
    if (!verified.ok) {
      throw new MaestroError('BAD_REQUEST', `the receipt of run "${runId}" does not verify (${verified.code}): ${verified.reason}`);
    }
    const { statement } = verified;
    add(`runs/${runId}/receipt.sigstore.json`, receipt.bytes);
    add(`runs/${runId}/approvals.json`, json(approvalsOf(statement)));
    add(`runs/${runId}/decisions.json`, json(await decisionLog.excerpt(runId)));
    for (const subject of statement.subject) {
      const sha256 = subject.digest['sha256'];
      if (!subject.name.startsWith('artifact://sha256/') || sha256 === undefined) continue;
      const name = `artifacts/sha256/${sha256}`;
      if (entries.has(name)) continue;
      const size = typeof subject.annotations?.['size'] === 'number' ? subject.annotations['size'] : 0;
      if (bytes + size > maxBytes) throw new MaestroError('PAYLOAD_TOO_LARGE', `the bundle would exceed ${maxBytes} bytes (at "${name}")`);
      add(name, await artifacts.get({ $artifact: { uri: subject.name, sha256, size } }));
    }
    runs.push({ runId, receiptDigest: receipt.digest });
  }
  for (const file of files) {
    const { real, name } = await safeFile(roots, file);
    const { size } = await stat(real);
    if (bytes + size > maxBytes) throw new MaestroError('PAYLOAD_TOO_LARGE', `the bundle would exceed ${maxBytes} bytes (at "${file}")`);
    add(`files/${name}`, await readFile(real));
  }

  const manifest: Statement<DisclosurePredicate> = {
    _type: IN_TOTO_STATEMENT_TYPE,
    subject: [...entries].map(([name, data]) => ({ name, digest: { sha256: sha256Hex(data) } })),
    predicateType: MAESTRO_DISCLOSURE_PREDICATE,
    predicate: { runs, createdAt: (options.createdAt ?? new Date()).toISOString() },
  };
  if (manifest.subject.length === 0) throw new MaestroError('BAD_REQUEST', 'nothing to disclose: give at least one run id');
  const signed = Buffer.from(`${JSON.stringify(await signStatement(manifest, signer), null, 2)}\n`, 'utf8');

  const zip = new yazl.ZipFile();
  zip.addBuffer(signed, MANIFEST_ENTRY, { mtime: ZIP_MTIME, mode: 0o100644 });
  for (const [name, data] of entries) zip.addBuffer(Buffer.from(data), name, { mtime: ZIP_MTIME, mode: 0o100644 });
  zip.end();
  const temporary = join(dirname(outPath), `.${basename(outPath)}.${randomUUID()}.tmp`);
  try {
    await pipeline(zip.outputStream, createWriteStream(temporary, { flags: 'wx', mode: 0o644 }));
    await rename(temporary, outPath);
  } catch (error) {
    await rm(temporary, { force: true });
    throw error;
  }
  return {
    path: outPath,
    files: entries.size + 1,
    bytes: bytes + signed.byteLength,
    digest: `sha256:${await fileSha256(outPath)}`,
    size: (await stat(outPath)).size,
    entries: manifest.subject.map(({ name, digest }) => ({ path: name, sha256: digest['sha256'] as string, size: entries.get(name)?.byteLength ?? 0 })),
  };
}

/** Why a bundle failed verification. */
export type DisclosureFailureCode =
  /** Not a readable zip. */
  | 'MALFORMED'
  /** An entry name escapes the bundle (absolute, `..`, backslash) or is a symlink. */
  | 'UNSAFE_PATH'
  /** More bytes or entries than allowed. */
  | 'TOO_LARGE'
  /** The manifest is missing, not signed by a trusted key, or not a disclosure manifest. */
  | 'BAD_MANIFEST'
  /** A file's content does not match its manifest digest. */
  | 'TAMPERED'
  /** A file the manifest lists is absent. */
  | 'MISSING'
  /** A file the manifest does not list is present. */
  | 'EXTRA'
  /** A receipt inside the bundle does not verify. */
  | 'BAD_RECEIPT';

/** Outcome of {@link verifyDisclosure}. */
export type DisclosureVerification =
  | { ok: true; runs: string[]; files: number; keyId?: string }
  | { ok: false; code: DisclosureFailureCode; reason: string; /** The first offending file. */ file?: string };

/** Options of {@link verifyDisclosure}. */
export interface VerifyDisclosureOptions {
  publicKeys: readonly (string | Buffer | KeyObject)[];
  /** Upper bound of the bundle's content, before compression. @default 1073741824 (1 GiB) */
  maxBytes?: number;
  /** @default 100000 */
  maxEntries?: number;
}

/**
 * Verifies a disclosure bundle: safe entry names, size bounds, the manifest's signature, every
 * file's sha256 against the manifest (no file missing, none extra), and every receipt's signature,
 * with each artifact a receipt names present. Reports the first problem, naming the file.
 */
export async function verifyDisclosure(zipPath: string, options: VerifyDisclosureOptions): Promise<DisclosureVerification> {
  const { publicKeys, maxBytes = DEFAULT_VERIFY_BYTES, maxEntries = DEFAULT_MAX_ENTRIES } = options;
  let zip: yauzl.ZipFile;
  try {
    zip = await yauzl.openPromise(zipPath, { lazyEntries: true, decodeStrings: false, validateEntrySizes: true, autoClose: false });
  } catch (error) {
    return { ok: false, code: 'MALFORMED', reason: `not a readable zip: ${error instanceof Error ? error.message : String(error)}` };
  }
  try {
    const read = await readEntries(zip, { maxBytes, maxEntries });
    if (!read.ok) return read;
    return checkBundle(read.files, read.order, publicKeys);
  } finally {
    zip.close();
  }
}

interface ReadFile {
  sha256: string;
  /** Kept for the manifest and `runs/**` JSON files, which are checked further. */
  data?: Buffer;
}

async function readEntries(
  zip: yauzl.ZipFile,
  { maxBytes, maxEntries }: { maxBytes: number; maxEntries: number },
): Promise<{ ok: true; files: Map<string, ReadFile>; order: string[] } | Extract<DisclosureVerification, { ok: false }>> {
  if (zip.entryCount > maxEntries) return { ok: false, code: 'TOO_LARGE', reason: `${zip.entryCount} entries, more than ${maxEntries}` };
  const files = new Map<string, ReadFile>();
  const order: string[] = [];
  let declared = 0;
  for (;;) {
    const entry = await nextEntry(zip);
    if (!entry) break;
    const name = entry.fileNameRaw.toString('utf8');
    const unsafe = unsafeName(name);
    if (unsafe) return { ok: false, code: 'UNSAFE_PATH', reason: `entry "${name}" ${unsafe}`, file: name };
    if (((entry.externalFileAttributes >>> 16) & 0o170000) === 0o120000) {
      return { ok: false, code: 'UNSAFE_PATH', reason: `entry "${name}" is a symbolic link`, file: name };
    }
    if (name.endsWith('/')) continue;
    if (files.has(name)) return { ok: false, code: 'UNSAFE_PATH', reason: `entry "${name}" appears twice`, file: name };
    declared += entry.uncompressedSize;
    if (declared > maxBytes) return { ok: false, code: 'TOO_LARGE', reason: `the content exceeds ${maxBytes} bytes (at "${name}")`, file: name };
    const keep = name === MANIFEST_ENTRY || (name.startsWith('runs/') && name.endsWith('.json'));
    if (keep && entry.uncompressedSize > MAX_METADATA_BYTES) {
      return { ok: false, code: 'TOO_LARGE', reason: `"${name}" is larger than ${MAX_METADATA_BYTES} bytes`, file: name };
    }
    try {
      files.set(name, await hashEntry(zip, entry, keep));
    } catch (error) {
      // A damaged deflate stream or a size that does not match the header: the file was altered.
      return { ok: false, code: 'TAMPERED', reason: `"${name}" cannot be read: ${error instanceof Error ? error.message : String(error)}`, file: name };
    }
    order.push(name);
  }
  return { ok: true, files, order };
}

function checkBundle(files: Map<string, ReadFile>, order: string[], publicKeys: VerifyDisclosureOptions['publicKeys']): DisclosureVerification {
  const manifestFile = files.get(MANIFEST_ENTRY);
  if (!manifestFile?.data) return { ok: false, code: 'BAD_MANIFEST', reason: `the bundle has no ${MANIFEST_ENTRY}`, file: MANIFEST_ENTRY };
  const verified = verifyBundle(manifestFile.data, { publicKeys });
  if (!verified.ok) return { ok: false, code: 'BAD_MANIFEST', reason: `${MANIFEST_ENTRY} does not verify (${verified.code}): ${verified.reason}`, file: MANIFEST_ENTRY };
  const manifest = verified.statement;
  if (manifest.predicateType !== MAESTRO_DISCLOSURE_PREDICATE || !isRecord(manifest.predicate) || !Array.isArray(manifest.predicate['runs'])) {
    return { ok: false, code: 'BAD_MANIFEST', reason: `${MANIFEST_ENTRY} is not a disclosure manifest`, file: MANIFEST_ENTRY };
  }
  const expected = new Map(manifest.subject.map((subject) => [subject.name, subject.digest['sha256']]));
  for (const name of order) {
    if (name === MANIFEST_ENTRY) continue;
    const digest = expected.get(name);
    if (digest === undefined) return { ok: false, code: 'EXTRA', reason: `"${name}" is not listed in the manifest`, file: name };
    const actual = files.get(name)?.sha256;
    if (actual !== digest) return { ok: false, code: 'TAMPERED', reason: `"${name}" hashes to sha256:${actual}, the manifest says sha256:${digest}`, file: name };
  }
  for (const name of expected.keys()) {
    if (!files.has(name)) return { ok: false, code: 'MISSING', reason: `"${name}" is listed in the manifest but absent`, file: name };
  }
  const runs: string[] = [];
  for (const run of manifest.predicate['runs'] as unknown[]) {
    const runId = isRecord(run) && typeof run['runId'] === 'string' ? run['runId'] : undefined;
    if (runId === undefined) return { ok: false, code: 'BAD_MANIFEST', reason: 'a run in the manifest has no runId', file: MANIFEST_ENTRY };
    const name = `runs/${runId}/receipt.sigstore.json`;
    const receipt = files.get(name);
    if (!receipt?.data) return { ok: false, code: 'MISSING', reason: `the receipt of run "${runId}" is absent`, file: name };
    const checked = verifyReceipt(receipt.data, { publicKeys });
    if (!checked.ok) return { ok: false, code: 'BAD_RECEIPT', reason: `${name} does not verify (${checked.code}): ${checked.reason}`, file: name };
    for (const subject of checked.statement.subject) {
      const sha256 = subject.digest['sha256'];
      if (!subject.name.startsWith('artifact://sha256/') || sha256 === undefined) continue;
      const artifact = `artifacts/sha256/${sha256}`;
      const file = files.get(artifact);
      if (!file) return { ok: false, code: 'MISSING', reason: `artifact ${sha256} named by the receipt of run "${runId}" is absent`, file: artifact };
      if (file.sha256 !== sha256) return { ok: false, code: 'TAMPERED', reason: `"${artifact}" hashes to sha256:${file.sha256}`, file: artifact };
    }
    runs.push(runId);
  }
  return { ok: true, runs, files: files.size, ...(verified.keyId === undefined ? {} : { keyId: verified.keyId }) };
}

/** Why an entry name is unsafe, or undefined when it is a plain relative path. */
function unsafeName(name: string): string | undefined {
  if (name === '') return 'has an empty name';
  if (name.includes('\\')) return 'contains a backslash';
  if (name.includes('\0')) return 'contains a NUL character';
  if (name.startsWith('/') || /^[A-Za-z]:/.test(name)) return 'is an absolute path';
  const parts = name.replace(/\/$/, '').split('/');
  if (parts.includes('..')) return 'escapes the bundle (path traversal)';
  if (parts.some((part) => part === '' || part === '.')) return 'has an empty or "." path segment';
  return undefined;
}

function nextEntry(zip: yauzl.ZipFile): Promise<yauzl.Entry | undefined> {
  return new Promise((resolvePromise, reject) => {
    const onEntry = (entry: yauzl.Entry): void => {
      cleanup();
      resolvePromise(entry);
    };
    const onEnd = (): void => {
      cleanup();
      resolvePromise(undefined);
    };
    const onError = (error: Error): void => {
      cleanup();
      reject(error);
    };
    const cleanup = (): void => {
      zip.off('entry', onEntry);
      zip.off('end', onEnd);
      zip.off('error', onError);
    };
    zip.on('entry', onEntry);
    zip.on('end', onEnd);
    zip.on('error', onError);
    zip.readEntry();
  });
}

async function hashEntry(zip: yauzl.ZipFile, entry: yauzl.Entry, keep: boolean): Promise<ReadFile> {
  const stream = await zip.openReadStreamPromise(entry);
  const hash = createHash('sha256');
  const chunks: Buffer[] = [];
  for await (const chunk of stream) {
    hash.update(chunk as Buffer);
    if (keep) chunks.push(chunk as Buffer);
  }
  return { sha256: hash.digest('hex'), ...(keep ? { data: Buffer.concat(chunks) } : {}) };
}

/**
 * A regular file (not a symlink) whose real path lies inside one of `roots` (relative paths are
 * relative to the first root): its real path and its name relative to that root.
 */
async function safeFile(roots: string[], file: string): Promise<{ real: string; name: string }> {
  const path = resolve(roots[0] as string, file);
  const info = await lstat(path).catch((error: unknown) => {
    throw new MaestroError(isCode(error, 'ENOENT') ? 'NOT_FOUND' : 'BAD_REQUEST', `${file} cannot be read`, { cause: error });
  });
  if (info.isSymbolicLink()) throw new MaestroError('POLICY_DENIED', `${file} is a symbolic link; only regular files are packed`);
  if (!info.isFile()) throw new MaestroError('BAD_REQUEST', `${file} is not a regular file`);
  const real = await realpath(path);
  return { real, name: assertInside(roots, real, file) };
}

/** The path of `real` relative to the root holding it, `/`-separated. @throws MaestroError `POLICY_DENIED` outside every root. */
function assertInside(roots: string[], real: string, shown: string): string {
  for (const root of roots) {
    const rel = relative(root, real);
    if (rel !== '' && rel !== '..' && !rel.startsWith(`..${sep}`) && !isAbsolute(rel)) return rel.split(sep).join('/');
  }
  throw new MaestroError('POLICY_DENIED', `${shown} is outside the allowed folders (${roots.join(', ')})`);
}

/** The approvals of each approval task, from a receipt's byproducts. */
function approvalsOf(statement: ProvenanceStatement): { taskId: string; approvals: unknown[] }[] {
  const out: { taskId: string; approvals: unknown[] }[] = [];
  for (const byproduct of statement.predicate.runDetails.byproducts ?? []) {
    const annotations = byproduct.annotations;
    if (isRecord(annotations) && typeof annotations['id'] === 'string' && Array.isArray(annotations['approvals'])) {
      out.push({ taskId: annotations['id'], approvals: annotations['approvals'] });
    }
  }
  return out;
}

function json(value: unknown): Buffer {
  return Buffer.from(`${JSON.stringify(value, null, 2)}\n`, 'utf8');
}

async function fileSha256(path: string): Promise<string> {
  const hash = createHash('sha256');
  for await (const chunk of createReadStream(path)) hash.update(chunk as Buffer);
  return hash.digest('hex');
}

function isCode(error: unknown, code: string): boolean {
  return typeof error === 'object' && error !== null && (error as { code?: unknown }).code === code;
}
