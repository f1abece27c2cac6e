/**
 * The image signature hook. The container runner resolves the image to the exact local image id
 * before anything runs, asks the verifier about it when the policy requires a signature, and then
 * starts the container from that id, so what runs is what was verified (a tag moved in between
 * cannot slip through).
 *
 * TODO: a cosign/sigstore verifier (keyless, Rekor-backed) needs registry access to fetch
 * signatures; it plugs in as an {@link ImageVerifier} once the deployment has a registry.
 */

/** What the verifier is asked about. */
export interface ImageVerificationRequest {
  /** The image as the task wrote it. */
  image: string;
  /** The local image id (`sha256:…`) that will run. */
  imageId: string;
  /** Registry digests of that image (`name@sha256:…`); empty for an image that was never pushed. */
  repoDigests: string[];
  namespace: string;
  runId: string;
  taskId: string;
}

/** The verifier's answer. */
export type ImageVerdict = { verified: true; signer?: string } | { verified: false; reason: string };

/** Checks an image's signature (cosign, Notary, an internal allow-list …). */
export type ImageVerifier = (request: ImageVerificationRequest) => Promise<ImageVerdict>;

/** When images must be verified, and by what. */
export interface ImagePolicy {
  /**
   * Whether this request needs a verified signature (e.g. from the policy decision for the run's
   * namespace). @default false
   */
  requireSignature?: boolean | ((request: ImageVerificationRequest) => boolean);
  /** Without one, a required verification fails closed. */
  verifier?: ImageVerifier;
}
