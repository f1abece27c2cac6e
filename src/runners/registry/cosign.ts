/**
 * Image signatures where cosign keeps them: in the image's own registry, under the tag
 * `sha256-<hex>.sig` of the same repository, as an OCI image manifest whose layers are cosign
 * "simple signing" payloads (`application/vnd.dev.cosign.simplesigning.v1+json`, naming the signed
 * manifest digest in `critical.image.docker-manifest-digest`), each carrying its signature in the
 * annotation `dev.cosignproject.cosign/signature` (base64; ECDSA P-256 over SHA-256 of the payload,
 * ASN.1 DER, as `cosign sign --key` makes it; Ed25519 keys sign the payload itself). A signature
 * made here verifies with `cosign verify --key`, and the other way round (key-based signatures;
 * keyless Fulcio/Rekor material is not read).
 *
 * What is verified is the manifest digest: a tag is resolved to its digest first, and the
 * signature must name that digest, so a tag moved after signing points at an unsigned digest.
 */
import type { KeyObject } from 'node:crypto';
import {
  SIGNATURE_ANNOTATION,
  SIMPLE_SIGNING_MEDIA_TYPE,
  keyIdOf,
  signSimplePayload,
  signedDigestOf,
  simpleSigningPayload,
  verifiesSimplePayload,
  type SigningKey,
} from '../../provenance/index.js';
import type { ImageVerdict, ImageVerifier } from '../container/image-policy.js';
import { sha256Of, type ImageVerificationFailureCode } from '../container/image-signatures.js';
import { RunnerError } from '../runner-error.js';
import type { RegistryClient } from './client.js';
import { namesRegistry, parseImageReference, pinnedReference, type ImageReference } from './reference.js';

const OCI_MANIFEST = 'application/vnd.oci.image.manifest.v1+json';
const OCI_CONFIG = 'application/vnd.oci.image.config.v1+json';
/** A signature manifest with more layers than this is refused unread (each is a blob fetch). */
const MAX_SIGNATURE_LAYERS = 32;
/** A simple-signing payload is a few hundred bytes; this bounds one. */
const MAX_PAYLOAD_BYTES = 64 * 1024;
const MAX_SIGNATURE_CHARS = 4096;

/** The tag cosign stores the signatures of `digest` under: `sha256-<hex>.sig`. */
export function signatureTagOf(digest: string): string {
  const hex = sha256Of(digest);
  if (hex === undefined) throw new RunnerError('container', `"${digest}" is not a sha256 digest`, { code: 'TASK_INPUT_INVALID', retryable: false });
  return `sha256-${hex}.sig`;
}

interface SignatureLayer {
  mediaType: string;
  size: number;
  digest: string;
  annotations?: Record<string, string>;
}

/** What {@link signImageInRegistry} did. */
export interface RegistrySignature {
  /** The reference, pinned: `registry/repository@sha256:…`. */
  image: string;
  /** The signed manifest digest. */
  digest: string;
  /** The tag the signature manifest was stored under. */
  signatureTag: string;
  keyId: string;
}

/**
 * Resolves `image` to its manifest digest in its registry and stores a cosign signature of it
 * under `sha256-<hex>.sig`, beside the signatures already there (another key's stay).
 *
 * @throws RunnerError when the image is not in the registry or the registry refuses a push.
 * @example
 * await signImageInRegistry(client, '127.0.0.1:5000/tool:1', await loadSigningKey('release.key'));
 */
export async function signImageInRegistry(client: RegistryClient, image: string, key: SigningKey): Promise<RegistrySignature> {
  const reference = parseImageReference(image);
  const manifest = await client.manifest(reference);
  if (manifest === undefined) throw new RunnerError('container', `${image} is not in its registry`, { code: 'TASK_INPUT_INVALID', retryable: false });
  const { digest } = manifest;
  const payload = simpleSigningPayload(`${reference.registry}/${reference.repository}`, digest);
  const signatureTag = await storeSignatureInRegistry(client, reference, payload, signSimplePayload(payload, key));
  return { image: pinnedReference(reference, digest), digest, signatureTag, keyId: key.keyId };
}

