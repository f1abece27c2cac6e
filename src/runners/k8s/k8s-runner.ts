import { existsSync } from 'node:fs';
import { homedir } from 'node:os';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import type { BatchV1Api, CoreV1Api, KubeConfig, V1ContainerStatus, V1Job, V1Pod } from '@kubernetes/client-node';
import type { ResourceClassSetting } from '../../config/index.js';
import { TaskError, isMaestroError } from '../../errors/index.js';
import type { TaskContext } from '../../sdk/index.js';
import type { ArtifactStore } from '../../store/index.js';
import { processMetrics } from '../../telemetry/index.js';
import { LogLines } from '../log-lines.js';
import { DEFAULT_RESOURCE_CLASSES, resolveResourceClass, type ResourceClass } from '../resources.js';
import { RunnerError, classTimeout } from '../runner-error.js';
import type { RunnableTask, Runner } from '../runner.js';
import { containerWorkloadOf, type CollectedArtifact, type ContainerResult } from '../workload.js';
import { artifactEntry, checkArtifactsSize } from '../container/artifacts.js';
import { checkImage, signatureRequired, type ImagePolicy, type ImageVerificationRequest } from '../container/image-policy.js';
import { parseImageReference, pinnedReference } from '../registry/reference.js';
import { COLLECTOR_NAME, CONTAINER_NAME, JOB_LABEL, buildJob, buildSecret, jobName, k8sNamespaceFor, parseCollectorLog } from './job.js';

/** Options of {@link createK8sRunner}. */
export interface K8sRunnerOptions {
  /**
   * Kubeconfig file (`KUBECONFIG`; of a `:`-separated list, the first). Unset: in-cluster
   * credentials when the worker runs in a pod, else `~/.kube/config`.
   */
  kubeconfig?: string;
  /** A ready KubeConfig instead (tests, custom auth). */
  kubeConfig?: KubeConfig;
  /** Kubernetes namespace per Maestro namespace. @default `maestro-<namespace>` */
  namespaces?: Readonly<Record<string, string>>;
  /** @default {@link DEFAULT_RESOURCE_CLASSES} */
  resourceClasses?: Readonly<Record<string, ResourceClassSetting>>;
  /** Seconds a finished Job stays (for `kubectl logs`) before Kubernetes deletes it. @default 3600 */
  ttlSecondsAfterFinished?: number;
  /** Pod service account. @default the namespace's default (no token mounted either way) */
  serviceAccountName?: string;
  /** How often the runner looks for the Job's pod until it has one. @default 500 */
  podPollMs?: number;
  /** Longest one watch request lasts before it is renewed. @default 60 */
  watchTimeoutSeconds?: number;
  /** Log lines kept for outputs and errors. @default 50 */
  tailLines?: number;
  /** @default 5000 */
  heartbeatIntervalMs?: number;
  /** Where collected artifacts are stored. @default none: artifacts are hashed and listed only */
  artifacts?: ArtifactStore;
  /**
   * Largest total size of an attempt's artifacts. They travel base64-encoded through the
   * collector's log, which the kubelet rotates at 10 MiB by default. @default 5242880 (5 MiB)
   */
  maxArtifactBytes?: number;
  /** Image of the artifacts collector (`sh`, `find`, `sort`, `wc`, `base64`). @default {@link DEFAULT_COLLECTOR_IMAGE} */
  collectorImage?: string;
  /**
   * Which images need a verified signature and who verifies them. A task image that must be
   * verified is resolved to its registry digest first (`resolveDigest`), verified for that
   * digest, and the Job runs it pinned, `registry/repository@sha256:…`, so what the kubelet
   * pulls is what was verified. @default no signature required
   */
  imagePolicy?: ImagePolicy;
  /** Require a verified image for every task, as a workload's `requireSignedImage` does. @default false */
  requireSignedImage?: boolean;
}

/** The Kubernetes runner. */
export interface K8sRunner extends Runner {
  run(definition: RunnableTask, input: Record<string, unknown>, ctx: TaskContext): Promise<ContainerResult>;
  /** The loaded kubeconfig (loaded on first use). */
  kubeConfig(): Promise<KubeConfig>;
}

const RUNNER = 'k8s';

type K8s = typeof import('@kubernetes/client-node');

