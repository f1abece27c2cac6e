import type { Config } from '../config/index.js';
import type { ArtifactStore } from '../store/index.js';
import { createContainerRunner } from './container/container-runner.js';
import type { ImageVerifier } from './container/image-policy.js';
import { createK8sRunner } from './k8s/k8s-runner.js';
import { resourceClassesFrom } from './resources.js';
import { localRunner, type Runners } from './runner.js';
import { createServerlessRunner } from './serverless/serverless-runner.js';

/** Options of {@link createRunners}. */
export interface CreateRunnersOptions {
  /** Where the container runner stores collected artifacts. @default none (hashed and listed only) */
  artifacts?: ArtifactStore;
  /** Checks image signatures when `requireSignedImages` is set. @default none: signed images required → containers refused */
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
export function createRunners(config: Config, options: CreateRunnersOptions = {}): Runners {
  const resourceClasses = resourceClassesFrom(config);
  return {
    local: localRunner,
    container: createContainerRunner({
      dockerHost: config.dockerHost,
      resourceClasses,
      artifacts: options.artifacts,
      imagePolicy: { requireSignature: config.requireSignedImages ?? false, verifier: options.imageVerifier },
    }),
    k8s: createK8sRunner({ kubeconfig: config.kubeconfig, namespaces: config.k8sNamespaces, resourceClasses }),
    serverless: createServerlessRunner({
      functions: config.functions,
      lambda: { endpoint: config.lambdaEndpoint, region: config.lambdaRegion },
      resourceClasses,
    }),
  };
}
