/**
 * The message triggers' consumers against real NATS JetStream and a real Kafka broker, with a
 * handler that records what it is given (the trigger path itself is tested end to end in
 * `message-triggers.test.ts`): what is acknowledged and what is redelivered, the message ids a
 * redelivery keeps, poison messages, the in-flight bound, deleted triggers, the egress guard.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import kafkajs from 'kafkajs';
import { connect, headers as natsHeaders, type NatsConnection } from 'nats';
import { EgressPolicy } from '../../src/egress/index.js';
import { createProcessMetrics } from '../../src/telemetry/index.js';
import {
  consumerMetrics,
  startMessageConsumers,
  type MessageConsumers,
  type MessageEvent,
  type MessageHandler,
  type MessageOutcome,
  type MessageTriggerRef,
  type RefusedMessage,
} from '../../src/triggers/consumers/index.js';
import { startCountingProxy, startKafka, startNats, type KafkaPeer, type NatsPeer } from '../peers/index.js';

const LOOPBACK = new EgressPolicy({ allow: { default: ['127.0.0.0/8'] } });
const QUIET = { info: () => undefined, warn: () => undefined };

/** A handler that records every call; `hold` makes a call wait until released (a slow run start). */
class RecordingHandler implements MessageHandler {
  readonly events: MessageEvent[] = [];
  readonly refused: RefusedMessage[] = [];
  inFlight = 0;
  peak = 0;
  holdMs = 0;
  /** While set, calls never return: the process "dies" before the ack. */
  hang = false;

  async onMessage(_trigger: MessageTriggerRef, event: MessageEvent): Promise<MessageOutcome> {
    this.events.push(event);
    this.inFlight += 1;
    this.peak = Math.max(this.peak, this.inFlight);
    try {
      if (this.hang) await new Promise(() => undefined);
      if (this.holdMs > 0) await new Promise((resolve) => setTimeout(resolve, this.holdMs));
      return { outcome: 'started', runIds: [`run-for-${event.id}`] };
    } finally {
      this.inFlight -= 1;
    }
  }

  async onRefused(_trigger: MessageTriggerRef, refusal: RefusedMessage): Promise<void> {
    this.refused.push(refusal);
  }
}

