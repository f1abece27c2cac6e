/**
 * A local serverless function server for the serverless runner's tests: OpenFaaS-style HTTP
 * functions at `POST /function/<name>` and the AWS Lambda Invoke API at
 * `POST /2015-03-31/functions/<name>/invocations`, both behind the idempotency contract Maestro
 * expects of a function (the IETF Idempotency-Key draft, storing successes only):
 *
 * - a key whose invocation succeeded answers the stored response again, without running the
 *   function (no second effect);
 * - a key whose invocation is still running answers 409 Conflict;
 * - a failed invocation stores nothing, so a later attempt runs again.
 *
 * Lambda requests carry the key in the client context (`X-Amz-Client-Context`, base64 JSON,
 * `custom.idempotencyKey`).
 */
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';

/** What a test function returns. */
export interface FunctionResponse {
  /** @default 200 */
  status?: number;
  body: unknown;
}

/** A test function: its effect is whatever it does; `effects` counts how often it ran to success. */
export type TestFunction = (payload: unknown, request: { key: string | undefined; headers: IncomingMessage['headers'] }) => Promise<FunctionResponse> | FunctionResponse;

/** A running function server. */
export interface FunctionServer {
  url: string;
  /** `http://127.0.0.1:<port>/function/<name>`. */
  functionUrl(name: string): string;
  /** Registers (or replaces) a function. */
  register(name: string, fn: TestFunction): void;
  /** Successful executions per function (an idempotent replay does not count). */
  effects(name: string): number;
  /** TCP connections accepted so far (an egress refusal must leave this unchanged). */
  readonly connections: number;
  /** Every invocation received: function, key, and whether it ran or was replayed/refused. */
  invocations: { name: string; key: string | undefined; outcome: 'ran' | 'failed' | 'replayed' | 'in-flight' | 'dropped' }[];
  /** The next invocation of `name` runs, then its connection is cut before any response (a lost response). */
  dropNextResponse(name: string): void;
  close(): Promise<void>;
}

/** Starts the function server on a free port. */
export async function startFunctionServer(): Promise<FunctionServer> {
  const functions = new Map<string, TestFunction>();
  const stored = new Map<string, { status: number; body: unknown }>();
  const inFlight = new Set<string>();
  const effectCounts = new Map<string, number>();
  const drop = new Set<string>();
  const invocations: FunctionServer['invocations'] = [];

  async function readJson(req: IncomingMessage): Promise<unknown> {
    const chunks: Buffer[] = [];
    for await (const chunk of req) chunks.push(chunk as Buffer);
    const text = Buffer.concat(chunks).toString('utf8');
    return text === '' ? null : (JSON.parse(text) as unknown);
  }

  function reply(res: ServerResponse, status: number, body: unknown, headers: Record<string, string> = {}): void {
    res.writeHead(status, { 'content-type': 'application/json', ...headers });
    res.end(JSON.stringify(body));
  }

  function lambdaKey(req: IncomingMessage): string | undefined {
    const header = req.headers['x-amz-client-context'];
    if (typeof header !== 'string') return undefined;
    const context = JSON.parse(Buffer.from(header, 'base64').toString('utf8')) as { custom?: { idempotencyKey?: string } };
    return context.custom?.idempotencyKey;
  }

  const server = createServer((req, res) => {
    void (async () => {
      const url = new URL(req.url ?? '/', 'http://localhost');
      const http = /^\/function\/([^/]+)$/.exec(url.pathname);
      const lambda = /^\/2015-03-31\/functions\/([^/]+)\/invocations$/.exec(url.pathname);
      const name = decodeURIComponent((http ?? lambda)?.[1] ?? '');
      const fn = functions.get(name);
      if (req.method !== 'POST' || !fn) {
        return lambda
          ? reply(res, 404, { Type: 'User', message: `Function not found: ${name}` }, { 'x-amzn-errortype': 'ResourceNotFoundException' })
          : reply(res, 404, { error: `no function ${name}` });
      }
      const key = lambda ? lambdaKey(req) : (req.headers['idempotency-key'] as string | undefined);
      const payload = await readJson(req);
      const storeKey = key === undefined ? undefined : `${name}\u0000${key}`;
      const previous = storeKey ? stored.get(storeKey) : undefined;
      if (previous) {
        invocations.push({ name, key, outcome: 'replayed' });
        return reply(res, previous.status, previous.body, lambda ? {} : { 'idempotent-replayed': 'true' });
      }
      if (storeKey && inFlight.has(storeKey)) {
        invocations.push({ name, key, outcome: 'in-flight' });
        return reply(res, 409, { error: 'a request with this idempotency key is in flight' });
      }
      if (storeKey) inFlight.add(storeKey);
      try {
        const { status = 200, body } = await fn(payload, { key, headers: req.headers });
        if (status >= 200 && status < 300) {
          effectCounts.set(name, (effectCounts.get(name) ?? 0) + 1);
          if (storeKey) stored.set(storeKey, { status, body });
          if (drop.delete(name)) {
            invocations.push({ name, key, outcome: 'dropped' });
            res.socket?.destroy();
            return;
          }
          invocations.push({ name, key, outcome: 'ran' });
          return reply(res, status, body);
        }
        invocations.push({ name, key, outcome: 'failed' });
        return lambda ? reply(res, 200, { errorMessage: JSON.stringify(body), errorType: 'Error' }, { 'x-amz-function-error': 'Unhandled' }) : reply(res, status, body);
      } finally {
        if (storeKey) inFlight.delete(storeKey);
      }
    })().catch((error: unknown) => reply(res, 500, { error: String(error) }));
  });
  let connections = 0;
  server.on('connection', () => void (connections += 1));
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  return {
    url,
    functionUrl: (name) => `${url}/function/${name}`,
    register: (name, fn) => void functions.set(name, fn),
    effects: (name) => effectCounts.get(name) ?? 0,
    get connections() {
      return connections;
    },
    invocations,
    dropNextResponse: (name) => void drop.add(name),
    close: async () => {
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}
