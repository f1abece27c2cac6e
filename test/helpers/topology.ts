/**
 * Maestro's production topology as separate processes, for the topology test and the cluster
 * benchmark: workers (`maestro worker`) and APIs (`maestro api`) sharing one Temporal, one
 * PostgreSQL store, one data directory and one payload key, each started from a source tree (this
 * repository, or a copy of it: a new build) and stopped or killed on its own.
 */
import { randomBytes } from 'node:crypto';
import { appendFile, cp, mkdtemp, symlink } from 'node:fs/promises';
import { hostname, tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { REPO_ROOT } from '../peers/install.js';
import { TEST_EGRESS_ALLOW } from './egress.js';
import { startMaestroCommand, type MaestroCommand } from './maestro-process.js';

/** What every process of one topology shares. */
export interface TopologySettings {
  /** The Temporal frontend (`TEMPORAL_ADDRESS`). */
  temporalAddress: string;
  /** `MAESTRO_DATABASE_URL`: the one PostgreSQL store. */
  databaseUrl: string;
  /** `MAESTRO_DATA_DIR`: keys and artifacts, as a shared volume holds them. */
  dataDir: string;
  /** `MAESTRO_DEV_TOKEN`: the admin token the APIs accept. */
  token: string;
  /** `MAESTRO_PAYLOAD_KEY`: every process encrypts and decrypts payloads with it. */
  payloadKey: string;
  /** @default 'maestro' */
  taskQueue?: string;
}

/** Settings for a new topology: a fresh dev token and payload key. */
export function topologySettings(settings: Omit<TopologySettings, 'token' | 'payloadKey'>): TopologySettings {
  return { ...settings, token: `topology-${randomBytes(16).toString('hex')}`, payloadKey: `topology=${randomBytes(32).toString('base64')}` };
}

/** A started worker or API process. */
export interface TopologyProcess extends MaestroCommand {
  kind: 'worker' | 'api';
  pid: number;
  /** The identity Temporal records for its calls (the SDK's default, `<pid>@<host>`): who polled, who ran an attempt. */
  identity: string;
  /** The source tree it runs from. */
  root: string;
  /** SIGTERM, as an orchestrator stops it: resolves once it has drained and exited (the process bounds its drain). */
  drain(): Promise<void>;
  /** SIGKILL: no drain, no clean-up; resolves once it has exited. */
  kill(): Promise<void>;
}

function environment(settings: TopologySettings): Record<string, string> {
  return {
    TEMPORAL_ADDRESS: settings.temporalAddress,
    MAESTRO_DATABASE_URL: settings.databaseUrl,
    MAESTRO_DATA_DIR: settings.dataDir,
    MAESTRO_DEV_TOKEN: settings.token,
    MAESTRO_PAYLOAD_KEY: settings.payloadKey,
    MAESTRO_TASK_QUEUE: settings.taskQueue ?? 'maestro',
    MAESTRO_EGRESS_ALLOW: JSON.stringify(TEST_EGRESS_ALLOW),
    MAESTRO_LOG_LEVEL: 'warn',
    // Several workers on one host: no message consumers competing.
    MAESTRO_TRIGGER_CONSUMERS: 'false',
  };
}

/** Starts `maestro <kind>` from `root` (default this repository); resolves once it is ready (its probe). */
async function startTopologyProcess(kind: 'worker' | 'api', settings: TopologySettings, root = REPO_ROOT): Promise<TopologyProcess> {
  const started = await startMaestroCommand(kind, environment(settings), { cwd: root });
  const { child } = started;
  const pid = child.pid ?? 0;
  const signal = async (name: NodeJS.Signals): Promise<void> => {
    if (child.exitCode === null && child.signalCode === null) child.kill(name);
    await started.exited;
  };
  return { ...started, kind, pid, identity: `${pid}@${hostname()}`, root, drain: () => signal('SIGTERM'), kill: () => signal('SIGKILL') };
}

/** Starts `maestro worker` of `root` (default this repository); resolves once its `/readyz` says it polls. */
export function startWorkerProcess(settings: TopologySettings, { root = REPO_ROOT }: { root?: string } = {}): Promise<TopologyProcess> {
  return startTopologyProcess('worker', settings, root);
}

/** Starts `maestro api` of `root` (default this repository) on a free port; resolves once it serves. */
export function startApiProcess(settings: TopologySettings, { root = REPO_ROOT }: { root?: string } = {}): Promise<TopologyProcess> {
  return startTopologyProcess('api', settings, root);
}

/** What a worker and the API run from: copied into a new build, the rest of the tree is not needed. */
const BUILD_PARTS = ['src', 'interpreters', 'workers', 'contracts', 'policies', 'dist', 'package.json', 'tsconfig.json'];

/**
 * A new build of Maestro: a copy of the sources a worker runs with `marker` appended to the
 * interpreter as a comment, a change that alters the workflow bundle (and so the build id the
 * Temporal SDK derives from its hash) and nothing it does, as a release that keeps old histories
 * replaying must. `node_modules` is linked, not copied.
 */
export async function copyBuild(marker: string): Promise<string> {
  const root = await mkdtemp(join(tmpdir(), 'maestro-build-'));
  await Promise.all(BUILD_PARTS.map((part) => cp(join(REPO_ROOT, part), join(root, part), { recursive: true })));
  await symlink(join(REPO_ROOT, 'node_modules'), join(root, 'node_modules'));
  await appendFile(join(root, 'interpreters', 'dag-interpreter.ts'), `// ${marker}\n`);
  return root;
}

/** `POST /workflows` of a manifest through `api`; throws with the answer unless it is 201. */
export async function registerWorkflow(api: TopologyProcess, settings: TopologySettings, manifest: string): Promise<void> {
  const response = await fetch(`${api.url}/workflows`, {
    method: 'POST',
    headers: { authorization: `Bearer ${settings.token}`, 'content-type': 'application/yaml' },
    body: manifest,
  });
  if (response.status !== 201) throw new Error(`POST /workflows answered ${response.status}: ${await response.text()}`);
}

/**
 * `POST /runs` of `workflowRef` with `params` and idempotency key `key` through `apis[via]`, or,
 * when that API does not answer (killed), through the next one with the same key, as a client
 * behind a load balancer retries. Resolves with the run id and the API that answered.
 */
export async function startRunVia(
  apis: readonly TopologyProcess[],
  settings: TopologySettings,
  run: { workflowRef: string; key: string; params: Record<string, unknown> },
  via: number,
): Promise<{ runId: string; api: TopologyProcess }> {
  for (let attempt = 0; attempt < 20; attempt += 1) {
    const api = apis[(via + attempt) % apis.length] as TopologyProcess;
    try {
      const response = await fetch(`${api.url}/runs`, {
        method: 'POST',
        headers: { authorization: `Bearer ${settings.token}`, 'content-type': 'application/json' },
        body: JSON.stringify({ workflowRef: run.workflowRef, params: run.params, idempotencyKey: run.key }),
      });
      const body = (await response.json()) as { runId?: string };
      if (response.status !== 201 && response.status !== 200) throw new Error(`POST /runs answered ${response.status}: ${JSON.stringify(body)}`);
      return { runId: String(body.runId), api };
    } catch (error) {
      // fetch's TypeError is a refused or reset connection: a dead API, the next one takes the request.
      if (!(error instanceof TypeError)) throw error;
      await sleep(100);
    }
  }
  throw new Error(`no API started the run of ${run.key}`);
}
