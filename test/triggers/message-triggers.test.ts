/**
 * Message triggers end to end: real NATS JetStream and Kafka, the real trigger path (`fireTrigger`:
 * filter, inputs, dedup on the message id, audit, `startRunbook`) against the real API's store,
 * Temporal and worker. A message starts one run; a redelivery (the consumer stopped before its
 * ack) starts none; a message the filter refuses is acknowledged and starts nothing.
 */
import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import kafkajs from 'kafkajs';
import { connect, headers, type NatsConnection } from 'nats';
import { loadCatalog } from '../../src/tasks/index.js';
import { egressPolicyOf } from '../../src/tasks/index.js';
import { runMessageTriggers, saveTrigger, startMessageConsumers, triggerMessageHandler, type MessageHandler, type MessageTriggerRef, type RunningMessageTriggers, type TriggerContext } from '../../src/triggers/index.js';
import { startKafka, startNats, type KafkaPeer, type NatsPeer } from '../peers/index.js';
import { manifest, startHarness, type Harness } from '../api/harness.js';
import { processMetrics } from '../../src/telemetry/index.js';
import { runInput } from '../../src/runs/index.js';

let h: Harness;
let nats: NatsPeer;
let nc: NatsConnection;
let kafka: KafkaPeer;
let context: TriggerContext;
const QUIET = { info: () => undefined, warn: () => undefined };
const RUNBOOK = `on-order-${randomUUID().slice(0, 8)}`;
/**
 * The namespace the shipped policy data lets run `testing` workflows (`runMessageTriggers` decides
 * with the real policy, as the worker does); names carry {@link SUFFIX}, since other test files
 * share the Temporal server.
 */
const NS = 'default';
const SUFFIX = randomUUID().slice(0, 8);

