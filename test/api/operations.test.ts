/**
 * `/healthz`, `/readyz`, `/metrics`, and JWT bearer tokens verified against a local JWKS.
 */
import { Agent, createServer, get, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { exportJWK, generateKeyPair, SignJWT, type CryptoKey } from 'jose';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createAuthenticator, jwtVerifier, startApi } from '../../src/api/index.js';
import { extendConfig } from '../../src/config/index.js';
import { manifest, startHarness, THREE_TASKS, type Harness } from './harness.js';

let h: Harness;
beforeAll(async () => {
  h = await startHarness();
});
afterAll(() => h.close());

describe('GET /healthz and /readyz', () => {
  it('healthz is open and answers 200', async () => {
    const res = await h.call('GET', '/healthz', { token: null });
    expect(res.status).toBe(200);
    expect(res.body).toEqual({ status: 'ok' });
  });

  it('readyz is 200 with Temporal, the namespace, the store and a polling worker', async () => {
    const res = await h.call('GET', '/readyz', { token: null });
    expect(res.status).toBe(200);
    expect(res.body).toMatchObject({ status: 'ready', missing: [] });
    expect(Object.keys(res.body.checks).sort()).toEqual(['accepting', 'namespace', 'store', 'temporal', 'worker']);
  });

  it('readyz is 503 naming the worker when nobody polls the task queue, and the namespace when it is absent', async () => {
    const config = extendConfig(h.config, { taskQueue: `nobody-polls-${h.namespace}`, temporalNamespace: 'no-such-namespace' });
    const api = await startApi(config, { port: 0, store: h.store, authenticator: createAuthenticator([]) });
    try {
      const res = await fetch(`${api.url}/readyz`);
      expect(res.status).toBe(503);
      const body = (await res.json()) as { status: string; missing: string[]; checks: Record<string, { ok: boolean }> };
      expect(body.status).toBe('not-ready');
      expect(body.missing).toEqual(['namespace', 'worker']);
      // Open to anyone who reaches the port: which check failed, never why (no address, no peer, no version).
      expect(body.checks).toEqual({ temporal: { ok: true }, namespace: { ok: false }, store: { ok: true }, worker: { ok: false }, policy: { ok: true }, accepting: { ok: true } });
    } finally {
      await api.stop();
    }
  });

  it('readyz is 503 at once while the API drains, and the API still serves until it stops listening', async () => {
    const api = await startApi(h.config, { port: 0, store: h.store, authenticator: createAuthenticator([]), pdp: false, drainDelayMs: 1_500 });
    const stopped = api.stop();
    try {
      const ready = await fetch(`${api.url}/readyz`);
      expect(ready.status).toBe(503);
      expect(await ready.json()).toEqual({ status: 'not-ready', missing: ['accepting'], checks: { accepting: { ok: false } } });
      const health = await fetch(`${api.url}/healthz`);
      expect(health.status).toBe(200);
      expect(health.headers.get('connection')).toBe('close');
    } finally {
      await stopped;
    }
    await expect(fetch(`${api.url}/healthz`)).rejects.toThrow();
  });
});

describe('keep-alive connections', () => {
  it('stay open while a client is idle for longer than Node’s default 5 s, so reusing one does not fail', async () => {
    const agent = new Agent({ keepAlive: true, maxSockets: 1 });
    const healthz = (): Promise<{ status: number; port: number }> =>
      new Promise((resolve, reject) => {
        get(`${h.api.url}/healthz`, { agent }, (res) => {
          const port = res.socket.localPort ?? 0; // the socket goes back to the agent at the end
          res.resume();
          res.on('end', () => resolve({ status: res.statusCode ?? 0, port }));
        }).on('error', reject);
      });
    try {
      const first = await healthz();
      await new Promise((resolve) => setTimeout(resolve, 6000));
      const second = await healthz();
      expect(second).toEqual({ status: 200, port: first.port });
    } finally {
      agent.destroy();
    }
  });
});