/** Where Kubernetes says a Job stands. */
type JobOutcome = { done: false } | { done: true; succeeded: boolean; reason?: string; message?: string };

/**
 * Runs each attempt of a task that declares a container workload as one Kubernetes Job
 * (batch/v1) in the Maestro namespace's Kubernetes namespace:
 *
 * - the Job is named and labelled after the attempt (run id, task id, attempt); a re-execution of
 *   the same attempt (its worker was lost) adopts the Job already there instead of starting another;
 * - `backoffLimit: 0`, the resource class as requests/limits and `activeDeadlineSeconds`,
 *   `ttlSecondsAfterFinished`; secrets go to a Secret owned by the Job, referenced, never inline;
 * - a watch on the Job (renewed, resuming from its resourceVersion, re-listing on 410 Gone) waits
 *   for Complete or Failed, while the pod's log is streamed into the task log;
 * - the termination message (`$MAESTRO_OUTPUTS`) is the JSON outputs; a failed pod fails the task
 *   with its exit code and last log lines, a deadline with `TASK_TIMEOUT`;
 * - cancellation deletes the Job with background propagation (its pod and Secret go with it).
 *
 * - a workload's `artifacts` directory is an emptyDir that a collector container prints into its
 *   log once the task (then the pod's init container) exited 0; the runner reads that log back
 *   through `pods/log`, checks every file against its size, hashes and stores it (see `buildJob`).
 */
