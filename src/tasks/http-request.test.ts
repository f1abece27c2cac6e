import { once } from 'node:events';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestContext, validateTaskInput } from '../sdk/index.js';
import { createHttpRequestTask, type HttpRequestInput } from './http-request.js';
import { EgressPolicy } from '../egress/index.js';
import { HttpClient } from './http/send.js';
import { taskFailure } from '../../test/tasks/helpers.js';

/** The peer is on loopback, which the test context's namespace allow-lists explicitly. */
const httpRequest = createHttpRequestTask({ http: new HttpClient(new EgressPolicy({ allow: { default: ['127.0.0.0/8'] } })) });

/** A real HTTP peer on 127.0.0.1: each path is one behaviour the task must handle. */
const routes: Record<string, (req: IncomingMessage, res: ServerResponse, body: string) => void> = {
  '/echo': (req, res, body) => {
    res.setHeader('content-type', 'application/json; charset=utf-8');
    res.end(JSON.stringify({ method: req.method, url: req.url, headers: req.headers, body }));
  },
  '/text': (_req, res) => {
    res.setHeader('content-type', 'text/plain');
    res.setHeader('x-trace', 'abc');
    res.end('hello');
  },
  '/not-found': (_req, res) => {
    res.statusCode = 404;
    res.end('no such item');
  },
  '/unavailable': (_req, res) => {
    res.statusCode = 503;
    res.end();
  },
  '/busy': (_req, res) => {
    res.statusCode = 429;
    res.end();
  },
  '/large': (_req, res) => {
    // Streamed without Content-Length: the limit must hold while reading.
    for (let i = 0; i < 64; i++) res.write(Buffer.alloc(16 * 1024, 'x'));
    res.end();
  },
  '/large-declared': (_req, res) => {
    res.setHeader('content-length', String(1024 * 1024));
    res.end(Buffer.alloc(1024 * 1024, 'x'));
  },
  '/bad-json': (_req, res) => {
    res.setHeader('content-type', 'application/json');
    res.end('{"unterminated": ');
  },
  '/hang': () => {
    // Never answers: only the task's deadline or cancellation ends the exchange.
  },
};

let server: Server;
let base: string;
let received = 0;

beforeAll(async () => {
  server = createServer((req, res) => {
    received++;
    const chunks: Buffer[] = [];
    req.on('data', (chunk: Buffer) => chunks.push(chunk));
    req.on('end', () => {
      const route = routes[new URL(req.url ?? '/', 'http://localhost').pathname];
      if (route) return route(req, res, Buffer.concat(chunks).toString('utf8'));
      res.statusCode = 500;
      res.end(`no route for ${req.url}`);
    });
  });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});

afterAll(async () => {
  server.closeAllConnections();
  server.close();
  await once(server, 'close');
});

const send = (input: HttpRequestInput, ctx = createTestContext()) => httpRequest.execute(input, ctx);

