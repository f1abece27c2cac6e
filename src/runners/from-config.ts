import { join } from 'node:path';
import { Connection, WorkflowClient } from '@temporalio/client';
import { temporalConnectOptions, type ImagesSettings, type RunnersSettings, type StoreSettings, type TemporalSettings } from '../config/index.js';
import { readPublicKeys } from '../provenance/index.js';
import type { ArtifactStore } from '../store/index.js';
import { createContainerRunner } from './container/container-runner.js';
import type { ImagePolicy, ImageVerifier } from './container/image-policy.js';
import { createImageSignatureVerifier } from './container/image-signatures.js';
import { dockerOptions, dockerSocketPresent } from './container/docker-host.js';
import { startOrphanSweep, temporalRunLiveness, type OrphanSweepOptions, type OrphanSweeper, type RunLiveness } from './container/orphans.js';
import { createK8sRunner } from './k8s/k8s-runner.js';
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
    k8s: createK8sRunner({ kubeconfig: config.kubeconfig, namespaces: config.k8sNamespaces, resourceClasses, artifacts: options.artifacts }),
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

/**
 * The configured image verifier: bundles from {@link imageSignaturesDirOf}, trusted keys from
 * `MAESTRO_IMAGE_KEYS` (read at every verification; none configured refuses every image).
 */
export function imageVerifierFrom(config: Pick<ImagesSettings, 'imageSignaturesDir' | 'imageKeys'> & Pick<StoreSettings, 'dataDir'>): ImageVerifier {
  return createImageSignatureVerifier({ signaturesDir: imageSignaturesDirOf(config), trustedKeys: () => readPublicKeys(config.imageKeys ?? []) });
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
