import { createHash } from 'node:crypto';
import type { V1Container, V1EnvVar, V1Job, V1Secret, V1Volume, V1VolumeMount } from '@kubernetes/client-node';
import { TaskError } from '../../errors/index.js';
import { cpuQuantity, memoryQuantity, type ResourceClass } from '../resources.js';
import { secretEnvName, secretFilePath, type ContainerWorkload } from '../workload.js';

/** Labels and annotations use this prefix. */
export const LABEL_PREFIX = 'maestro.dev';
/** The pod template's label naming its Job: how the runner finds the Job's pod. */
export const JOB_LABEL = `${LABEL_PREFIX}/job`;
/** The one container of a Maestro Job. */
export const CONTAINER_NAME = 'task';
/** Where a Job's workload writes its outputs JSON: Kubernetes returns it as the termination message. */
export const K8S_OUTPUTS_PATH = '/dev/termination-log';
/** The container that prints the artifacts directory into its log, after the task succeeded. */
export const COLLECTOR_NAME = 'collect';
/** Where the collector sees the artifacts volume (read-only). */
export const COLLECTOR_MOUNT = '/artifacts';
/** The collector's default image: it needs only `sh`, `find`, `sort`, `wc` and `base64`. */
export const DEFAULT_COLLECTOR_IMAGE = 'busybox:1.36';
/**
 * The collector's script (`sh -c SCRIPT collect DIR`): every regular file under DIR, sorted, as a
 * header line `=== <size> <relative path>` followed by its bytes in base64, then `=== end`, the
 * mark that the listing is whole. Symbolic links are skipped, as the container runner does.
 */
export const COLLECT_SCRIPT = [
  'set -e',
  'cd "$1"',
  'find . -type f | sort | while IFS= read -r f; do',
  '  echo "=== $(wc -c < "$f" | tr -d " ") ${f#./}"',
  '  base64 "$f"',
  'done',
  'echo "=== end"',
].join('\n');

/** One file the collector printed. */
export interface CollectedFile {
  /** Relative to the artifacts directory, `/`-separated. */
  path: string;
  data: Buffer;
}

/**
 * Reads the collector's log back into files (see {@link COLLECT_SCRIPT}).
 * @throws TaskError `TASK_FAILED` (not retryable) when the listing lacks its end mark (the log was
 * cut short, e.g. by the kubelet's log rotation) or a file's bytes do not match its size.
 */
export function parseCollectorLog(log: string): CollectedFile[] {
  const files: CollectedFile[] = [];
  let current: { path: string; size: number; base64: string[] } | undefined;
  const finish = (): void => {
    if (!current) return;
    const data = Buffer.from(current.base64.join(''), 'base64');
    if (data.byteLength !== current.size) throw collectorFailure(`artifact "${current.path}" has ${data.byteLength} of its ${current.size} bytes`);
    files.push({ path: current.path, data });
    current = undefined;
  };
  for (const line of log.split('\n')) {
    if (line === '=== end') {
      finish();
      return files;
    }
    const header = /^=== (\d+) (.+)$/.exec(line);
    if (header) {
      finish();
      current = { size: Number(header[1]), path: header[2] as string, base64: [] };
    } else if (current) {
      current.base64.push(line.trim());
    }
  }
  throw collectorFailure('the artifact listing in the collector\'s log is incomplete (cut short by log rotation? keep artifacts small on Kubernetes)');
}

function collectorFailure(message: string): TaskError {
  return new TaskError(message, { code: 'TASK_FAILED', retryable: false });
}

/** The attempt a Job belongs to. */
export interface AttemptRef {
  runId: string;
  taskId: string;
  attempt: number;
  namespace: string;
}

/** What {@link buildJob} needs. */
export interface JobSpecInput {
  workload: ContainerWorkload;
  resources: ResourceClass;
  attempt: AttemptRef;
  /** Kubernetes namespace. */
  k8sNamespace: string;
  /** Seconds a finished Job (and its pod and logs) stays before Kubernetes deletes it. */
  ttlSecondsAfterFinished: number;
  /** Name of the Secret holding the attempt's secrets (see {@link buildSecret}); none without secrets. */
  secretName?: string;
  /** Pod service account. @default the namespace's default, with no token mounted */
  serviceAccountName?: string;
  /** Image of the artifacts collector (a workload with `artifacts` only). @default {@link DEFAULT_COLLECTOR_IMAGE} */
  collectorImage?: string;
}

