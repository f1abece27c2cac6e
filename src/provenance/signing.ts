/**
 * Signing: a statement becomes a DSSE envelope inside a Sigstore bundle v0.3, built by
 * `@sigstore/sign`. The default signer is a local key (no network); keyless signing through
 * Fulcio and Rekor is used only when configured.
 */
import { sign as cryptoSign } from 'node:crypto';
import { bundleToJSON, type SerializedBundle } from '@sigstore/bundle';
import {
  CIContextProvider,
  DSSEBundleBuilder,
  FulcioSigner,
  RekorWitness,
  type IdentityProvider,
  type Signer,
} from '@sigstore/sign';
import { canonicalJson } from '../canonical/index.js';
import { IN_TOTO_PAYLOAD_TYPE, type Statement } from './statement.js';
import type { SigningKey } from './keys.js';

export type { SerializedBundle } from '@sigstore/bundle';

/** Signs DSSE payloads into Sigstore bundles. */
export interface BundleSigner {
  /** Key id of a local key; undefined for keyless signing (an ephemeral key with a certificate). */
  readonly keyId: string | undefined;
  /** Signs `payload` (DSSE PAE over `payloadType` and `payload`) and returns the bundle's JSON form. */
  sign(payload: Buffer, payloadType: string): Promise<SerializedBundle>;
}

/**
 * A signer backed by a local key: ECDSA P-256 with SHA-256 (DER signature) or Ed25519. The bundle
 * carries the key id as its public-key hint; nothing goes over the network.
 */
export function localBundleSigner(key: SigningKey): BundleSigner {
  const signer: Signer = {
    sign: (data) =>
      Promise.resolve({
        signature: cryptoSign(key.algorithm === 'ed25519' ? null : 'sha256', data, key.privateKey),
        key: { $case: 'publicKey', publicKey: key.publicKeyPem, hint: key.keyId },
      }),
  };
  const builder = new DSSEBundleBuilder({ signer, witnesses: [] });
  return {
    keyId: key.keyId,
    sign: async (payload, payloadType) => bundleToJSON(await builder.create({ data: payload, type: payloadType })),
  };
}

/** Options of {@link keylessBundleSigner}. */
export interface KeylessSignerOptions {
  /** Fulcio base URL, e.g. `https://fulcio.sigstore.dev`. */
  fulcioUrl: string;
  /** Rekor base URL, e.g. `https://rekor.sigstore.dev`. */
  rekorUrl: string;
  /**
   * Where the OIDC identity token comes from.
   * @default CIContextProvider('sigstore') — GitHub Actions' token, or `SIGSTORE_ID_TOKEN`
   */
  identityProvider?: IdentityProvider;
}

/**
 * Keyless signing: an ephemeral key certified by Fulcio for the workload's OIDC identity, the
 * signature witnessed by Rekor. Needs the network and an identity token; used only when
 * `MAESTRO_FULCIO_URL` and `MAESTRO_REKOR_URL` are set. Verifying such a bundle offline needs the
 * Sigstore trusted root (`trustedRoot` in {@link verifyBundle}).
 */
export function keylessBundleSigner(options: KeylessSignerOptions): BundleSigner {
  const signer = new FulcioSigner({
    fulcioBaseURL: options.fulcioUrl,
    identityProvider: options.identityProvider ?? new CIContextProvider('sigstore'),
  });
  const builder = new DSSEBundleBuilder({ signer, witnesses: [new RekorWitness({ rekorBaseURL: options.rekorUrl, entryType: 'dsse' })] });
  return {
    keyId: undefined,
    sign: async (payload, payloadType) => bundleToJSON(await builder.create({ data: payload, type: payloadType })),
  };
}

/**
 * Signs an in-toto statement: its JSON (RFC 8785 canonical form, so the signed bytes are the same
 * on every machine) becomes the DSSE payload of type `application/vnd.in-toto+json`.
 */
export function signStatement(statement: Statement, signer: BundleSigner): Promise<SerializedBundle> {
  return signer.sign(statementPayload(statement), IN_TOTO_PAYLOAD_TYPE);
}

/** The exact bytes a statement is signed as: its canonical JSON, UTF-8. */
export function statementPayload(statement: Statement): Buffer {
  return Buffer.from(canonicalJson(statement), 'utf8');
}