async function until(check: () => boolean | Promise<boolean>, ms = 15_000): Promise<void> {
  const deadline = Date.now() + ms;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error('condition not met in time');
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

function consumers(triggers: () => MessageTriggerRef[], handler: MessageHandler, extra: Partial<Parameters<typeof startMessageConsumers>[0]> = {}): Promise<MessageConsumers> {
  return startMessageConsumers({
    list: async () => triggers(),
    handler,
    egress: LOOPBACK,
    settings: { triggerPollMs: 200, triggerAckWaitMs: 1_000, triggerMaxInFlight: 4, triggerMessageMaxBytes: 1024 },
    stopGraceMs: 200,
    log: QUIET,
    ...extra,
  });
}

describe('NATS JetStream message triggers', () => {
  let nats: NatsPeer;
  let nc: NatsConnection;
  let streamCount = 0;

  beforeAll(async () => {
    nats = await startNats();
    nc = await connect({ servers: nats.url });
  }, 60_000);
  afterAll(async () => {
    await nc?.close();
    await nats?.stop();
  });

  /** A fresh stream and a trigger on it. */
  async function natsTrigger(namespace = 'default', url = nats.url): Promise<MessageTriggerRef> {
    streamCount += 1;
    const stream = `S${streamCount}`;
    const subject = `orders${streamCount}.created`;
    await (await nc.jetstreamManager()).streams.add({ name: stream, subjects: [subject] });
    return { namespace, name: `orders-${streamCount}`, source: { nats: { url, stream, subject, durable: `maestro-${streamCount}` } } };
  }

  async function publish(trigger: MessageTriggerRef, data: string, msgId?: string): Promise<void> {
    const { subject } = (trigger.source as { nats: { subject: string } }).nats;
    const headers = natsHeaders();
    headers.set('X-Tenant', 'acme');
    await nc.jetstream().publish(subject, new TextEncoder().encode(data), { headers, ...(msgId ? { msgID: msgId } : {}) });
  }

  it('hands a message to the trigger path once, with its Nats-Msg-Id as id and its headers, and acknowledges it', async () => {
    const trigger = await natsTrigger();
    const handler = new RecordingHandler();
    const process = createProcessMetrics();
    const running = await consumers(() => [trigger], handler, { metrics: consumerMetrics(process) });
    try {
      await publish(trigger, JSON.stringify({ order: 42 }), 'order-42');
      await until(() => handler.events.length === 1);
      expect(handler.events[0]).toMatchObject({ id: 'nats:S1:order-42', body: { order: 42 }, headers: { 'x-tenant': 'acme', 'nats-msg-id': 'order-42' } });
      await until(async () => (await running.consumer('default/orders-1')?.lag()) === 0);
      await running.reconcile();
      const text = await process.text();
      expect(text).toMatch(/maestro_trigger_consumer_lag\{trigger="default\/orders-1",source="nats"[^}]*\} 0/);
      expect(text).toMatch(/maestro_trigger_messages_total\{trigger="default\/orders-1",outcome="started"[^}]*\} 1/);
      // Acknowledged: nothing comes again after the ack wait.
      await new Promise((resolve) => setTimeout(resolve, 1_500));
      expect(handler.events).toHaveLength(1);
    } finally {
      await running.stop();
      await process.shutdown();
    }
  });

  it('redelivers a message whose consumer stopped before the ack, under the same id, to the next consumer', async () => {
    const trigger = await natsTrigger();
    const handler = new RecordingHandler();
    handler.hang = true;
    const first = await consumers(() => [trigger], handler);
    await publish(trigger, '{"n":1}');
    await until(() => handler.events.length === 1);
    await first.stop(); // gives up after 200 ms: the message stays unacknowledged
    handler.hang = false;
    const second = await consumers(() => [trigger], handler);
    try {
      await until(() => handler.events.length === 2);
      expect(handler.events[1]?.id).toBe(handler.events[0]?.id);
      expect(handler.events[0]?.id).toMatch(/^nats:S\d+:seq:1$/);
      await until(async () => (await second.consumer(`default/${trigger.name}`)?.lag()) === 0);
    } finally {
      await second.stop();
    }
  });

  it('acknowledges and records as refused a message that is not JSON, too deep or too large, and never hands it on', async () => {
    const trigger = await natsTrigger();
    const handler = new RecordingHandler();
    const running = await consumers(() => [trigger], handler);
    try {
      await publish(trigger, 'not json');
      await publish(trigger, `${'['.repeat(100)}${']'.repeat(100)}`);
      await publish(trigger, JSON.stringify({ pad: 'x'.repeat(2_000) }));
      await until(() => handler.refused.length === 3);
      expect(handler.refused.map((r) => r.code)).toEqual(['MESSAGE_INVALID', 'MESSAGE_INVALID', 'MESSAGE_TOO_LARGE']);
      await until(async () => (await running.consumer(`default/${trigger.name}`)?.lag()) === 0);
      await new Promise((resolve) => setTimeout(resolve, 1_500));
      expect(handler.events).toHaveLength(0);
      expect(handler.refused).toHaveLength(3);
    } finally {
      await running.stop();
    }
  });

  it('handles at most MAESTRO_TRIGGER_MAX_IN_FLIGHT messages at once', async () => {
    const trigger = await natsTrigger();
    const handler = new RecordingHandler();
    handler.holdMs = 150;
    const running = await consumers(() => [trigger], handler);
    try {
      for (let i = 0; i < 20; i += 1) await publish(trigger, JSON.stringify({ i }));
      await until(() => handler.events.length === 20);
      expect(handler.peak).toBe(4);
      expect(running.consumer(`default/${trigger.name}`)?.peakInFlight).toBe(4);
    } finally {
      await running.stop();
    }
  });

  it('stops consuming a deleted trigger and starts consuming a new one at the next poll', async () => {
    const trigger = await natsTrigger();
    const handler = new RecordingHandler();
    let listed: MessageTriggerRef[] = [];
    const running = await consumers(() => listed, handler);
    try {
      await publish(trigger, '{"before":true}');
      listed = [trigger];
      await until(() => handler.events.length === 1);
      listed = [];
      await until(() => running.consumer(`default/${trigger.name}`) === undefined);
      await publish(trigger, '{"after":true}');
      await new Promise((resolve) => setTimeout(resolve, 1_000));
      expect(handler.events.map((e) => e.body)).toEqual([{ before: true }]);
    } finally {
      await running.stop();
    }
  });

  it("refuses a server the namespace's egress allow-list does not name: the server gets no connection", async () => {
    const proxy = await startCountingProxy({ port: nats.port });
    try {
      const trigger = await natsTrigger('sandbox', `nats://127.0.0.1:${proxy.port}`);
      const warnings: string[] = [];
      const handler = new RecordingHandler();
      const running = await consumers(() => [trigger], handler, { log: { info: () => undefined, warn: (message, fields) => warnings.push(`${message} ${JSON.stringify(fields)}`) } });
      try {
        expect(running.consumer(`sandbox/${trigger.name}`)).toBeUndefined();
        expect(warnings.join('\n')).toMatch(/cannot start.*EGRESS_DENIED|cannot start.*egress/is);
        expect(proxy.connections).toBe(0);
      } finally {
        await running.stop();
      }
    } finally {
      await proxy.stop();
    }
  });
});

