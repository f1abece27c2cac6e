import { connect } from 'node:net';
import type { ImagesSettings, RunnersSettings } from '../config/index.js';

/** The settings the runners are checked with. */
type CheckedSettings = RunnersSettings & ImagesSettings;
import type { RunsOn } from '../ir/index.js';
import { describeDockerHost, dockerOptions, dockerSocketPresent } from './container/docker-host.js';
import { NO_KUBE_CREDENTIALS, createK8sRunner, findKubeCredentials } from './k8s/k8s-runner.js';
import { k8sNamespaceFor } from './k8s/job.js';

/** Whether one runner can do its work from here, and why not. */
export interface RunnerCheck {
  runner: RunsOn;
  reachable: boolean;
  /** What was found (version, address) or what is missing and how to fix it. */
  detail: string;
}

/** Options of {@link checkRunners}. */
export interface CheckRunnersOptions {
  /** Longest one probe may take. @default 5000 */
  timeoutMs?: number;
}

/**
 * Probes each runner's peer without running anything: the Docker API (`/_ping`, `/version`), the
 * Kubernetes API (`/version`, with the configured credentials), and each configured function's
 * endpoint (a TCP connection for HTTP functions, never an invocation; Lambda is reported as
 * configured, since probing it would need extra IAM permissions).
 */
export async function checkRunners(config: CheckedSettings, { timeoutMs = 5000 }: CheckRunnersOptions = {}): Promise<RunnerCheck[]> {
  return Promise.all([
    Promise.resolve<RunnerCheck>({ runner: 'local', reachable: true, detail: 'runs tasks in the worker process' }),
    bounded('container', timeoutMs, () => checkContainer(config)),
    bounded('k8s', timeoutMs, () => checkK8s(config)),
    bounded('serverless', timeoutMs, () => checkServerless(config, timeoutMs)),
  ]);
}

async function bounded(runner: RunsOn, timeoutMs: number, probe: () => Promise<RunnerCheck>): Promise<RunnerCheck> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<RunnerCheck>((resolve) => {
    timer = setTimeout(() => resolve({ runner, reachable: false, detail: `no answer within ${timeoutMs} ms` }), timeoutMs);
  });
  try {
    return await Promise.race([
      probe().catch((error: unknown): RunnerCheck => ({ runner, reachable: false, detail: error instanceof Error ? error.message : String(error) })),
      timeout,
    ]);
  } finally {
    clearTimeout(timer);
  }
}

async function checkContainer(config: CheckedSettings): Promise<RunnerCheck> {
  const where = describeDockerHost(config.dockerHost);
  if (!dockerSocketPresent(config.dockerHost)) {
    return { runner: 'container', reachable: false, detail: `no Docker API socket at ${where}: start Docker or Podman (scripts/peers/podman.sh serve SOCKET) and set DOCKER_HOST` };
  }
  const { default: Docker } = await import('dockerode');
  const docker = new Docker(dockerOptions(config.dockerHost));
  try {
    await docker.ping();
    const version = await docker.version();
    const engine = version.Components?.find((component) => /engine/i.test(component.Name))?.Name ?? 'engine';
    const scope = config.requireSignedImages ? 'every namespace' : config.signedImageNamespaces?.join(', ');
    const signed = scope ? `; signed images required in ${scope} (${config.imageKeys?.length ?? 0} trusted key files in MAESTRO_IMAGE_KEYS)` : '';
    return { runner: 'container', reachable: true, detail: `${engine} ${version.Version} (Docker API ${version.ApiVersion}) at ${where}${signed}` };
  } catch (error) {
    return { runner: 'container', reachable: false, detail: `the Docker API at ${where} did not answer: ${error instanceof Error ? error.message : String(error)}` };
  }
}

async function checkK8s(config: CheckedSettings): Promise<RunnerCheck> {
  if (!findKubeCredentials(config.kubeconfig)) return { runner: 'k8s', reachable: false, detail: NO_KUBE_CREDENTIALS };
  const runner = createK8sRunner({ kubeconfig: config.kubeconfig });
  const kc = await runner.kubeConfig();
  const server = kc.getCurrentCluster()?.server ?? '(no cluster)';
  const k8s = await import('@kubernetes/client-node');
  try {
    const version = await kc.makeApiClient(k8s.VersionApi).getCode();
    const namespace = k8sNamespaceFor('default', config.k8sNamespaces);
    return { runner: 'k8s', reachable: true, detail: `Kubernetes ${version.gitVersion} at ${server}; Maestro namespace "default" → ${namespace}` };
  } catch (error) {
    return { runner: 'k8s', reachable: false, detail: `the Kubernetes API at ${server} did not answer: ${error instanceof Error ? error.message : String(error)}` };
  }
}

async function checkServerless(config: CheckedSettings, timeoutMs: number): Promise<RunnerCheck> {
  const functions = Object.entries(config.functions ?? {});
  if (functions.length === 0) return { runner: 'serverless', reachable: false, detail: 'no functions configured: set MAESTRO_FUNCTIONS (name=url or name=lambda:function)' };
  const results = await Promise.all(
    functions.map(async ([name, target]) => {
      if (target.startsWith('lambda:')) {
        return { name, ok: true, detail: `${name}: Lambda ${target.slice(7)}${config.lambdaEndpoint ? ` via ${config.lambdaEndpoint}` : ''} (not probed)` };
      }
      const url = new URL(target);
      const port = Number(url.port || (url.protocol === 'https:' ? 443 : 80));
      const ok = await tcpReachable(url.hostname, port, timeoutMs);
      return { name, ok, detail: `${name}: ${url.host} ${ok ? 'reachable' : 'unreachable'}` };
    }),
  );
  return { runner: 'serverless', reachable: results.every((result) => result.ok), detail: results.map((result) => result.detail).join('; ') };
}

function tcpReachable(host: string, port: number, timeoutMs: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = connect({ host, port, timeout: timeoutMs });
    socket.once('connect', () => {
      socket.destroy();
      resolve(true);
    });
    socket.once('error', () => resolve(false));
    socket.once('timeout', () => {
      socket.destroy();
      resolve(false);
    });
  });
}
