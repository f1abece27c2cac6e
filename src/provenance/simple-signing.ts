/**
 * Cosign's "simple signing" image signatures, the part both sides share: the payload naming a
 * manifest digest (`critical.image.docker-manifest-digest`) and the repository it was signed for,
 * its signature with a local key (ECDSA P-256 over SHA-256 of the payload, ASN.1 DER, as
 * `cosign sign --key` makes it; Ed25519 keys sign the payload itself), and the checks of both.
 * The registry store (`src/runners/registry/cosign.ts`) keeps these as layers of a `.sig`
 * manifest; a release (`src/release`) keeps its image's one as a file beside the image.
 */
import { sign, verify, type KeyObject } from 'node:crypto';
import type { SigningKey } from './keys.js';

/** Media type of a cosign simple-signing payload layer. */
export const SIMPLE_SIGNING_MEDIA_TYPE = 'application/vnd.dev.cosign.simplesigning.v1+json';
/** The layer annotation holding the base64 signature. */
export const SIGNATURE_ANNOTATION = 'dev.cosignproject.cosign/signature';
/** `critical.type` of a cosign image signature payload. */
export const COSIGN_SIGNATURE_TYPE = 'cosign container image signature';

/**
 * The simple-signing payload for a manifest digest, in cosign's byte layout.
 *
 * @param repository `registry/repository` the image is signed for (`docker-reference`), e.g. `ghcr.io/acme/tool`.
 * @param digest the manifest digest, `sha256:<hex>`.
 */
export function simpleSigningPayload(repository: string, digest: string): Buffer {
  return Buffer.from(
    JSON.stringify({
      critical: { identity: { 'docker-reference': repository }, image: { 'docker-manifest-digest': digest }, type: COSIGN_SIGNATURE_TYPE },
      optional: null,
    }),
  );
}

/** The base64 signature of `payload` with `key`, as cosign stores it in {@link SIGNATURE_ANNOTATION}. */
export function signSimplePayload(payload: Buffer, key: SigningKey): string {
  return sign(key.algorithm === 'ed25519' ? null : 'sha256', payload, key.privateKey).toString('base64');
}

/** True when `signature` (base64) over `payload` was made by `key`; false for any other key type or bytes. */
export function verifiesSimplePayload(key: KeyObject, payload: Buffer, signature: string): boolean {
  try {
    return verify(key.asymmetricKeyType === 'ed25519' ? null : 'sha256', payload, key, Buffer.from(signature, 'base64'));
  } catch {
    // A key of another type, or bytes that are no signature: not made by this key.
    return false;
  }
}

/** The `docker-manifest-digest` a cosign payload names, or undefined when it is none. */
export function signedDigestOf(payload: Buffer): string | undefined {
  try {
    const parsed: unknown = JSON.parse(payload.toString('utf8'));
    const critical = (parsed as { critical?: { type?: unknown; image?: { 'docker-manifest-digest'?: unknown } } } | null)?.critical;
    const named = critical?.image?.['docker-manifest-digest'];
    return critical?.type === COSIGN_SIGNATURE_TYPE && typeof named === 'string' ? named : undefined;
  } catch {
    // Not JSON: no digest named.
    return undefined;
  }
}
