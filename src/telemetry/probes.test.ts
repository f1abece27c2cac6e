import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { passes, readinessReport, serveProbe, sharedReadiness } from './probes.js';

describe('readinessReport', () => {
  it('is 200 ready when every check passed, else 503 naming the failed checks in order, with nothing but ok per check', () => {
    expect(readinessReport({ temporal: true, store: true })).toEqual({ status: 200, body: { status: 'ready', missing: [], checks: { temporal: { ok: true }, store: { ok: true } } } });
    expect(readinessReport({ temporal: false, store: true, polling: false })).toEqual({
      status: 503,
      body: { status: 'not-ready', missing: ['temporal', 'polling'], checks: { temporal: { ok: false }, store: { ok: true }, polling: { ok: false } } },
    });
  });
});

describe('passes', () => {
  it('is true for a probe that resolves, false for one that rejects or answers too late', async () => {
    expect(await passes(() => Promise.resolve('pong'))).toBe(true);
    expect(await passes(() => Promise.reject(new Error('connect ECONNREFUSED 10.0.0.7:5432')))).toBe(false);
    const began = Date.now();
    expect(await passes(() => new Promise(() => undefined), 50)).toBe(false);
    expect(Date.now() - began).toBeLessThan(1_000);
  });
});

describe('sharedReadiness', () => {
  it('runs the checks once for the probes of the same second, and again after it', async () => {
    let rounds = 0;
    const read = sharedReadiness(() => Promise.resolve({ store: (rounds += 1) > 0 }), 200);
    await Promise.all(Array.from({ length: 100 }, () => read()));
    expect(rounds).toBe(1);
    await new Promise((resolve) => setTimeout(resolve, 250));
    await read();
    expect(rounds).toBe(2);
  });
});

describe('serveProbe', () => {
  let server: Server | undefined;
  afterEach(() => new Promise<void>((resolve) => (server ? server.close(() => resolve()) : resolve())));

  it('answers /healthz and /readyz, and leaves any other request to the caller', async () => {
    let checks: Record<string, boolean> = { store: true };
    server = createServer((req, res) => {
      if (!serveProbe(req, res, { readiness: () => Promise.resolve(checks) })) res.writeHead(404).end();
    });
    await new Promise<void>((resolve) => server?.listen(0, '127.0.0.1', resolve));
    const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
    const get = async (path: string, method = 'GET') => {
      const res = await fetch(`${url}${path}`, { method });
      return { status: res.status, text: await res.text() };
    };
    expect(await get('/healthz')).toEqual({ status: 200, text: '{"status":"ok"}' });
    expect(await get('/readyz?verbose')).toEqual({ status: 200, text: '{"status":"ready","missing":[],"checks":{"store":{"ok":true}}}' });
    checks = { store: false };
    expect((await get('/readyz')).status).toBe(503);
    expect((await get('/readyz', 'POST')).status).toBe(404);
    expect((await get('/runs')).status).toBe(404);
  });
});
