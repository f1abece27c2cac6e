import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';

/** A local HTTP peer for tests: counts hits per path and misbehaves on request. */
export interface HttpPeer {
  url: string;
  /** Requests received, by path (without query). */
  hits: Map<string, number>;
  close(): Promise<void>;
}

/**
 * Routes:
 * - `/ok/<name>` → 200 `{ name, n }` where n is the hit count;
 * - `/flaky/<name>?failures=N` → 503 for the first N hits, then 200 `{ name, attempt }`;
 * - `/status/<code>` → that status;
 * - `/slow/<name>?ms=N` → 200 after N ms (the response is abandoned if the client goes away);
 * - `/list?n=N` → 200 `{ items: [0..N-1] }`.
 */
export async function startHttpPeer(): Promise<HttpPeer> {
  const hits = new Map<string, number>();
  const server: Server = createServer((req: IncomingMessage, res: ServerResponse) => {
    const url = new URL(req.url ?? '/', 'http://peer');
    const n = (hits.get(url.pathname) ?? 0) + 1;
    hits.set(url.pathname, n);
    const [, route, name = ''] = url.pathname.split('/');
    const json = (status: number, body: unknown): void => {
      res.writeHead(status, { 'content-type': 'application/json' });
      res.end(JSON.stringify(body));
    };
    switch (route) {
      case 'ok':
        return json(200, { name, n });
      case 'flaky':
        return n <= Number(url.searchParams.get('failures') ?? 1) ? json(503, { error: 'try again' }) : json(200, { name, attempt: n });
      case 'status':
        return json(Number(name), { status: Number(name) });
      case 'slow': {
        const timer = setTimeout(() => json(200, { name, n }), Number(url.searchParams.get('ms') ?? 1000));
        res.on('close', () => clearTimeout(timer));
        return;
      }
      case 'list':
        return json(200, { items: Array.from({ length: Number(url.searchParams.get('n') ?? 3) }, (_, i) => i) });
      default:
        return json(404, { error: 'no such route' });
    }
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    hits,
    close: () =>
      new Promise((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
