/**
 * The SSRF guard of tasks/http.request, end to end through fetch and the egress-checked connector.
 * Every refused address is an IP literal (no DNS), and refusal happens before any packet is sent,
 * so nothing ever leaves this machine.
 */
import { once } from 'node:events';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestContext, TaskError } from '../sdk/index.js';
import { EgressDeniedError, EgressPolicy } from '../egress/index.js';
import { HttpClient } from './http/send.js';
import { createHttpRequestTask, httpRequest } from './http-request.js';

/** A server that counts requests and redirects `/to?url=...` to that URL. */
async function listen(host: string): Promise<{ server: Server; base: string; hits: () => number }> {
  let hits = 0;
  const server = createServer((req, res) => {
    hits++;
    const url = new URL(req.url ?? '/', 'http://peer');
    const target = url.searchParams.get('url');
    if (url.pathname === '/to' && target) {
      res.writeHead(302, { location: target });
      return res.end();
    }
    res.setHeader('content-type', 'application/json');
    res.end(JSON.stringify({ ok: true }));
  });
  server.listen(0, host);
  await once(server, 'listening');
  return { server, base: `http://${host}:${(server.address() as AddressInfo).port}`, hits: () => hits };
}

let first: Awaited<ReturnType<typeof listen>>;
let second: Awaited<ReturnType<typeof listen>>;

beforeAll(async () => {
  // Two loopback hosts: the allow-list below admits only the first.
  [first, second] = await Promise.all([listen('127.0.0.1'), listen('127.0.0.2')]);
});

afterAll(async () => {
  for (const { server } of [first, second]) {
    server.closeAllConnections();
    server.close();
  }
});

async function refusal(promise: Promise<unknown>): Promise<EgressDeniedError> {
  const error: unknown = await promise.then(
    () => new Error('the request was sent'),
    (rejection: unknown) => rejection,
  );
  if (error instanceof EgressDeniedError) return error;
  throw error;
}

describe('tasks/http.request SSRF guard', () => {
  it.each([
    ['loopback', 'http://127.0.0.1:8/', 'loopback'],
    ['the metadata address', 'http://169.254.169.254/latest/meta-data/', 'metadata'],
    ['a private address', 'http://10.0.0.1/', 'private'],
    ['an IPv4-mapped IPv6 loopback address', 'http://[::ffff:127.0.0.1]:8/', 'loopback'],
    ['IPv6 loopback', 'http://[::1]:8/', 'loopback'],
    ['a CGNAT address', 'http://100.64.0.1/', 'cgnat'],
    ['a unique-local IPv6 address', 'http://[fd00::1]/', 'unique-local'],
  ])('refuses %s by default, as EGRESS_DENIED, not retryable', async (_, url, label) => {
    const error = await refusal(httpRequest.execute({ url }, createTestContext()));
    expect(error).toBeInstanceOf(TaskError);
    expect(error).toMatchObject({ code: 'EGRESS_DENIED', retryable: false, details: { range: label, namespace: 'default' } });
    expect(error.message).toContain('MAESTRO_EGRESS_ALLOW');
  });

  it('refuses a host name that resolves to loopback', async () => {
    const error = await refusal(httpRequest.execute({ url: 'http://localhost:8/' }, createTestContext()));
    expect(error.details).toMatchObject({ host: 'localhost', range: 'loopback' });
  });

  it('sends nothing to a refused loopback server', async () => {
    const before = first.hits();
    await refusal(httpRequest.execute({ url: `${first.base}/` }, createTestContext()));
    expect(first.hits()).toBe(before);
  });

  describe('with 127.0.0.1 allow-listed for namespace "ci" only', () => {
    const task = createHttpRequestTask({ http: new HttpClient(new EgressPolicy({ allow: { ci: ['127.0.0.1/32'] } })) });
    const ci = () => createTestContext({ namespace: 'ci' });

    it('reaches the allow-listed address from that namespace', async () => {
      await expect(task.execute({ url: `${first.base}/` }, ci())).resolves.toMatchObject({ status: 200, body: { ok: true } });
    });

    it('still refuses it from another namespace', async () => {
      const error = await refusal(task.execute({ url: `${first.base}/` }, createTestContext({ namespace: 'other' })));
      expect(error.details).toMatchObject({ namespace: 'other', range: 'loopback' });
    });

    it.each([
      ['a loopback address outside the allow-list', () => `${second.base}/`, 'loopback'],
      ['a private range', () => 'http://10.0.0.1/', 'private'],
      ['the metadata address', () => 'http://169.254.169.254/latest/meta-data/', 'metadata'],
      ['an IPv4-mapped address', () => `http://[::ffff:127.0.0.2]:${new URL(second.base).port}/`, 'loopback'],
    ])('refuses a redirect into %s after the allowed first hop', async (_, target, label) => {
      const before = { first: first.hits(), second: second.hits() };
      const url = `${first.base}/to?url=${encodeURIComponent(target())}`;
      const error = await refusal(task.execute({ url }, ci()));
      expect(error.details).toMatchObject({ range: label });
      expect(first.hits()).toBe(before.first + 1);
      expect(second.hits()).toBe(before.second);
    });

    it('follows a redirect that stays within what is allowed', async () => {
      const url = `${first.base}/to?url=${encodeURIComponent(`${first.base}/done`)}`;
      await expect(task.execute({ url }, ci())).resolves.toMatchObject({ status: 200 });
    });
  });
});
