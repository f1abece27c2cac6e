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
  stop(): Promise<void>;
}

/**
 * Starts the stub on 127.0.0.1. Routes: `POST /promote` and `POST /rollback` → 200
 * `{ deploymentId }`; `POST /chaos/<fault>` → 200 `{ injected }` (and the next health checks fail
 * as set by `unhealthyFor`, 2 by default after a fault); `DELETE /chaos` → 200 `{ restored: true }`
 * (health is good again); `GET /health[/<service>]` → 200 or 503.
 */
export async function startDeployApi(): Promise<DeployApiPeer> {
  const calls: DeployCall[] = [];
  let unhealthy = 0;
  let deployments = 0;
  const server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (chunk: Buffer) => chunks.push(chunk));
    req.on('end', () => {
      const path = new URL(req.url ?? '/', 'http://api').pathname;
      const text = Buffer.concat(chunks).toString('utf8');
      calls.push({ method: req.method ?? 'GET', path, body: text === '' ? null : (JSON.parse(text) as unknown) });
      const json = (status: number, body: unknown): void => {
        res.writeHead(status, { 'content-type': 'application/json' });
        res.end(JSON.stringify(body));
      };
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
    stop: async () => {
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}