async function until<T>(check: () => Promise<T | undefined> | T | undefined, ms = 30_000): Promise<T> {
  const deadline = Date.now() + ms;
  for (;;) {
    const value = await check();
    if (value !== undefined && value !== false) return value;
    if (Date.now() > deadline) throw new Error('condition not met in time');
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}

/** The runs in the harness's namespace started by `trigger` (the list has no `startedBy`: each run's detail has). */
async function runsOf(trigger: string): Promise<{ runId: string; startedBy: string }[]> {
  const res = await h.call('GET', `/runs?namespace=${NS}&workflowRef=order-received-${SUFFIX}@1.0.0&limit=100`, { token: 'admin' });
  expect(res.status).toBe(200);
  const runs = await Promise.all((res.body.items as { runId: string }[]).map(async ({ runId }) => (await h.call('GET', `/runs/${runId}`, { token: 'admin' })).body as { runId: string; startedBy: string }));
  return runs.filter((run) => run.startedBy === `trigger:${NS}/${trigger}`);
}

/** Saves a message trigger acting for an on-call operator allow-listed for the runbook. */
async function messageTrigger(name: string, source: Record<string, unknown>): Promise<MessageTriggerRef> {
  await saveTrigger(
    { store: h.store, auditLog: h.auditLog },
    {
      namespace: NS,
      name,
      mode: 'create',
      principal: { subject: 'oncall', roles: ['sre', 'operator'], namespaces: [NS] },
      body: { runbook: RUNBOOK, source, filter: 'body.kind == "order"', inputs: { order: 'body.order' } },
    },
  );
  return { namespace: NS, name, source: source as MessageTriggerRef['source'] };
}

beforeAll(async () => {
  [h, nats, kafka] = await Promise.all([
    startHarness({ config: { egressAllow: { [NS]: ['127.0.0.0/8'] }, triggerPollMs: 200, triggerAckWaitMs: 1_000 } }),
    startNats(),
    startKafka(),
  ]);
  nc = await connect({ servers: nats.url });
  const workflow = await h.register(
    manifest('    - { id: first, uses: tasks/wait.sleep@0.1.0, with: { duration: 1ms } }', { name: `order-received-${SUFFIX}`, parameters: '    - { name: order, type: integer, required: true }' }),
    NS,
  );
  const runbook = [
    'apiVersion: maestro/v1',
    'kind: Runbook',
    `metadata: { name: ${RUNBOOK}, namespace: ${NS}, version: 1.0.0, allowList: { roles: [sre] } }`,
    'spec:',
    '  inputs: [{ name: order, type: integer, required: true }]',
    `  workflowRef: ${workflow.name}@${workflow.version}`,
    '  params: { order: "${inputs.order}" }',
  ].join('\n');
  expect((await h.call('POST', '/runbooks', { yaml: runbook, token: 'admin' })).status).toBe(201);
  context = { client: h.client, store: h.store, auditLog: h.auditLog, taskQueue: h.config.taskQueue, runLimits: {}, payloadCodec: h.payloadCodec, catalog: await loadCatalog(h.config) };
}, 180_000);

afterAll(async () => {
  await nc?.close();
  await Promise.all([h?.close(), nats?.stop(), kafka?.stop()]);
});

/** A handler that starts the run of its first message, then never acknowledges it: the process "dies" between start and ack. */
function dyingAfterStart(real: MessageHandler, started: string[][]): MessageHandler {
  return {
    onRefused: (trigger, refusal) => real.onRefused(trigger, refusal),
    async onMessage(trigger, event) {
      const outcome = await real.onMessage(trigger, event);
      if (outcome.outcome === 'started') started.push(outcome.runIds);
      return new Promise(() => undefined);
    },
  };
}

describe('NATS JetStream', () => {
  it('starts one run per message for the recorded principal, and acknowledges a message the filter ignores without a run', async () => {
    await (await nc.jetstreamManager()).streams.add({ name: 'ORDERS', subjects: ['orders.>'] });
    await messageTrigger(`nats-orders-${SUFFIX}`, { nats: { url: nats.url, stream: 'ORDERS', subject: 'orders.created', durable: 'maestro-orders' } });
    const running: RunningMessageTriggers = await runMessageTriggers(h.config, { log: QUIET });
    const endpoint = await processMetrics().listen('127.0.0.1', 0);
    try {
      const js = nc.jetstream();
      // The producer's trace context (as Maestro's own nats.publish sends it) parents the run.
      const traced = headers();
      traced.set('traceparent', '00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01');
      await js.publish('orders.created', JSON.stringify({ kind: 'order', order: 42 }), { msgID: 'order-42', headers: traced });
      await js.publish('orders.created', JSON.stringify({ kind: 'refund', order: 43 }));
      const [run] = await until(async () => {
        const runs = await runsOf(`nats-orders-${SUFFIX}`);
        return runs.length > 0 ? runs : undefined;
      });
      const detail = await h.waitRun(run?.runId ?? '', (r) => r.status === 'SUCCEEDED');
      expect(detail.params).toEqual({ order: 42 });
      const input = await runInput(h.client, run?.runId ?? '');
      expect([input.traceId, input.traceParent]).toEqual(['4bf92f3577b34da6a3ce929d0e0e4736', '00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01']);
      // Both acknowledged: nothing waits, and the ignored one started nothing.
      const metricsUrl = endpoint.url;
      await until(async () => /maestro_trigger_consumer_lag\{[^}]*trigger="[^"]*nats-orders-[^"]*"[^}]*\} 0/.test(await (await fetch(`${metricsUrl}/metrics`)).text()));
      const text = await (await fetch(`${metricsUrl}/metrics`)).text();
      expect(text).toMatch(/maestro_trigger_messages_total\{[^}]*nats-orders-[^}]*outcome="started"[^}]*\} 1/);
      expect(text).toMatch(/maestro_trigger_messages_total\{[^}]*nats-orders-[^}]*outcome="ignored"[^}]*\} 1/);
      expect(await runsOf(`nats-orders-${SUFFIX}`)).toHaveLength(1);
      const audit = await h.call('GET', '/audit?limit=100', { token: 'admin' });
      expect(audit.status).toBe(200);
      const records = audit.body.items as { kind: string; result: string; details?: { trigger?: string } }[];
      expect(records.filter((r) => r.kind === 'trigger' && r.details?.trigger === `nats-orders-${SUFFIX}`).map((r) => r.result)).toEqual(['create', 'fire']);
    } finally {
      await running.stop();
      await endpoint.close();
    }
  });

  it('starts no second run when the message is redelivered because its consumer stopped between the start and the ack', async () => {
    await (await nc.jetstreamManager()).streams.add({ name: 'PAYMENTS', subjects: ['payments.>'] });
    const trigger = await messageTrigger(`nats-payments-${SUFFIX}`, { nats: { url: nats.url, stream: 'PAYMENTS', subject: 'payments.received', durable: 'maestro-payments' } });
    const real = triggerMessageHandler(context);
    const started: string[][] = [];
    const options = { list: async () => [trigger], egress: egressPolicyOf(h.config), settings: h.config, stopGraceMs: 200, log: QUIET };
    const dying = await startMessageConsumers({ ...options, handler: dyingAfterStart(real, started) });
    await nc.jetstream().publish('payments.received', JSON.stringify({ kind: 'order', order: 7 }));
    await until(() => started.length === 1 || undefined);
    await dying.stop();
    const outcomes: unknown[] = [];
    const next = await startMessageConsumers({ ...options, handler: { ...real, onMessage: async (t, e) => outcomes[outcomes.push(await real.onMessage(t, e)) - 1] as never } });
    try {
      await until(() => outcomes.length === 1 || undefined);
      expect(outcomes[0]).toEqual({ outcome: 'duplicate', runIds: started[0] });
      await until(async () => ((await next.consumer(`${NS}/nats-payments-${SUFFIX}`)?.lag()) === 0 ? true : undefined));
      const runs = await until(async () => {
        const found = await runsOf(`nats-payments-${SUFFIX}`);
        return found.length > 0 ? found : undefined;
      });
      expect(runs.map((r) => r.runId)).toEqual(started[0]);
    } finally {
      await next.stop();
    }
  });
});