/**
 * The Job's name: `maestro-<task>-<hash of namespace, run, task, attempt>-<attempt>`, a DNS-1123
 * label of at most 63 characters, the same for every execution of the same attempt.
 */
export function jobName(attempt: AttemptRef): string {
  const hash = createHash('sha256').update(`${attempt.namespace}/${attempt.runId}/${attempt.taskId}/${attempt.attempt}`).digest('hex').slice(0, 12);
  const suffix = `-${hash}-${attempt.attempt}`;
  const slug = attempt.taskId
    .toLowerCase()
    .replace(/[^a-z0-9-]+/g, '-')
    .replace(/^-+|-+$/g, '')
    .slice(0, 63 - 'maestro-'.length - suffix.length)
    .replace(/-+$/g, '');
  return `maestro-${slug || 'task'}${suffix}`;
}

/**
 * The Kubernetes namespace of a Maestro namespace's Jobs: the configured mapping, else
 * `maestro-<namespace>`. One Kubernetes namespace per Maestro namespace keeps teams' Jobs,
 * Secrets, quotas and RBAC apart.
 */
export function k8sNamespaceFor(namespace: string, mapping: Readonly<Record<string, string>> = {}): string {
  return Object.hasOwn(mapping, namespace) ? (mapping[namespace] as string) : `maestro-${namespace}`;
}

