/**
 * `maestro images sign IMAGE --key KEY` and `maestro images verify IMAGE`: image signatures kept in
 * the signatures folder (`MAESTRO_IMAGE_SIGNATURES_DIR`, default `<dataDir>/image-signatures`),
 * the ones the container runner checks before it starts a container that must run a signed image.
 * The image is looked up through the Docker API of `DOCKER_HOST`, as the runner does.
 */
import type { Command } from 'commander';
import { loadConfig } from '../config/index.js';
import { ConfigError, NotFoundError } from '../errors/index.js';
import type { ImageVerificationRequest, SignableImage } from '../runners/index.js';

/**
 * Adds `images sign` and `images verify`. Exit codes: 0 signed / verified, 1 not verified, 2 bad
 * input (no such image, unreadable key).
 *
 * @param setExitCode receives the command's exit code.
 */
export function registerImageCommands(program: Command, setExitCode: (code: number) => void): void {
  const images = program.command('images').description('container image signatures (Sigstore bundles in MAESTRO_IMAGE_SIGNATURES_DIR)');

  images
    .command('sign')
    .description("sign a local image's content digests with a key; writes sha256-<image id>.sigstore.json")
    .argument('<image>', 'image reference known to the engine at DOCKER_HOST')
    .requiredOption('-k, --key <pem>', 'PKCS#8 PEM private key (ECDSA P-256 or Ed25519)')
    .option('--dir <dir>', 'signatures folder (default: MAESTRO_IMAGE_SIGNATURES_DIR or <dataDir>/image-signatures)')
    .option('--json', 'print {file, keyId, imageId} as JSON')
    .action(async (image: string, options: { key: string; dir?: string; json?: boolean }) => {
      const config = loadConfig();
      const [{ loadSigningKey }, { imageSignaturesDirOf, signImage }] = await Promise.all([import('../provenance/index.js'), import('../runners/index.js')]);
      const target = await inspectImage(config.dockerHost, image);
      const key = await loadSigningKey(options.key);
      const signed = await signImage(target, key, options.dir ?? imageSignaturesDirOf(config));
      const result = { file: signed.file, keyId: signed.keyId, imageId: target.imageId };
      console.log(options.json ? JSON.stringify(result, null, 2) : `${image} (${target.imageId}) signed by key ${signed.keyId}: ${signed.file}`);
      setExitCode(0);
    });

  images
    .command('verify')
    .description('check an image the way the container runner does; exit 0 verified, 1 not, with the reason')
    .argument('<image>', 'image reference known to the engine at DOCKER_HOST')
    .option('-k, --key <pem>', 'trusted public key file (repeatable); default: MAESTRO_IMAGE_KEYS', collect, [])
    .option('--dir <dir>', 'signatures folder (default: MAESTRO_IMAGE_SIGNATURES_DIR or <dataDir>/image-signatures)')
    .option('--json', 'print the verdict as JSON')
    .action(async (image: string, options: { key: string[]; dir?: string; json?: boolean }) => {
      const config = loadConfig();
      const keyFiles = options.key.length > 0 ? options.key : [...(config.imageKeys ?? [])];
      if (keyFiles.length === 0) throw new ConfigError('no trusted image keys: pass --key <public key PEM> or set MAESTRO_IMAGE_KEYS');
      const [{ readPublicKeys }, { createImageSignatureVerifier, imageSignaturesDirOf }] = await Promise.all([import('../provenance/index.js'), import('../runners/index.js')]);
      const target = await inspectImage(config.dockerHost, image);
      const keys = await readPublicKeys(keyFiles);
      const verifier = createImageSignatureVerifier({ signaturesDir: options.dir ?? imageSignaturesDirOf(config), trustedKeys: async () => keys });
      const request: ImageVerificationRequest = { image, imageId: target.imageId, repoDigests: [...(target.repoDigests ?? [])], namespace: '', runId: '', taskId: '' };
      const verdict = await verifier(request);
      console.log(
        options.json
          ? JSON.stringify({ image, imageId: target.imageId, ...verdict }, null, 2)
          : verdict.verified
            ? `${image} (${target.imageId}): verified (${verdict.signer ?? 'trusted key'})`
            : `${image} (${target.imageId}): NOT verified (${verdict.code ?? 'refused'}): ${verdict.reason}`,
      );
      setExitCode(verdict.verified ? 0 : 1);
    });
}

/** The image's id and registry digests, from the engine. @throws NotFoundError when the engine lacks it. */
async function inspectImage(dockerHost: string | undefined, image: string): Promise<SignableImage> {
  const { createContainerRunner } = await import('../runners/index.js');
  const docker = await createContainerRunner(dockerHost === undefined ? {} : { dockerHost }).docker();
  try {
    const info = await docker.getImage(image).inspect();
    return { image, imageId: info.Id, repoDigests: info.RepoDigests ?? [] };
  } catch (error) {
    if ((error as { statusCode?: unknown }).statusCode === 404) throw new NotFoundError(`image ${image} is not known to the engine (pull or import it first)`, { cause: error });
    throw error;
  }
}

function collect(value: string, previous: string[]): string[] {
  return [...previous, value];
}
