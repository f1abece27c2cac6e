/**
 * The Kubernetes Jobs runner against an in-process API server (no cluster can run here) that
 * follows the API conventions; the tests play the kubelet and the Job controller. The last suite
 * runs against a real cluster when KUBECONFIG is set.
 */
import { createHash, randomBytes } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { containerRun } from '../../src/tasks/index.js';
import { createK8sRunner, jobName, type ContainerWorkload, type K8sRunner } from '../../src/runners/index.js';
import { createTestContext, type TestTaskContext } from '../../src/sdk/index.js';
import { FsArtifactStore } from '../../src/store/index.js';
import { startK8sApiServer, type K8sApiServer, type KubeObject } from '../peers/k8s-api.js';
import { processMetrics } from '../../src/telemetry/index.js';

const MIB = 1024 * 1024;
const NS = 'maestro-default';

let api: K8sApiServer;
let runner: K8sRunner;

beforeAll(async () => {
  api = await startK8sApiServer({ namespaces: [NS, 'team-a-jobs'] });
  runner = createK8sRunner({
    kubeconfig: api.kubeconfigPath,
    namespaces: { 'team-a': 'team-a-jobs' },
    resourceClasses: { small: { cpu: 0.5, memoryBytes: 256 * MIB, timeoutMs: 60_000 }, medium: { cpu: 1, memoryBytes: 2048 * MIB, timeoutMs: 600_000 } },
    ttlSecondsAfterFinished: 600,
    podPollMs: 20,
    heartbeatIntervalMs: 50,
  });
});

afterAll(async () => {
  await api?.close();
});

let counter = 0;
function context(options: Parameters<typeof createTestContext>[0] = {}): TestTaskContext {
  counter += 1;
  return createTestContext({ runId: `run-${counter}`, taskId: 'migrate', ...options });
}

function start(workload: Partial<ContainerWorkload>, ctx: TestTaskContext) {
  return runner.run(containerRun, { image: 'registry.example/tools:1', ...workload }, ctx);
}

function jobOf(ctx: TestTaskContext): Promise<KubeObject> {
  const name = jobName({ runId: ctx.runId, taskId: ctx.taskId, attempt: ctx.attempt, namespace: ctx.namespace });
  return api.waitForJob((job) => job.metadata.name === name);
}

async function failure(promise: Promise<unknown>): Promise<Error & { code?: string; retryable?: boolean }> {
  try {
    await promise;
  } catch (error) {
    return error as Error;
  }
  throw new Error('expected the attempt to fail');
}