export function createK8sRunner(options: K8sRunnerOptions = {}): K8sRunner {
  const {
    namespaces = {},
    resourceClasses = DEFAULT_RESOURCE_CLASSES,
    ttlSecondsAfterFinished = 3600,
    serviceAccountName,
    podPollMs = 500,
    watchTimeoutSeconds = 60,
    tailLines = 50,
    heartbeatIntervalMs = 5000,
    artifacts,
    maxArtifactBytes = 5 * 1024 * 1024,
    collectorImage,
    imagePolicy = {},
  } = options;
  let loaded: Promise<{ k8s: K8s; kc: KubeConfig; batch: BatchV1Api; core: CoreV1Api }> | undefined;
  const client = () =>
    (loaded ??= import('@kubernetes/client-node').then((k8s) => {
      const kc = options.kubeConfig ?? loadKubeConfig(k8s, options.kubeconfig);
      return { k8s, kc, batch: kc.makeApiClient(k8s.BatchV1Api), core: kc.makeApiClient(k8s.CoreV1Api) };
    }));

  async function run(definition: RunnableTask, input: Record<string, unknown>, ctx: TaskContext): Promise<ContainerResult> {
    const workload = containerWorkloadOf(definition, input, RUNNER);
    // A Pod network the egress guard cannot see into: only for namespaces an admin allows it.
    if (workload.network) ctx.egress.requireContainerNetwork();
    const resources = resolveResourceClass(resourceClasses, workload.resources, RUNNER);
    const deadline = AbortSignal.timeout(resources.timeoutMs);
    const signal = AbortSignal.any([ctx.signal, deadline]);
    const namespace = k8sNamespaceFor(ctx.namespace, namespaces);
    const attempt = { runId: ctx.runId, taskId: ctx.taskId, attempt: ctx.attempt, namespace: ctx.namespace };
    const name = jobName(attempt);
    const api = await client().catch((error: unknown) => {
      throw isMaestroError(error) ? error : new RunnerError(RUNNER, `cannot load Kubernetes credentials: ${messageOf(error)}`, { cause: error, retryable: false });
    });
    // Before anything exists or any secret is read: an image that is not verified starts nothing.
    const image = await verifiedImage(workload.image, workload.requireSignedImage === true || options.requireSignedImage === true, ctx);
    const secretValues = await Promise.all((workload.secrets ?? []).map((secret) => ctx.secrets(secret.name)));
    const log = new LogLines({ logger: ctx.logger, fields: { runner: RUNNER, job: name }, redact: secretValues, tailLines });
    const beat = setInterval(() => ctx.heartbeat({ runner: RUNNER, namespace, job: name }), heartbeatIntervalMs);
    let created = false;
    let finished = false;
    const stopLogs = new AbortController();
    try {
      const job = buildJob({
        workload: image === workload.image ? workload : { ...workload, image },
        resources,
        attempt,
        k8sNamespace: namespace,
        ttlSecondsAfterFinished,
        ...(secretValues.length > 0 ? { secretName: name } : {}),
        ...(serviceAccountName ? { serviceAccountName } : {}),
        ...(collectorImage ? { collectorImage } : {}),
      });
      const live = await createOrAdopt(api.batch, namespace, job, ctx);
      created = true;
      if (secretValues.length > 0) await createSecret(api.core, namespace, name, live, buildSecret(name, namespace, attempt, secretValues));
      ctx.heartbeat({ runner: RUNNER, namespace, job: name, state: 'created' });
      const logs = streamPodLogs(api.k8s, api.kc, api.core, namespace, name, log, podPollMs, AbortSignal.any([signal, stopLogs.signal]));
      const outcome = await untilAborted(waitForJob(api.k8s, api.kc, api.batch, namespace, live, watchTimeoutSeconds, signal), signal);
      finished = true;
      // The log stream ends with the container; give the kubelet a moment before cutting it.
      await Promise.race([logs, new Promise((resolve) => setTimeout(resolve, 2000).unref())]);
      stopLogs.abort();
      log.flush();
      const pod = await jobPod(api.core, namespace, name);
      const terminated = containerStatus(pod, CONTAINER_NAME)?.state?.terminated;
      recordQueueTime(live, terminated?.startedAt);
      const exitCode = terminated?.exitCode ?? (outcome.succeeded ? 0 : -1);
      if (!outcome.succeeded) throw jobFailure(outcome, exitCode, log, resources, containerStatus(pod, COLLECTOR_NAME)?.state?.terminated?.exitCode);
      const result: ContainerResult = { exitCode, logs: log.tail(), artifacts: [] };
      const message = terminated?.message?.trim();
      if (message) result.outputs = parseOutputs(log.scrub(message));
      if (workload.artifacts !== undefined && pod?.metadata?.name) {
        result.artifacts = await readArtifacts(api.core, namespace, pod.metadata.name, artifacts, maxArtifactBytes);
      }
      ctx.logger.info('job completed', { runner: RUNNER, job: name, namespace, exitCode, artifacts: result.artifacts.length });
      return result;
    } catch (error) {
      if (ctx.signal.aborted) throw ctx.signal.reason;
      if (deadline.aborted) throw classTimeout(RUNNER, resources.name, resources.timeoutMs);
      throw asRunnerFailure(error, namespace);
    } finally {
      clearInterval(beat);
      stopLogs.abort();
      // A cancelled or timed-out attempt leaves nothing running: the Job goes, its pod and Secret with it.
      if (created && !finished) await deleteJob(api.batch, namespace, name, ctx);
    }
  }

  /**
   * The image the Job runs: as written when no signature is required; else resolved to its
   * registry digest, verified for it, and pinned to it.
   */
  async function verifiedImage(image: string, required: boolean, ctx: TaskContext): Promise<string> {
    const request: ImageVerificationRequest = { image, imageId: image, repoDigests: [], namespace: ctx.namespace, runId: ctx.runId, taskId: ctx.taskId };
    if (!signatureRequired(imagePolicy, request, required)) return image;
    const reference = parseImageReference(image);
    const digest = reference.digest ?? (await imagePolicy.resolveDigest?.(image));
    if (digest === undefined) {
      throw new RunnerError(RUNNER, `image ${image} was not verified: it cannot be resolved to a registry digest`, {
        code: 'IMAGE_NOT_VERIFIED',
        retryable: false,
        details: { image, reason: 'NO_DIGEST' },
      });
    }
    const pinned = pinnedReference(reference, digest);
    const verdict = await checkImage(RUNNER, imagePolicy, { ...request, imageId: digest, repoDigests: [pinned], digest }, true);
    ctx.logger.info('image verified', { runner: RUNNER, image, digest, signer: verdict?.verified ? verdict.signer : undefined });
    return pinned;
  }

  return { run, kubeConfig: async () => (await client()).kc };
}

/**
 * `maestro_runner_queue_seconds{runner="k8s"}`: from the Job's creation to its task container's
 * start — the pod waiting for a node with room, and for its image. An adopted Job (an earlier
 * execution of the attempt made it) counts from its own creation.
 */
