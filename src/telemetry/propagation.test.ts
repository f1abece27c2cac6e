import { context, propagation, trace, type TextMapPropagator } from '@opentelemetry/api';
import { afterEach, describe, expect, it } from 'vitest';
import { MaestroError } from '../errors/index.js';
import { serverAttributes, traceHeaders, withClientSpan } from './propagation.js';

/** A propagator writing exactly `fields`, as a misbehaving or foreign one could. */
function writing(fields: Record<string, string>): TextMapPropagator {
  return {
    inject: (_context, carrier: Record<string, string>) => Object.assign(carrier, fields),
    extract: (ctx) => ctx,
    fields: () => Object.keys(fields),
  };
}

const VALID = '00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01';

afterEach(() => {
  trace.disable();
  propagation.disable();
  context.disable();
});

describe('withClientSpan', () => {
  it('with no SDK registered, runs the call with no trace headers and returns its result', async () => {
    await expect(withClientSpan('GET', {}, async (headers) => headers)).resolves.toEqual({});
  });

  it('passes the rejection through unchanged', async () => {
    const error = new MaestroError('PEER_UNAVAILABLE', 'down');
    await expect(withClientSpan('GET', {}, () => Promise.reject(error))).rejects.toBe(error);
  });
});

describe('traceHeaders', () => {
  it('keeps a well-formed traceparent and tracestate, and nothing else a propagator writes', () => {
    propagation.setGlobalPropagator(writing({ traceparent: VALID, tracestate: 'vendor=abc', baggage: 'user=alice', 'x-b3-traceid': '1' }));
    expect(traceHeaders()).toEqual({ traceparent: VALID, tracestate: 'vendor=abc' });
  });

  it('drops a malformed traceparent, and a tracestate with a line break or over 512 characters', () => {
    propagation.setGlobalPropagator(writing({ traceparent: `${VALID}\r\nx-injected: 1` }));
    expect(traceHeaders()).toEqual({});
    propagation.disable();
    propagation.setGlobalPropagator(writing({ traceparent: VALID, tracestate: 'a=1\r\nx-injected: 1' }));
    expect(traceHeaders()).toEqual({ traceparent: VALID });
    propagation.disable();
    propagation.setGlobalPropagator(writing({ traceparent: VALID, tracestate: `a=${'x'.repeat(511)}` }));
    expect(traceHeaders()).toEqual({ traceparent: VALID });
  });
});

describe('serverAttributes', () => {
  it('names the host and port only: no credentials, path or query', () => {
    expect(serverAttributes('https://user:pw@hooks.example.com/services/T0/B0/secret?sig=1')).toEqual({
      'server.address': 'hooks.example.com',
      'server.port': 443,
    });
    expect(serverAttributes('kafka-1:9092')).toEqual({ 'server.address': 'kafka-1', 'server.port': 9092 });
    expect(serverAttributes(new URL('http://[::1]:8080/x'))).toEqual({ 'server.address': '::1', 'server.port': 8080 });
    expect(serverAttributes('postgres://db.internal/app', 5432)).toEqual({ 'server.address': 'db.internal', 'server.port': 5432 });
    expect(serverAttributes('not a url')).toEqual({});
  });
});