describe('Kubernetes Jobs runner (in-process API server)', () => {
  it('creates one labelled Job per attempt with the class, streams the pod log and returns the termination message as outputs', async () => {
    const ctx = context({ secrets: { 'db-password': 's3cr3t-PW' } });
    const attempt = start(
      {
        command: ['migrate'],
        args: ['--up'],
        env: { LEVEL: 'debug' },
        secrets: [
          { name: 'db-password', as: 'env' },
          { name: 'db-password', as: 'file', path: '/etc/db/password' },
        ],
        resources: 'medium',
      },
      ctx,
    );
    const job = await jobOf(ctx);
    await api.runPod(NS, job.metadata.name, { logs: ['migrating', 'connected with s3cr3t-PW', 'done'], message: '{"applied":3}' });
    const result = await attempt;

    expect(result).toEqual({ exitCode: 0, logs: 'migrating\nconnected with [redacted]\ndone', outputs: { applied: 3 }, artifacts: [] });
    // The wait from the Job's creation to the task container's start.
    expect(await processMetrics().text()).toMatch(/^maestro_runner_queue_seconds_count\{runner="k8s"[^}]*\} [1-9]/m);
    expect(ctx.logs.filter((record) => record.fields?.['stream']).map((record) => record.message)).toEqual(['migrating', 'connected with [redacted]', 'done']);
    expect(ctx.heartbeats).toContainEqual(expect.objectContaining({ runner: 'k8s', job: job.metadata.name, namespace: NS }));

    expect(job.metadata.namespace).toBe(NS);
    expect(job.metadata.labels).toMatchObject({
      'app.kubernetes.io/managed-by': 'maestro',
      'maestro.dev/run-id': ctx.runId,
      'maestro.dev/task-id': 'migrate',
      'maestro.dev/attempt': '1',
      'maestro.dev/resource-class': 'medium',
    });
    const spec = job.spec as Record<string, unknown> & { template: { spec: { containers: Record<string, unknown>[]; automountServiceAccountToken: boolean; restartPolicy: string } } };
    expect(spec).toMatchObject({ backoffLimit: 0, ttlSecondsAfterFinished: 600, activeDeadlineSeconds: 600 });
    expect(spec.template.spec).toMatchObject({ restartPolicy: 'Never', automountServiceAccountToken: false });
    const [container] = spec.template.spec.containers;
    expect(container).toMatchObject({
      image: 'registry.example/tools:1',
      command: ['migrate'],
      args: ['--up'],
      resources: { requests: { cpu: '1', memory: '2048Mi' }, limits: { cpu: '1', memory: '2048Mi' } },
      securityContext: { privileged: false, allowPrivilegeEscalation: false, readOnlyRootFilesystem: true, capabilities: { drop: ['ALL'] } },
      terminationMessagePath: '/dev/termination-log',
    });
    expect(container?.['env']).toEqual(
      expect.arrayContaining([
        { name: 'LEVEL', value: 'debug' },
        { name: 'MAESTRO_OUTPUTS', value: '/dev/termination-log' },
        { name: 'DB_PASSWORD', valueFrom: { secretKeyRef: { name: job.metadata.name, key: 's0' } } },
      ]),
    );
    // Secret values live in a Secret owned by the Job, never in the Job itself.
    expect(JSON.stringify(job)).not.toContain('s3cr3t-PW');
    const [secret] = api.list('secrets', NS).filter((object) => object.metadata.name === job.metadata.name);
    expect(Buffer.from(secret?.data?.['s1'] ?? '', 'base64').toString()).toBe('s3cr3t-PW');
    expect(secret?.metadata.ownerReferences).toEqual([expect.objectContaining({ kind: 'Job', uid: job.metadata.uid })]);
  });

  it('puts each Maestro namespace in its Kubernetes namespace, and refuses a namespace the cluster lacks (not retryable)', async () => {
    const ctx = context({ namespace: 'team-a' });
    const attempt = start({ args: ['true'] }, ctx);
    const job = await jobOf(ctx);
    expect(job.metadata.namespace).toBe('team-a-jobs');
    await api.runPod('team-a-jobs', job.metadata.name);
    await expect(attempt).resolves.toMatchObject({ exitCode: 0 });

    const error = await failure(start({ args: ['true'] }, context({ namespace: 'nobody' })));
    expect(error.code).toBe('RUNNER_FAILED');
    expect(error.retryable).toBe(false);
    expect(error.message).toContain('namespaces "maestro-nobody" not found');
  });

  it('fails the task with the exit code and the last log lines when the pod fails', async () => {
    const ctx = context();
    const attempt = start({ args: ['migrate'] }, ctx);
    const job = await jobOf(ctx);
    await api.runPod(NS, job.metadata.name, { logs: ['step 1', 'error: relation exists'], exitCode: 2 });
    const error = await failure(attempt);
    expect(error.code).toBe('TASK_FAILED');
    expect(error.retryable).toBe(true);
    expect(error.message).toBe('job exited with code 2; last log lines:\nstep 1\nerror: relation exists');
  });

  it('maps a Job past its activeDeadlineSeconds to TASK_TIMEOUT', async () => {
    const ctx = context();
    const attempt = start({ args: ['sleep', '1000'] }, ctx);
    const job = await jobOf(ctx);
    api.failJob(NS, job.metadata.name, 'DeadlineExceeded', 'Job was active longer than specified deadline');
    expect((await failure(attempt)).code).toBe('TASK_TIMEOUT');
  });

  it('deletes the Job (its pod and Secret with it) when the attempt is cancelled', async () => {
    const ctx = context({ secrets: { token: 'tok-123' } });
    const attempt = start({ args: ['serve'], secrets: [{ name: 'token', as: 'file' }] }, ctx);
    const job = await jobOf(ctx);
    await api.runPod(NS, job.metadata.name, { logs: ['listening'], hold: true });
    const deadline = Date.now() + 10_000;
    while (!ctx.logs.some((record) => record.message === 'listening')) {
      if (Date.now() > deadline) throw new Error('the log line never arrived');
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
    const reason = new Error('run cancelled');
    ctx.abort(reason);
    await expect(attempt).rejects.toBe(reason);
    expect(api.requests).toContain(`DELETE /apis/batch/v1/namespaces/${NS}/jobs/${job.metadata.name}?gracePeriodSeconds=0&propagationPolicy=Background`);
    const owned = (object: KubeObject): boolean => object.metadata.name.startsWith(job.metadata.name);
    expect([...api.list('jobs', NS), ...api.list('pods', NS), ...api.list('secrets', NS)].filter(owned)).toEqual([]);
  });

  it('renews a closed watch, re-reads after 410 Gone, and still sees the Job finish', async () => {
    const ctx = context();
    const attempt = start({ args: ['long'] }, ctx);
    const job = await jobOf(ctx);
    await api.runPod(NS, job.metadata.name, { logs: ['working'], hold: true });
    const watchesBefore = api.requests.filter((request) => request.includes('/jobs?') && request.includes('watch=true')).length;
    api.compact();
    api.dropWatches();
    await new Promise((resolve) => setTimeout(resolve, 200));
    api.finishPod(NS, job.metadata.name, 0, '{"ok":true}');
    await expect(attempt).resolves.toMatchObject({ exitCode: 0, outputs: { ok: true } });
    const watches = api.requests.filter((request) => request.includes('/jobs?') && request.includes('watch=true'));
    expect(watches.length).toBeGreaterThan(watchesBefore);
    expect(api.requests).toContain(`GET /apis/batch/v1/namespaces/${NS}/jobs/${job.metadata.name}`);
  });

  it('adopts the Job of an earlier execution of the same attempt instead of starting a second one', async () => {
    const first = context();
    const lost = start({ args: ['once'] }, first);
    const job = await jobOf(first);
    // The first worker is lost (its activity abandoned without cleanup); Temporal runs the attempt again.
    const again = createTestContext({ runId: first.runId, taskId: first.taskId, attempt: 1 });
    const second = createK8sRunner({ kubeconfig: api.kubeconfigPath, podPollMs: 20 }).run(containerRun, { image: 'registry.example/tools:1', args: ['once'] }, again);
    await new Promise((resolve) => setTimeout(resolve, 200));
    await api.runPod(NS, job.metadata.name, { message: '{"n":1}' });
    await expect(second).resolves.toMatchObject({ outputs: { n: 1 } });
    await expect(lost).resolves.toMatchObject({ outputs: { n: 1 } });
    expect(api.list('jobs', NS).filter((object) => object.metadata.labels?.['maestro.dev/run-id'] === first.runId)).toHaveLength(1);
    expect(again.logs.map((record) => record.message)).toContain('adopting the Job of an earlier execution of this attempt');
  });

  it('collects the artifacts directory through a collector container and its log: hashed, stored, byte for byte', async () => {
    const storeDir = await mkdtemp(join(tmpdir(), 'maestro-k8s-artifacts-'));
    const store = new FsArtifactStore({ root: storeDir });
    const collecting = createK8sRunner({ kubeconfig: api.kubeconfigPath, artifacts: store, podPollMs: 20, collectorImage: 'registry.example/busybox:1.36' });
    const ctx = context();
    const attempt = collecting.run(containerRun, { image: 'registry.example/builder:2', args: ['make'], artifacts: '/work/dist' }, ctx);
    const job = await jobOf(ctx);
    const binary = randomBytes(100_000);
    await api.runPod(NS, job.metadata.name, {
      logs: ['compiling'],
      message: '{"version":"2.0.0"}',
      artifacts: { 'a.txt': 'hello', 'sub/b.txt': 'world', 'name with spaces.bin': binary },
    });
    const result = await attempt;
    await rm(storeDir, { recursive: true, force: true }).catch(() => undefined);

    const sha = (data: string | Buffer): string => createHash('sha256').update(data).digest('hex');
    expect(result).toMatchObject({ exitCode: 0, logs: 'compiling', outputs: { version: '2.0.0' } });
    expect(result.artifacts).toEqual([
      { path: 'a.txt', size: 5, sha256: sha('hello'), uri: `artifact://sha256/${sha('hello')}` },
      { path: 'name with spaces.bin', size: 100_000, sha256: sha(binary), uri: `artifact://sha256/${sha(binary)}` },
      { path: 'sub/b.txt', size: 5, sha256: sha('world'), uri: `artifact://sha256/${sha('world')}` },
    ]);
    // The task is the init container with the emptyDir at its artifacts path; the collector reads it read-only.
    const spec = job.spec as { template: { spec: { initContainers: Record<string, unknown>[]; containers: Record<string, unknown>[]; volumes: Record<string, unknown>[] } } };
    expect(spec.template.spec.initContainers).toEqual([expect.objectContaining({ name: 'task', volumeMounts: expect.arrayContaining([{ name: 'artifacts', mountPath: '/work/dist' }]) })]);
    expect(spec.template.spec.containers).toEqual([
      expect.objectContaining({ name: 'collect', image: 'registry.example/busybox:1.36', volumeMounts: [{ name: 'artifacts', mountPath: '/artifacts', readOnly: true }] }),
    ]);
    expect(spec.template.spec.volumes).toContainEqual({ name: 'artifacts', emptyDir: {} });
    expect(api.requests.some((request) => request.includes(`/pods/`) && request.includes('/log?container=collect'))).toBe(true);
  });

  it('fails an attempt whose artifacts exceed the limit, and reports an empty artifacts directory as no artifacts', async () => {
    const small = createK8sRunner({ kubeconfig: api.kubeconfigPath, podPollMs: 20, maxArtifactBytes: 1000 });
    const ctx = context();
    const attempt = small.run(containerRun, { image: 'registry.example/builder:2', artifacts: '/out' }, ctx);
    await api.runPod(NS, (await jobOf(ctx)).metadata.name, { artifacts: { 'big.bin': randomBytes(2000) } });
    const error = await failure(attempt);
    expect(error.code).toBe('TASK_FAILED');
    expect(error.retryable).toBe(false);

    const empty = context();
    const none = small.run(containerRun, { image: 'registry.example/builder:2', artifacts: '/out' }, empty);
    await api.runPod(NS, (await jobOf(empty)).metadata.name);
    await expect(none).resolves.toMatchObject({ exitCode: 0, artifacts: [] });
  });
});