function recordQueueTime(job: V1Job, startedAt: Date | string | undefined): void {
  const created = job.metadata?.creationTimestamp;
  if (created === undefined || startedAt === undefined) return;
  const seconds = (new Date(startedAt).getTime() - new Date(created).getTime()) / 1000;
  if (Number.isFinite(seconds)) processMetrics().record('maestro_runner_queue_seconds', Math.max(0, seconds), { runner: RUNNER });
}

/** Where the runner's Kubernetes credentials come from, found without loading the client. */
export type KubeCredentials = { kind: 'file'; path: string } | { kind: 'in-cluster' };

/** The credentials the runner would use: `kubeconfig`, else in-cluster, else `~/.kube/config`. */
export function findKubeCredentials(kubeconfig: string | undefined): KubeCredentials | undefined {
  const file = kubeconfig?.split(':').find((path) => path !== '');
  if (file) return { kind: 'file', path: file };
  if (process.env.KUBERNETES_SERVICE_HOST && existsSync('/var/run/secrets/kubernetes.io/serviceaccount/token')) return { kind: 'in-cluster' };
  const home = join(homedir(), '.kube', 'config');
  return existsSync(home) ? { kind: 'file', path: home } : undefined;
}

/** The message for a worker without Kubernetes credentials. */
export const NO_KUBE_CREDENTIALS = 'no Kubernetes credentials: set KUBECONFIG, or run the worker in a pod with a service account';

function loadKubeConfig(k8s: K8s, kubeconfig: string | undefined): KubeConfig {
  const kc = new k8s.KubeConfig();
  const credentials = findKubeCredentials(kubeconfig);
  if (!credentials) throw new RunnerError(RUNNER, NO_KUBE_CREDENTIALS, { code: 'CONFIG_INVALID', retryable: false });
  if (credentials.kind === 'in-cluster') kc.loadFromCluster();
  else kc.loadFromFile(credentials.path);
  return kc;
}

async function createOrAdopt(batch: BatchV1Api, namespace: string, job: V1Job, ctx: TaskContext): Promise<V1Job> {
  try {
    return await batch.createNamespacedJob({ namespace, body: job });
  } catch (error) {
    if (statusOf(error) !== 409) throw error;
    // The same attempt ran before on a worker Temporal gave up on: follow its Job rather than start another.
    const existing = await batch.readNamespacedJob({ name: job.metadata?.name ?? '', namespace });
    ctx.logger.info('adopting the Job of an earlier execution of this attempt', { runner: RUNNER, job: existing.metadata?.name });
    return existing;
  }
}

async function createSecret(core: CoreV1Api, namespace: string, name: string, job: V1Job, secret: import('@kubernetes/client-node').V1Secret): Promise<void> {
  const owned = {
    ...secret,
    metadata: {
      ...secret.metadata,
      // Owned by the Job: deleting the Job (or its TTL) deletes the Secret.
      ownerReferences: [{ apiVersion: 'batch/v1', kind: 'Job', name, uid: job.metadata?.uid ?? '', controller: true }],
    },
  };
  try {
    await core.createNamespacedSecret({ namespace, body: owned });
  } catch (error) {
    if (statusOf(error) !== 409) throw error;
  }
}

function outcomeOf(job: V1Job): JobOutcome {
  for (const condition of job.status?.conditions ?? []) {
    if (condition.status !== 'True') continue;
    if (condition.type === 'Complete') return { done: true, succeeded: true };
    if (condition.type === 'Failed') {
      return { done: true, succeeded: false, ...(condition.reason ? { reason: condition.reason } : {}), ...(condition.message ? { message: condition.message } : {}) };
    }
  }
  return { done: false };
}

/**
 * Waits for the Job's Complete or Failed condition: reads it, then watches from its
 * resourceVersion; a closed watch is renewed from the last version seen, a 410 Gone re-reads.
 */
async function waitForJob(k8s: K8s, kc: KubeConfig, batch: BatchV1Api, namespace: string, job: V1Job, timeoutSeconds: number, signal: AbortSignal): Promise<Extract<JobOutcome, { done: true }>> {
  const name = job.metadata?.name ?? '';
  let current = job;
  for (;;) {
    signal.throwIfAborted();
    const outcome = outcomeOf(current);
    if (outcome.done) return outcome;
    const seen = await watchJob(k8s, kc, namespace, name, current.metadata?.resourceVersion, timeoutSeconds, signal);
    if (seen === 'deleted') throw new RunnerError(RUNNER, `Job ${namespace}/${name} was deleted before it finished`);
    current = seen === 'gone' || seen === 'closed' ? await batch.readNamespacedJob({ name, namespace }) : seen;
  }
}

