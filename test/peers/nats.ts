import { spawnSync } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { runInstaller } from './install.js';
import { freePort } from './ports.js';
import { spawnPeer } from './spawn-peer.js';
import { tcpOpen } from './tcp.js';

/** A running NATS server with JetStream. */
export interface NatsPeer {
  /** `nats://127.0.0.1:<port>`. */
  url: string;
  port: number;
  stop(): Promise<void>;
}

function natsServerOnPath(): boolean {
  return spawnSync('nats-server', ['--version'], { stdio: 'ignore' }).status === 0;
}

/**
 * Starts Debian's `nats-server` with JetStream (`-js`, storage in a temp dir) on a free port,
 * installing the package first when it is missing (`scripts/peers/install-nats.sh`).
 *
 * @throws PeerInstallError or PeerStartError, with the installer's or the server's output.
 */
export async function startNats(): Promise<NatsPeer> {
  if (!natsServerOnPath()) await runInstaller('install-nats.sh');
  const dir = await mkdtemp(join(tmpdir(), 'maestro-nats-'));
  const port = await freePort();
  const peer = await spawnPeer({
    name: 'nats-server',
    command: 'nats-server',
    args: ['-a', '127.0.0.1', '-p', String(port), '-js', '-sd', join(dir, 'jetstream'), '-n', `maestro-test-${port}`],
    ready: (output) => output.includes('Server is ready') && tcpOpen(port),
    startTimeoutMs: 20_000,
  });
  return {
    url: `nats://127.0.0.1:${port}`,
    port,
    stop: async () => {
      await peer.stop();
      await rm(dir, { recursive: true, force: true });
    },
  };
}
