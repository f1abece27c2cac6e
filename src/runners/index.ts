/**
 * Runners: where a task's attempt executes. `local` runs `execute` in the worker process;
 * `container` runs the task's container workload through the Docker API (Docker or Podman);
 * `k8s` runs it as a Kubernetes Job; `serverless` invokes a function (HTTP or AWS Lambda) with an
 * idempotency key. {@link createRunners} builds all four from config; {@link checkRunners} says
 * which can be reached and why not.
 *
 * The engine clients (dockerode, @kubernetes/client-node, @aws-sdk/client-lambda) load on first use.
 */
export { localRunner, selectRunner, type RunnableTask, type RunOptions, type Runner, type Runners } from './runner.js';
export { RunnerError } from './runner-error.js';
export {
  DEFAULT_RESOURCE_CLASS,
  DEFAULT_RESOURCE_CLASSES,
  cpuQuantity,
  memoryQuantity,
  resolveResourceClass,
  resourceClassesFrom,
  type ResourceClass,
} from './resources.js';
export {
  containerWorkloadOf,
  defineRemoteTask,
  functionInvocationOf,
  type CollectedArtifact,
  type ContainerResult,
  type ContainerWorkload,
  type FunctionInvocation,
  type FunctionResult,
  type RemoteTaskDefinition,
  type SecretMount,
} from './workload.js';
export { LogLines, secretRedactor, type LogLinesOptions } from './log-lines.js';
export {
  CONTAINER_RUNNER_DEFAULTS,
  containerSpec,
  createContainerRunner,
  type ContainerRunner,
  type ContainerRunnerOptions,
  type AttemptDirs,
  type SpecInput,
} from './container/container-runner.js';
export { DEFAULT_DOCKER_SOCKET, dockerOptions } from './container/docker-host.js';
export { checkImage, type ImagePolicy, type ImageVerdict, type ImageVerificationRequest, type ImageVerifier } from './container/image-policy.js';
export { createRegistryClient, type FetchedManifest, type RegistryClient, type RegistryClientOptions, type RegistryCredentials } from './registry/client.js';
export {
  createRegistrySignatureVerifier,
  signImageInRegistry,
  signatureTagOf,
  storeSignatureInRegistry,
  type RegistrySignature,
  type RegistrySignatureVerifierOptions,
} from './registry/cosign.js';
export { pushOciLayout, type PushedImage } from './registry/push.js';
export { namesRegistry, parseImageReference, pinnedReference, type ImageReference } from './registry/reference.js';
export {
  IMAGE_SIGNATURE_PREDICATE,
  createImageSignatureVerifier,
  imageSignatureFile,
  imageStatement,
  signImage,
  type ImageSignaturePredicate,
  type ImageSignatureVerifierOptions,
  type ImageVerificationFailureCode,
  type SignableImage,
  type SignedImage,
} from './container/image-signatures.js';
export { createK8sRunner, type K8sRunner, type K8sRunnerOptions } from './k8s/k8s-runner.js';
export { buildJob, jobName, k8sNamespaceFor, type JobSpecInput } from './k8s/job.js';
export { createServerlessRunner, idempotencyKey, type ServerlessRunner, type ServerlessRunnerOptions } from './serverless/serverless-runner.js';
export {
  createRunners,
  firstVerified,
  imagePolicyFrom,
  imageSignaturesDirOf,
  imageVerifierFrom,
  registryClientFrom,
  startContainerSweep,
  type CreateRunnersOptions,
  type ImageVerifierSettings,
} from './from-config.js';
export {
  TEMPORAL_NAMESPACE_LABEL,
  startOrphanSweep,
  sweepOrphans,
  temporalRunLiveness,
  workerLabels,
  type OrphanSweepOptions,
  type OrphanSweeper,
  type RunLiveness,
  type SweepOptions,
  type SweepResult,
  type SweptContainer,
} from './container/orphans.js';
export { checkRunners, type CheckRunnersOptions, type RunnerCheck } from './check.js';
