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
  /** Any key pair works, unless the peer checks signatures: then an IAM user's allowed everything. */
  accessKeyId: string;
  secretAccessKey: string;
  /** Stores `value` as the `SecretString` of a new secret `name`, straight at moto (not recorded). */
  put(name: string, value: string): Promise<void>;
  /** Every call that went through the proxy: its `X-Amz-Target` and JSON body, in order. */
  calls(): { target: string; body: string }[];
  stop(): Promise<void>;
}

const MOTO_SERVER = join(REPO_ROOT, '.tools', 'moto', 'bin', 'moto_server');

/** Options of {@link startSecretsManager}. */
export interface SecretsManagerOptions {
  /**
   * Makes moto check signatures and IAM policies, as AWS does (its `INITIAL_NO_AUTH_ACTION_COUNT`):
   * the peer's key pair is then an IAM user's allowed everything, and any other key is refused.
   * moto does not match a policy's resource ARNs for Secrets Manager: it cannot show a prefix-scoped
   * policy. @default false
   */
  checkSignatures?: boolean;
}

/** IAM calls moto lets through unsigned before it checks signatures: create a user, its policy, its key. */
const IAM_SETUP_CALLS = 3;

/**
 * Starts moto's server (installed by `scripts/peers/install-moto.sh` from PyPI when missing) on a
 * free port, and a recording HTTP proxy in front of it.
 *
 * @throws PeerInstallError or PeerStartError, with the installer's or the server's output.
 */
export async function startSecretsManager(options: SecretsManagerOptions = {}): Promise<SecretsManagerPeer> {
  if (!existsSync(MOTO_SERVER)) await runInstaller('install-moto.sh');
  const port = await freePort();
  const moto = await spawnPeer({
    name: 'moto_server',
    command: MOTO_SERVER,
    args: ['-H', '127.0.0.1', '-p', String(port)],
    ready: () => tcpOpen(port),
    startTimeoutMs: 30_000,
    ...(options.checkSignatures ? { env: { INITIAL_NO_AUTH_ACTION_COUNT: String(IAM_SETUP_CALLS) } } : {}),
  });
  const region = 'us-east-1';
  const credentials = options.checkSignatures ? await iamUser(`http://127.0.0.1:${port}`) : { accessKeyId: 'maestro-test', secretAccessKey: 'maestro-test-secret' };
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

/** Creates an IAM user allowed everything, with the calls moto lets through unsigned, and returns its key. */
async function iamUser(endpoint: string): Promise<{ accessKeyId: string; secretAccessKey: string }> {
  // moto routes by the service in the credential scope; it checks no signature for these calls.
  const headers = { authorization: 'AWS4-HMAC-SHA256 Credential=AKIAIOSFODNN7EXAMPLE/20261206/us-east-1/iam/aws4_request, SignedHeaders=host, Signature=00' };
  const call = async (action: string, params: Record<string, string>): Promise<string> => {
    const response = await fetch(endpoint, { method: 'POST', headers, body: new URLSearchParams({ Action: action, Version: '2010-05-08', UserName: 'maestro', ...params }) });
    const text = await response.text();
    if (!response.ok) throw new Error(`moto IAM ${action}: ${response.status} ${text.slice(0, 300)}`);
    return text;
  };
  await call('CreateUser', {});
  await call('PutUserPolicy', { PolicyName: 'all', PolicyDocument: JSON.stringify({ Version: '2012-10-17', Statement: [{ Effect: 'Allow', Action: '*', Resource: '*' }] }) });
  const key = await call('CreateAccessKey', {});
  const field = (name: string): string => {
    const value = new RegExp(`<${name}>([^<]+)</${name}>`).exec(key)?.[1];
    if (value === undefined) throw new Error(`moto IAM CreateAccessKey: no ${name} in ${key.slice(0, 300)}`);
    return value;
  };
  return { accessKeyId: field('AccessKeyId'), secretAccessKey: field('SecretAccessKey') };
}
