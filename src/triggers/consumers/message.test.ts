import { describe, expect, it } from 'vitest';
import { MaestroError } from '../../errors/index.js';
import { boundedHeaders, decodeMessage, kafkaMessageId, MAX_HEADERS, natsMessageId, settleMessage, type MessageHandler, type MessageOutcome, type RefusedMessage } from './message.js';

const trigger = { namespace: 'ops', name: 'orders', source: { kafka: { brokers: ['b:9092'], topic: 't', groupId: 'g' } } };
const bytes = (text: string) => new TextEncoder().encode(text);

describe('message ids', () => {
  it('keep the same id for every delivery of one message', () => {
    expect(natsMessageId('ORDERS', 7, 'order-42')).toBe('nats:ORDERS:order-42');
    expect(natsMessageId('ORDERS', 7, undefined)).toBe('nats:ORDERS:seq:7');
    expect(natsMessageId('ORDERS', 7, '')).toBe('nats:ORDERS:seq:7');
    expect(kafkaMessageId('orders', 2, '1099511627776')).toBe('kafka:orders:2:1099511627776');
  });
});

describe('decodeMessage', () => {
  it('parses JSON within the size and depth bounds, and says why anything else is poison', () => {
    expect(decodeMessage('m', bytes('{"a":[1]}'), 100)).toEqual({ body: { a: [1] } });
    expect(decodeMessage('m', bytes('{"a":1}'), 3)).toMatchObject({ code: 'MESSAGE_TOO_LARGE' });
    expect(decodeMessage('m', bytes('nope'), 100)).toMatchObject({ code: 'MESSAGE_INVALID', reason: expect.stringMatching(/not JSON/) });
    expect(decodeMessage('m', bytes(`${'['.repeat(65)}${']'.repeat(65)}`), 1000)).toMatchObject({ code: 'MESSAGE_INVALID', reason: expect.stringMatching(/deeper than 64/) });
  });
});

describe('boundedHeaders', () => {
  it('lower-cases names, keeps the first value and drops headers past the bound', () => {
    const many = Array.from({ length: MAX_HEADERS + 10 }, (_, i): [string, string] => [`h${i}`, 'v']);
    expect(boundedHeaders([['X-A', '1'], ['x-a', '2']])).toEqual({ 'x-a': '1' });
    expect(Object.keys(boundedHeaders(many))).toHaveLength(MAX_HEADERS);
    expect(boundedHeaders([['big', 'x'.repeat(10_000)]]).big).toHaveLength(4096);
  });
});

describe('settleMessage', () => {
  const handler = (onMessage: MessageHandler['onMessage'], refused: RefusedMessage[] = []): MessageHandler => ({
    onMessage,
    onRefused: async (_trigger, refusal) => void refused.push(refusal),
  });
  const delivery = (text: string) => ({ id: 'kafka:t:0:1', payload: bytes(text), headers: {} });

  it('acknowledges a started, ignored or refused message', async () => {
    const outcomes: MessageOutcome[] = [{ outcome: 'started', runIds: ['r'] }, { outcome: 'ignored' }, { outcome: 'refused', code: 'RATE_LIMITED', reason: 'slow down' }];
    for (const outcome of outcomes) {
      expect(await settleMessage(handler(async () => outcome), trigger, delivery('{}'), 100)).toEqual({ ack: true, outcome: outcome.outcome });
    }
  });

  it('acknowledges a poison message once it is recorded, without handing it on', async () => {
    const refused: RefusedMessage[] = [];
    const settlement = await settleMessage(handler(async () => expect.fail('handed on'), refused), trigger, delivery('{'), 100);
    expect(settlement).toEqual({ ack: true, outcome: 'poison' });
    expect(refused).toEqual([expect.objectContaining({ id: 'kafka:t:0:1', code: 'MESSAGE_INVALID' })]);
  });

  it('acknowledges a permanent refusal once recorded, and leaves a transient failure or an unrecorded refusal for redelivery', async () => {
    const refused: RefusedMessage[] = [];
    const denied = await settleMessage(handler(async () => Promise.reject(new MaestroError('RUNBOOK_NOT_ALLOWED', 'no')), refused), trigger, delivery('{}'), 100);
    expect(denied).toEqual({ ack: true, outcome: 'refused' });
    expect(refused[0]?.code).toBe('RUNBOOK_NOT_ALLOWED');
    const down = await settleMessage(handler(async () => Promise.reject(new Error('14 UNAVAILABLE: connection refused'))), trigger, delivery('{}'), 100);
    expect(down).toMatchObject({ ack: false, outcome: 'retry' });
    const auditDown: MessageHandler = { onMessage: async () => expect.fail('handed on'), onRefused: async () => Promise.reject(new MaestroError('AUDIT_UNAVAILABLE', 'down')) };
    expect(await settleMessage(auditDown, trigger, delivery('nope'), 100)).toMatchObject({ ack: false, outcome: 'retry' });
  });
});
