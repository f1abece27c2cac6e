/**
 * Image signatures that work without a registry: a Sigstore bundle per image, kept in a folder.
 *
 * A signature is what `cosign attest --key` makes, minus the registry: a DSSE envelope over an
 * in-toto Statement whose subjects are the image's content digests — its image id (the sha256 of
 * its config, what the Docker API reports as `Id`) and its registry manifest digests
 * (`RepoDigests`) when it has any — signed with a local key by the same code that signs run
 * receipts, and verified with `@sigstore/verify` against the configured public keys.
 *
 * Where it lives: cosign stores a signature in the registry, as the tag `sha256-<digest>.sig` next
 * to the image. No registry is reachable from these hosts (images are imported or built locally),
 * so Maestro keeps the same mapping in a folder: `<dir>/sha256-<hex>.sigstore.json`, one bundle per
 * digest. Copy the folder (or mount it) wherever the workers run; a registry-backed lookup would
 * read the `.sig` tag instead and verify it the same way.
 */
import type { KeyObject } from 'node:crypto';
import { randomUUID } from 'node:crypto';
import { mkdir, readFile, rename, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import {
  IN_TOTO_STATEMENT_TYPE,
  localBundleSigner,
  signStatement,
  verifyBundle,
  type SerializedBundle,
  type SigningKey,
  type Statement,
} from '../../provenance/index.js';
import { RunnerError } from '../runner-error.js';
import type { ImageVerdict, ImageVerificationRequest, ImageVerifier } from './image-policy.js';

/** `predicateType` of an image signature: the signer vouches that the subjects may run. */
export const IMAGE_SIGNATURE_PREDICATE = 'urn:maestro:predicate:image-signature:v1';

/** The predicate of an image signature: what was signed, as the signer named it. */
export interface ImageSignaturePredicate {
  /** The image reference given to `maestro images sign`. */
  image: string;
  /** The image id, `sha256:<hex>`. */
  imageId: string;
}

/** The image a signature is made for: its reference and its content digests. */
export interface SignableImage {
  /** The reference as given (`name[:tag]`). */
  image: string;
  /** The image id, `sha256:<hex>` (or bare hex, as some engines report it). */
  imageId: string;
  /** Registry digests, `name@sha256:<hex>`. @default [] */
  repoDigests?: readonly string[];
}

/** The hex of a `sha256:<hex>`, `name@sha256:<hex>` or bare-hex digest; undefined when it is none. */
export function sha256Of(digest: string): string | undefined {
  const hex = /(?:^|@|sha256:)([0-9a-f]{64})$/.exec(digest)?.[1];
  return hex;
}

/** Where the signature of a digest is kept: `<dir>/sha256-<hex>.sigstore.json` (cosign's tag name, as a file). */
export function imageSignatureFile(dir: string, digest: string): string {
  const hex = sha256Of(digest);
  if (hex === undefined) throw new RunnerError('container', `"${digest}" is not a sha256 image digest`, { code: 'TASK_INPUT_INVALID', retryable: false });
  return join(dir, `sha256-${hex}.sigstore.json`);
}

/**
 * The statement an image signature signs: one subject per content digest (image id first), the
 * predicate naming the image.
 */
export function imageStatement(image: SignableImage): Statement<ImageSignaturePredicate> {
  const idHex = sha256Of(image.imageId);
  if (idHex === undefined) throw new RunnerError('container', `image id "${image.imageId}" is not a sha256 digest`, { code: 'TASK_INPUT_INVALID', retryable: false });
  const subjects = [{ name: image.image, digest: { sha256: idHex } }];
  for (const repoDigest of image.repoDigests ?? []) {
    const hex = sha256Of(repoDigest);
    if (hex !== undefined) subjects.push({ name: repoDigest.split('@')[0] ?? repoDigest, digest: { sha256: hex } });
  }
  return { _type: IN_TOTO_STATEMENT_TYPE, subject: subjects, predicateType: IMAGE_SIGNATURE_PREDICATE, predicate: { image: image.image, imageId: `sha256:${idHex}` } };
}

/** What {@link signImage} wrote. */
export interface SignedImage {
  /** The bundle file, named after the image id. */
  file: string;
  /** Key id (hex sha256 of the public key) that signed. */
  keyId: string;
  bundle: SerializedBundle;
}

/**
 * Signs an image with a local key and stores the bundle under its image id (replacing an earlier
 * signature of the same image). The write is atomic: a verifier never reads half a bundle.
 *
 * @example
 * const key = await loadSigningKey('release.key');
 * await signImage({ image: 'localhost/tool:1', imageId: info.Id, repoDigests: info.RepoDigests }, key, signaturesDir);
 */
export async function signImage(image: SignableImage, key: SigningKey, signaturesDir: string): Promise<SignedImage> {
  const bundle = await signStatement(imageStatement(image), localBundleSigner(key));
  const file = imageSignatureFile(signaturesDir, image.imageId);
  await mkdir(signaturesDir, { recursive: true });
  const temporary = `${file}.${randomUUID()}.tmp`;
  await writeFile(temporary, `${JSON.stringify(bundle, null, 2)}\n`, { mode: 0o644 });
  await rename(temporary, file);
  return { file, keyId: key.keyId, bundle };
}

/** Why an image was not verified (the `code` of a refused verdict). */
export type ImageVerificationFailureCode =
  /** No trusted image key is configured. */
  | 'NO_TRUSTED_KEYS'
  /** No bundle for any of the image's digests. */
  | 'NO_SIGNATURE'
  /** The local image is not what the reference names in its registry now (the tag moved). */
  | 'DIGEST_MISMATCH'
  /** A bundle names the image's digest, but is signed for another image or is not an image signature. */
  | 'SUBJECT_MISMATCH'
  /** From {@link verifyBundle}: malformed, untrusted key, bad signature, bad payload. */
  | 'MALFORMED'
  | 'UNTRUSTED_KEY'
  | 'BAD_SIGNATURE'
  | 'BAD_PAYLOAD'
  | 'SUBJECT_MISSING';

/** Options of {@link createImageSignatureVerifier}. */
export interface ImageSignatureVerifierOptions {
  /** The folder of bundles (see {@link imageSignatureFile}). */
  signaturesDir: string;
  /**
   * The trusted public keys, asked for at every verification (so a rotated key file counts at
   * once). An empty list refuses every image.
   */
  trustedKeys: () => Promise<readonly KeyObject[]>;
}

/**
 * An {@link ImageVerifier} over a signatures folder: the image is verified when a bundle stored
 * under one of its digests (image id, then registry digests) is signed by a trusted key, is an
 * image signature, and names that very digest as a subject. Anything else is refused with a reason
 * and a {@link ImageVerificationFailureCode}; the verifier never throws for a bad or missing bundle.
 */
export function createImageSignatureVerifier(options: ImageSignatureVerifierOptions): ImageVerifier {
  const { signaturesDir, trustedKeys } = options;
  return async (request) => {
    const keys = await trustedKeys();
    if (keys.length === 0) return refused('NO_TRUSTED_KEYS', 'no trusted image keys are configured (MAESTRO_IMAGE_KEYS)');
    const digests = [...new Set([request.imageId, ...request.repoDigests].map(sha256Of).filter((hex): hex is string => hex !== undefined))];
    const problems: ImageVerdict[] = [];
    for (const hex of digests) {
      const file = imageSignatureFile(signaturesDir, hex);
      const bytes = await readFile(file).catch((error: unknown) => {
        if ((error as { code?: unknown }).code === 'ENOENT') return undefined;
        throw error;
      });
      if (bytes === undefined) continue;
      const verdict = checkBundle(bytes, hex, keys, request);
      if (verdict.verified) return verdict;
      problems.push({ ...verdict, reason: `${file}: ${verdict.reason}` });
    }
    return (
      problems[0] ??
      refused('NO_SIGNATURE', `no signature for sha256:${digests[0] ?? '?'} in ${signaturesDir} (sign it with: maestro images sign ${request.image} --key KEY)`)
    );
  };
}

function checkBundle(bytes: Buffer, hex: string, keys: readonly KeyObject[], request: ImageVerificationRequest): ImageVerdict {
  const verified = verifyBundle(bytes, { publicKeys: keys });
  if (!verified.ok) return refused(verified.code, verified.reason);
  const { statement } = verified;
  if (statement.predicateType !== IMAGE_SIGNATURE_PREDICATE) {
    return refused('SUBJECT_MISMATCH', `the bundle is a ${statement.predicateType} statement, not an image signature`);
  }
  if (!statement.subject.some((subject) => subject.digest['sha256'] === hex)) {
    return refused('SUBJECT_MISMATCH', `the signature is for ${statement.subject.map((subject) => `sha256:${subject.digest['sha256'] ?? '?'}`).join(', ')}, not ${request.image} (sha256:${hex})`);
  }
  return { verified: true, signer: `key ${verified.keyId ?? 'keyless'}` };
}

function refused(code: ImageVerificationFailureCode, reason: string): ImageVerdict {
  return { verified: false, reason, code };
}
