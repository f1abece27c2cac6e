/**
 * The Helm chart (deploy/helm/maestro): rendered by the real helm (`scripts/helm.mjs install` builds
 * it on first use), validated offline against the Kubernetes schemas, and read back object by
 * object for what it promises: locked-down containers, probes on the processes' own ports and
 * paths, disruption budgets, a Role with exactly the calls the Kubernetes Jobs runner makes (taken
 * from the requests the real runner sends to the in-process API server), a NetworkPolicy that lets
 * only Maestro's worker and API reach Temporal, and credentials only by reference.
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseAllDocuments, stringify } from 'yaml';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadConfig, settingsReference } from '../src/config/index.js';
import { createK8sRunner, jobName } from '../src/runners/index.js';
import { createTestContext, type TestTaskContext } from '../src/sdk/index.js';
import { containerRun } from '../src/tasks/index.js';
import { REPO_ROOT, TOOLS_BIN, runScript } from './peers/install.js';
import { startK8sApiServer } from './peers/k8s-api.js';

const HELM = join(TOOLS_BIN, 'helm');
const CHART = join(REPO_ROOT, 'deploy', 'helm', 'maestro');
const PRODUCTION = join(REPO_ROOT, 'deploy', 'helm', 'values-production.yaml');
const RELEASE = 'maestro';
const RELEASE_NAMESPACE = 'maestro';

/** A rendered Kubernetes object, as far as these tests read it. */
interface KubeObject {
  apiVersion: string;
  kind: string;
  metadata: { name: string; namespace?: string; labels?: Record<string, string>; annotations?: Record<string, string> };
  [field: string]: unknown;
}
interface LabelSelector {
  matchLabels?: Record<string, string>;
  matchExpressions?: { key: string; operator: string; values?: string[] }[];
}
interface Container {
  name: string;
  command?: string[];
  env?: { name: string; value?: string; valueFrom?: { secretKeyRef?: { name: string; key: string } } }[];
  ports?: { name: string; containerPort: number }[];
  livenessProbe?: { httpGet: { path: string; port: string | number } };
  readinessProbe?: { httpGet: { path: string; port: string | number } };
  startupProbe?: { httpGet: { path: string; port: string | number } };
  securityContext?: Record<string, unknown>;
  resources?: { requests?: Record<string, unknown>; limits?: Record<string, unknown> };
}
interface PodSpec {
  serviceAccountName: string;
  automountServiceAccountToken: boolean;
  securityContext: Record<string, unknown>;
  containers: Container[];
  initContainers?: Container[];
}
interface Deployment extends KubeObject {
  spec: { replicas: number; selector: LabelSelector; template: { metadata: { labels: Record<string, string> }; spec: PodSpec } };
}
interface PolicyRule {
  apiGroups: string[];
  resources: string[];
  verbs: string[];
}
interface NetworkPolicyPeer {
  podSelector?: LabelSelector;
  namespaceSelector?: LabelSelector;
}
interface NetworkPolicy extends KubeObject {
  spec: {
    podSelector: LabelSelector;
    policyTypes: string[];
    ingress?: { from?: NetworkPolicyPeer[]; ports?: { port: number; protocol: string }[] }[];
  };
}

let dir: string;
let file = 0;

beforeAll(async () => {
  // Cold, this builds helm from its Go module (minutes); warm, it checks the version (well under a second).
  await runScript(process.execPath, [join(REPO_ROOT, 'scripts', 'helm.mjs'), 'install']);
  dir = mkdtempSync(join(tmpdir(), 'maestro-helm-test-'));
}, 1_800_000);
afterAll(() => {
  if (dir) rmSync(dir, { recursive: true, force: true });
});

/** Writes values to a file of their own; returns its path. */
function valuesFile(values: Record<string, unknown>): string {
  file += 1;
  const path = join(dir, `values-${file}.yaml`);
  writeFileSync(path, stringify(values));
  return path;
}

