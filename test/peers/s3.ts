import { existsSync } from 'node:fs';
import { mkdir, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { TOOLS_BIN, runInstaller } from './install.js';
import { freePort } from './ports.js';
import { spawnPeer } from './spawn-peer.js';
import { tcpOpen } from './tcp.js';

/** A running S3-compatible server (versitygw, posix backend) and its root credentials. */
export interface S3Peer {
  /** `http://127.0.0.1:<port>`: use with `forcePathStyle: true`. */
  endpoint: string;
  region: string;
  accessKeyId: string;
  secretAccessKey: string;
  /** The folder holding the buckets: `<root>/<bucket>/<key>`. */
  root: string;
  stop(): Promise<void>;
}

const VERSITYGW = join(TOOLS_BIN, 'versitygw');

/**
 * Starts versitygw (installed by `scripts/peers/install-versitygw.sh` from its Go module when
 * missing) with its posix backend on a temp dir and a free port. Object metadata goes to a sidecar
 * folder, so the file system needs no extended attributes.
 *
 * @throws PeerInstallError or PeerStartError, with the installer's or the server's output.
 */
export async function startS3(): Promise<S3Peer> {
  if (!existsSync(VERSITYGW)) await runInstaller('install-versitygw.sh');
  const dir = await mkdtemp(join(tmpdir(), 'maestro-s3-'));
  const root = join(dir, 'buckets');
  const sidecar = join(dir, 'meta');
  await Promise.all([mkdir(root), mkdir(sidecar)]);
  const port = await freePort();
  const credentials = { accessKeyId: 'maestro-test', secretAccessKey: 'maestro-test-secret' };
  const region = 'us-east-1';
  const peer = await spawnPeer({
    name: 'versitygw',
    command: VERSITYGW,
    args: [
      '--port', `127.0.0.1:${port}`,
      '--access', credentials.accessKeyId,
      '--secret', credentials.secretAccessKey,
      '--region', region,
      '--quiet',
      'posix', '--sidecar', sidecar, root,
    ],
    ready: () => tcpOpen(port),
    startTimeoutMs: 30_000,
  });
  return {
    endpoint: `http://127.0.0.1:${port}`,
    region,
    ...credentials,
    root,
    stop: async () => {
      await peer.stop();
      await rm(dir, { recursive: true, force: true });
    },
  };
}