describe('tasks/http.request', () => {
  it('sends method, query, headers and a JSON body, and parses a JSON response', async () => {
    const output = await send({
      url: `${base}/echo`,
      method: 'POST',
      query: { page: 2, tag: ['a', 'b'] },
      headers: { 'x-request-id': 'r1' },
      body: { name: 'Ada' },
    });
    expect(output.status).toBe(200);
    expect(output.headers['content-type']).toBe('application/json; charset=utf-8');
    expect(output.body).toMatchObject({
      method: 'POST',
      url: '/echo?page=2&tag=a&tag=b',
      headers: { 'x-request-id': 'r1', 'content-type': 'application/json' },
      body: '{"name":"Ada"}',
    });
  });

  it('drops a traceparent and tracestate the author set when nothing traces (no OTel SDK here)', async () => {
    const forged = '00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01';
    const output = await send({ url: `${base}/echo`, headers: { TraceParent: forged, tracestate: 'a=1', 'x-request-id': 'r2' } });
    const { headers } = output.body as { headers: Record<string, string> };
    expect(headers['x-request-id']).toBe('r2');
    expect(headers).not.toHaveProperty('traceparent');
    expect(headers).not.toHaveProperty('tracestate');
  });

  it('sends a string body as is', async () => {
    const output = await send({ url: `${base}/echo`, method: 'PUT', headers: { 'content-type': 'text/csv' }, body: 'a,b\n1,2' });
    expect(output.body).toMatchObject({ headers: { 'content-type': 'text/csv' }, body: 'a,b\n1,2' });
  });

  it('returns a text body as text, with the response headers', async () => {
    const output = await send({ url: `${base}/text` });
    expect(output).toMatchObject({ status: 200, body: 'hello', headers: { 'x-trace': 'abc', 'content-type': 'text/plain' } });
  });

  it('returns an empty body for HEAD', async () => {
    await expect(send({ url: `${base}/text`, method: 'HEAD' })).resolves.toMatchObject({ status: 200, body: '' });
  });

  it('fails on 404, not retryable, with the status and body excerpt', async () => {
    const error = await taskFailure(send({ url: `${base}/not-found` }));
    expect(error.code).toBe('TASK_FAILED');
    expect(error.retryable).toBe(false);
    expect(error.message).toBe(`GET ${base}/not-found answered 404 Not Found`);
    expect(error.details).toEqual({ status: 404, body: 'no such item' });
  });

  it.each([
    ['/unavailable', 503],
    ['/busy', 429],
  ])('fails on %s (%i) as retryable', async (path, status) => {
    const error = await taskFailure(send({ url: `${base}${path}` }));
    expect(error).toMatchObject({ code: 'TASK_FAILED', retryable: true, details: { status } });
  });

  it('succeeds on a status listed in expectStatus', async () => {
    await expect(send({ url: `${base}/not-found`, expectStatus: [404] })).resolves.toMatchObject({ status: 404 });
  });

  it('stops reading at maxResponseBytes', async () => {
    const error = await taskFailure(send({ url: `${base}/large`, maxResponseBytes: 100 * 1024 }));
    expect(error).toMatchObject({ code: 'TASK_FAILED', retryable: false, details: { maxResponseBytes: 100 * 1024 } });
    expect(error.message).toBe('response body exceeds maxResponseBytes (102400 bytes)');
  });

  it('refuses an announced oversize body without reading it', async () => {
    const error = await taskFailure(send({ url: `${base}/large-declared`, maxResponseBytes: 1024 }));
    expect(error.details).toEqual({ maxResponseBytes: 1024, contentLength: 1024 * 1024 });
  });

  it('fails, not retryable, when a JSON response is not JSON', async () => {
    const error = await taskFailure(send({ url: `${base}/bad-json` }));
    expect(error).toMatchObject({ code: 'TASK_FAILED', retryable: false });
    expect(error.cause).toBeInstanceOf(SyntaxError);
  });

  it('times out as TASK_TIMEOUT, retryable', async () => {
    const error = await taskFailure(send({ url: `${base}/hang`, timeout: '200ms' }));
    expect(error).toMatchObject({ code: 'TASK_TIMEOUT', retryable: true });
    expect(error.message).toBe(`GET ${base}/hang did not complete within 200ms`);
  });

  it('stops with the cancellation reason when ctx.signal aborts', async () => {
    const ctx = createTestContext();
    const reason = new Error('run cancelled');
    setTimeout(() => ctx.abort(reason), 50);
    await expect(send({ url: `${base}/hang` }, ctx)).rejects.toBe(reason);
  });

  it('reports a refused connection as PEER_UNAVAILABLE, retryable, with the cause', async () => {
    const closed = createServer();
    closed.listen(0, '127.0.0.1');
    await once(closed, 'listening');
    const { port } = closed.address() as AddressInfo;
    closed.close();
    await once(closed, 'close');
    const error = await taskFailure(send({ url: `http://127.0.0.1:${port}/` }));
    expect(error).toMatchObject({ code: 'PEER_UNAVAILABLE', retryable: true, details: { cause: 'ECONNREFUSED' } });
    expect(error.cause).toBeInstanceOf(TypeError);
  });

  it('never logs credential header values', async () => {
    const ctx = createTestContext();
    await send({ url: `${base}/echo`, headers: { authorization: 'Bearer s3cr3t', cookie: 'session=s3cr3t' } }, ctx);
    expect(JSON.stringify(ctx.logs)).not.toContain('s3cr3t');
    expect(ctx.logs[0]?.fields?.['headers']).toEqual({ authorization: '[redacted]', cookie: '[redacted]' });
  });

  it('refuses credentials in the URL without repeating them', async () => {
    const error = await taskFailure(send({ url: `http://user:s3cr3t@${base.slice('http://'.length)}/text` }));
    expect(error).toMatchObject({ code: 'TASK_INPUT_INVALID', retryable: false });
    expect(JSON.stringify({ message: error.message, details: error.details })).not.toContain('s3cr3t');
  });

  it.each([
    ['a body on GET', { url: 'http://127.0.0.1:9/', body: 'x' }],
    ['a non-http scheme', { url: 'ftp://127.0.0.1/file' }],
    ['a malformed URL', { url: 'http://' }],
    ['a malformed header value', { url: 'http://127.0.0.1:9/', headers: { 'x-a': 'line\nbreak' } }],
  ])('refuses %s as TASK_INPUT_INVALID without sending anything', async (_, input) => {
    const before = received;
    const error = await taskFailure(send(input));
    expect(error).toMatchObject({ code: 'TASK_INPUT_INVALID', retryable: false });
    expect(received).toBe(before);
  });

  it.each([
    ['a missing url', {}, 'url: is required'],
    ['an unknown method', { url: 'http://a.example/', method: 'FETCH' }, 'method: must be equal to one of the allowed values'],
    ['a non-duration timeout', { url: 'http://a.example/', timeout: 30 }, 'timeout: must be string'],
    ['an out-of-range expected status', { url: 'http://a.example/', expectStatus: [700] }, 'expectStatus[0]: must be <= 599'],
    ['an invalid header name', { url: 'http://a.example/', headers: { 'bad name': 'x' } }, 'headers: must match pattern'],
  ])('has a schema refusing %s', (_, input, message) => {
    expect(() => validateTaskInput(httpRequest, input)).toThrow(message);
  });
});
