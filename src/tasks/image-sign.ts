import { createEgressAgent } from '../egress/index.js';
import type { ImagesSettings } from '../config/index.js';
import { signingKeyFromPem } from '../provenance/index.js';
import { namesRegistry, registryClientFrom, signImageInRegistry } from '../runners/index.js';
import { defineTask, TaskError } from '../sdk/index.js';

/** Input of `tasks/image.sign`. */
export interface ImageSignInput {
  /** The image in its registry: `registry[:port]/repository[:tag|@digest]`. */
  image: string;
  /** The secret holding the PKCS#8 PEM private key (ECDSA P-256 or Ed25519). @default IMAGE_SIGNING_KEY */
  keySecret?: string;
}

/** Output of `tasks/image.sign`. */
export interface ImageSignOutput {
  /** `registry/repository@digest`: the image signed. */
  image: string;
  digest: string;
  /** The tag the cosign signature manifest went to: `sha256-<hex>.sig`. */
  signatureTag: string;
  /** Id of the key that signed (never the key). */
  keyId: string;
}

/** What the worker's config decides about image signing: its registry settings. The config object itself fits. */
export type ImageSignOptions = Pick<ImagesSettings, 'imageRegistryInsecure' | 'imageRegistryAuthFile'>;

/**
 * `tasks/image.sign`: signs an image in its registry, cosign-style (what `maestro images sign`
 * writes and the runners verify), with a private key held in a secret. The key is resolved inside
 * the attempt through the namespace's secrets, so only namespaces the secret is scoped to can sign
 * with it; it never enters the input, the history or the logs. The registry is reached through the
 * namespace's egress guard.
 *
 * @example
 * - id: sign
 *   uses: tasks/image.sign@0.1.0
 *   with: { image: "${tasks.build.outputs.pinned}", keySecret: IMAGE_SIGNING_KEY }
 */
export function createImageSignTask(options: ImageSignOptions = {}) {
  return defineTask<ImageSignInput, ImageSignOutput>({
    name: 'tasks/image.sign',
    version: '0.1.0',
    description: "Signs an image in its registry (cosign's sha256-<digest>.sig) with a key from the namespace's secrets.",
    execution: 'activity',
    input: {
      type: 'object',
      properties: {
        image: { type: 'string', minLength: 1, maxLength: 512, description: 'registry[:port]/repository[:tag|@digest].' },
        keySecret: { type: 'string', pattern: '^[A-Za-z0-9_.-]{1,128}$', default: 'IMAGE_SIGNING_KEY', description: 'Secret holding the PEM private key.' },
      },
      required: ['image'],
      additionalProperties: false,
    },
    output: {
      type: 'object',
      properties: {
        image: { type: 'string' },
        digest: { type: 'string', pattern: '^sha256:[0-9a-f]{64}$' },
        signatureTag: { type: 'string' },
        keyId: { type: 'string' },
      },
      required: ['image', 'digest', 'signatureTag', 'keyId'],
      additionalProperties: false,
    },
    async execute({ image, keySecret = 'IMAGE_SIGNING_KEY' }, ctx) {
      if (!namesRegistry(image)) throw new TaskError(`image "${image.slice(0, 120)}" names no registry: only an image in a registry is signed here`, { code: 'TASK_INPUT_INVALID', retryable: false });
      const pem = await ctx.secrets(keySecret);
      let key;
      try {
        key = signingKeyFromPem(pem, `secret ${keySecret}`);
      } catch (error) {
        throw new TaskError(`secret ${keySecret} is not an ECDSA P-256 or Ed25519 PKCS#8 PEM private key`, { code: 'TASK_INPUT_INVALID', retryable: false, cause: error });
      }
      const dispatcher = createEgressAgent({ guard: ctx.egress });
      try {
        const signed = await signImageInRegistry(registryClientFrom(options, { dispatcher }), image, key);
        ctx.logger.info('image signed', { image: signed.image, keyId: signed.keyId });
        return signed;
      } finally {
        await dispatcher.close();
      }
    },
  });
}

/** `tasks/image.sign` with the default registry settings (every registry over HTTPS, anonymous). */
export const imageSign = createImageSignTask();