/** A label value: the text itself when Kubernetes accepts it, else a readable prefix and a hash. */
function labelValue(text: string): string {
  if (text.length <= 63 && /^(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?$/.test(text)) return text;
  const hash = createHash('sha256').update(text).digest('hex').slice(0, 10);
  const prefix = text.replace(/[^A-Za-z0-9_.-]+/g, '-').replace(/^[^A-Za-z0-9]+/, '').slice(0, 50).replace(/[^A-Za-z0-9]+$/, '');
  return prefix ? `${prefix}-${hash}` : hash;
}

/** Labels selecting a Job's attempt (values shortened when needed; annotations carry them whole). */
export function jobLabels(attempt: AttemptRef): Record<string, string> {
  return {
    'app.kubernetes.io/managed-by': 'maestro',
    [`${LABEL_PREFIX}/namespace`]: labelValue(attempt.namespace),
    [`${LABEL_PREFIX}/run-id`]: labelValue(attempt.runId),
    [`${LABEL_PREFIX}/task-id`]: labelValue(attempt.taskId),
    [`${LABEL_PREFIX}/attempt`]: String(attempt.attempt),
  };
}

/** The attempt's secrets as a Secret: key `s<i>` for the i-th secret of the workload. */
export function buildSecret(name: string, k8sNamespace: string, attempt: AttemptRef, values: string[]): V1Secret {
  return {
    apiVersion: 'v1',
    kind: 'Secret',
    metadata: { name, namespace: k8sNamespace, labels: jobLabels(attempt) },
    type: 'Opaque',
    data: Object.fromEntries(values.map((value, index) => [`s${index}`, Buffer.from(value, 'utf8').toString('base64')])),
  };
}

/**
 * The Job for one attempt: `backoffLimit: 0` (Maestro owns retries), the class's CPU and memory as
 * requests and limits and its time limit as `activeDeadlineSeconds`, `ttlSecondsAfterFinished`,
 * no service-account token, a locked-down container (no privilege escalation, every capability
 * dropped, read-only root with an emptyDir `/tmp`), secrets by reference to the attempt's Secret
 * (never inline), and `$MAESTRO_OUTPUTS` pointing at the termination message.
 *
 * Pods are labelled `maestro.dev/network: none` unless the workload asks for a network: a
 * NetworkPolicy denying all traffic to those pods (one per namespace, set up by the cluster's
 * admin) is what keeps them offline.
 *
 * A workload with `artifacts` gets an emptyDir there, and runs as the pod's init container; the
 * pod's one regular container, the collector, starts only after the task exited 0 and prints the
 * directory into its log ({@link COLLECT_SCRIPT}), which the runner reads back through `pods/log`
 * — the same API (and RBAC) as the task's log, no `pods/exec`, no credentials in the pod.
 */
export function buildJob(input: JobSpecInput): V1Job {
  const { workload, resources, attempt, k8sNamespace, ttlSecondsAfterFinished, secretName, serviceAccountName, collectorImage = DEFAULT_COLLECTOR_IMAGE } = input;
  const name = jobName(attempt);
  const labels = jobLabels(attempt);
  const env: V1EnvVar[] = [
    ...Object.entries(workload.env ?? {}).map(([key, value]) => ({ name: key, value })),
    { name: 'MAESTRO_RUN_ID', value: attempt.runId },
    { name: 'MAESTRO_TASK_ID', value: attempt.taskId },
    { name: 'MAESTRO_ATTEMPT', value: String(attempt.attempt) },
    { name: 'MAESTRO_OUTPUTS', value: K8S_OUTPUTS_PATH },
  ];
  const mounts: V1VolumeMount[] = [];
  const volumes: V1Volume[] = [];
  const readOnly = workload.readOnlyRootFilesystem ?? true;
  if (readOnly) {
    volumes.push({ name: 'tmp', emptyDir: { medium: 'Memory', sizeLimit: '64Mi' } });
    mounts.push({ name: 'tmp', mountPath: '/tmp' });
  }
  const fileSecrets: { key: string; path: string }[] = [];
  for (const [index, secret] of (workload.secrets ?? []).entries()) {
    const key = `s${index}`;
    if (secret.as === 'env') env.push({ name: secretEnvName(secret), valueFrom: { secretKeyRef: { name: secretName ?? name, key } } });
    else fileSecrets.push({ key, path: secretFilePath(secret) });
  }
  if (fileSecrets.length > 0) {
    volumes.push({ name: 'secrets', secret: { secretName: secretName ?? name, defaultMode: 0o444, items: fileSecrets.map(({ key }) => ({ key, path: key })) } });
    for (const { key, path } of fileSecrets) mounts.push({ name: 'secrets', mountPath: path, subPath: key, readOnly: true });
  }
  if (workload.artifacts !== undefined) {
    volumes.push({ name: 'artifacts', emptyDir: {} });
    mounts.push({ name: 'artifacts', mountPath: workload.artifacts });
  }
  const quantity = { cpu: cpuQuantity(resources.cpu), memory: memoryQuantity(resources.memoryBytes) };
  const securityContext = { privileged: false, allowPrivilegeEscalation: false, readOnlyRootFilesystem: readOnly, capabilities: { drop: ['ALL'] } };
  const task: V1Container = {
    name: CONTAINER_NAME,
    image: workload.image,
    ...(workload.command ? { command: workload.command } : {}),
    ...(workload.args ? { args: workload.args } : {}),
    ...(workload.workingDir ? { workingDir: workload.workingDir } : {}),
    env,
    resources: { requests: quantity, limits: quantity },
    securityContext,
    terminationMessagePath: K8S_OUTPUTS_PATH,
    terminationMessagePolicy: 'File',
    ...(mounts.length > 0 ? { volumeMounts: mounts } : {}),
  };
  const collector: V1Container = {
    name: COLLECTOR_NAME,
    image: collectorImage,
    command: ['sh', '-c', COLLECT_SCRIPT, COLLECTOR_NAME, COLLECTOR_MOUNT],
    resources: { requests: { cpu: '100m', memory: '64Mi' }, limits: { cpu: '100m', memory: '64Mi' } },
    securityContext: { ...securityContext, readOnlyRootFilesystem: true },
    volumeMounts: [{ name: 'artifacts', mountPath: COLLECTOR_MOUNT, readOnly: true }],
  };
  return {
    apiVersion: 'batch/v1',
    kind: 'Job',
    metadata: {
      name,
      namespace: k8sNamespace,
      labels: { ...labels, [`${LABEL_PREFIX}/resource-class`]: resources.name },
      annotations: {
        [`${LABEL_PREFIX}/run-id`]: attempt.runId,
        [`${LABEL_PREFIX}/task-id`]: attempt.taskId,
        [`${LABEL_PREFIX}/namespace`]: attempt.namespace,
      },
    },
    spec: {
      backoffLimit: 0,
      ttlSecondsAfterFinished,
      activeDeadlineSeconds: Math.max(1, Math.ceil(resources.timeoutMs / 1000)),
      template: {
        metadata: { labels: { ...labels, [JOB_LABEL]: name, [`${LABEL_PREFIX}/network`]: workload.network ? 'allowed' : 'none' } },
        spec: {
          restartPolicy: 'Never',
          automountServiceAccountToken: false,
          enableServiceLinks: false,
          ...(serviceAccountName ? { serviceAccountName } : {}),
          securityContext: { seccompProfile: { type: 'RuntimeDefault' } },
          ...(workload.artifacts === undefined ? { containers: [task] } : { initContainers: [task], containers: [collector] }),
          ...(volumes.length > 0 ? { volumes } : {}),
        },
      },
    },
  };
}
