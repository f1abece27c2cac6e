/**
 * Secret-typed params never appear in clear outside the run: not in Temporal's history (the payload
 * codec encrypts every payload; failure messages are redacted), not in the admission table, not in
 * the task log, not in an `http.request` error. `/codec/decode` decrypts payloads for a caller who
 * may read every namespace, and for nobody else; histories recorded before the codec still replay.
 */
import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { readFile, readdir } from 'node:fs/promises';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { basename, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Client, Connection } from '@temporalio/client';
import { defaultPayloadConverter } from '@temporalio/common';
import { temporal } from '@temporalio/proto';
import { Worker } from '@temporalio/worker';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { maestroDataConverter } from '../../src/codec/index.js';
import { resolveTemporalBin } from '../../src/devserver/index.js';
import { interpreterBundle } from '../helpers/interpreter-bundle.js';
import { TOKENS, manifest, startHarness, type Harness } from './harness.js';

/** A value no test fixture contains by chance. */
const SECRET = `tok-${randomBytes(12).toString('hex')}`;

let h: Harness;
let peer: Server;
let peerPort: number;
let raw: Client;
/** Request URLs the peer received. */
const seen: string[] = [];
let rawConnection: Connection;

beforeAll(async () => {
  peer = createServer((req, res) => {
    seen.push(req.url ?? '');
    res.statusCode = 500;
    res.end('upstream broken');
  });
  peer.listen(0, '127.0.0.1');
  await new Promise((resolve) => peer.once('listening', resolve));
  peerPort = (peer.address() as AddressInfo).port;
  h = await startHarness({ config: (namespace) => ({ egressAllow: { [namespace]: ['127.0.0.0/8'], [`${namespace}-limited`]: ['127.0.0.0/8'] }, namespaceRunLimits: { [`${namespace}-limited`]: 1 } }) });
  rawConnection = await Connection.connect({ address: h.config.temporalAddress ?? '' });
  // What anyone with access to Temporal (its UI, its database, tctl) sees: no codec.
  raw = new Client({ connection: rawConnection });
}, 60_000);

afterAll(async () => {
  await rawConnection?.close();
  await h?.close();
  await new Promise((resolve) => peer?.close(resolve));
});

/** Starts a run whose secret param goes into an http.request URL that answers 500; waits for it to fail. */
async function registerSecretWorkflow(namespace = h.namespace): Promise<string> {
  const { name, version } = await h.register(
    manifest(`    - { id: call, uses: tasks/http.request@0.1.0, with: { url: "http://127.0.0.1:${peerPort}/hook", query: { key: "\${params.token}" } } }`, {
      parameters: '    - { name: token, type: string, secret: true }\n    - { name: who, type: string, default: ops }',
    }),
    namespace,
  );
  return `${name}@${version}`;
}

/** Starts a run whose secret param goes into an http.request URL that answers 500; waits for it to fail. */
async function failedRunWithSecret(): Promise<{ runId: string; run: any }> { // eslint-disable-line @typescript-eslint/no-explicit-any -- tests read fields freely
  const started = await h.call('POST', '/runs', { token: 'operator', json: { workflowRef: await registerSecretWorkflow(), namespace: h.namespace, params: { token: SECRET } } });
  expect(started.status, started.text).toBe(201);
  const runId = started.body.runId as string;
  const run = await h.waitRun(runId, (r) => r.status === 'FAILED');
  return { runId, run };
}

