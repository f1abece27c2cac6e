/**
 * What connector tracing costs per call (issue 23: no SDK registered must cost ~nothing):
 * - `HttpClient.send` (a client span and trace headers around `fetch`) against the same `fetch`
 *   through the same egress-checked dispatcher without them, to an in-process HTTP server, the
 *   two alternating call by call (ABBA) so drift hits both alike;
 * - `withClientSpan` around an empty async call against the call alone, in a tight loop.
 * Both first with no OpenTelemetry SDK in the process (the default: a no-op span), then with a
 * tracer provider and the W3C propagator registered (spans recorded, exported nowhere).
 *
 * `tsx bench/connector-trace.ts` prints a table; `bench/run.ts` calls {@link benchConnectorTrace}.
 */
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { fileURLToPath } from 'node:url';
import { context, propagation, trace } from '@opentelemetry/api';
import { W3CTraceContextPropagator } from '@opentelemetry/core';
import { NodeTracerProvider } from '@opentelemetry/sdk-trace-node';
import type { Dispatcher } from 'undici';
import { createEgressAgent, EgressGuard, EgressPolicy } from '../src/egress/index.js';
import { HttpClient } from '../src/tasks/index.js';
import { withClientSpan } from '../src/telemetry/index.js';
import { summarize, type Summary } from './stats.js';

/** One configuration's figures: HTTP call time (ms) with and without tracing, span cost (µs). */
export interface ConnectorTraceResult {
  sdk: 'none' | 'registered';
  http: { plain: Summary; traced: Summary };
  /** Mean µs per call of `withClientSpan` around an empty call, minus the call alone. */
  spanMicros: number;
}

/** Options of {@link benchConnectorTrace}. */
export interface ConnectorTraceOptions {
  /** HTTP calls per variant. @default 2000 */
  calls?: number;
  /** Tight-loop iterations for the span cost. @default 200000 */
  loops?: number;
}

/** Measures without an SDK, then with one registered (unregistered again before returning). */
export async function benchConnectorTrace({ calls = 2000, loops = 200_000 }: ConnectorTraceOptions = {}): Promise<ConnectorTraceResult[]> {
  const server = createServer((_req, res) => res.end('{"ok":true}'));
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/`;
  const policy = new EgressPolicy({ allow: { default: ['127.0.0.0/8'] } });
  const http = new HttpClient(policy);
  const dispatcher: Dispatcher = createEgressAgent({ guard: new EgressGuard(policy, 'default') });
  // A signal per call, as each task attempt has its own.
  const plain = async (): Promise<void> => {
    const init: RequestInit & { dispatcher: Dispatcher } = { signal: new AbortController().signal, redirect: 'follow', dispatcher };
    await (await fetch(new Request(url), init)).text();
  };
  const traced = async (): Promise<void> => {
    await (await http.send(new Request(url), { signal: new AbortController().signal, namespace: 'default' })).text();
  };
  const results: ConnectorTraceResult[] = [];
  try {
    results.push({ sdk: 'none', http: await alternate(plain, traced, calls), spanMicros: await spanCost(loops) });
    new NodeTracerProvider().register({ propagator: new W3CTraceContextPropagator() });
    results.push({ sdk: 'registered', http: await alternate(plain, traced, calls), spanMicros: await spanCost(loops) });
  } finally {
    // The suites after this one measure without an SDK, as before it.
    trace.disable();
    propagation.disable();
    context.disable();
    await http.close();
    await dispatcher.close();
    server.close();
  }
  return results;
}

/** `a` and `b` in ABBA order after a warm-up of a tenth of `calls`: ms per call of each. */
async function alternate(a: () => Promise<void>, b: () => Promise<void>, calls: number): Promise<{ plain: Summary; traced: Summary }> {
  const times: [number[], number[]] = [[], []];
  const warmup = Math.ceil(calls / 10);
  for (let i = 0; i < warmup + calls; i++) {
    const order = i % 2 === 0 ? [0, 1] : [1, 0];
    for (const which of order) {
      const started = performance.now();
      await (which === 0 ? a() : b());
      if (i >= warmup) times[which as 0 | 1].push(performance.now() - started);
    }
  }
  return { plain: summarize(times[0]), traced: summarize(times[1]) };
}

/** Mean µs `withClientSpan` adds around an empty async call. */
async function spanCost(loops: number): Promise<number> {
  const empty = async (): Promise<number> => 1;
  const loop = async (body: () => Promise<unknown>): Promise<number> => {
    const started = performance.now();
    for (let i = 0; i < loops; i++) await body();
    return performance.now() - started;
  };
  await loop(() => withClientSpan('bench', {}, empty));
  const bare = await loop(empty);
  const wrapped = await loop(() => withClientSpan('bench', { 'server.address': '127.0.0.1' }, empty));
  return ((wrapped - bare) * 1000) / loops;
}

/** The suite's markdown table. */
export function connectorTraceMarkdown(results: readonly ConnectorTraceResult[]): string {
  const us = (value: number): string => (value * 1000).toFixed(0);
  return [
    '| OTel SDK | fetch median µs | HttpClient.send (traced) median µs | added µs (median) | fetch p95 µs | traced p95 µs | withClientSpan µs/call |',
    '| --- | --: | --: | --: | --: | --: | --: |',
    ...results.map(
      ({ sdk, http, spanMicros }) =>
        `| ${sdk} | ${us(http.plain.median)} | ${us(http.traced.median)} | ${us(http.traced.median - http.plain.median)} | ${us(http.plain.p95)} | ${us(http.traced.p95)} | ${spanMicros.toFixed(2)} |`,
    ),
  ].join('\n');
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  console.log(connectorTraceMarkdown(await benchConnectorTrace()));
}
