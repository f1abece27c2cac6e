import { join } from 'node:path';
import { REPO_ROOT, runScript } from './install.js';
import { spawnPeer } from './spawn-peer.js';

/** Options of {@link startPythonWorker}. */
export interface PythonWorkerOptions {
  temporalAddress: string;
  /** The Temporal namespace. @default 'default' */
  temporalNamespace?: string;
  /** The Maestro namespace its tasks belong to. */
  namespace: string;
  taskQueue: string;
  /** `MAESTRO_PAYLOAD_KEY` (`id=base64`): the same keys as the TypeScript side's codec. */
  payloadKey: string;
  /** The Maestro API the worker registers its tasks with and resolves secrets from; none: `--no-register`. */
  maestroUrl?: string;
  /** The worker's token (`MAESTRO_TOKEN`). @default '' */
  token?: string;
  /** The Python module defining the tasks, e.g. `tasks_sample`. */
  module: string;
  /** Folders the module is imported from (`PYTHONPATH`). @default [] */
  pythonPath?: string[];
  /** More environment, e.g. `MAESTRO_WORKER_DRAIN_TIMEOUT_MS`. @default {} */
  env?: Record<string, string>;
}

/** A running `maestro-py worker`. */
export interface PythonWorker {
  /** SIGTERM: the worker drains (in-flight tasks finish within its drain timeout), then exits. */
  stop(): Promise<void>;
  /** SIGKILL mid-whatever, as a crashed machine: its tasks lose their heartbeat. */
  kill(): Promise<void>;
  /** Everything the worker printed so far. */
  output(): string;
}

/** The bin folder of the venv `node scripts/python.mjs install` makes: `python`, `maestro-py`. */
export const PYTHON_SDK_BIN = join(REPO_ROOT, '.tools', 'python-sdk', 'bin');

/** The Python SDK's checks fixture tasks (`py/hello`, `py/wait`, `py/secret`, …): add it to `pythonPath`. */
export const PYTHON_TEST_TASKS_DIR = join(REPO_ROOT, 'sdk', 'python', 'tests');

/**
 * Starts `maestro-py worker --module <module>` from the venv `node scripts/python.mjs install`
 * makes (made first when missing), and waits until it polls its task queue.
 *
 * @throws PeerInstallError or PeerStartError with the installer's or the worker's output.
 */
export async function startPythonWorker(options: PythonWorkerOptions): Promise<PythonWorker> {
  await runScript('node', [join(REPO_ROOT, 'scripts', 'python.mjs'), 'install']);
  const { temporalAddress, temporalNamespace = 'default', namespace, taskQueue, payloadKey, maestroUrl, token = '', module, pythonPath = [], env = {} } = options;
  const peer = await spawnPeer({
    name: 'maestro-py worker',
    command: join(PYTHON_SDK_BIN, 'maestro-py'),
    args: ['worker', '--module', module, '--namespace', namespace, '--task-queue', taskQueue, ...(maestroUrl ? [] : ['--no-register'])],
    env: {
      TEMPORAL_ADDRESS: temporalAddress,
      TEMPORAL_NAMESPACE: temporalNamespace,
      MAESTRO_PAYLOAD_KEY: payloadKey,
      MAESTRO_URL: maestroUrl ?? '',
      MAESTRO_TOKEN: token,
      PYTHONPATH: pythonPath.join(':'),
      PYTHONUNBUFFERED: '1',
      ...env,
    },
    ready: (output) => output.includes('maestro-py: worker ready'),
    stopTimeoutMs: 60_000,
  });
  return {
    stop: () => peer.stop(),
    kill: async () => {
      if (peer.child.exitCode !== null || peer.child.signalCode !== null) return;
      const exited = new Promise((resolve) => peer.child.once('exit', resolve));
      peer.child.kill('SIGKILL');
      await exited;
    },
    output: () => peer.output(),
  };
}
