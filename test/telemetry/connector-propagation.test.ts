/**
 * Every connector call is a client span, child of the task attempt's span, and the system called
 * receives its W3C trace context: tasks run through the real worker (its local runner inside an
 * attempt span, as a traced worker runs them) against real peers.
 */
import { once } from 'node:events';
import { createServer, type IncomingHttpHeaders, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { SpanKind, SpanStatusCode } from '@opentelemetry/api';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { startEngine, task, workflow, type Engine } from '../helpers/engine.js';
import { ATTEMPT_SPAN, installTestTracing, parentSpanId, traceparentOf, tracedRunner } from '../helpers/tracing.js';

const tracing = installTestTracing();
let engine: Engine;

beforeAll(async () => {
  engine = await startEngine({ runners: { local: tracedRunner(tracing) } });
});

afterAll(async () => {
  await engine?.close();
});

beforeEach(() => tracing.reset());

/** The one client span of the run's attempt, checked to be the attempt span's child. */
function clientSpan(name: string) {
  const attempt = tracing.span(ATTEMPT_SPAN);
  const span = tracing.span(name);
  expect(span.spanContext().traceId).toBe(attempt.spanContext().traceId);
  expect(parentSpanId(span)).toBe(attempt.spanContext().spanId);
  return span;
}

describe('HTTP (tasks/http.request)', () => {
  let server: Server;
  let url: string;
  const received: IncomingHttpHeaders[] = [];

  beforeAll(async () => {
    server = createServer((req, res) => {
      received.push(req.headers);
      res.statusCode = req.url?.startsWith('/missing') ? 404 : 200;
      res.end('ok');
    });
    server.listen(0, '127.0.0.1');
    await once(server, 'listening');
    url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });

  afterAll(() => {
    server?.closeAllConnections();
    server?.close();
  });

  const call = (with_: string) => workflow(`    - id: call\n      uses: tasks/http.request@0.1.0\n      with: ${with_}`);

  it('sends the client span as traceparent; the span names method and host, not path or query', async () => {
    const state = await engine.run(call(`{ url: "${url}/items/secret-path?token=hunter2", method: POST, body: { a: 1 } }`));
    expect(task(state, 'call').status).toBe('SUCCEEDED');
    const span = clientSpan('POST');
    expect(span.kind).toBe(SpanKind.CLIENT);
    expect(received.at(-1)?.traceparent).toBe(traceparentOf(span));
    const port = Number(new URL(url).port);
    expect(span.attributes).toEqual({
      'http.request.method': 'POST',
      'url.scheme': 'http',
      'server.address': '127.0.0.1',
      'server.port': port,
      'http.response.status_code': 200,
    });
    expect(JSON.stringify(span.attributes)).not.toMatch(/secret-path|hunter2/);
  });

  it("replaces a traceparent and tracestate the task author set with the engine's", async () => {
    const forged = '00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01';
    const state = await engine.run(call(`{ url: "${url}/", headers: { Traceparent: "${forged}", tracestate: "evil=1" } }`));
    expect(task(state, 'call').status).toBe('SUCCEEDED');
    const headers = received.at(-1) ?? {};
    expect(headers.traceparent).toBe(traceparentOf(clientSpan('GET')));
    expect(headers.tracestate).toBeUndefined();
  });

  it('marks the span failed with the status as error.type for a 4xx answer', async () => {
    const state = await engine.run(call(`{ url: "${url}/missing" }`));
    expect(task(state, 'call').status).toBe('FAILED');
    const span = clientSpan('GET');
    expect(span.status.code).toBe(SpanStatusCode.ERROR);
    expect(span.attributes['error.type']).toBe('404');
  });
});
