/**
 * connectors/kafka.publish against a real single-node Kafka (KRaft).
 */
import kafkajs from 'kafkajs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { kafkaPublish } from '../../src/tasks/index.js';
import { closedPort, readKafkaTopic, startBlackHole, startKafka, type BlackHolePeer, type KafkaPeer } from '../peers/index.js';
import { expectCancelled, runTask, taskFailure } from './helpers.js';

let kafka: KafkaPeer;
let hole: BlackHolePeer;
let admin: kafkajs.Admin;

beforeAll(async () => {
  [kafka, hole] = await Promise.all([startKafka(), startBlackHole()]);
  admin = new kafkajs.Kafka({ brokers: kafka.brokers, logLevel: kafkajs.logLevel.NOTHING }).admin();
  await admin.connect();
  await admin.createTopics({ topics: [{ topic: 'orders', numPartitions: 2 }], waitForLeaders: true });
}, 180_000);

afterAll(async () => {
  await admin?.disconnect();
  await Promise.all([kafka?.stop(), hole?.stop()]);
});

const readTopic = (topic: string, expected: number) => readKafkaTopic(kafka.brokers, topic, expected);

describe('connectors/kafka.publish', () => {
  it('publishes messages that are really on the topic, with keys and headers', async () => {
    const output = await runTask(kafkaPublish, {
      brokers: kafka.brokers,
      topic: 'orders',
      messages: [
        { key: 'o-1', value: { id: 1 }, headers: { source: 'maestro' } },
        { key: 'o-2', value: 'plain text' },
      ],
    });
    expect(output.count).toBe(2);
    expect(output.offsets.length).toBeGreaterThan(0);
    const messages = await readTopic('orders', 2);
    expect(messages).toEqual(
      expect.arrayContaining([
        { key: 'o-1', value: '{"id":1}', headers: { source: 'maestro' } },
        { key: 'o-2', value: 'plain text', headers: {} },
      ]),
    );
  });

  it('creates a topic on first publish when the broker allows it', async () => {
    await runTask(kafkaPublish, { brokers: kafka.brokers, topic: 'auto-created', messages: [{ value: 'first' }] });
    expect(await readTopic('auto-created', 1)).toEqual([{ key: null, value: 'first', headers: {} }]);
  });

  it.each([
    ['a broker without a port', { brokers: ['kafka'] }, 'brokers[0]: must match pattern'],
    ['an invalid topic name', { topic: 'bad topic!' }, 'topic: must match pattern'],
    ['an unknown acks value', { acks: 2 }, 'acks: must be equal to one of the allowed values'],
    ['a message without value', { messages: [{ key: 'k' }] }, 'messages[0].value: is required'],
  ])('refuses %s before connecting', async (_, change, message) => {
    const before = hole.accepted();
    const error = await taskFailure(runTask(kafkaPublish, { brokers: [hole.address], topic: 'orders', messages: [{ value: 'x' }], ...change }));
    expect(error.code).toBe('TASK_INPUT_INVALID');
    expect(error.message).toContain(message);
    expect(hole.accepted()).toBe(before);
  });

  it('reports an unreachable broker as PEER_UNAVAILABLE, retryable', async () => {
    const error = await taskFailure(runTask(kafkaPublish, { brokers: [`127.0.0.1:${await closedPort()}`], topic: 'orders', messages: [{ value: 'x' }], timeout: '1s' }));
    expect(error).toMatchObject({ code: 'PEER_UNAVAILABLE', retryable: true, details: { cause: 'ECONNREFUSED' } });
  });

  it('stops with the cancellation reason while the broker does not answer', async () => {
    await expectCancelled((ctx) => runTask(kafkaPublish, { brokers: [hole.address], topic: 'orders', messages: [{ value: 'x' }], timeout: '30s' }, ctx));
  });
});
