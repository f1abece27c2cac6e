/**
 * The image signature hook. The container runner resolves the image to the exact local image id
 * before anything runs, asks the verifier about it when a signature is required, and then starts
 * the container from that id, so what runs is what was verified (a tag moved in between cannot
 * slip through). A refusal fails the attempt with `IMAGE_NOT_VERIFIED` before any container
 * exists. The built-in verifiers read Sigstore bundles from a folder (`image-signatures.ts`) and
 * cosign signatures from the image's registry (`../registry/cosign.ts`). The Kubernetes runner
 * goes through the same {@link checkImage}, with the digest it resolved, and pins the Job to it.
 */
import { RunnerError } from '../runner-error.js';

/** What the verifier is asked about. */
export interface ImageVerificationRequest {
  /** The image as the task wrote it. */
  image: string;
  /** The local image id (`sha256:…`) that will run. */
  imageId: string;
  /** Registry digests of that image (`name@sha256:…`); empty for an image that was never pushed. */
  repoDigests: string[];
  /**
   * The registry manifest digest (`sha256:…`) that will run, when the runner resolved the image
   * itself and runs it pinned (the Kubernetes runner). Unset: the verifier resolves the reference.
   */
  digest?: string;
  namespace: string;
  runId: string;
  taskId: string;
}

/** The verifier's answer; a refusal may carry a stable `code` saying why (e.g. `NO_SIGNATURE`). */
export type ImageVerdict = { verified: true; signer?: string; digest?: string } | { verified: false; reason: string; code?: string };

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
  /**
   * Resolves a registry reference to the digest of its manifest (undefined when the registry has
   * no such image), for runners that pin what they verified (the Kubernetes Job's image).
   * Without one, such a runner verifies only references that pin a digest.
   */
  resolveDigest?: (image: string) => Promise<string | undefined>;
}

/** Whether `request` needs a verified signature: `required` (workload, runner) or the policy says so. */
export function signatureRequired(policy: ImagePolicy, request: ImageVerificationRequest, required: boolean): boolean {
  const { requireSignature } = policy;
  return required || (typeof requireSignature === 'function' ? requireSignature(request) : requireSignature === true);
}

/**
 * Applies the policy to one image: when a signature is required (by the policy, or `required`
 * from the workload or runner), asks the verifier and throws `IMAGE_NOT_VERIFIED` (not retryable)
 * on a refusal. Returns the verdict, or undefined when no signature was required.
 *
 * @throws RunnerError with code `IMAGE_NOT_VERIFIED`, details `{ image, imageId, reason }`.
 */
export async function checkImage(runner: string, policy: ImagePolicy, request: ImageVerificationRequest, required: boolean): Promise<ImageVerdict | undefined> {
  if (!signatureRequired(policy, request, required)) return undefined;
  const verdict: ImageVerdict = policy.verifier
    ? await policy.verifier(request)
    : { verified: false, reason: 'a signature is required but no image verifier is configured', code: 'NO_VERIFIER' };
  if (!verdict.verified) {
    throw new RunnerError(runner, `image ${request.image} (${request.imageId}) was not verified: ${verdict.reason}`, {
      code: 'IMAGE_NOT_VERIFIED',
      retryable: false,
      details: { image: request.image, imageId: request.imageId, ...(verdict.code === undefined ? {} : { reason: verdict.code }) },
    });
  }
  return verdict;
}
