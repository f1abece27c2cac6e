/**
 * `maestro release verify DIR`: checks a release folder offline — the attestation's signature
 * against the trusted keys, that it is a release attestation, every subject's sha256 against the
 * file of that name, and that every file in the folder is either a subject or the attestation.
 * Each failure names the file it is about.
 */
import { lstat, readdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { KeyObject } from 'node:crypto';
import { verifyReceipt } from '../provenance/index.js';
import { ATTESTATION_FILE, MAESTRO_RELEASE_BUILD_TYPE } from './build.js';
import { fileSha256 } from './digest.js';

/** Largest attestation read: a release names a handful of files, so anything bigger is not one. */
const ATTESTATION_MAX_BYTES = 4 * 1024 * 1024;

/** Outcome of {@link verifyRelease}. */
export type ReleaseVerification =
  | { ok: true; keyId: string | undefined; revision: string; files: string[] }
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
  const revision = statement.predicate.buildDefinition.externalParameters['revision'];
  return { ok: true, keyId: verified.keyId, revision: typeof revision === 'string' ? revision : 'unknown', files: [...named].sort() };
}