describe('Kafka message triggers', () => {
  let kafka: KafkaPeer;
  let producer: kafkajs.Producer;
  let topics = 0;

  beforeAll(async () => {
    kafka = await startKafka();
    producer = new kafkajs.Kafka({ brokers: kafka.brokers, logLevel: kafkajs.logLevel.NOTHING }).producer();
    await producer.connect();
  }, 120_000);
  afterAll(async () => {
    await producer?.disconnect();
    await kafka?.stop();
  });

  function kafkaTrigger(): MessageTriggerRef {
    topics += 1;
    return { namespace: 'default', name: `events-${topics}`, source: { kafka: { brokers: kafka.brokers, topic: `events-${topics}`, groupId: `maestro-${topics}` } } };
  }

  const send = (trigger: MessageTriggerRef, value: string) =>
    producer.send({ topic: (trigger.source as { kafka: { topic: string } }).kafka.topic, messages: [{ value, headers: { 'X-Tenant': 'acme' } }] });

  it('hands a record to the trigger path once, with its topic, partition and offset as id, and commits past it', async () => {
    const trigger = kafkaTrigger();
    await send(trigger, JSON.stringify({ order: 7 }));
    const handler = new RecordingHandler();
    const running = await consumers(() => [trigger], handler);
    try {
      await until(() => handler.events.length === 1, 60_000);
      expect(handler.events[0]).toMatchObject({ id: `kafka:${trigger.name}:0:0`, body: { order: 7 }, headers: { 'x-tenant': 'acme' } });
      await until(async () => (await running.consumer(`default/${trigger.name}`)?.lag()) === 0);
    } finally {
      await running.stop();
    }
  }, 90_000);

  it('hands a record again, under the same id, when its consumer stopped before committing it', async () => {
    const trigger = kafkaTrigger();
    const handler = new RecordingHandler();
    handler.hang = true;
    const first = await consumers(() => [trigger], handler);
    await send(trigger, '{"n":1}');
    await until(() => handler.events.length === 1, 60_000);
    await first.stop();
    handler.hang = false;
    const second = await consumers(() => [trigger], handler);
    try {
      await until(() => handler.events.length === 2, 60_000);
      expect(handler.events[1]?.id).toBe(handler.events[0]?.id);
      await until(async () => (await second.consumer(`default/${trigger.name}`)?.lag()) === 0);
    } finally {
      await second.stop();
    }
  }, 120_000);
});
