import { describe, expect, it } from 'vitest';
import { consumerNames, normalizeTrigger } from './definition.js';

describe('normalizeTrigger', () => {
  it('applies the defaults of a webhook and of its auth scheme', () => {
    expect(normalizeTrigger({ runbook: 'rollback', auth: { secret: 'hook' } })).toEqual({
      runbook: 'rollback',
      auth: { secret: 'hook', scheme: 'hmac-sha256', header: 'x-maestro-signature', prefix: 'sha256=' },
      inputs: {},
      dedupWindow: '24h',
      rateLimit: { perMinute: 60 },
      paused: false,
    });
    expect(normalizeTrigger({ runbook: 'rollback', auth: { secret: 'am', scheme: 'token' } }).auth).toEqual({ secret: 'am', scheme: 'token', header: 'authorization', prefix: 'Bearer ' });
    expect(normalizeTrigger({ runbook: 'r', auth: { secret: 'gh', header: 'X-Hub-Signature-256' } }).auth?.header).toBe('x-hub-signature-256');
  });

  it('names every bad expression and window by path, and wants auth for a webhook only', () => {
    let caught: unknown;
    try {
      normalizeTrigger({ runbook: 'r', filter: 'body.status ==', inputs: { a: 'body.(' }, dedupWindow: '31d' });
    } catch (error) {
      caught = error;
    }
    expect(caught).toMatchObject({ code: 'BAD_REQUEST', details: { errors: [{ path: 'filter' }, { path: 'inputs.a' }, { path: 'dedupWindow' }, { path: 'auth' }] } });
    expect(normalizeTrigger({ runbook: 'r', source: { nats: { url: 'nats://n:4222', stream: 's', subject: 'a.b', durable: 'd' } } }).auth).toBeUndefined();
  });

  it('refuses an expression that costs more than the limit whatever the event', () => {
    const huge = `[${Array.from({ length: 3000 }, (_, i) => i).join(',')}].all(x, [${Array.from({ length: 40 }, (_, i) => i).join(',')}].all(y, x + y >= 0))`;
    expect(() => normalizeTrigger({ runbook: 'r', auth: { secret: 's' }, filter: huge })).toThrow(/costs more than the limit|longer than/);
  });
});

describe('consumerNames', () => {
  it('names a durable per server of the cluster and a group per broker, whatever the spelling of the address', () => {
    expect(consumerNames({ nats: { url: 'nats://NATS.internal,nats-2.internal:4223', stream: 'ORDERS', subject: 'o.*', durable: 'fulfil' } })).toEqual([
      'nats://nats.internal:4222/ORDERS/fulfil',
      'nats://nats-2.internal:4223/ORDERS/fulfil',
    ]);
    expect(consumerNames({ nats: { url: 'tls://[::1]', stream: 'S', subject: 's', durable: 'd' } })).toEqual(['nats://[::1]:4222/S/d']);
    expect(consumerNames({ kafka: { brokers: ['Kafka-A:9092', 'kafka-b:19092'], topic: 't', groupId: 'g' } })).toEqual(['kafka://kafka-a:9092/g', 'kafka://kafka-b:19092/g']);
  });
});
