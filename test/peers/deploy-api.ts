import { once } from 'node:events';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';

/** One call the deploy API received. */
export interface DeployCall {
  method: string;
  path: string;
  body: unknown;
}

/** A deploy/chaos API stub: what the deploy-promote, rollback and chaos-drill runbooks drive. */
export interface DeployApiPeer {
  url: string;
  calls: DeployCall[];
  /** Answer the next `count` health checks 503 (a service still recovering). */
  unhealthyFor(count: number): void;
  /** Answer the next `count` health checks of `environment` (`?environment=`) 503. */
  unhealthyIn(environment: string, count: number): void;
  /** The image deployed per service and environment (`service/environment` → image), by `POST /deploy` and `/rollback`. */
  deployed: Map<string, string>;
  stop(): Promise<void>;
}

/**
 * Starts the stub on 127.0.0.1. Routes: `POST /promote` and `POST /rollback` → 200
 * `{ deploymentId }`; `POST /deploy {service, environment, image}` → 200 `{ deploymentId,
 * previous }` (the image it replaced, or null), and a `POST /rollback` naming an `environment`
 * puts its `image` back (none: nothing deployed); `POST /chaos/<fault>` → 200 `{ injected }` (and the next health checks fail
 * as set by `unhealthyFor`, 2 by default after a fault); `DELETE /chaos` → 200 `{ restored: true }`
 * (health is good again); `GET /health[/<service>][?environment=]` → 200 or 503.
 */
export async function startDeployApi(): Promise<DeployApiPeer> {
  const calls: DeployCall[] = [];
  let unhealthy = 0;
  let deployments = 0;
  const deployed = new Map<string, string>();
  const unhealthyEnvironments = new Map<string, number>();
  const server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (chunk: Buffer) => chunks.push(chunk));
    req.on('end', () => {
      const url = new URL(req.url ?? '/', 'http://api');
      const path = url.pathname;
      const text = Buffer.concat(chunks).toString('utf8');
      calls.push({ method: req.method ?? 'GET', path, body: text === '' ? null : (JSON.parse(text) as unknown) });
      const json = (status: number, body: unknown): void => {
        res.writeHead(status, { 'content-type': 'application/json' });
        res.end(JSON.stringify(body));
      };
      const target = (calls.at(-1)?.body ?? {}) as { service?: string; environment?: string; image?: string | null };
      if (req.method === 'POST' && path === '/deploy') {
        const key = `${target.service}/${target.environment}`;
        const previous = deployed.get(key) ?? null;
        deployed.set(key, String(target.image));
        return json(200, { deploymentId: `dep-${++deployments}`, previous });
      }
      if (req.method === 'POST' && path === '/rollback' && target.environment !== undefined) {
        const key = `${target.service}/${target.environment}`;
        if (typeof target.image === 'string') deployed.set(key, target.image);
        else deployed.delete(key);
      }
      if (req.method === 'POST' && (path === '/promote' || path === '/rollback')) return json(200, { deploymentId: `dep-${++deployments}` });
      if (req.method === 'POST' && path.startsWith('/chaos/')) {
        unhealthy = Math.max(unhealthy, 2);
        return json(200, { injected: path.slice('/chaos/'.length) });
      }
      if (req.method === 'DELETE' && path === '/chaos') {
        unhealthy = 0;
        return json(200, { restored: true });
      }
      if (req.method === 'GET' && path.startsWith('/health')) {
        const environment = url.searchParams.get('environment') ?? '';
        const failing = unhealthyEnvironments.get(environment) ?? 0;
        if (failing > 0) {
          unhealthyEnvironments.set(environment, failing - 1);
          return json(503, { status: 'unhealthy', environment });
        }
        if (unhealthy > 0) {
          unhealthy--;
          return json(503, { status: 'recovering' });
        }
        return json(200, { status: 'ok' });
      }
      return json(404, { error: 'no such route' });
    });
  });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    calls,
    unhealthyFor: (count) => (unhealthy = count),
    unhealthyIn: (environment, count) => void unhealthyEnvironments.set(environment, count),
    deployed,
    stop: async () => {
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}
