/**
 * An in-process Kubernetes API server for the Kubernetes runner's tests: no cluster can run on
 * these machines. It speaks the part of the API the runner uses, following the API conventions:
 *
 * - batch/v1 Jobs (create, get, list, watch, delete with propagation), core/v1 Pods (get, list,
 *   watch, `pods/log` with `follow`), core/v1 Secrets (create, get, delete);
 * - one resourceVersion sequence for every write; watches replay events after the given
 *   resourceVersion, and answer a compacted one with an ERROR event carrying a 410 Gone Status;
 * - errors as `Status` objects (404 NotFound, 409 AlreadyExists, 400 BadRequest, 422 Invalid);
 * - `ownerReferences` garbage collection on delete (background propagation);
 * - a minimal Job controller: a created Job gets one Pending pod from its template.
 *
 * Nothing runs: the test drives pods and Jobs with {@link K8sApiServer.runPod} and friends. One
 * exception: a pod whose task is its init container (a workload with artifacts) has its regular
 * container, the artifacts collector, really run as the kubelet would once the task exited 0 — its
 * command from the Job, on this host, with its volume mount mapped to a folder holding the files
 * the test said the task left ({@link PodScript.artifacts}) — and its output becomes its log.
 */
import { spawnSync } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';

/** Any API object. */
export interface KubeObject {
  apiVersion: string;
  kind: string;
  metadata: {
    name: string;
    namespace: string;
    uid: string;
    resourceVersion: string;
    creationTimestamp: string;
    labels?: Record<string, string>;
    annotations?: Record<string, string>;
    ownerReferences?: { apiVersion: string; kind: string; name: string; uid: string; controller?: boolean }[];
    deletionTimestamp?: string;
  };
  spec?: Record<string, unknown>;
  status?: Record<string, unknown>;
  data?: Record<string, string>;
  [field: string]: unknown;
}

type Resource = 'jobs' | 'pods' | 'secrets';
type EventType = 'ADDED' | 'MODIFIED' | 'DELETED';

interface WatchEvent {
  rv: number;
  type: EventType;
  resource: Resource;
  object: KubeObject;
}

interface Watcher {
  resource: Resource;
  namespace: string;
  matches: (object: KubeObject) => boolean;
  res: ServerResponse;
}

/** How {@link K8sApiServer.runPod} plays a Job's pod. */
export interface PodScript {
  /** Log lines the container prints, one every `lineDelayMs`. @default [] */
  logs?: string[];
  /** @default 0 */
  exitCode?: number;
  /** The termination message (what the workload wrote to `$MAESTRO_OUTPUTS`). */
  message?: string;
  /** @default 20 */
  lineDelayMs?: number;
  /** Stay running after the logs, until {@link K8sApiServer.finishPod}. @default false */
  hold?: boolean;
  /** Files the task leaves in its artifacts directory (relative path → content), for the collector. @default {} */
  artifacts?: Record<string, string | Buffer>;
}

/** A running fake API server. */
export interface K8sApiServer {
  url: string;
  /** A kubeconfig file (no auth) pointing at this server. */
  kubeconfigPath: string;
  /** Every request, `METHOD path?query`, in order. */
  requests: string[];
  /** Stored objects of a kind, in a namespace or all. */
  list(resource: Resource, namespace?: string): KubeObject[];
  /** Resolves with the first Job a predicate accepts, waiting for it to appear. */
  waitForJob(predicate?: (job: KubeObject) => boolean, timeoutMs?: number): Promise<KubeObject>;
  /** Runs the Job's pod: Running, its log lines, then (unless `hold`) terminated and the Job finished. */
  runPod(namespace: string, jobName: string, script?: PodScript): Promise<void>;
  /** Terminates a held pod and finishes its Job accordingly. */
  finishPod(namespace: string, jobName: string, exitCode: number, message?: string): void;
  /** Fails a Job with a condition reason (e.g. `DeadlineExceeded`), killing its pod. */
  failJob(namespace: string, jobName: string, reason: string, message: string): void;
  /** Drops the event history up to now: older resourceVersions get 410 Gone. */
  compact(): void;
  /** Ends every open watch, as an API server does when its watch timeout passes. */
  dropWatches(): void;
  close(): Promise<void>;
}

