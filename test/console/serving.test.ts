/**
 * The API serves the console at /console/: built files with cache headers fit for them, index.html
 * for the app's own paths, config.json, and a 503 problem naming the build command while the
 * console is not built.
 */
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import express from 'express';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CONSOLE_BUILD_COMMAND, consoleRouter } from '../../src/api/console.js';
import { problemMiddleware } from '../../src/api/problem.js';
import { extendConfig, loadConfig, type ConfigInput } from '../../src/config/index.js';

let dir: string;
const servers: Server[] = [];

/** An app serving the console from `dist` alone (no Temporal needed), on an ephemeral port. */
async function serve(dist: string, config: ConfigInput = {}): Promise<string> {
  const app = express();
  app.use('/console', consoleRouter({ config: extendConfig(loadConfig({}), config) }, { dist }));
  app.use(problemMiddleware({ log: () => undefined }));
  const server = app.listen(0, '127.0.0.1');
  await new Promise((resolve) => server.once('listening', resolve));
  servers.push(server);
  return `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
}

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'maestro-console-'));
  await mkdir(join(dir, 'dist', 'assets'), { recursive: true });
  await writeFile(join(dir, 'dist', 'index.html'), '<!doctype html><title>Maestro console</title>');
  await writeFile(join(dir, 'dist', 'assets', 'index-abc123.js'), 'console.log(1)');
  await writeFile(join(dir, 'dist', 'revision'), 'sha256:0\n');
});
afterAll(async () => {
  await Promise.all(servers.map((server) => new Promise((resolve) => server.close(resolve))));
  await rm(dir, { recursive: true, force: true });
});

describe('GET /console', () => {
  it('serves index.html for the app and its deep links, revalidated on every load', async () => {
    const base = await serve(join(dir, 'dist'));
    for (const path of ['/console/', '/console/runs/run-1', '/console/workflows/x/versions/1.0.0?task=a']) {
      const res = await fetch(`${base}${path}`);
      expect(res.status, path).toBe(200);
      expect(res.headers.get('content-type')).toContain('text/html');
      expect(res.headers.get('cache-control')).toBe('no-cache');
      expect(await res.text()).toContain('Maestro console');
    }
  });

  it('sends a CSP that forbids framing, inline script and other origins, nosniff and no referrer, on every response', async () => {
    const base = await serve(join(dir, 'dist'));
    for (const path of ['/console/', '/console/runs/run-1', '/console/assets/index-abc123.js', '/console/config.json', '/console/assets/missing.js']) {
      const res = await fetch(`${base}${path}`);
      const csp = res.headers.get('content-security-policy') ?? '';
      expect(csp, path).toContain("frame-ancestors 'none'");
      expect(csp).toContain("script-src 'self'");
      expect(csp).toContain("default-src 'self'");
      expect(csp).not.toContain('unsafe');
      expect(res.headers.get('x-frame-options')).toBe('DENY');
      expect(res.headers.get('x-content-type-options')).toBe('nosniff');
      expect(res.headers.get('referrer-policy')).toBe('no-referrer');
    }
  });

  it('redirects /console to /console/ keeping the query', async () => {
    const base = await serve(join(dir, 'dist'));
    const res = await fetch(`${base}/console?status=FAILED`, { redirect: 'manual' });
    expect(res.status).toBe(301);
    expect(res.headers.get('location')).toBe('/console/?status=FAILED');
  });

  it('serves hashed assets as immutable for a year; a missing asset is a 404 problem, not the app', async () => {
    const base = await serve(join(dir, 'dist'));
    const asset = await fetch(`${base}/console/assets/index-abc123.js`);
    expect(asset.status).toBe(200);
    expect(asset.headers.get('cache-control')).toBe('public, max-age=31536000, immutable');
    const missing = await fetch(`${base}/console/assets/index-old.js`);
    expect(missing.status).toBe(404);
    expect(missing.headers.get('content-type')).toContain('application/problem+json');
    expect(await missing.json()).toMatchObject({ code: 'NOT_FOUND' });
  });

  it('answers 503 naming the build command while the console is not built', async () => {
    const base = await serve(join(dir, 'nothing-here'));
    const res = await fetch(`${base}/console/`);
    expect(res.status).toBe(503);
    expect(res.headers.get('content-type')).toContain('application/problem+json');
    const problem = (await res.json()) as { code: string; detail: string };
    expect(problem.code).toBe('UNAVAILABLE');
    expect(problem.detail).toContain(CONSOLE_BUILD_COMMAND);
  });

  it('tells the console the Temporal Web UI address: the configured one, a local dev server\'s, or none for a remote cluster', async () => {
    const local = await (await fetch(`${await serve(join(dir, 'dist'), { uiPort: 8233 })}/console/config.json`)).json();
    expect(local).toEqual({ temporalUiUrl: 'http://127.0.0.1:8233', temporalNamespace: 'default' });
    const remote = await (await fetch(`${await serve(join(dir, 'dist'), { temporalAddress: 'temporal.example.com:7233', temporalNamespace: 'prod' })}/console/config.json`)).json();
    expect(remote).toEqual({ temporalNamespace: 'prod' });
    const configured = await (
      await fetch(`${await serve(join(dir, 'dist'), { temporalAddress: 'temporal.example.com:7233', temporalUiUrl: 'https://temporal-ui.example.com/' })}/console/config.json`)
    ).json();
    expect(configured).toEqual({ temporalUiUrl: 'https://temporal-ui.example.com', temporalNamespace: 'default' });
  });
});
