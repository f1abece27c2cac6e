/**
 * Temporal connections with mutual TLS and an API key (issue 19, deliverable 8): a real TLS
 * terminator that demands a client certificate from its CA stands in front of the test's Temporal
 * frontend (`temporal server start-dev` has no TLS of its own). A client without the certificate,
 * with one from another CA, or without TLS is refused at the handshake, and nothing reaches
 * Temporal; with the certificate and TEMPORAL_API_KEY, `maestro dev` (worker and API) and
 * `maestro run` work through it, and every call carries `authorization: Bearer <key>`.
 */
import { spawn } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { once } from 'node:events';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Connection } from '@temporalio/client';
import { afterAll, beforeAll, expect, inject, it } from 'vitest';
import { loadConfig, temporalConnectOptions } from '../src/config/index.js';
import { callApi, killAll, maestroEnv, registerAndStart, startMaestro, stopMaestro, type MaestroProcess } from './helpers/maestro-process.js';
import { makeTestPki, startGrpcTlsProxy, type GrpcTlsProxy, type TestPki } from './peers/grpc-tls-proxy.js';

const TOKEN = 'temporal-tls-token-0123456789abcdef';
const API_KEY = `temporal-api-key-${randomUUID()}`;

let dir: string;
let pki: TestPki;
let proxy: GrpcTlsProxy;
const started: MaestroProcess[] = [];

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'maestro-temporal-tls-'));
  pki = makeTestPki(dir);
  proxy = await startGrpcTlsProxy({ target: inject('temporalAddress'), pki });
});

afterAll(async () => {
  killAll(started);
  await proxy?.close();
  await rm(dir, { recursive: true, force: true });
});

/** The TLS settings every client below shares: the proxy, its CA, the name on its certificate. */
function tlsSettings(extra: Record<string, string> = {}): Record<string, string> {
  return { TEMPORAL_ADDRESS: proxy.address, TEMPORAL_TLS_SERVER_CA_CERT_PATH: pki.caCert, TEMPORAL_TLS_SERVER_NAME: 'localhost', ...extra };
}

it('refuses, at the handshake, a client without a certificate, with one from another CA, or without TLS', async () => {
  const clients = [
    tlsSettings(),
    tlsSettings({ TEMPORAL_TLS_CLIENT_CERT_PATH: pki.strangerCert, TEMPORAL_TLS_CLIENT_KEY_PATH: pki.strangerKey }),
    { TEMPORAL_ADDRESS: proxy.address },
  ];
  for (const settings of clients) {
    const options = temporalConnectOptions(loadConfig({ ...settings, TEMPORAL_API_KEY: API_KEY, ...('TEMPORAL_TLS_SERVER_CA_CERT_PATH' in settings ? {} : { TEMPORAL_TLS: 'false' }) }));
    await expect(Connection.connect({ ...options, connectTimeout: '3s' }), JSON.stringify(settings)).rejects.toThrow();
  }
  expect(proxy.refusedHandshakes()).toBeGreaterThanOrEqual(clients.length);
  expect(proxy.authorizations).toEqual([]);
}, 60_000);

it('with the client certificate and TEMPORAL_API_KEY, maestro dev and maestro run work through it, the key on every call', async () => {
  const env = maestroEnv({
    ...tlsSettings({ TEMPORAL_TLS_CLIENT_CERT_PATH: pki.clientCert, TEMPORAL_TLS_CLIENT_KEY_PATH: pki.clientKey, TEMPORAL_API_KEY: API_KEY }),
    MAESTRO_DATA_DIR: join(dir, 'data'),
    MAESTRO_PORT: '0',
    MAESTRO_TASK_QUEUE: `temporal-tls-${randomUUID()}`,
    MAESTRO_DEV_TOKEN: TOKEN,
    MAESTRO_LOG_LEVEL: 'warn',
  });
  const maestro = await startMaestro(env);
  started.push(maestro);
  const runId = await registerAndStart(maestro, TOKEN, await readFile('examples/workflows/hello.yaml', 'utf8'), 'hello@1.0.0');
  const status = async () => String((await callApi(maestro, TOKEN, `/runs/${runId}`)).status);
  await expect.poll(status, { timeout: 60_000, interval: 250 }).toBe('SUCCEEDED');

  const cli = spawn(process.execPath, ['--import', 'tsx', 'src/cli/main.ts', 'run', 'examples/workflows/hello.yaml', '--json'], { env, stdio: ['ignore', 'pipe', 'inherit'] });
  let printed = '';
  cli.stdout.on('data', (chunk: Buffer) => (printed += chunk.toString('utf8')));
  const [exitCode] = (await once(cli, 'exit')) as [number];
  expect(exitCode, printed).toBe(0);
  expect(JSON.parse(printed)).toMatchObject({ status: 'SUCCEEDED' });
  await stopMaestro(maestro);

  expect(proxy.authorizations.length).toBeGreaterThan(10);
  expect(new Set(proxy.authorizations)).toEqual(new Set([`Bearer ${API_KEY}`]));
}, 240_000);