function helm(args: readonly string[]): { ok: boolean; output: string } {
  const result = spawnSync(HELM, args, { encoding: 'utf8' });
  return { ok: result.status === 0, output: `${result.stdout}${result.stderr}` };
}

/** `helm template` with these values files (none: the defaults); its output, and its objects. */
function render(...files: string[]): { text: string; objects: KubeObject[] } {
  const result = helm(['template', RELEASE, CHART, '--namespace', RELEASE_NAMESPACE, ...files.flatMap((path) => ['-f', path])]);
  expect(result.ok, result.output).toBe(true);
  const objects = parseAllDocuments(result.output)
    .map((document) => document.toJS() as KubeObject | null)
    .filter((object): object is KubeObject => object !== null);
  return { text: result.output, objects };
}

function all<T extends KubeObject>(objects: KubeObject[], kind: string): T[] {
  return objects.filter((object) => object.kind === kind) as T[];
}

function one<T extends KubeObject>(objects: KubeObject[], kind: string, name: string): T {
  const found = objects.find((object) => object.kind === kind && object.metadata.name === name);
  if (!found) throw new Error(`no ${kind} ${name} among ${objects.map((object) => `${object.kind}/${object.metadata.name}`).join(', ')}`);
  return found as T;
}

/** Whether a label selector selects these labels (matchLabels and the In / NotIn / Exists / DoesNotExist expressions). */
function selects(selector: LabelSelector, labels: Record<string, string>): boolean {
  const byLabels = Object.entries(selector.matchLabels ?? {}).every(([key, value]) => labels[key] === value);
  const byExpressions = (selector.matchExpressions ?? []).every(({ key, operator, values = [] }) => {
    if (operator === 'In') return key in labels && values.includes(labels[key] as string);
    if (operator === 'NotIn') return !(key in labels) || !values.includes(labels[key] as string);
    if (operator === 'Exists') return key in labels;
    if (operator === 'DoesNotExist') return !(key in labels);
    throw new Error(`unknown operator ${operator}`);
  });
  return byLabels && byExpressions;
}

/** A pod somewhere in the cluster, as a NetworkPolicy sees it. */
interface Pod {
  namespace: string;
  labels: Record<string, string>;
}

/**
 * Whether a NetworkPolicy lets `from` connect to `to` on `port`, following the API's semantics: it
 * applies to pods of its namespace its podSelector selects; a peer with only a podSelector means
 * pods of the policy's namespace; a namespaceSelector is matched against the namespace's
 * `kubernetes.io/metadata.name` label; no `ports` means every port.
 */
function admits(policy: NetworkPolicy, from: Pod, to: Pod, port: number): boolean {
  const namespace = policy.metadata.namespace ?? RELEASE_NAMESPACE;
  if (to.namespace !== namespace || !selects(policy.spec.podSelector, to.labels)) return true;
  return (policy.spec.ingress ?? []).some((rule) => {
    const portOk = !rule.ports || rule.ports.some((allowed) => allowed.port === port);
    const peerOk = (rule.from ?? []).some((peer) => {
      const inNamespace = peer.namespaceSelector ? selects(peer.namespaceSelector, { 'kubernetes.io/metadata.name': from.namespace }) : from.namespace === namespace;
      return inNamespace && (!peer.podSelector || selects(peer.podSelector, from.labels));
    });
    return portOk && peerOk;
  });
}

/** The paths of the null values in a rendered object. */
function nullPaths(value: unknown, path: string): string[] {
  if (value === null) return [path];
  if (typeof value !== 'object') return [];
  return Object.entries(value).flatMap(([key, child]) => nullPaths(child, `${path}.${key}`));
}

/** Every container of a pod spec, init containers included. */
function containers(spec: PodSpec): Container[] {
  return [...(spec.initContainers ?? []), ...spec.containers];
}

function envOf(container: Container, name: string): Container['env'] extends (infer E)[] | undefined ? E | undefined : never {
  return container.env?.find((variable) => variable.name === name);
}

