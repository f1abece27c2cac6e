import { existsSync } from 'node:fs';
import { createServer, request, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { CreateSecretCommand, SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { REPO_ROOT, runInstaller } from './install.js';
import { freePort } from './ports.js';
import { spawnPeer } from './spawn-peer.js';
import { tcpOpen } from './tcp.js';

/** A running AWS Secrets Manager–compatible server (moto), behind a proxy that records every call. */
export interface SecretsManagerPeer {
  /** The proxy's `http://127.0.0.1:<port>`: what Maestro is given, so every call it makes is recorded. */
  endpoint: string;
  region: string;
  /** Any key pair works: moto does not check signatures. */
  accessKeyId: string;
  secretAccessKey: string;
  /** Stores `value` as the `SecretString` of a new secret `name`, straight at moto (not recorded). */
  put(name: string, value: string): Promise<void>;
  /** Every call that went through the proxy: its `X-Amz-Target` and JSON body, in order. */
  calls(): { target: string; body: string }[];
  stop(): Promise<void>;
}

const MOTO_SERVER = join(REPO_ROOT, '.tools', 'moto', 'bin', 'moto_server');

/**
 * Starts moto's server (installed by `scripts/peers/install-moto.sh` from PyPI when missing) on a
 * free port, and a recording HTTP proxy in front of it.
 *
 * @throws PeerInstallError or PeerStartError, with the installer's or the server's output.
 */
export async function startSecretsManager(): Promise<SecretsManagerPeer> {
  if (!existsSync(MOTO_SERVER)) await runInstaller('install-moto.sh');
  const port = await freePort();
  const moto = await spawnPeer({
    name: 'moto_server',
    command: MOTO_SERVER,
    args: ['-H', '127.0.0.1', '-p', String(port)],
    ready: () => tcpOpen(port),
    startTimeoutMs: 30_000,
  });
  const region = 'us-east-1';
  const credentials = { accessKeyId: 'maestro-test', secretAccessKey: 'maestro-test-secret' };
  const calls: { target: string; body: string }[] = [];
  const proxy = createServer((incoming: IncomingMessage, outgoing: ServerResponse) => {
    const chunks: Buffer[] = [];
    incoming.on('data', (chunk: Buffer) => chunks.push(chunk));
    incoming.on('end', () => {
      const body = Buffer.concat(chunks);
      calls.push({ target: String(incoming.headers['x-amz-target'] ?? ''), body: body.toString('utf8') });
      const forward = request({ host: '127.0.0.1', port, method: incoming.method, path: incoming.url, headers: incoming.headers }, (answer) => {
        outgoing.writeHead(answer.statusCode ?? 502, answer.headers);
        answer.pipe(outgoing);
      });
      forward.on('error', () => outgoing.destroy());
      forward.end(body);
    });
  });
  await new Promise<void>((resolve) => proxy.listen(0, '127.0.0.1', resolve));
  const client = new SecretsManagerClient({ region, endpoint: `http://127.0.0.1:${port}`, credentials });
  return {
    endpoint: `http://127.0.0.1:${(proxy.address() as AddressInfo).port}`,
    region,
    ...credentials,
    put: async (name, value) => {
      await client.send(new CreateSecretCommand({ Name: name, SecretString: value }));
    },
    calls: () => [...calls],
    stop: async () => {
      client.destroy();
      proxy.closeAllConnections();
      await new Promise<void>((resolve) => proxy.close(() => resolve()));
      await moto.stop();
    },
  };
}