/** One watch request: the first finished Job version, or why the watch ended. */
function watchJob(
  k8s: K8s,
  kc: KubeConfig,
  namespace: string,
  name: string,
  resourceVersion: string | undefined,
  timeoutSeconds: number,
  signal: AbortSignal,
): Promise<V1Job | 'gone' | 'closed' | 'deleted'> {
  return new Promise((resolve, reject) => {
    let settled = false;
    let request: AbortController | undefined;
    const settle = (value: V1Job | 'gone' | 'closed' | 'deleted'): void => {
      if (settled) return;
      settled = true;
      signal.removeEventListener('abort', onAbort);
      request?.abort();
      resolve(value);
    };
    const onAbort = (): void => settle('closed');
    signal.addEventListener('abort', onAbort, { once: true });
    new k8s.Watch(kc)
      .watch(
        `/apis/batch/v1/namespaces/${namespace}/jobs`,
        { fieldSelector: `metadata.name=${name}`, resourceVersion, allowWatchBookmarks: true, timeoutSeconds },
        (type: string, object: V1Job & { code?: number }) => {
          if (type === 'ERROR') return settle(object.code === 410 ? 'gone' : 'closed');
          if (type === 'DELETED') return settle('deleted');
          if (type === 'BOOKMARK') return;
          if (outcomeOf(object).done) settle(object);
        },
        () => settle('closed'),
      )
      .then(
        (controller) => {
          request = controller;
          if (settled) controller.abort();
        },
        (error: unknown) => {
          if (!settled) {
            settled = true;
            signal.removeEventListener('abort', onAbort);
            reject(error);
          }
        },
      );
  });
}

async function jobPod(core: CoreV1Api, namespace: string, name: string): Promise<V1Pod | undefined> {
  const pods = await core.listNamespacedPod({ namespace, labelSelector: `${JOB_LABEL}=${name}` });
  // backoffLimit 0: one pod, unless the node lost it and the Job controller made another.
  return pods.items.sort((a, b) => String(b.metadata?.creationTimestamp ?? '').localeCompare(String(a.metadata?.creationTimestamp ?? '')))[0];
}

/** Streams the Job's pod's log once its container has started; resolves when the stream ends. */
async function streamPodLogs(k8s: K8s, kc: KubeConfig, core: CoreV1Api, namespace: string, name: string, log: LogLines, pollMs: number, signal: AbortSignal): Promise<void> {
  let pod: V1Pod | undefined;
  while (!signal.aborted) {
    pod = await jobPod(core, namespace, name).catch(() => undefined);
    const state = containerStatus(pod, CONTAINER_NAME)?.state;
    if (state?.running || state?.terminated) break;
    await new Promise((resolve) => setTimeout(resolve, pollMs).unref());
  }
  const podName = pod?.metadata?.name;
  if (signal.aborted || !podName) return;
  await new Promise<void>((resolve) => {
    const sink = new Writable({
      write(chunk: Buffer, _encoding, done) {
        log.write('stdout', chunk);
        done();
      },
      final(done) {
        resolve();
        done();
      },
    });
    sink.once('close', () => resolve());
    new k8s.Log(kc)
      .log(namespace, podName, CONTAINER_NAME, sink, { follow: true })
      .then((controller) => signal.addEventListener('abort', () => controller.abort(), { once: true }))
      .catch((error: unknown) => {
        log.write('stderr', `(pod log unavailable: ${messageOf(error)})\n`);
        resolve();
      });
    signal.addEventListener('abort', () => resolve(), { once: true });
  });
}

/** A container's status, among the pod's init containers (the task, when it has artifacts) and regular ones. */
function containerStatus(pod: V1Pod | undefined, container: string): V1ContainerStatus | undefined {
  return [...(pod?.status?.initContainerStatuses ?? []), ...(pod?.status?.containerStatuses ?? [])].find((status) => status.name === container);
}

