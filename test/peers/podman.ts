import { execFile } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { request } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { REPO_ROOT, runInstaller } from './install.js';
import { spawnPeer } from './spawn-peer.js';

const run = promisify(execFile);

/** Podman serving the Docker API on a unix socket, with the test image imported. */
export interface PodmanPeer {
  /** The socket's path. */
  socketPath: string;
  /** `unix://<socketPath>`: a `DOCKER_HOST` value. */
  dockerHost: string;
  /** `localhost/maestro-busybox:test`: busybox-static, nothing else. */
  image: string;
  /** The environment podman needs to see the same storage (CONTAINERS_CONF, CONTAINERS_STORAGE_CONF). */
  env: Record<string, string>;
  /** Runs the podman CLI on the same storage; resolves with its stdout. */
  podman(args: string[]): Promise<string>;
  /** Stops the API service (containers it started are the tests' to remove). Idempotent. */
  stop(): Promise<void>;
}

const SCRIPT = join(REPO_ROOT, 'scripts', 'peers', 'podman.sh');

/** Parses the `KEY=VALUE` lines `podman.sh env` prints. */
function parseEnv(output: string): Record<string, string> {
  return Object.fromEntries(
    output
      .split('\n')
      .map((line) => /^([A-Z_]+)=(.*)$/.exec(line.trim()))
      .filter((match): match is RegExpExecArray => match !== null)
      .map((match) => [match[1] as string, match[2] as string]),
  );
}

function ping(socketPath: string): Promise<boolean> {
  return new Promise((resolve) => {
    const req = request({ socketPath, path: '/_ping', method: 'GET', timeout: 1000 }, (res) => {
      res.resume();
      resolve(res.statusCode === 200);
    });
    req.once('error', () => resolve(false));
    req.once('timeout', () => req.destroy());
    req.end();
  });
}

/** Options of {@link startPodman}. */
export interface PodmanOptions {
  /**
   * Registries (`host:port`) podman reaches over plain HTTP, as an operator lists a private
   * registry in `registries.conf` (pushes and pulls through the Docker API then work).
   * @default [] — the host's registries.conf
   */
  insecureRegistries?: readonly string[];
}

/**
 * Starts Podman's Docker-compatible API on a fresh unix socket. `scripts/peers/podman.sh setup`
 * runs first: it installs Debian's podman, runc and busybox-static when missing, writes the
 * project-local containers.conf/storage.conf (runc, cgroupfs, no default ulimits) and imports the
 * test image from busybox-static. Idempotent and quick once done.
 *
 * @throws PeerInstallError or PeerStartError with the script's or the service's output.
 * @example
 * const podman = await startPodman();
 * const runner = createContainerRunner({ dockerHost: podman.dockerHost });
 */
export async function startPodman({ insecureRegistries = [] }: PodmanOptions = {}): Promise<PodmanPeer> {
  await runInstaller('podman.sh');
  const env = parseEnv((await run('bash', [SCRIPT, 'env'], { cwd: REPO_ROOT })).stdout);
  const image = env.MAESTRO_PODMAN_TEST_IMAGE;
  if (!image || !env.CONTAINERS_CONF || !env.CONTAINERS_STORAGE_CONF) {
    throw new Error(`scripts/peers/podman.sh env printed no configuration: ${JSON.stringify(env)}`);
  }
  const dir = await mkdtemp(join(tmpdir(), 'maestro-podman-'));
  if (insecureRegistries.length > 0) {
    const registries = join(dir, 'registries.conf');
    await writeFile(registries, insecureRegistries.map((location) => `[[registry]]\nlocation = "${location}"\ninsecure = true\n`).join('\n'));
    env.CONTAINERS_REGISTRIES_CONF = registries;
  }
  const socketPath = join(dir, 'podman.sock');
  const service = await spawnPeer({
    name: 'podman system service',
    command: 'podman',
    args: ['system', 'service', '--time=0', `unix://${socketPath}`],
    // conmon writes an `oom` marker into its working directory when a container is OOM-killed.
    cwd: dir,
    env,
    ready: () => ping(socketPath),
    startTimeoutMs: 30_000,
  });
  return {
    socketPath,
    dockerHost: `unix://${socketPath}`,
    image,
    env,
    podman: async (args) => (await run('podman', args, { env: { ...process.env, ...env }, maxBuffer: 16 * 1024 * 1024 })).stdout,
    stop: async () => {
      await service.stop();
      await rm(dir, { recursive: true, force: true });
    },
  };
}