/**
 * Starts the fake API server on a free port. Only `namespaces` exist (others answer 404, as a
 * cluster without that namespace would).
 */
export async function startK8sApiServer({ namespaces = ['maestro-default'] }: { namespaces?: string[] } = {}): Promise<K8sApiServer> {
  const objects = new Map<string, KubeObject>();
  const events: WatchEvent[] = [];
  const watchers = new Set<Watcher>();
  const logFollowers = new Map<string, Set<ServerResponse>>();
  const podLogs = new Map<string, string>();
  const podArtifacts = new Map<string, Record<string, string | Buffer>>();
  const collectorLogs = new Map<string, string>();
  const requests: string[] = [];
  let resourceVersion = 1000;
  let compactedBelow = 0;

  const key = (resource: Resource, namespace: string, name: string): string => `${resource}/${namespace}/${name}`;

  function record(type: EventType, resource: Resource, object: KubeObject): void {
    const rv = Number(object.metadata.resourceVersion);
    const event: WatchEvent = { rv, type, resource, object: structuredClone(object) };
    events.push(event);
    for (const watcher of watchers) {
      if (watcher.resource === resource && watcher.namespace === object.metadata.namespace && watcher.matches(object)) send(watcher.res, event);
    }
  }

  function send(res: ServerResponse, event: Pick<WatchEvent, 'type' | 'object'> | { type: 'ERROR'; object: unknown }): void {
    res.write(`${JSON.stringify({ type: event.type, object: event.object })}\n`);
  }

  function put(resource: Resource, object: KubeObject, type: EventType): KubeObject {
    resourceVersion += 1;
    object.metadata.resourceVersion = String(resourceVersion);
    objects.set(key(resource, object.metadata.namespace, object.metadata.name), object);
    record(type, resource, object);
    return object;
  }

  function remove(resource: Resource, namespace: string, name: string): KubeObject | undefined {
    const object = objects.get(key(resource, namespace, name));
    if (!object) return undefined;
    objects.delete(key(resource, namespace, name));
    resourceVersion += 1;
    object.metadata.resourceVersion = String(resourceVersion);
    object.metadata.deletionTimestamp = new Date().toISOString();
    record('DELETED', resource, object);
    // Background propagation: dependents go with their owner.
    for (const [dependentKey, dependent] of [...objects]) {
      if (dependent.metadata.ownerReferences?.some((owner) => owner.uid === object.metadata.uid)) {
        const [dependentResource] = dependentKey.split('/') as [Resource];
        remove(dependentResource, dependent.metadata.namespace, dependent.metadata.name);
      }
    }
    if (resource === 'pods') endLogs(namespace, name);
    return object;
  }

  function statusObject(code: number, reason: string, message: string, details: Record<string, unknown> = {}): Record<string, unknown> {
    return { kind: 'Status', apiVersion: 'v1', metadata: {}, status: 'Failure', message, reason, details, code };
  }

  function json(res: ServerResponse, code: number, body: unknown): void {
    res.writeHead(code, { 'content-type': 'application/json' });
    res.end(JSON.stringify(body));
  }

  const kindOf: Record<Resource, { kind: string; apiVersion: string; group: string }> = {
    jobs: { kind: 'Job', apiVersion: 'batch/v1', group: 'batch' },
    pods: { kind: 'Pod', apiVersion: 'v1', group: '' },
    secrets: { kind: 'Secret', apiVersion: 'v1', group: '' },
  };

  function notFound(res: ServerResponse, resource: Resource, name: string): void {
    json(res, 404, statusObject(404, 'NotFound', `${resource}${kindOf[resource].group ? `.${kindOf[resource].group}` : ''} "${name}" not found`, { name, group: kindOf[resource].group, kind: resource }));
  }

  function selector(query: URLSearchParams): (object: KubeObject) => boolean {
    const labels = (query.get('labelSelector') ?? '').split(',').filter(Boolean).map((term) => term.split('=') as [string, string]);
    const fields = (query.get('fieldSelector') ?? '').split(',').filter(Boolean).map((term) => term.split('=') as [string, string]);
    return (object) =>
      labels.every(([label, value]) => object.metadata.labels?.[label] === value) &&
      fields.every(([field, value]) => (field === 'metadata.name' ? object.metadata.name === value : field === 'metadata.namespace' ? object.metadata.namespace === value : false));
  }

  function listOf(resource: Resource, namespace: string, matches: (object: KubeObject) => boolean): KubeObject[] {
    return [...objects.entries()].filter(([k]) => k.startsWith(`${resource}/${namespace}/`)).map(([, object]) => object).filter(matches);
  }

  function create(resource: Resource, namespace: string, body: KubeObject, res: ServerResponse): void {
    if (!namespaces.includes(namespace)) return json(res, 404, statusObject(404, 'NotFound', `namespaces "${namespace}" not found`, { name: namespace, kind: 'namespaces' }));
    const name = body.metadata?.name;
    if (!name || !/^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/.test(name) || name.length > 63) {
      return json(res, 422, statusObject(422, 'Invalid', `${kindOf[resource].kind} "${String(name)}" is invalid: metadata.name: Invalid value`, { name }));
    }
    if (objects.has(key(resource, namespace, name))) {
      return json(res, 409, statusObject(409, 'AlreadyExists', `${resource}${kindOf[resource].group ? `.${kindOf[resource].group}` : ''} "${name}" already exists`, { name, group: kindOf[resource].group, kind: resource }));
    }
    const object: KubeObject = {
      ...body,
      apiVersion: kindOf[resource].apiVersion,
      kind: kindOf[resource].kind,
      metadata: { ...body.metadata, name, namespace, uid: randomUUID(), resourceVersion: '0', creationTimestamp: new Date().toISOString() },
    };
    if (resource === 'jobs') object.status = { active: 1, startTime: new Date().toISOString() };
    put(resource, object, 'ADDED');
    json(res, 201, object);
    if (resource === 'jobs') createJobPod(object);
  }

  /** The Job controller's part: one pod from the template, owned by the Job. */
  function createJobPod(job: KubeObject): void {
    const template = (job.spec?.['template'] ?? {}) as { metadata?: { labels?: Record<string, string> }; spec?: Record<string, unknown> };
    const suffix = randomUUID().slice(0, 5);
    const pod: KubeObject = {
      apiVersion: 'v1',
      kind: 'Pod',
      metadata: {
        name: `${job.metadata.name}-${suffix}`,
        namespace: job.metadata.namespace,
        uid: randomUUID(),
        resourceVersion: '0',
        creationTimestamp: new Date().toISOString(),
        labels: { ...template.metadata?.labels, 'job-name': job.metadata.name, 'batch.kubernetes.io/job-name': job.metadata.name, 'controller-uid': job.metadata.uid },
        ownerReferences: [{ apiVersion: 'batch/v1', kind: 'Job', name: job.metadata.name, uid: job.metadata.uid, controller: true }],
      },
      spec: structuredClone(template.spec ?? {}),
      status: { phase: 'Pending' },
    };
    setTaskState(pod, { waiting: { reason: 'ContainerCreating' } });
    put('pods', pod, 'ADDED');
  }

  /** The pod's collector container, when its task runs as the init container. */
  function collectorOf(pod: KubeObject): { command: string[]; volumeMounts: { mountPath: string }[] } | undefined {
    if (!Array.isArray(pod.spec?.['initContainers'])) return undefined;
    return (pod.spec?.['containers'] as { name: string; command: string[]; volumeMounts: { mountPath: string }[] }[] | undefined)?.[0];
  }

  /** Sets the task container's state, among init containers when the pod has them. */
  /** A container status as {@link setTaskState} writes it. */
  type TaskStatus = { name: string; state: { running?: { startedAt: string } } };

  function setTaskState(pod: KubeObject, state: Record<string, unknown>, message?: string): void {
    const status = [{ name: 'task', ready: state['running'] !== undefined, restartCount: 0, state }];
    if (message !== undefined) (status[0]?.state['terminated'] as Record<string, unknown>)['message'] = message;
    const phase = pod.status?.['phase'];
    if (collectorOf(pod)) {
      pod.status = { phase, initContainerStatuses: status, containerStatuses: [{ name: 'collect', ready: false, restartCount: 0, state: { waiting: { reason: 'PodInitializing' } } }] };
    } else {
      pod.status = { phase, containerStatuses: status };
    }
  }

  /** Runs the collector's command as the kubelet would, over the files the task left; returns its exit code. */
  function runCollector(pod: KubeObject): number {
    const collector = collectorOf(pod);
    if (!collector) return 0;
    const volume = mkdtempSync(join(tmpdir(), 'maestro-k8s-emptydir-'));
    try {
      for (const [path, content] of Object.entries(podArtifacts.get(`${pod.metadata.namespace}/${pod.metadata.name}`) ?? {})) {
        mkdirSync(dirname(join(volume, path)), { recursive: true });
        writeFileSync(join(volume, path), content);
      }
      const mountPath = collector.volumeMounts[0]?.mountPath;
      const [command = 'false', ...args] = collector.command.map((arg) => (arg === mountPath ? volume : arg));
      const run = spawnSync(command, args, { encoding: 'utf8' });
      collectorLogs.set(`${pod.metadata.namespace}/${pod.metadata.name}`, `${run.stdout}${run.stderr}`);
      const exitCode = run.status ?? 1;
      const statuses = pod.status?.['containerStatuses'] as { state: Record<string, unknown> }[];
      if (statuses[0]) statuses[0].state = { terminated: { exitCode, reason: exitCode === 0 ? 'Completed' : 'Error', finishedAt: new Date().toISOString() } };
      return exitCode;
    } finally {
      rmSync(volume, { recursive: true, force: true });
    }
  }

  function podOf(namespace: string, jobName: string): KubeObject {
    const pod = listOf('pods', namespace, (object) => object.metadata.labels?.['job-name'] === jobName)[0];
    if (!pod) throw new Error(`no pod for Job ${namespace}/${jobName}`);
    return pod;
  }

  function appendLog(pod: KubeObject, line: string): void {
    const podKey = `${pod.metadata.namespace}/${pod.metadata.name}`;
    podLogs.set(podKey, (podLogs.get(podKey) ?? '') + `${line}\n`);
    for (const follower of logFollowers.get(podKey) ?? []) follower.write(`${line}\n`);
  }

  function endLogs(namespace: string, podName: string): void {
    const podKey = `${namespace}/${podName}`;
    for (const follower of logFollowers.get(podKey) ?? []) follower.end();
    logFollowers.delete(podKey);
  }

  function terminate(namespace: string, jobName: string, exitCode: number, message?: string, reason?: string, reasonMessage?: string): void {
    const job = objects.get(key('jobs', namespace, jobName));
    const pod = listOf('pods', namespace, (object) => object.metadata.labels?.['job-name'] === jobName)[0];
    const now = new Date().toISOString();
    let collectorExit = 0;
    if (pod) {
      // A terminated container keeps the time it started, as the kubelet reports it.
      const statuses = [...((pod.status?.['initContainerStatuses'] ?? []) as TaskStatus[]), ...((pod.status?.['containerStatuses'] ?? []) as TaskStatus[])];
      const startedAt = statuses.find((status) => status.name === 'task')?.state.running?.startedAt;
      pod.status = { phase: exitCode === 0 ? 'Succeeded' : 'Failed' };
      setTaskState(pod, { terminated: { ...(startedAt === undefined ? {} : { startedAt }), exitCode, reason: exitCode === 0 ? 'Completed' : 'Error', finishedAt: now } }, message);
      if (exitCode === 0 && reason === undefined) collectorExit = runCollector(pod);
      if (collectorExit !== 0) pod.status['phase'] = 'Failed';
      put('pods', pod, 'MODIFIED');
      endLogs(namespace, pod.metadata.name);
    }
    if (job) {
      const failed = exitCode !== 0 || collectorExit !== 0 || reason !== undefined;
      job.status = {
        ...job.status,
        active: 0,
        ...(failed ? { failed: 1 } : { succeeded: 1 }),
        completionTime: failed ? undefined : now,
        conditions: [
          failed
            ? { type: 'Failed', status: 'True', reason: reason ?? 'BackoffLimitExceeded', message: reasonMessage ?? 'Job has reached the specified backoff limit', lastTransitionTime: now }
            : { type: 'Complete', status: 'True', lastTransitionTime: now },
        ],
      };
      put('jobs', job, 'MODIFIED');
    }
  }

  function watch(resource: Resource, namespace: string, query: URLSearchParams, res: ServerResponse): void {
    const matches = selector(query);
    res.writeHead(200, { 'content-type': 'application/json', 'transfer-encoding': 'chunked' });
    const since = query.get('resourceVersion');
    if (since && since !== '0' && Number(since) < compactedBelow) {
      send(res, { type: 'ERROR', object: statusObject(410, 'Expired', `too old resource version: ${since} (${compactedBelow})`) });
      res.end();
      return;
    }
    if (since && since !== '0') {
      for (const event of events) if (event.rv > Number(since) && event.resource === resource && event.object.metadata.namespace === namespace && matches(event.object)) send(res, event);
    } else {
      for (const object of listOf(resource, namespace, matches)) send(res, { type: 'ADDED', object });
    }
    const watcher: Watcher = { resource, namespace, matches, res };
    watchers.add(watcher);
    const timeout = Number(query.get('timeoutSeconds') ?? '0');
    const timer = timeout > 0 ? setTimeout(() => res.end(), timeout * 1000) : undefined;
    res.on('close', () => {
      watchers.delete(watcher);
      if (timer) clearTimeout(timer);
    });
  }

  function podLog(namespace: string, name: string, query: URLSearchParams, res: ServerResponse): void {
    const pod = objects.get(key('pods', namespace, name));
    if (!pod) return notFound(res, 'pods', name);
    const container = query.get('container') ?? 'task';
    const statuses = [...((pod.status?.['initContainerStatuses'] ?? []) as { name: string; state?: Record<string, unknown> }[]), ...((pod.status?.['containerStatuses'] ?? []) as { name: string; state?: Record<string, unknown> }[])];
    const state = statuses.find((status) => status.name === container)?.state ?? {};
    if (state['waiting']) {
      return json(res, 400, statusObject(400, 'BadRequest', `container "${container}" in pod "${name}" is waiting to start: ContainerCreating`));
    }
    if (container === 'collect') {
      res.writeHead(200, { 'content-type': 'text/plain' });
      res.end(collectorLogs.get(`${namespace}/${name}`) ?? '');
      return;
    }
    res.writeHead(200, { 'content-type': 'text/plain' });
    res.write(podLogs.get(`${namespace}/${name}`) ?? '');
    if (query.get('follow') === 'true' && state['running']) {
      const podKey = `${namespace}/${name}`;
      const followers = logFollowers.get(podKey) ?? new Set<ServerResponse>();
      followers.add(res);
      logFollowers.set(podKey, followers);
      res.on('close', () => followers.delete(res));
    } else {
      res.end();
    }
  }

  async function body(req: IncomingMessage): Promise<KubeObject> {
    const chunks: Buffer[] = [];
    for await (const chunk of req) chunks.push(chunk as Buffer);
    return JSON.parse(Buffer.concat(chunks).toString('utf8')) as KubeObject;
  }

  const server = createServer((req, res) => {
    void (async () => {
      const url = new URL(req.url ?? '/', 'http://localhost');
      requests.push(`${req.method} ${url.pathname}${url.search}`);
      const query = url.searchParams;
      if (url.pathname === '/version') return json(res, 200, { major: '1', minor: '31', gitVersion: 'v1.31.0-maestro-fake' });
      const match =
        /^\/apis\/batch\/v1\/namespaces\/([^/]+)\/(jobs)(?:\/([^/]+))?$/.exec(url.pathname) ??
        /^\/api\/v1\/namespaces\/([^/]+)\/(pods|secrets)(?:\/([^/]+))?(\/log)?$/.exec(url.pathname);
      if (!match) return json(res, 404, statusObject(404, 'NotFound', `the server could not find the requested resource (${url.pathname})`));
      const [, namespace = '', resourceText, name, sub] = match;
      const resource = resourceText as Resource;
      if (sub === '/log' && name && req.method === 'GET') return podLog(namespace, name, query, res);
      if (!name && req.method === 'GET' && query.get('watch') === 'true') return watch(resource, namespace, query, res);
      if (!name && req.method === 'GET') {
        return json(res, 200, {
          apiVersion: kindOf[resource].apiVersion,
          kind: `${kindOf[resource].kind}List`,
          metadata: { resourceVersion: String(resourceVersion) },
          items: listOf(resource, namespace, selector(query)),
        });
      }
      if (!name && req.method === 'POST') return create(resource, namespace, await body(req), res);
      if (name && req.method === 'GET') {
        const object = objects.get(key(resource, namespace, name));
        return object ? json(res, 200, object) : notFound(res, resource, name);
      }
      if (name && req.method === 'DELETE') {
        const removed = query.get('propagationPolicy') === 'Orphan' ? undefined : remove(resource, namespace, name);
        return removed ? json(res, 200, { kind: 'Status', apiVersion: 'v1', metadata: {}, status: 'Success', details: { name, kind: resource, uid: removed.metadata.uid } }) : notFound(res, resource, name);
      }
      return json(res, 405, statusObject(405, 'MethodNotAllowed', `${req.method} is not supported here`));
    })().catch((error: unknown) => json(res, 500, statusObject(500, 'InternalError', String(error))));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  const dir = await mkdtemp(join(tmpdir(), 'maestro-k8s-'));
  const kubeconfigPath = join(dir, 'kubeconfig');
  await writeFile(
    kubeconfigPath,
    [
      'apiVersion: v1',
      'kind: Config',
      'clusters: [{ name: fake, cluster: { server: "' + url + '", insecure-skip-tls-verify: true } }]',
      'users: [{ name: tester, user: { token: fake-token } }]',
      'contexts: [{ name: fake, context: { cluster: fake, user: tester } }]',
      'current-context: fake',
    ].join('\n'),
  );

  const api: K8sApiServer = {
    url,
    kubeconfigPath,
    requests,
    list: (resource, namespace) => [...objects.entries()].filter(([k]) => k.startsWith(`${resource}/${namespace === undefined ? '' : `${namespace}/`}`)).map(([, o]) => o),
    async waitForJob(predicate = () => true, timeoutMs = 10_000) {
      const deadline = Date.now() + timeoutMs;
      for (;;) {
        const job = api.list('jobs').find(predicate);
        if (job) return job;
        if (Date.now() > deadline) throw new Error('no matching Job was created');
        await new Promise((resolve) => setTimeout(resolve, 20));
      }
    },
    async runPod(namespace, jobName, { logs = [], exitCode = 0, message, lineDelayMs = 20, hold = false, artifacts = {} } = {}) {
      const pod = podOf(namespace, jobName);
      podArtifacts.set(`${namespace}/${pod.metadata.name}`, artifacts);
      pod.status = { phase: collectorOf(pod) ? 'Pending' : 'Running' };
      setTaskState(pod, { running: { startedAt: new Date().toISOString() } });
      put('pods', pod, 'MODIFIED');
      for (const line of logs) {
        await new Promise((resolve) => setTimeout(resolve, lineDelayMs));
        appendLog(pod, line);
      }
      if (!hold) {
        await new Promise((resolve) => setTimeout(resolve, lineDelayMs));
        terminate(namespace, jobName, exitCode, message);
      }
    },
    finishPod: (namespace, jobName, exitCode, message) => terminate(namespace, jobName, exitCode, message),
    failJob: (namespace, jobName, reason, message) => terminate(namespace, jobName, 137, undefined, reason, message),
    compact: () => {
      compactedBelow = resourceVersion;
      events.length = 0;
    },
    dropWatches: () => {
      for (const watcher of watchers) watcher.res.end();
      watchers.clear();
    },
    close: async () => {
      for (const watcher of watchers) watcher.res.end();
      for (const followers of logFollowers.values()) for (const follower of followers) follower.end();
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
      await rm(dir, { recursive: true, force: true });
    },
  };
  return api;
}