/**
 * Adds a signature made elsewhere (a release's) to the `.sig` manifest of the digest its payload
 * names, in `reference`'s repository, beside the signatures already there; returns the tag.
 *
 * @throws RunnerError when the payload names no digest, or the registry refuses a push.
 */
export async function storeSignatureInRegistry(client: RegistryClient, reference: ImageReference, payload: Buffer, signature: string): Promise<string> {
  const digest = signedDigestOf(payload);
  if (digest === undefined) throw new RunnerError('container', 'the payload is no cosign image signature', { code: 'TASK_INPUT_INVALID', retryable: false });
  const signatureTag = signatureTagOf(digest);
  const existing = await client.manifest(reference, signatureTag);
  const layers = (existing === undefined ? [] : signatureLayersOf(existing.bytes)).filter((layer) => layer.annotations?.[SIGNATURE_ANNOTATION] !== signature);
  const layer: SignatureLayer = { mediaType: SIMPLE_SIGNING_MEDIA_TYPE, size: payload.length, digest: await client.pushBlob(reference, payload), annotations: { [SIGNATURE_ANNOTATION]: signature } };
  layers.push(layer);
  const config = Buffer.from(
    JSON.stringify({
      architecture: '',
      created: '0001-01-01T00:00:00Z',
      history: layers.map(() => ({ created: '0001-01-01T00:00:00Z' })),
      os: '',
      rootfs: { type: 'layers', diff_ids: layers.map((each) => each.digest) },
      config: {},
    }),
  );
  const configDigest = await client.pushBlob(reference, config);
  const signatureManifest = Buffer.from(
    JSON.stringify({ schemaVersion: 2, mediaType: OCI_MANIFEST, config: { mediaType: OCI_CONFIG, size: config.length, digest: configDigest }, layers }),
  );
  await client.pushManifest(reference, signatureTag, OCI_MANIFEST, signatureManifest);
  return signatureTag;
}

/** Options of {@link createRegistrySignatureVerifier}. */
export interface RegistrySignatureVerifierOptions {
  client: RegistryClient;
  /** The trusted public keys, asked for at every verification (an empty list refuses every image). */
  trustedKeys: () => Promise<readonly KeyObject[]>;
  /** Verified digests remembered, per key set. @default 1024 */
  cacheEntries?: number;
  /** How long a verified digest is remembered (a deleted signature counts after at most this). @default 300000 */
  cacheTtlMs?: number;
}

/**
 * An {@link ImageVerifier} reading cosign signatures from the image's registry. The image is
 * resolved to its manifest digest (the request's `digest` when the runner resolved one, the
 * reference's own digest, else the tag asked of the registry); for an image run from the local
 * engine, that digest must be one of the local image's registry digests (else the tag moved since
 * the pull). The digest is verified when a layer of its `.sig` manifest is a payload naming it,
 * signed by a trusted key. Verified digests are cached (bounded, per digest and key set, for
 * `cacheTtlMs`); refusals are not, so an image signed a moment ago runs at once.
 */
export function createRegistrySignatureVerifier(options: RegistrySignatureVerifierOptions): ImageVerifier {
  const { client, trustedKeys, cacheEntries = 1024, cacheTtlMs = 300_000 } = options;
  const cache = new Map<string, { expires: number; verdict: ImageVerdict }>();
  return async (request) => {
    const keys = await trustedKeys();
    if (keys.length === 0) return refused('NO_TRUSTED_KEYS', 'no trusted image keys are configured (MAESTRO_IMAGE_KEYS)');
    if (request.digest === undefined && !namesRegistry(request.image)) {
      return refused('NO_SIGNATURE', `${request.image} names no registry, so it has no registry signature (push it to a registry, or use the signatures folder)`);
    }
    const reference = parseImageReference(request.image);
    const digest = request.digest ?? reference.digest ?? (await client.manifest(reference))?.digest;
    if (digest === undefined) return refused('NO_SIGNATURE', `${request.image} is not in its registry ${reference.registry}`);
    if (request.digest === undefined) {
      const local = new Set([request.imageId, ...request.repoDigests].map(sha256Of));
      if (!local.has(sha256Of(digest))) {
        return refused(
          'DIGEST_MISMATCH',
          `the local image ${request.imageId} is not ${request.image} as its registry serves it now (${digest}): the tag moved since the image was pulled; pull it again`,
        );
      }
    }
    const cacheKey = `${reference.registry}/${reference.repository}@${digest}|${keys.map(keyIdOf).sort().join(',')}`;
    const cached = cache.get(cacheKey);
    if (cached !== undefined && cached.expires > Date.now()) return cached.verdict;
    const verdict = await verifyDigest(client, reference, digest, keys);
    if (verdict.verified) {
      cache.delete(cacheKey);
      if (cache.size >= cacheEntries) cache.delete(cache.keys().next().value as string);
      cache.set(cacheKey, { expires: Date.now() + cacheTtlMs, verdict });
    }
    return verdict;
  };
}

