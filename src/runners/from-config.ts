import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { Connection, WorkflowClient } from '@temporalio/client';
import { temporalConnectOptions, type ImagesSettings, type RunnersSettings, type StoreSettings, type TemporalSettings } from '../config/index.js';
import { ConfigError } from '../errors/index.js';
import { readPublicKeys } from '../provenance/index.js';
import type { ArtifactStore } from '../store/index.js';
import { createContainerRunner } from './container/container-runner.js';
import type { ImagePolicy, ImageVerifier } from './container/image-policy.js';
import { createImageSignatureVerifier } from './container/image-signatures.js';
import { dockerOptions, dockerSocketPresent } from './container/docker-host.js';
import { startOrphanSweep, temporalRunLiveness, type OrphanSweepOptions, type OrphanSweeper, type RunLiveness } from './container/orphans.js';
import { createK8sRunner } from './k8s/k8s-runner.js';
import { createRegistryClient, type RegistryClient, type RegistryClientOptions, type RegistryCredentials } from './registry/client.js';
import { createRegistrySignatureVerifier } from './registry/cosign.js';
import { parseImageReference } from './registry/reference.js';
import { resourceClassesFrom } from './resources.js';
import { localRunner, type Runners } from './runner.js';
import { createServerlessRunner } from './serverless/serverless-runner.js';

/** Options of {@link createRunners}. */
export interface CreateRunnersOptions {
  /** Where the container runner stores collected artifacts. @default none (hashed and listed only) */
  artifacts?: ArtifactStore;
  /** Checks image signatures where they are required. @default {@link imageVerifierFrom}(config) */
  imageVerifier?: ImageVerifier;
}

/**
 * The four runners a worker offers, from config: `local`; `container` on `DOCKER_HOST`; `k8s`
 * with `KUBECONFIG` or in-cluster credentials and `MAESTRO_K8S_NAMESPACES`; `serverless` with
 * `MAESTRO_FUNCTIONS` and the Lambda settings. All share the resource classes of
 * `MAESTRO_RESOURCE_CLASSES`. Nothing connects until a task runs: a runner whose peer is missing
 * fails that task with `RUNNER_FAILED` saying why (`maestro runners check` says it up front).
 *
 * @example
 * const runners = createRunners(config, { artifacts: new FsArtifactStore({ root: config.artifactDir }) });
 * const worker = await createWorker({ connection, artifactDir: config.artifactDir, runners });
 */
export function createRunners(config: RunnersSettings & ImagesSettings & Pick<StoreSettings, 'dataDir'> & Pick<TemporalSettings, 'temporalNamespace'>, options: CreateRunnersOptions = {}): Runners {
  const resourceClasses = resourceClassesFrom(config);
  return {
    local: localRunner,
    container: createContainerRunner({
      dockerHost: config.dockerHost,
      resourceClasses,
      artifacts: options.artifacts,
      temporalNamespace: config.temporalNamespace,
      imagePolicy: imagePolicyFrom(config, options.imageVerifier ?? imageVerifierFrom(config)),
    }),
    k8s: createK8sRunner({
      kubeconfig: config.kubeconfig,
      namespaces: config.k8sNamespaces,
      resourceClasses,
      artifacts: options.artifacts,
      imagePolicy: { ...imagePolicyFrom(config, options.imageVerifier ?? imageVerifierFrom(config)), resolveDigest: digestResolverFrom(config) },
    }),
    serverless: createServerlessRunner({
      functions: config.functions,
      lambda: { endpoint: config.lambdaEndpoint, region: config.lambdaRegion },
      resourceClasses,
    }),
  };
}

/** The folder of image signatures: `imageSignaturesDir`, else `<dataDir>/image-signatures`. */
export function imageSignaturesDirOf(config: Pick<ImagesSettings, 'imageSignaturesDir'> & Pick<StoreSettings, 'dataDir'>): string {
  return config.imageSignaturesDir ?? join(config.dataDir, 'image-signatures');
}

/** The image settings {@link imageVerifierFrom} reads. */
export type ImageVerifierSettings = Pick<ImagesSettings, 'imageSignaturesDir' | 'imageKeys' | 'imageSignatureStores' | 'imageRegistryInsecure' | 'imageRegistryAuthFile'> &
  Pick<StoreSettings, 'dataDir'>;

/**
 * The configured image verifier: the stores of `MAESTRO_IMAGE_SIGNATURE_STORES` in order (cosign
 * signatures in the image's registry, Sigstore bundles in {@link imageSignaturesDirOf}), trusted
 * keys from `MAESTRO_IMAGE_KEYS` (read at every verification; none configured refuses every image).
 */
export function imageVerifierFrom(config: ImageVerifierSettings): ImageVerifier {
  const trustedKeys = () => readPublicKeys(config.imageKeys ?? []);
  const stores = (config.imageSignatureStores ?? ['folder']).map((store) =>
    store === 'registry'
      ? createRegistrySignatureVerifier({ client: registryClientFrom(config), trustedKeys })
      : createImageSignatureVerifier({ signaturesDir: imageSignaturesDirOf(config), trustedKeys }),
  );
  return firstVerified(stores);
}

/**
 * A verifier asking each of `stores` in order until one verifies. When none does, the refusal
 * carries every store's reason, and the first code that says more than "no signature here".
 */
