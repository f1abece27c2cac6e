/**
 * The image signature hook. The container runner resolves the image to the exact local image id
 * before anything runs, asks the verifier about it when a signature is required, and then starts
 * the container from that id, so what runs is what was verified (a tag moved in between cannot
 * slip through). A refusal fails the attempt with `IMAGE_NOT_VERIFIED` before any container
 * exists. The built-in verifier reads Sigstore bundles from a folder (`image-signatures.ts`).
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

/** The verifier's answer; a refusal may carry a stable `code` saying why (e.g. `NO_SIGNATURE`). */
export type ImageVerdict = { verified: true; signer?: string } | { verified: false; reason: string; code?: string };

/** Checks an image's signature (cosign, Notary, an internal allow-list …). */
export type ImageVerifier = (request: ImageVerificationRequest) => Promise<ImageVerdict>;

/** When images must be verified, and by what. */
export interface ImagePolicy {
  /**
   * Whether this request needs a verified signature (e.g. for the run's namespace). A workload's
   * own `requireSignedImage` adds to it; nothing turns it off. @default false
   */
  requireSignature?: boolean | ((request: ImageVerificationRequest) => boolean);
  /** Without one, a required verification fails closed. */
  verifier?: ImageVerifier;
}