describe('a secret-typed param', () => {
  let runId: string;
  let run: any; // eslint-disable-line @typescript-eslint/no-explicit-any -- tests read fields freely

  beforeAll(async () => {
    ({ runId, run } = await failedRunWithSecret());
  }, 60_000);

  it('appears nowhere in the raw Temporal history, which a client without the codec reads', async () => {
    const history = await raw.workflow.getHandle(runId).fetchHistory();
    const bytes = Buffer.from(temporal.api.history.v1.History.encode(history).finish());
    expect(history.events?.length).toBeGreaterThan(3);
    expect(bytes.includes(Buffer.from(SECRET))).toBe(false);
    expect(bytes.includes(Buffer.from(SECRET).toString('base64'))).toBe(false);
    expect(JSON.stringify(history)).not.toContain(SECRET);
    const input = history.events?.[0]?.workflowExecutionStartedEventAttributes?.input?.payloads?.[0];
    expect(Buffer.from(input?.metadata?.encoding ?? []).toString()).toBe('binary/encrypted');
  });

  it('decodes with the codec: the workflow input holds it', async () => {
    const history = await h.client.workflow.getHandle(runId).fetchHistory();
    const payloads = history.events?.[0]?.workflowExecutionStartedEventAttributes?.input?.payloads ?? [];
    const [decoded] = await h.payloadCodec.decode(payloads);
    const input = defaultPayloadConverter.fromPayload<{ params: Record<string, unknown> }>(decoded!);
    expect(input.params).toEqual({ token: SECRET, who: 'ops' });
  });

  it('is redacted from the http.request error the run shows and from the task log', async () => {
    const call = run.tasks.find((task: { id: string }) => task.id === 'call');
    expect(call.status).toBe('FAILED');
    expect(call.error.message).toContain('answered 500');
    expect(call.error.message).toContain('[redacted]');
    expect(JSON.stringify(run)).not.toContain(SECRET);
    const logs = await h.call('GET', `/runs/${runId}/logs`);
    expect(logs.status).toBe(200);
    expect(logs.text).toContain('http request');
    expect(logs.text).not.toContain(SECRET);
  });

  it('is not in the run\'s signed receipt', async () => {
    let receipt = await h.call('GET', `/runs/${runId}/receipt`);
    for (let i = 0; receipt.status === 404 && i < 50; i += 1) {
      await new Promise((resolve) => setTimeout(resolve, 100));
      receipt = await h.call('GET', `/runs/${runId}/receipt`);
    }
    expect(receipt.status, receipt.text).toBe(200);
    const statement = Buffer.from(receipt.body.dsseEnvelope.payload, 'base64').toString();
    expect(statement).toContain('paramsDigest');
    expect(statement).not.toContain(SECRET);
    expect(receipt.text).not.toContain(SECRET);
  });

  it('is not stored in clear in the admission table (SQLite file and WAL), and the queued run starts with it', async () => {
    const limited = `${h.namespace}-limited`;
    const holder = await h.register(manifest('    - { id: nap, uses: tasks/wait.sleep@0.1.0, with: { duration: 60s } }'), limited);
    const held = await h.call('POST', '/runs', { token: 'operator', json: { workflowRef: `${holder.name}@${holder.version}`, namespace: limited } });
    const queued = await h.call('POST', '/runs', { token: 'operator', json: { workflowRef: await registerSecretWorkflow(limited), namespace: limited, params: { token: SECRET } } });
    expect(queued.body.status).toBe('QUEUED');
    const entry = await h.store.getAdmission(queued.body.runId);
    expect(entry?.state).toBe('queued');
    expect(JSON.stringify(entry)).not.toContain(SECRET);
    expect((entry?.request as { params: Record<string, unknown> }).params.who).toBe('ops');
    for (const file of (await readdir(h.config.dataDir)).filter((name) => name.startsWith('registry.db'))) {
      expect((await readFile(join(h.config.dataDir, file))).includes(Buffer.from(SECRET)), file).toBe(false);
    }
    expect((await h.call('POST', `/runs/${held.body.runId}/cancel`, { token: 'operator' })).status).toBe(202);
    await h.waitRun(queued.body.runId, (r) => r.status === 'FAILED');
    // Unsealed on admission: the task sent the real value.
    expect(seen.filter((url) => url.includes(`key=${SECRET}`)).length).toBeGreaterThanOrEqual(2);
  }, 60_000);

  it('replays from its encrypted history with the codec', async () => {
    const history = await h.client.workflow.getHandle(runId).fetchHistory();
    await expect(Worker.runReplayHistory({ workflowBundle: await interpreterBundle(), dataConverter: maestroDataConverter(h.payloadCodec) }, history, runId)).resolves.toBeUndefined();
  }, 60_000);

  describe('POST /codec/decode', () => {
    const body = async () => {
      const history = await raw.workflow.getHandle(runId).fetchHistory();
      const payload = history.events?.[0]?.workflowExecutionStartedEventAttributes?.input?.payloads?.[0];
      const b64 = (bytes: Uint8Array | null | undefined) => Buffer.from(bytes ?? []).toString('base64');
      return { payloads: [{ metadata: Object.fromEntries(Object.entries(payload?.metadata ?? {}).map(([key, value]) => [key, b64(value)])), data: b64(payload?.data) }] };
    };
    const headers = { 'x-namespace': 'default' };

    it('decrypts for a caller who may read every namespace', async () => {
      const res = await h.call('POST', '/codec/decode', { token: 'admin', json: await body(), headers });
      expect(res.status, res.text).toBe(200);
      const decoded = Buffer.from(res.body.payloads[0].data, 'base64').toString();
      expect(decoded).toContain(SECRET);
      expect(Buffer.from(res.body.payloads[0].metadata.encoding, 'base64').toString()).toBe('json/plain');
    });

    it('refuses a caller without a token, one of a single namespace, and another Temporal namespace, as problem+json', async () => {
      const json = await body();
      const none = await h.call('POST', '/codec/decode', { token: null, json, headers });
      expect([none.status, none.type, none.body.code]).toEqual([401, 'application/problem+json', 'UNAUTHENTICATED']);
      const operator = await h.call('POST', '/codec/decode', { token: 'operator', json, headers });
      expect([operator.status, operator.type, operator.body.code]).toEqual([403, 'application/problem+json', 'FORBIDDEN']);
      expect(operator.text).not.toContain(SECRET);
      const outsider = await h.call('POST', '/codec/decode', { token: 'outsider', json, headers });
      expect(outsider.status).toBe(403);
      const elsewhere = await h.call('POST', '/codec/decode', { token: 'admin', json, headers: { 'x-namespace': 'other' } });
      expect([elsewhere.status, elsewhere.body.code]).toEqual([403, 'FORBIDDEN']);
    });

    it('encodes what it is given so that decoding gives it back', async () => {
      const plain = { metadata: { encoding: Buffer.from('json/plain').toString('base64') }, data: Buffer.from('"hello"').toString('base64') };
      const encoded = await h.call('POST', '/codec/encode', { token: 'admin', json: { payloads: [plain] }, headers });
      expect(encoded.status).toBe(200);
      expect(Buffer.from(encoded.body.payloads[0].metadata.encoding, 'base64').toString()).toBe('binary/encrypted');
      const decoded = await h.call('POST', '/codec/decode', { token: 'admin', json: encoded.body, headers });
      expect(decoded.body.payloads[0]).toEqual(plain);
    });

    it('serves the Temporal CLI as its remote codec server (`temporal workflow show --codec-endpoint`)', async () => {
      const show = (...extra: string[]) =>
        new Promise<string>((resolve, reject) =>
          execFile(resolveTemporalBin(), ['workflow', 'show', '-w', runId, '--address', h.config.temporalAddress ?? '', '-o', 'json', ...extra], (error, stdout, stderr) =>
            error ? reject(new Error(`${error.message}: ${stderr}`)) : resolve(stdout),
          ),
        );
      /** The decoded data of the run's input payload, as `workflow show -o json` prints it. */
      const input = (output: string) => {
        const payload = JSON.parse(output).events[0].workflowExecutionStartedEventAttributes.input.payloads[0];
        return { encoding: Buffer.from(payload.metadata.encoding, 'base64').toString(), data: Buffer.from(payload.data, 'base64').toString() };
      };
      const without = await show();
      expect(without).not.toContain(SECRET);
      expect(input(without).encoding).toBe('binary/encrypted');
      const decoded = input(await show('--codec-endpoint', `${h.api.url}/codec`, '--codec-auth', `Bearer ${TOKENS.admin}`));
      expect(decoded.encoding).toBe('json/plain');
      expect(decoded.data).toContain(SECRET);
      await expect(show('--codec-endpoint', `${h.api.url}/codec`, '--codec-auth', `Bearer ${TOKENS.operator}`)).rejects.toThrow();
    });

    it('answers the Temporal Web UI preflight from its origin only', async () => {
      const preflight = (origin: string) =>
        fetch(`${h.api.url}/codec/decode`, { method: 'OPTIONS', headers: { origin, 'access-control-request-method': 'POST', 'access-control-request-headers': 'authorization,x-namespace' } });
      const ui = await preflight('http://localhost:8233');
      expect(ui.status).toBe(204);
      expect(ui.headers.get('access-control-allow-origin')).toBe('http://localhost:8233');
      expect(ui.headers.get('access-control-allow-headers')).toContain('x-namespace');
      const evil = await preflight('https://evil.example');
      expect(evil.headers.get('access-control-allow-origin')).toBeNull();
    });
  });
});

describe('histories recorded before the codec', () => {
  const FIXTURES = fileURLToPath(new URL('../fixtures/histories/', import.meta.url));

  it('replay with the codec configured (unencrypted payloads pass through)', async () => {
    const workflowBundle = await interpreterBundle();
    const files = (await readdir(FIXTURES)).filter((name) => name.endsWith('.history.json'));
    expect(files.length).toBeGreaterThan(0);
    for (const file of files) {
      const history: unknown = JSON.parse(await readFile(join(FIXTURES, file), 'utf8'));
      await expect(Worker.runReplayHistory({ workflowBundle, dataConverter: maestroDataConverter(h.payloadCodec) }, history, `codec-${basename(file, '.history.json')}`)).resolves.toBeUndefined();
    }
  }, 120_000);
});