/** The artifacts the collector printed, hashed and (with a store) stored, like the container runner's. */
async function readArtifacts(core: CoreV1Api, namespace: string, podName: string, store: ArtifactStore | undefined, maxBytes: number): Promise<CollectedArtifact[]> {
  const files = parseCollectorLog(await core.readNamespacedPodLog({ name: podName, namespace, container: COLLECTOR_NAME }));
  checkArtifactsSize(files.reduce((total, file) => total + file.data.byteLength, 0), maxBytes);
  const collected: CollectedArtifact[] = [];
  for (const file of files) collected.push(await artifactEntry(file.path, file.data, store));
  return collected;
}

async function deleteJob(batch: BatchV1Api, namespace: string, name: string, ctx: TaskContext): Promise<void> {
  try {
    await batch.deleteNamespacedJob({ name, namespace, propagationPolicy: 'Background', gracePeriodSeconds: 0 });
    ctx.logger.info('job deleted', { runner: RUNNER, job: name, namespace });
  } catch (error) {
    if (statusOf(error) !== 404) ctx.logger.warn('could not delete the Job', { runner: RUNNER, job: name, error: messageOf(error) });
  }
}

function jobFailure(outcome: Extract<JobOutcome, { done: true }>, exitCode: number, log: LogLines, resources: ResourceClass, collectorExit: number | undefined): Error {
  if (outcome.reason === 'DeadlineExceeded') return classTimeout(RUNNER, resources.name, resources.timeoutMs);
  if (exitCode === 0 && collectorExit !== undefined && collectorExit !== 0) {
    return new TaskError(`job: the task succeeded but its artifacts collector exited with code ${collectorExit} (does the collector image have sh, find and base64?)`, {
      code: 'TASK_FAILED',
      retryable: true,
      details: { exitCode, collectorExitCode: collectorExit },
    });
  }
  const tail = log.tail();
  const why = exitCode >= 0 ? `exited with code ${exitCode}` : `failed (${outcome.reason ?? 'unknown reason'}${outcome.message ? `: ${outcome.message}` : ''})`;
  return new TaskError(`job ${why}${tail ? `; last log lines:\n${tail}` : ''}`, {
    code: 'TASK_FAILED',
    retryable: true,
    details: { exitCode, reason: outcome.reason, logs: tail },
  });
}

function parseOutputs(message: string): unknown {
  try {
    return JSON.parse(message) as unknown;
  } catch (error) {
    throw new TaskError(`the termination message ($MAESTRO_OUTPUTS) is not JSON: ${(error as Error).message}`, {
      code: 'TASK_FAILED',
      retryable: false,
      cause: error,
    });
  }
}

function untilAborted<T>(promise: Promise<T>, signal: AbortSignal): Promise<T> {
  if (signal.aborted) return Promise.reject(signal.reason);
  return new Promise<T>((resolve, reject) => {
    const onAbort = (): void => reject(signal.reason);
    signal.addEventListener('abort', onAbort, { once: true });
    promise.then(resolve, reject).finally(() => signal.removeEventListener('abort', onAbort));
  });
}

function asRunnerFailure(error: unknown, namespace: string): unknown {
  if (isMaestroError(error)) return error;
  const status = statusOf(error);
  if (status === undefined) {
    return new RunnerError(RUNNER, `the Kubernetes API is unreachable: ${messageOf(error)}`, { cause: error });
  }
  return new RunnerError(RUNNER, `the Kubernetes API refused the Job in namespace ${namespace} (HTTP ${status}): ${messageOf(error)}`, {
    cause: error,
    // 403 (RBAC), 404 (no such namespace), 422 (invalid Job) do not heal by retrying; 409/429/5xx may.
    retryable: status === 409 || status === 429 || status >= 500,
    details: { status },
  });
}

function statusOf(error: unknown): number | undefined {
  const code = (error as { code?: unknown } | undefined)?.code;
  return typeof code === 'number' ? code : undefined;
}

function messageOf(error: unknown): string {
  const body = (error as { body?: unknown } | undefined)?.body;
  if (typeof body === 'string') {
    try {
      const status = JSON.parse(body) as { message?: unknown };
      if (typeof status.message === 'string') return status.message;
    } catch {
      // Not a Status object: fall back to the error's own message.
    }
  }
  return error instanceof Error ? error.message : String(error);
}
