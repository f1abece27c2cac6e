/**
 * `maestro images sign IMAGE --key KEY` and `maestro images verify IMAGE`: image signatures where
 * the runners look for them. An image in a registry (`host[:port]/repo[:tag]`) is signed there,
 * cosign-style (the tag `sha256-<digest>.sig` beside it); a local image (or `--to folder`) gets a
 * Sigstore bundle in the signatures folder (`MAESTRO_IMAGE_SIGNATURES_DIR`, default
 * `<dataDir>/image-signatures`), for air-gapped hosts. A local image is looked up through the
 * Docker API of `DOCKER_HOST`, as the container runner does.
 */
import type { Command } from 'commander';
import { loadConfig } from '../config/index.js';
import { ConfigError, NotFoundError } from '../errors/index.js';
import type { ImageVerificationRequest, SignableImage } from '../runners/index.js';
import { collect } from './api-commands.js';

/**
 * Adds `images sign` and `images verify`. Exit codes: 0 signed / verified, 1 not verified, 2 bad
 * input (no such image, unreadable key).
 *
 * @param setExitCode receives the command's exit code.
 */
export function registerImageCommands(program: Command, setExitCode: (code: number) => void): void {
  const images = program.command('images').description('container image signatures (cosign signatures in the registry, or Sigstore bundles in MAESTRO_IMAGE_SIGNATURES_DIR)');

  images
    .command('sign')
    .description("sign an image: in its registry (cosign's sha256-<digest>.sig tag) or, for a local image or --to folder, as a bundle in the signatures folder")
    .argument('<image>', 'registry reference (host[:port]/repo[:tag|@digest]) or an image known to the engine at DOCKER_HOST')
    .requiredOption('-k, --key <pem>', 'PKCS#8 PEM private key (ECDSA P-256 or Ed25519)')
    .option('--to <store>', 'registry | folder (default: registry for a registry reference, else folder)')
    .option('--dir <dir>', 'signatures folder (default: MAESTRO_IMAGE_SIGNATURES_DIR or <dataDir>/image-signatures)')
    .option('--json', 'print what was signed as JSON')
    .action(async (image: string, options: { key: string; to?: string; dir?: string; json?: boolean }) => {
      const config = loadConfig();
      const [{ loadSigningKey }, runners] = await Promise.all([import('../provenance/index.js'), import('../runners/index.js')]);
      const store = options.to ?? (runners.namesRegistry(image) ? 'registry' : 'folder');
      if (store !== 'registry' && store !== 'folder') throw new ConfigError(`--to ${store}: expected registry or folder`);
      const key = await loadSigningKey(options.key);
      if (store === 'registry') {
        const signed = await runners.signImageInRegistry(runners.registryClientFrom(config), image, key);
        console.log(options.json ? JSON.stringify(signed, null, 2) : `${image} (${signed.digest}) signed by key ${signed.keyId}: ${signed.signatureTag}`);
        setExitCode(0);
        return;
      }
      const target = await inspectImage(config.dockerHost, image);
      const signed = await runners.signImage(target, key, options.dir ?? runners.imageSignaturesDirOf(config));
      const result = { file: signed.file, keyId: signed.keyId, imageId: target.imageId };
      console.log(options.json ? JSON.stringify(result, null, 2) : `${image} (${target.imageId}) signed by key ${signed.keyId}: ${signed.file}`);
      setExitCode(0);
    });

  images
    .command('verify')
    .description('check an image the way the runners do (stores of MAESTRO_IMAGE_SIGNATURE_STORES); exit 0 verified, 1 not, with the reason')
    .argument('<image>', 'registry reference or an image known to the engine at DOCKER_HOST')
    .option('-k, --key <pem>', 'trusted public key file (repeatable); default: MAESTRO_IMAGE_KEYS', collect, [])
    .option('--dir <dir>', 'signatures folder (default: MAESTRO_IMAGE_SIGNATURES_DIR or <dataDir>/image-signatures)')
    .option('--json', 'print the verdict as JSON')
    .action(async (image: string, options: { key: string[]; dir?: string; json?: boolean }) => {
      const config = loadConfig();
      const keyFiles = options.key.length > 0 ? options.key : [...(config.imageKeys ?? [])];
      if (keyFiles.length === 0) throw new ConfigError('no trusted image keys: pass --key <public key PEM> or set MAESTRO_IMAGE_KEYS');
      const runners = await import('../runners/index.js');
      const settings = { ...config, imageKeys: keyFiles, ...(options.dir === undefined ? {} : { imageSignaturesDir: options.dir }) };
      const verifier = runners.imageVerifierFrom(settings);
      let request: ImageVerificationRequest;
      if ((config.imageSignatureStores ?? []).includes('registry') && runners.namesRegistry(image)) {
        // As the Kubernetes runner does: the registry says which digest the reference names now.
        const reference = runners.parseImageReference(image);
        const digest = reference.digest ?? (await runners.registryClientFrom(config).manifest(reference))?.digest;
        if (digest === undefined) throw new NotFoundError(`${image} is not in its registry`);
        request = { image, imageId: digest, repoDigests: [runners.pinnedReference(reference, digest)], digest, namespace: '', runId: '', taskId: '' };
      } else {
        const target = await inspectImage(config.dockerHost, image);
        request = { image, imageId: target.imageId, repoDigests: [...(target.repoDigests ?? [])], namespace: '', runId: '', taskId: '' };
      }
      const verdict = await verifier(request);
      console.log(
        options.json
          ? JSON.stringify({ image, imageId: request.imageId, ...verdict }, null, 2)
          : verdict.verified
            ? `${image} (${request.imageId}): verified (${verdict.signer ?? 'trusted key'})`
            : `${image} (${request.imageId}): NOT verified (${verdict.code ?? 'refused'}): ${verdict.reason}`,
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

