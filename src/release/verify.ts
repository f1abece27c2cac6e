/**
 * `maestro release verify DIR`: checks a release folder offline — the attestation's signature
 * against the trusted keys, that it is a release attestation, every subject's sha256 against the
 * file of that name, and that every file in the folder is either a subject or the attestation;
 * then the image: the OCI archive holds the manifest `release.json` names (its bytes hash to that
 * digest), and the image's cosign signature names that digest and was made by a trusted key.
 * Each failure names the file it is about.
 */
import { execFile } from 'node:child_process';
import { createHash, type KeyObject } from 'node:crypto';
import { lstat, readdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { isRecord } from '../ir/index.js';
import { SIGNATURE_ANNOTATION, keyIdOf, parsePublicKey, signedDigestOf, verifiesSimplePayload, verifyReceipt } from '../provenance/index.js';
import { ATTESTATION_FILE, MAESTRO_RELEASE_BUILD_TYPE, RELEASE_FILE } from './build.js';
import { fileSha256 } from './digest.js';

const run = promisify(execFile);

/** Largest attestation read: a release names a handful of files, so anything bigger is not one. */
const ATTESTATION_MAX_BYTES = 4 * 1024 * 1024;
/** Largest `release.json`, image signature file, `index.json` or image manifest read. */
const SMALL_FILE_MAX_BYTES = 1024 * 1024;

/** Outcome of {@link verifyRelease}. */
export type ReleaseVerification =
  | {
      ok: true;
      keyId: string | undefined;
      revision: string;
      files: string[];
      /** The image's manifest digest, and the key id of its signature (undefined for a keyless release, which has none). */
      image: { digest: string; signedBy: string | undefined };
    }
  | { ok: false; file: string; reason: string };

/** Options of {@link verifyRelease}. */
export interface VerifyReleaseOptions {
  /** Trusted public keys. */
  publicKeys: readonly (string | Buffer | KeyObject)[];
  /** Sigstore trusted root JSON, for a keyless attestation. @default undefined */
  trustedRoot?: unknown;
}

/** Verifies the release folder `dir`; never throws for a bad release (the result names the file). */
export async function verifyRelease(dir: string, options: VerifyReleaseOptions): Promise<ReleaseVerification> {
  const fail = (file: string, reason: string): ReleaseVerification => ({ ok: false, file, reason });
  const attestationPath = join(dir, ATTESTATION_FILE);
  const info = await lstat(attestationPath).catch(() => undefined);
  if (!info?.isFile()) return fail(ATTESTATION_FILE, `absent from ${dir}: not a release folder`);
  if (info.size > ATTESTATION_MAX_BYTES) return fail(ATTESTATION_FILE, `${info.size} bytes, more than the ${ATTESTATION_MAX_BYTES} an attestation may have`);
  const verified = verifyReceipt(await readFile(attestationPath), { publicKeys: options.publicKeys, ...(options.trustedRoot === undefined ? {} : { trustedRoot: options.trustedRoot }) });
  if (!verified.ok) return fail(ATTESTATION_FILE, `${verified.code}: ${verified.reason}`);
  const { statement } = verified;
  if (statement.predicate.buildDefinition.buildType !== MAESTRO_RELEASE_BUILD_TYPE) {
    return fail(ATTESTATION_FILE, `buildType is "${statement.predicate.buildDefinition.buildType}", not a release (${MAESTRO_RELEASE_BUILD_TYPE})`);
  }
  const named = new Set<string>();
  for (const { name, digest } of statement.subject) {
    // Subjects are plain file names of the folder; anything else could point outside it.
    if (name === '' || name.includes('/') || name.includes('\\') || name === '.' || name === '..' || name === ATTESTATION_FILE) {
      return fail(ATTESTATION_FILE, `subject "${name}" is not a file of a release folder`);
    }
    const file = join(dir, name);
    const subjectInfo = await lstat(file).catch(() => undefined);
    if (!subjectInfo?.isFile()) return fail(name, 'named by the attestation but absent (or not a regular file)');
    const actual = await fileSha256(file);
    if (actual !== digest['sha256']) return fail(name, `sha256 is ${actual}, but the attestation says ${digest['sha256'] ?? 'nothing'}: the file changed after the release was signed`);
    named.add(name);
  }
  for (const entry of (await readdir(dir)).sort()) {
    if (entry !== ATTESTATION_FILE && !named.has(entry)) return fail(entry, 'not named by the attestation: a release folder holds only attested files');
  }
  const image = await verifyImage(dir, options.publicKeys.map((key) => parsePublicKey(key)));
  if ('file' in image) return fail(image.file, image.reason);
  const revision = statement.predicate.buildDefinition.externalParameters['revision'];
  return { ok: true, keyId: verified.keyId, revision: typeof revision === 'string' ? revision : 'unknown', files: [...named].sort(), image };
}

/**
 * The image of an attested release folder: the archive's manifest is the digest `release.json`
 * names, and the signature file (when the record names one) is a trusted key's over that digest.
 * The files' sha256 were checked against the attestation already; this checks what they say.
 */
async function verifyImage(dir: string, keys: readonly KeyObject[]): Promise<{ digest: string; signedBy: string | undefined } | { file: string; reason: string }> {
  const record = parseJson(await readFile(join(dir, RELEASE_FILE)));
  const image = isRecord(record) && isRecord(record['image']) ? record['image'] : {};
  const { digest, archive, signature } = image;
  if (typeof digest !== 'string' || !/^sha256:[0-9a-f]{64}$/.test(digest) || typeof archive !== 'string' || (signature !== undefined && typeof signature !== 'string')) {
    return { file: RELEASE_FILE, reason: 'image.digest, image.archive or image.signature is missing or malformed' };
  }
  for (const name of [archive, signature]) {
    if (name !== undefined && (name.includes('/') || name.includes('\\') || !(await lstat(join(dir, name)).catch(() => undefined))?.isFile())) {
      return { file: RELEASE_FILE, reason: `names "${name}", which is not a file of the release folder` };
    }
  }
  const index = parseJson(await archiveMember(join(dir, archive), 'index.json'));
  const manifests = isRecord(index) && Array.isArray(index['manifests']) ? index['manifests'] : [];
  if (manifests.length !== 1 || !isRecord(manifests[0]) || manifests[0]['digest'] !== digest) {
    return { file: archive, reason: `its index.json does not name exactly the image ${digest} of ${RELEASE_FILE}` };
  }
  const manifest = await archiveMember(join(dir, archive), `blobs/sha256/${digest.slice('sha256:'.length)}`);
  if (manifest === undefined || `sha256:${createHash('sha256').update(manifest).digest('hex')}` !== digest) {
    return { file: archive, reason: `holds no manifest whose bytes hash to ${digest}` };
  }
  if (signature === undefined) return { digest, signedBy: undefined };
  const file = parseJson(await readFile(join(dir, signature)).then((bytes) => (bytes.length > SMALL_FILE_MAX_BYTES ? Buffer.alloc(0) : bytes)));
  const payloadText = isRecord(file) && typeof file['payload'] === 'string' ? file['payload'] : undefined;
  const annotations = isRecord(file) && isRecord(file['annotations']) ? file['annotations'] : {};
  const signatureText = annotations[SIGNATURE_ANNOTATION];
  if (payloadText === undefined || typeof signatureText !== 'string') return { file: signature, reason: `not an image signature (a payload and the ${SIGNATURE_ANNOTATION} annotation)` };
  const payload = Buffer.from(payloadText, 'base64');
  const signer = keys.find((key) => verifiesSimplePayload(key, payload, signatureText));
  if (signer === undefined) return { file: signature, reason: 'UNTRUSTED_KEY: no trusted key made the image signature' };
  const named = signedDigestOf(payload);
  if (named !== digest) return { file: signature, reason: `signs ${named ?? 'no image'}, not the release's image ${digest}` };
  return { digest, signedBy: keyIdOf(signer) };
}

/** One member of a tar (uncompressed), or undefined when absent or over {@link SMALL_FILE_MAX_BYTES}. */
async function archiveMember(archive: string, member: string): Promise<Buffer | undefined> {
  try {
    const { stdout } = await run('tar', ['-xOf', archive, '--', member], { encoding: 'buffer', maxBuffer: SMALL_FILE_MAX_BYTES });
    return stdout;
  } catch {
    // No such member, over the size limit, or not a tar: the caller says what it expected.
    return undefined;
  }
}

function parseJson(bytes: Buffer | undefined): unknown {
  try {
    return bytes === undefined ? undefined : JSON.parse(bytes.toString('utf8'));
  } catch {
    // Not JSON: the caller reports the file as malformed.
    return undefined;
  }
}