async function verifyDigest(client: RegistryClient, reference: ImageReference, digest: string, keys: readonly KeyObject[]): Promise<ImageVerdict> {
  const tag = signatureTagOf(digest);
  const manifest = await client.manifest(reference, tag);
  const where = `${reference.registry}/${reference.repository}:${tag}`;
  if (manifest === undefined) return refused('NO_SIGNATURE', `no signature for ${digest} in ${reference.registry}/${reference.repository} (sign it with: maestro images sign ${pinnedReference(reference, digest)} --key KEY)`);
  let layers: SignatureLayer[];
  try {
    layers = signatureLayersOf(manifest.bytes);
  } catch (error) {
    return refused('MALFORMED', `${where}: ${error instanceof Error ? error.message : String(error)}`);
  }
  const problems: ImageVerdict[] = [];
  for (const layer of layers) {
    const signature = layer.annotations?.[SIGNATURE_ANNOTATION];
    if (layer.mediaType !== SIMPLE_SIGNING_MEDIA_TYPE || signature === undefined) continue;
    if (signature.length > MAX_SIGNATURE_CHARS || layer.size > MAX_PAYLOAD_BYTES) {
      problems.push(refused('MALFORMED', `${where}: a signature layer is over its size limit`));
      continue;
    }
    const payload = await client.blob(reference, layer.digest, MAX_PAYLOAD_BYTES);
    const signer = keys.find((key) => verifiesSimplePayload(key, payload, signature));
    if (signer === undefined) {
      problems.push(refused('UNTRUSTED_KEY', `${where}: no trusted key made its signature`));
      continue;
    }
    const named = signedDigestOf(payload);
    if (named !== digest) {
      problems.push(refused('SUBJECT_MISMATCH', `${where}: a trusted key signed ${named ?? 'a payload that is no cosign image signature'}, not ${digest}`));
      continue;
    }
    return { verified: true, signer: `key ${keyIdOf(signer)}`, digest };
  }
  return problems.find((problem) => !problem.verified && problem.code === 'SUBJECT_MISMATCH') ?? problems[0] ?? refused('NO_SIGNATURE', `${where} holds no cosign signature layer`);
}

/** The layers of a signature manifest, shape-checked. @throws Error when it is no such manifest. */
function signatureLayersOf(bytes: Buffer): SignatureLayer[] {
  const parsed: unknown = JSON.parse(bytes.toString('utf8'));
  const layers = (parsed as { layers?: unknown }).layers;
  if (!Array.isArray(layers)) throw new Error('the signature manifest has no layers');
  if (layers.length > MAX_SIGNATURE_LAYERS) throw new Error(`the signature manifest has ${layers.length} layers, over ${MAX_SIGNATURE_LAYERS}`);
  return layers.map((layer: unknown) => {
    const { mediaType, size, digest, annotations } = (layer ?? {}) as Record<string, unknown>;
    if (typeof mediaType !== 'string' || typeof size !== 'number' || typeof digest !== 'string' || !/^sha256:[0-9a-f]{64}$/.test(digest)) {
      throw new Error('a layer of the signature manifest is malformed');
    }
    const checked: SignatureLayer = { mediaType, size, digest };
    if (annotations !== null && typeof annotations === 'object') {
      checked.annotations = Object.fromEntries(Object.entries(annotations).filter((entry): entry is [string, string] => typeof entry[1] === 'string'));
    }
    return checked;
  });
}

function refused(code: ImageVerificationFailureCode, reason: string): ImageVerdict {
  return { verified: false, reason, code };
}