describe('Kafka', () => {
  it('starts one run per record, and none again when the record is fetched again after its consumer stopped before committing', async () => {
    const producer = new kafkajs.Kafka({ brokers: kafka.brokers, logLevel: kafkajs.logLevel.NOTHING }).producer();
    await producer.connect();
    const trigger = await messageTrigger(`kafka-orders-${SUFFIX}`, { kafka: { brokers: kafka.brokers, topic: 'orders', groupId: 'maestro-orders' } });
    const real = triggerMessageHandler(context);
    const started: string[][] = [];
    const options = { list: async () => [trigger], egress: egressPolicyOf(h.config), settings: h.config, stopGraceMs: 200, log: QUIET };
    try {
      await producer.send({ topic: 'orders', messages: [{ value: JSON.stringify({ kind: 'order', order: 9 }) }, { value: JSON.stringify({ kind: 'audit' }) }] });
      const dying = await startMessageConsumers({ ...options, handler: dyingAfterStart(real, started) });
      await until(() => started.length === 1 || undefined, 60_000);
      await dying.stop();
      const next = await startMessageConsumers({ ...options, handler: real });
      try {
        await until(async () => ((await next.consumer(`${NS}/kafka-orders-${SUFFIX}`)?.lag()) === 0 ? true : undefined), 60_000);
        const runs = await until(async () => {
          const found = await runsOf(`kafka-orders-${SUFFIX}`);
          return found.length > 0 ? found : undefined;
        });
        expect(runs.map((r) => r.runId)).toEqual(started[0]);
        const detail = await h.waitRun(runs[0]?.runId ?? '', (r) => r.status === 'SUCCEEDED');
        expect(detail.params).toEqual({ order: 9 });
      } finally {
        await next.stop();
      }
    } finally {
      await producer.disconnect();
    }
  }, 120_000);
});