export function firstVerified(stores: readonly ImageVerifier[]): ImageVerifier {
  if (stores.length === 1 && stores[0] !== undefined) return stores[0];
  return async (request) => {
    const refusals: { reason: string; code?: string }[] = [];
    for (const store of stores) {
      const verdict = await store(request);
      if (verdict.verified) return verdict;
      refusals.push(verdict);
    }
    const code = refusals.find((refusal) => refusal.code !== 'NO_SIGNATURE')?.code ?? refusals[0]?.code;
    return { verified: false, reason: refusals.map((refusal) => refusal.reason).join('; '), ...(code === undefined ? {} : { code }) };
  };
}

/** A registry client from the image settings (insecure registries, basic-auth file), through `options.dispatcher` when given (a task's egress agent). */
export function registryClientFrom(config: Pick<ImagesSettings, 'imageRegistryInsecure' | 'imageRegistryAuthFile'>, options: Pick<RegistryClientOptions, 'dispatcher'> = {}): RegistryClient {
  const file = config.imageRegistryAuthFile;
  let auths: Map<string, RegistryCredentials> | undefined;
  return createRegistryClient({
    ...options,
    insecureRegistries: config.imageRegistryInsecure ?? [],
    ...(file === undefined ? {} : { credentials: (registry: string) => (auths ??= readRegistryAuths(file)).get(registry) }),
  });
}

/** Resolves a registry reference to its manifest digest through {@link registryClientFrom}. */
function digestResolverFrom(config: Pick<ImagesSettings, 'imageRegistryInsecure' | 'imageRegistryAuthFile'>): (image: string) => Promise<string | undefined> {
  const client = registryClientFrom(config);
  return async (image) => {
    const reference = parseImageReference(image);
    return reference.digest ?? (await client.manifest(reference))?.digest;
  };
}

/** `auths.<registry>.auth` (base64 `user:password`) of a Docker config.json. @throws ConfigError when unreadable. */
function readRegistryAuths(file: string): Map<string, RegistryCredentials> {
  const auths = new Map<string, RegistryCredentials>();
  try {
    const parsed: unknown = JSON.parse(readFileSync(file, 'utf8').slice(0, 1024 * 1024));
    const entries = (parsed as { auths?: unknown }).auths;
    for (const [registry, entry] of Object.entries(entries !== null && typeof entries === 'object' ? entries : {})) {
      const auth = (entry as { auth?: unknown } | null)?.auth;
      if (typeof auth !== 'string') continue;
      const decoded = Buffer.from(auth, 'base64').toString('utf8');
      const colon = decoded.indexOf(':');
      if (colon > 0) auths.set(registry.replace(/^https?:\/\//, '').replace(/\/.*$/, ''), { username: decoded.slice(0, colon), password: decoded.slice(colon + 1) });
    }
  } catch (error) {
    throw new ConfigError(`MAESTRO_IMAGE_REGISTRY_AUTH_FILE ${file} is not a readable Docker config.json: ${error instanceof Error ? error.message : String(error)}`, { cause: error });
  }
  return auths;
}

/**
 * Where signatures are required: every namespace with `requireSignedImages`, else the namespaces
 * of `signedImageNamespaces` (a task's `requireSignedImage` adds to both).
 */
export function imagePolicyFrom(config: Pick<ImagesSettings, 'requireSignedImages' | 'signedImageNamespaces'>, verifier: ImageVerifier): ImagePolicy {
  const namespaces = new Set(config.signedImageNamespaces ?? []);
  return {
    requireSignature: config.requireSignedImages === true ? true : (request) => namespaces.has(request.namespace),
    verifier,
  };
}

/**
 * Starts the orphan sweep of the container engine at `DOCKER_HOST` for this worker's Temporal
 * namespace: at once, then every `intervalMs`; run liveness comes from Temporal at
 * `TEMPORAL_ADDRESS` (connected on first need, closed by `stop()`). Without a local engine socket
 * there is nothing to sweep.
 *
 * @example
 * const sweeper = startContainerSweep(config);
 * // at shutdown
 * await sweeper.stop();
 */
export function startContainerSweep(config: Pick<RunnersSettings, 'dockerHost'> & TemporalSettings, options: Pick<OrphanSweepOptions, 'intervalMs' | 'logger'> = {}): OrphanSweeper {
  if (!dockerSocketPresent(config.dockerHost)) return { first: Promise.resolve({ removed: [], kept: 0 }), stop: async () => undefined };
  let connection: Connection | undefined;
  let liveness: Promise<RunLiveness> | undefined;
  const connect = async (): Promise<RunLiveness> => {
    connection = await Connection.connect({ ...temporalConnectOptions(config), connectTimeout: '5s' });
    return temporalRunLiveness(new WorkflowClient({ connection, namespace: config.temporalNamespace }));
  };
  const docker = import('dockerode').then(({ default: Docker }) => new Docker(dockerOptions(config.dockerHost)));
  return startOrphanSweep(docker, {
    ...options,
    temporalNamespace: config.temporalNamespace,
    runLiveness: async (run) => {
      // A failed connection is tried again at the next sweep, not remembered.
      liveness ??= connect().catch((error: unknown) => {
        liveness = undefined;
        throw error;
      });
      return (await liveness)(run);
    },
    onStop: async () => {
      await connection?.close();
    },
  });
}