describe('GET /metrics', () => {
  it('needs the metrics role unless configured public, and exposes request latency and runs by workflow in Prometheus text', async () => {
    expect((await h.call('GET', '/metrics', { token: null })).status).toBe(401);
    // Figures of every namespace: a namespace's own principals do not read them.
    expect((await h.call('GET', '/metrics', { token: 'viewer' })).status).toBe(403);
    expect((await h.call('GET', '/metrics', { token: 'operator' })).status).toBe(403);
    const { name } = await h.register(manifest(THREE_TASKS, { name: 'metered' }));
    const started = await h.call('POST', '/runs', { json: { workflowRef: `${name}@1.0.0`, namespace: h.namespace } });
    await h.waitRun(started.body.runId, (r) => r.status === 'SUCCEEDED');
    // The worker (in this process, as in `maestro dev`) records a run's metrics as it ends, before its status says so.
    const { text } = await h.call('GET', '/metrics', { token: 'admin' });
    expect(text).toContain('# TYPE maestro_http_request_duration_seconds histogram');
    expect(text).toMatch(/maestro_http_request_duration_seconds_count\{method="POST",route="\/runs",status="201"[^}]*\} \d+/);
    expect(text).toMatch(new RegExp(`maestro_runs_started_total\\{namespace="${h.namespace}",workflow="metered",started_by_kind="user"[^}]*\\} 1`));
    expect(text).toMatch(new RegExp(`maestro_runs_finished_total\\{namespace="${h.namespace}",workflow="metered",status="SUCCEEDED"[^}]*\\} 1`));
    expect(text).toMatch(new RegExp(`maestro_task_duration_seconds_count\\{namespace="${h.namespace}",workflow="metered",task="b",status="SUCCEEDED"[^}]*\\} 1`));

    const open = await startApi(extendConfig(h.config, { metricsPublic: true }), { port: 0, store: h.store, authenticator: createAuthenticator([]) });
    try {
      const res = await fetch(`${open.url}/metrics`);
      expect(res.status).toBe(200);
      expect(res.headers.get('content-type')).toContain('text/plain');
      expect((await fetch(`${open.url}/workflows`)).status).toBe(401);
    } finally {
      await open.stop();
    }
  });
});

describe('JWT bearer tokens', () => {
  let jwks: Server;
  let jwksUrl: string;
  let privateKey: CryptoKey;
  let otherKey: CryptoKey;

  beforeAll(async () => {
    const signing = await generateKeyPair('ES256');
    privateKey = signing.privateKey;
    otherKey = (await generateKeyPair('ES256')).privateKey;
    const publicKey = signing.publicKey;
    const jwk = { ...(await exportJWK(publicKey)), kid: 'k1', alg: 'ES256', use: 'sig' };
    jwks = createServer((_, res) => {
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end(JSON.stringify({ keys: [jwk] }));
    });
    await new Promise<void>((resolve) => jwks.listen(0, '127.0.0.1', resolve));
    jwksUrl = `http://127.0.0.1:${(jwks.address() as AddressInfo).port}/jwks.json`;
  });
  afterAll(() => new Promise<void>((resolve) => jwks.close(() => resolve())));

  const sign = (claims: Record<string, unknown>, key: CryptoKey, { expiresIn = '5m', audience = 'maestro' } = {}) =>
    new SignJWT(claims).setProtectedHeader({ alg: 'ES256', kid: 'k1' }).setSubject('ada').setIssuer('https://idp.test').setAudience(audience).setIssuedAt().setExpirationTime(expiresIn).sign(key);

  it('accepts a JWT signed by a JWKS key, with roles and namespaces from its claims; refuses forged, expired or foreign ones', async () => {
    const authenticator = createAuthenticator([jwtVerifier({ jwksUrl, issuer: 'https://idp.test', audience: 'maestro' })]);
    const api = await startApi(h.config, { port: 0, store: h.store, authenticator });
    const get = async (path: string, token: string) => fetch(`${api.url}${path}`, { headers: { authorization: `Bearer ${token}` } });
    try {
      const good = await sign({ roles: ['viewer'], namespaces: [h.namespace] }, privateKey);
      expect((await get('/workflows', good)).status).toBe(200);
      expect((await get(`/runs?namespace=${h.namespace}`, good)).status).toBe(200);
      expect((await get('/runs?namespace=elsewhere', good)).status).toBe(403);
      const writer = await fetch(`${api.url}/workflows`, { method: 'POST', headers: { authorization: `Bearer ${good}`, 'content-type': 'application/yaml' }, body: manifest(THREE_TASKS) });
      expect(writer.status).toBe(403);
      expect((await get('/workflows', await sign({ roles: ['viewer'] }, otherKey))).status).toBe(401);
      expect((await get('/workflows', await sign({ roles: ['viewer'] }, privateKey, { expiresIn: '-1m' }))).status).toBe(401);
      expect((await get('/workflows', await sign({ roles: ['viewer'] }, privateKey, { audience: 'someone-else' }))).status).toBe(401);
    } finally {
      await api.stop();
    }
  });
});