/** The port number a probe's named port resolves to in its container. */
function probePort(container: Container, port: string | number): number | undefined {
  return typeof port === 'number' ? port : container.ports?.find((candidate) => candidate.name === port)?.containerPort;
}

/**
 * The RBAC attributes of one API request (`METHOD path?query`), as the API server derives them:
 * group, resource (with subresource) and verb.
 */
function rbacAttributes(request: string): string {
  const [method = '', target = ''] = request.split(' ');
  const url = new URL(target, 'http://api');
  const parts = url.pathname.split('/').filter(Boolean);
  const [group, rest] = parts[0] === 'api' ? ['', parts.slice(2)] : [parts[1] ?? '', parts.slice(3)];
  // namespaces/<ns>/<resource>[/<name>[/<subresource>]]
  const [, , resource = '', name, subresource] = rest;
  const verbs: Record<string, string> = { POST: 'create', PUT: 'update', PATCH: 'patch', DELETE: name ? 'delete' : 'deletecollection' };
  const verb = method === 'GET' ? (name ? 'get' : url.searchParams.get('watch') === 'true' ? 'watch' : 'list') : (verbs[method] ?? method);
  return `${group}/${resource}${subresource ? `/${subresource}` : ''}:${verb}`;
}

describe('the Helm chart', () => {
  it('passes helm lint --strict and renders objects valid against the Kubernetes schemas, with the defaults and the production example', () => {
    for (const files of [[], [PRODUCTION]]) {
      const lint = helm(['lint', '--strict', CHART, ...files.flatMap((path) => ['-f', path])]);
      expect(lint.ok, lint.output).toBe(true);
      const rendered = join(dir, `rendered-${files.length}.yaml`);
      writeFileSync(rendered, render(...files).text);
      const validation = spawnSync(process.execPath, [join(REPO_ROOT, 'scripts', 'helm.mjs'), 'validate', rendered], { encoding: 'utf8' });
      expect(validation.status, `${validation.stdout}${validation.stderr}`).toBe(0);
      expect(validation.stdout).toContain('valid against Kubernetes 1.29.0 and 1.37.0');
      // An empty block (`annotations:` with nothing under it) renders as null, which the schemas let through.
      expect(render(...files).objects.flatMap((object) => nullPaths(object, `${object.kind}/${object.metadata.name}`))).toEqual([]);
    }
  });

  it('runs every container as non-root on a read-only root file system, with no privilege escalation, no capability and the runtime seccomp profile', () => {
    const deployments = all<Deployment>(render(PRODUCTION).objects, 'Deployment');
    expect(deployments.map((deployment) => deployment.metadata.name).sort()).toEqual(['maestro-api', 'maestro-worker']);
    for (const { spec } of deployments) {
      const pod = spec.template.spec;
      expect(pod.securityContext).toMatchObject({ runAsNonRoot: true, seccompProfile: { type: 'RuntimeDefault' } });
      expect(pod.securityContext['runAsUser']).not.toBe(0);
      for (const container of containers(pod)) {
        expect(container.securityContext).toMatchObject({
          runAsNonRoot: true,
          privileged: false,
          allowPrivilegeEscalation: false,
          readOnlyRootFilesystem: true,
          capabilities: { drop: ['ALL'] },
          seccompProfile: { type: 'RuntimeDefault' },
        });
        expect(container.securityContext?.['capabilities']).not.toHaveProperty('add');
        expect(container.resources?.requests).toMatchObject({ cpu: expect.anything(), memory: expect.anything() });
        expect(container.resources?.limits).toMatchObject({ cpu: expect.anything(), memory: expect.anything() });
      }
    }
  });

  it('starts `maestro worker` and `maestro api`, and probes /healthz and /readyz on the ports each process serves them on', () => {
    const { objects } = render(PRODUCTION);
    const expected = {
      'maestro-worker': { command: ['node', 'bin/maestro.js', 'worker'], portSetting: 'MAESTRO_WORKER_METRICS_PORT', hostSetting: 'MAESTRO_WORKER_METRICS_HOST', port: 9464 },
      'maestro-api': { command: ['node', 'bin/maestro.js', 'api'], portSetting: 'MAESTRO_PORT', hostSetting: 'MAESTRO_HOST', port: 8080 },
    };
    for (const [name, want] of Object.entries(expected)) {
      const [container] = one<Deployment>(objects, 'Deployment', name).spec.template.spec.containers;
      if (!container?.livenessProbe || !container.readinessProbe || !container.startupProbe) throw new Error(`${name} lacks a probe`);
      expect(container.command).toEqual(want.command);
      // The process listens where the probes knock: the setting's port, on the pod's address.
      expect(envOf(container, want.portSetting)?.value).toBe(String(want.port));
      expect(envOf(container, want.hostSetting)?.value).toBe('0.0.0.0');
      expect(container.livenessProbe.httpGet.path).toBe('/healthz');
      expect(container.startupProbe.httpGet.path).toBe('/healthz');
      expect(container.readinessProbe.httpGet.path).toBe('/readyz');
      for (const probe of [container.livenessProbe, container.readinessProbe, container.startupProbe]) expect(probePort(container, probe.httpGet.port)).toBe(want.port);
    }
    // The worker's /metrics needs no token: annotations only when asked (the production example uses a ServiceMonitor).
    const worker = one<Deployment>(render().objects, 'Deployment', 'maestro-worker');
    expect(worker.spec.template.metadata).toMatchObject({ annotations: { 'prometheus.io/scrape': 'true', 'prometheus.io/port': '9464', 'prometheus.io/path': '/metrics' } });
    const monitors = all(objects, 'ServiceMonitor');
    expect(monitors.map((monitor) => monitor.metadata.name).sort()).toEqual(['maestro-api', 'maestro-worker']);
    // The API's /metrics is scraped with a `metrics` role token from a Secret.
    expect(one(objects, 'ServiceMonitor', 'maestro-api')).toMatchObject({
      spec: { endpoints: [{ port: 'http', path: '/metrics', authorization: { type: 'Bearer', credentials: { name: 'maestro-metrics-token', key: 'token' } } }] },
    });
  });

  it('gives each Deployment a PodDisruptionBudget that selects exactly its pods', () => {
    const { objects } = render(PRODUCTION);
    const budgets = all<KubeObject & { spec: { selector: LabelSelector; minAvailable?: number; maxUnavailable?: number } }>(objects, 'PodDisruptionBudget');
    expect(budgets).toHaveLength(2);
    for (const deployment of all<Deployment>(objects, 'Deployment')) {
      const covering = budgets.filter((budget) => selects(budget.spec.selector, deployment.spec.template.metadata.labels));
      expect(covering.map((budget) => budget.metadata.name)).toEqual([deployment.metadata.name]);
    }
    expect(one(objects, 'PodDisruptionBudget', 'maestro-api')).toMatchObject({ spec: { minAvailable: 2 } });
    expect(one(objects, 'PodDisruptionBudget', 'maestro-worker')).toMatchObject({ spec: { maxUnavailable: 1 } });
  });

  it("grants the worker, in each Jobs namespace only, exactly the calls the Kubernetes Jobs runner makes, and the API no token", async () => {
    const { objects } = render(PRODUCTION);
    // What the runner calls: every path of an attempt (secrets, artifacts, a lost watch, adoption, cancellation) against the API server.
    const jobsNamespace = 'maestro-jobs-ops';
    const api = await startK8sApiServer({ namespaces: [jobsNamespace] });
    try {
      const runner = createK8sRunner({ kubeconfig: api.kubeconfigPath, namespaces: { ops: jobsNamespace }, podPollMs: 20, heartbeatIntervalMs: 50 });
      const context = (runId: string, secrets: Record<string, string> = {}): TestTaskContext => createTestContext({ runId, taskId: 'build', namespace: 'ops', secrets });
      const jobOf = (ctx: TestTaskContext) => api.waitForJob((job) => job.metadata.name === jobName({ runId: ctx.runId, taskId: ctx.taskId, attempt: ctx.attempt, namespace: ctx.namespace }));

      const done = context('rbac-done', { token: 'tok-1' });
      const attempt = runner.run(containerRun, { image: 'registry.example/tools:1', secrets: [{ name: 'token', as: 'env' }], artifacts: '/out' }, done);
      const job = await jobOf(done);
      await api.runPod(jobsNamespace, job.metadata.name, { logs: ['working'], hold: true });
      api.compact();
      api.dropWatches();
      await new Promise((resolve) => setTimeout(resolve, 100));
      api.finishPod(jobsNamespace, job.metadata.name, 0, '{"ok":true}');
      await expect(attempt).resolves.toMatchObject({ exitCode: 0, outputs: { ok: true } });

      const lost = context('rbac-adopted');
      const first = runner.run(containerRun, { image: 'registry.example/tools:1' }, lost);
      const adoptedJob = await jobOf(lost);
      const again = runner.run(containerRun, { image: 'registry.example/tools:1' }, createTestContext({ runId: lost.runId, taskId: lost.taskId, namespace: 'ops' }));
      await new Promise((resolve) => setTimeout(resolve, 100));
      await api.runPod(jobsNamespace, adoptedJob.metadata.name);
      await Promise.all([first, again]);

      const cancelled = context('rbac-cancelled');
      const running = runner.run(containerRun, { image: 'registry.example/tools:1' }, cancelled);
      await api.runPod(jobsNamespace, (await jobOf(cancelled)).metadata.name, { logs: ['up'], hold: true });
      await new Promise((resolve) => setTimeout(resolve, 100));
      const reason = new Error('cancelled');
      cancelled.abort(reason);
      await expect(running).rejects.toBe(reason);

      const called = new Set(api.requests.map(rbacAttributes));
      const roles = all<KubeObject & { rules: PolicyRule[] }>(objects, 'Role');
      expect(roles.map((role) => role.metadata.namespace).sort()).toEqual(['maestro-jobs-ops', 'maestro-jobs-team-a']);
      for (const role of roles) {
        const granted = new Set(role.rules.flatMap((rule) => rule.apiGroups.flatMap((group) => rule.resources.flatMap((resource) => rule.verbs.map((verb) => `${group}/${resource}:${verb}`)))));
        expect([...granted].sort()).toEqual([...called].sort());
      }
      expect([...called].sort()).toEqual(['/pods/log:get', '/pods:list', '/secrets:create', 'batch/jobs:create', 'batch/jobs:delete', 'batch/jobs:get', 'batch/jobs:watch']);
    } finally {
      await api.close();
    }
    expect(all(objects, 'ClusterRole')).toEqual([]);
    expect(all(objects, 'ClusterRoleBinding')).toEqual([]);
    for (const binding of all<KubeObject & { roleRef: { kind: string; name: string }; subjects: { kind: string; name: string; namespace: string }[] }>(objects, 'RoleBinding')) {
      expect(binding.roleRef).toMatchObject({ kind: 'Role', name: 'maestro-k8s-runner' });
      expect(binding.subjects).toEqual([{ kind: 'ServiceAccount', name: 'maestro-worker', namespace: RELEASE_NAMESPACE }]);
    }
    const pods = Object.fromEntries(all<Deployment>(objects, 'Deployment').map((deployment) => [deployment.metadata.name, deployment.spec.template.spec]));
    expect(pods['maestro-worker']).toMatchObject({ serviceAccountName: 'maestro-worker', automountServiceAccountToken: true });
    expect(pods['maestro-api']).toMatchObject({ serviceAccountName: 'maestro-api', automountServiceAccountToken: false });
    // Job pods that asked for no network get none, in every Jobs namespace.
    const isolation = all<NetworkPolicy>(objects, 'NetworkPolicy').filter((policy) => policy.metadata.name === 'maestro-jobs-no-network');
    expect(isolation.map((policy) => policy.metadata.namespace).sort()).toEqual(['maestro-jobs-ops', 'maestro-jobs-team-a']);
    for (const policy of isolation) expect(policy.spec).toEqual({ podSelector: { matchLabels: { 'maestro.dev/network': 'none' } }, policyTypes: ['Ingress', 'Egress'] });
    // Without the runner, no Role and no token.
    const plain = render().objects;
    expect(all(plain, 'Role')).toEqual([]);
    expect(one<Deployment>(plain, 'Deployment', 'maestro-worker').spec.template.spec.automountServiceAccountToken).toBe(false);
  });

  it("lets only this release's worker and API pods reach Temporal's frontend, and Temporal's own pods each other", () => {
    const { objects } = render(PRODUCTION);
    const policy = one<NetworkPolicy>(objects, 'NetworkPolicy', 'maestro-temporal-frontend');
    expect(policy.metadata.namespace).toBe('temporal');
    expect(policy.spec.policyTypes).toEqual(['Ingress']);
    const labelsOf = (name: string): Record<string, string> => one<Deployment>(objects, 'Deployment', name).spec.template.metadata.labels;
    const temporal = { 'app.kubernetes.io/name': 'temporal', 'app.kubernetes.io/instance': 'temporal' };
    const frontend: Pod = { namespace: 'temporal', labels: { ...temporal, 'app.kubernetes.io/component': 'frontend' } };
    const worker: Pod = { namespace: RELEASE_NAMESPACE, labels: labelsOf('maestro-worker') };
    const api: Pod = { namespace: RELEASE_NAMESPACE, labels: labelsOf('maestro-api') };
    expect(admits(policy, worker, frontend, 7233)).toBe(true);
    expect(admits(policy, api, frontend, 7233)).toBe(true);
    // Not another port, not a Job pod, not another release's worker, not a look-alike in another namespace.
    expect(admits(policy, worker, frontend, 7234)).toBe(false);
    const strangers: Pod[] = [
      { namespace: 'maestro-jobs-ops', labels: { 'app.kubernetes.io/managed-by': 'maestro', 'maestro.dev/network': 'allowed' } },
      { namespace: RELEASE_NAMESPACE, labels: { app: 'debug-shell' } },
      { namespace: RELEASE_NAMESPACE, labels: { ...worker.labels, 'app.kubernetes.io/instance': 'another' } },
      { namespace: 'team-a', labels: worker.labels },
      { namespace: 'default', labels: { 'app.kubernetes.io/name': 'temporal' } },
    ];
    for (const stranger of strangers) expect(admits(policy, stranger, frontend, 7233), JSON.stringify(stranger)).toBe(false);
    // Temporal's own services keep their membership and gRPC ports.
    const history: Pod = { namespace: 'temporal', labels: { ...temporal, 'app.kubernetes.io/component': 'history' } };
    expect(admits(policy, history, frontend, 6933)).toBe(true);
    // A selector of one's own replaces the default whole: merged, it would select no pod and protect nothing.
    expect(policy.spec.podSelector).toEqual({ matchLabels: { 'app.kubernetes.io/instance': 'temporal', 'app.kubernetes.io/component': 'frontend' } });
    const defaults = one<NetworkPolicy>(render().objects, 'NetworkPolicy', 'maestro-temporal-frontend');
    expect(defaults.spec.podSelector).toEqual({ matchLabels: { 'app.kubernetes.io/name': 'temporal', 'app.kubernetes.io/component': 'frontend' } });
    expect(admits(defaults, worker, frontend, 7233)).toBe(true);
    expect(admits(defaults, strangers[1] as Pod, frontend, 7233)).toBe(false);
    // Disabled (Temporal Cloud, another enforcement), there is none.
    const off = render(valuesFile({ temporal: { networkPolicy: { enabled: false } } })).objects;
    expect(all(off, 'NetworkPolicy').map((object) => object.metadata.name)).toEqual(['maestro-worker']);
  });

  it("lets only the scraper's namespace reach the worker, and only on its metrics port", () => {
    const { objects } = render();
    const policy = one<NetworkPolicy>(objects, 'NetworkPolicy', 'maestro-worker');
    const worker: Pod = { namespace: RELEASE_NAMESPACE, labels: one<Deployment>(objects, 'Deployment', 'maestro-worker').spec.template.metadata.labels };
    const api: Pod = { namespace: RELEASE_NAMESPACE, labels: one<Deployment>(objects, 'Deployment', 'maestro-api').spec.template.metadata.labels };
    const prometheus: Pod = { namespace: 'monitoring', labels: { 'app.kubernetes.io/name': 'prometheus' } };
    expect(admits(policy, prometheus, worker, 9464)).toBe(true);
    expect(admits(policy, prometheus, worker, 8080)).toBe(false);
    expect(admits(policy, api, worker, 9464)).toBe(false);
    expect(admits(policy, { namespace: 'maestro-jobs-ops', labels: {} }, worker, 9464)).toBe(false);
    // The API's pods are not this policy's: users reach the API.
    expect(admits(policy, { namespace: 'anywhere', labels: {} }, api, 8080)).toBe(true);
    // No scraper listed: nothing but the node (the kubelet's probes) reaches the worker.
    const closed = one<NetworkPolicy>(render(valuesFile({ metrics: { networkPolicy: { enabled: true, from: [] } } })).objects, 'NetworkPolicy', 'maestro-worker');
    expect(closed.spec).toMatchObject({ policyTypes: ['Ingress'], ingress: [] });
    expect(admits(closed, prometheus, worker, 9464)).toBe(false);
  });

  it('takes every credential from a Secret by reference: no Secret object, no value inline', () => {
    const { objects, text } = render(PRODUCTION, valuesFile({ temporal: { apiKey: { name: 'temporal-cloud', key: 'api-key' } }, secrets: { apiTokens: { name: 'maestro-api-tokens', key: 'tokens.yaml' } } }));
    expect(all(objects, 'Secret')).toEqual([]);
    for (const deployment of all<Deployment>(objects, 'Deployment')) {
      const [container] = deployment.spec.template.spec.containers;
      if (!container) throw new Error('no container');
      expect(envOf(container, 'MAESTRO_DATABASE_URL')).toEqual({ name: 'MAESTRO_DATABASE_URL', valueFrom: { secretKeyRef: { name: 'maestro-database', key: 'url' } } });
      expect(envOf(container, 'TEMPORAL_API_KEY')).toEqual({ name: 'TEMPORAL_API_KEY', valueFrom: { secretKeyRef: { name: 'temporal-cloud', key: 'api-key' } } });
      // Keys are files of a read-only mounted Secret volume; the settings hold their paths.
      for (const setting of ['MAESTRO_SIGNING_KEY', 'MAESTRO_APPROVAL_KEY', 'MAESTRO_PAYLOAD_KEY_FILE']) expect(envOf(container, setting)?.value).toMatch(/^\/etc\/maestro\/keys\//);
      expect(envOf(container, 'TEMPORAL_TLS_CLIENT_KEY_PATH')?.value).toBe('/etc/maestro/temporal-tls/tls.key');
      for (const variable of container.env ?? []) expect(variable.value ?? '').not.toMatch(/BEGIN [A-Z ]*PRIVATE KEY|postgres(ql)?:\/\//);
    }
    const api = one<Deployment>(objects, 'Deployment', 'maestro-api').spec.template.spec.containers[0];
    expect(api && envOf(api, 'MAESTRO_AUTH_FILE')?.value).toBe('/etc/maestro/api-tokens/tokens.yaml');
    // The task secrets reach the worker alone.
    const worker = one<Deployment>(objects, 'Deployment', 'maestro-worker').spec.template.spec.containers[0];
    expect(worker && envOf(worker, 'MAESTRO_SECRETS_DIR')?.value).toBe('/etc/maestro/task-secrets');
    expect(api && envOf(api, 'MAESTRO_SECRETS_DIR')).toBeUndefined();
    expect(text).not.toContain('kind: Secret\n');
  });

  it('sets only declared settings, and refuses every secret setting as plain config', () => {
    const declared = new Set(settingsReference().flatMap((setting) => [setting.env, ...(setting.deprecatedEnv ? [setting.deprecatedEnv] : [])]));
    const { objects } = render(PRODUCTION, valuesFile({ temporal: { apiKey: { name: 'temporal-cloud', key: 'api-key' } }, secrets: { apiTokens: { name: 'maestro-api-tokens', key: 'tokens.yaml' } } }));
    const names = all<Deployment>(objects, 'Deployment').flatMap((deployment) => containers(deployment.spec.template.spec).flatMap((container) => (container.env ?? []).map((variable) => variable.name)));
    expect(names.filter((name) => !declared.has(name) && !name.startsWith('OTEL_'))).toEqual([]);
    // And Maestro accepts their values (the Secrets' values stand in as placeholders).
    const placeholders: Record<string, string> = { MAESTRO_DATABASE_URL: 'postgres://maestro:pw@db:5432/maestro', TEMPORAL_API_KEY: 'api-key' };
    for (const deployment of all<Deployment>(objects, 'Deployment')) {
      for (const container of containers(deployment.spec.template.spec)) {
        const env = Object.fromEntries((container.env ?? []).map((variable) => [variable.name, variable.value ?? placeholders[variable.name] ?? '']));
        expect(() => loadConfig(env), `${deployment.metadata.name}/${container.name}`).not.toThrow();
      }
    }
    // Every setting the config declares secret, whatever section it joins later.
    const secret = settingsReference().filter((setting) => setting.secret);
    expect(secret.length).toBeGreaterThan(0);
    const lint = helm(['lint', '--strict', CHART, '-f', valuesFile({ config: Object.fromEntries(secret.map((setting) => [setting.env, 'inline-value'])) })]);
    expect(lint.ok).toBe(false);
    for (const setting of secret) expect(lint.output).toMatch(new RegExp(`'/config/${setting.env}': false schema|invalid propertyName '${setting.env}'`));
  });

  it.each([
    ['a negative replica count', { worker: { replicaCount: -1 } }, "at '/worker/replicaCount': minimum: got -1, want 0"],
    ['an unknown key', { api: { replicas: 3 } }, "additional properties 'replicas' not allowed"],
    ['a credential as plain config', { config: { MAESTRO_DATABASE_URL: 'postgres://maestro:hunter2@db/maestro' } }, "at '/config/MAESTRO_DATABASE_URL': false schema"],
    ['a task secret as plain config', { config: { MAESTRO_SECRET_DEPLOY_TOKEN: 'tok' } }, "at '/config/MAESTRO_SECRET_DEPLOY_TOKEN': false schema"],
    ['both minAvailable and maxUnavailable', { api: { podDisruptionBudget: { enabled: true, minAvailable: 1, maxUnavailable: 1 } } }, "at '/api/podDisruptionBudget': 'not' failed"],
    ['the Jobs runner without a namespace', { k8sRunner: { enabled: true } }, "at '/k8sRunner/namespaces': minProperties: got 0, want 1"],
    ['a Temporal address without a port', { temporal: { address: 'temporal.example.com' } }, "at '/temporal/address'"],
    ['a Jobs namespace that is not a namespace name', { k8sRunner: { enabled: true, namespaces: { default: 'jobs.example' } } }, "at '/k8sRunner/namespaces/default'"],
  ])('refuses %s in lint and template, naming the value', (_what, values, message) => {
    const path = valuesFile(values);
    const lint = helm(['lint', '--strict', CHART, '-f', path]);
    expect(lint.ok).toBe(false);
    expect(lint.output).toContain(message);
    const template = helm(['template', RELEASE, CHART, '-f', path]);
    expect(template.ok).toBe(false);
    expect(template.output).toContain(message);
  });
});