const kubeconfig = process.env.KUBECONFIG;
if (!kubeconfig) {
  console.info('[k8s.test] real-cluster suite skipped: KUBECONFIG is not set (set it to run a busybox Job on that cluster)');
}

describe.skipIf(!kubeconfig)('Kubernetes Jobs runner (real cluster from KUBECONFIG)', () => {
  it('runs a busybox Job to completion and returns its log and termination message', { timeout: 300_000 }, async () => {
    const namespace = process.env.MAESTRO_K8S_TEST_NAMESPACE ?? 'default';
    const real = createK8sRunner({ ...(kubeconfig ? { kubeconfig } : {}), namespaces: { default: namespace }, ttlSecondsAfterFinished: 120 });
    const ctx = createTestContext({ runId: `real-${Date.now()}`, taskId: 'hello' });
    const result = await real.run(
      containerRun,
      { image: process.env.MAESTRO_K8S_TEST_IMAGE ?? 'busybox:1.36', command: ['sh', '-c', 'echo hello from k8s; echo \'{"ok":true}\' > "$MAESTRO_OUTPUTS"'] },
      ctx,
    );
    expect(result).toMatchObject({ exitCode: 0, outputs: { ok: true } });
    expect(result.logs).toContain('hello from k8s');
  });

  it('collects an artifacts directory through the busybox collector', { timeout: 300_000 }, async () => {
    const namespace = process.env.MAESTRO_K8S_TEST_NAMESPACE ?? 'default';
    const image = process.env.MAESTRO_K8S_TEST_IMAGE ?? 'busybox:1.36';
    const real = createK8sRunner({ ...(kubeconfig ? { kubeconfig } : {}), namespaces: { default: namespace }, ttlSecondsAfterFinished: 120, collectorImage: image });
    const ctx = createTestContext({ runId: `real-artifacts-${Date.now()}`, taskId: 'build' });
    const result = await real.run(containerRun, { image, command: ['sh', '-c', 'mkdir -p /out/sub && printf hello > /out/sub/a.txt'], artifacts: '/out' }, ctx);
    expect(result.artifacts).toEqual([{ path: 'sub/a.txt', size: 5, sha256: '2cf24dba5fb0a30e26e83b2ac5b9e29e1b161e5c1fa7425e73043362938b9824' }]);
  });
});
