/**
 * connectors/nats.publish against a real nats-server with JetStream.
 */
import { connect, StringCodec, type NatsConnection } from 'nats';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { natsPublish } from '../../src/tasks/index.js';
import { peerContext } from '../helpers/egress.js';
import { closedPort, startBlackHole, startNats, type BlackHolePeer, type NatsPeer } from '../peers/index.js';
import { expectCancelled, runTask, taskFailure } from './helpers.js';

let nats: NatsPeer;
let hole: BlackHolePeer;
let nc: NatsConnection;
const sc = StringCodec();

beforeAll(async () => {
  [nats, hole] = await Promise.all([startNats(), startBlackHole()]);
  nc = await connect({ servers: nats.url });
  await (await nc.jetstreamManager()).streams.add({ name: 'ORDERS', subjects: ['orders.>'] });
});

afterAll(async () => {
  await nc?.close();
  await Promise.all([nats?.stop(), hole?.stop()]);
});

/** Collects what arrives on `subject` while `act` runs. */
async function received(subject: string, act: () => Promise<unknown>): Promise<string[]> {
  const sub = nc.subscribe(subject);
  await nc.flush();
  await act();
  await nc.flush();
  sub.unsubscribe();
  const messages: string[] = [];
  for await (const m of sub) messages.push(sc.decode(m.data));
  return messages;
}

describe('connectors/nats.publish', () => {
  it('publishes core NATS messages that subscribers receive, in order', async () => {
    const messages = await received('greetings', () =>
      runTask(natsPublish, { servers: nats.url, subject: 'greetings', messages: [{ data: 'hello' }, { data: { n: 2 } }] }),
    );
    expect(messages).toEqual(['hello', '{"n":2}']);
  });

  it('publishes through JetStream and returns the stream acks; msgId de-duplicates', async () => {
    const input = { servers: [nats.url], subject: 'orders.created', jetstream: true, messages: [{ data: { id: 1 }, msgId: 'o-1' }, { data: { id: 2 }, msgId: 'o-2' }] };
    const first = await runTask(natsPublish, input);
    expect(first).toMatchObject({ count: 2, acks: [{ stream: 'ORDERS', duplicate: false }, { stream: 'ORDERS', duplicate: false }] });
    const again = await runTask(natsPublish, input);
    expect(again.acks?.every((ack) => ack.duplicate)).toBe(true);
    const info = await (await nc.jetstreamManager()).streams.info('ORDERS');
    expect(info.state.messages).toBe(2);
  });

  it('fails without retry when no stream captures a JetStream subject', async () => {
    const error = await taskFailure(runTask(natsPublish, { servers: nats.url, subject: 'nostream.x', jetstream: true, messages: [{ data: 'x' }] }));
    expect(error).toMatchObject({ code: 'TASK_FAILED', retryable: false });
    expect(error.message).toContain('no JetStream stream captures subject nostream.x');
  });

  it.each([
    ['a wildcard subject', { subject: 'orders.*' }, 'subject: must match pattern'],
    ['no messages', { messages: [] }, 'messages: must NOT have fewer than 1 items'],
    ['a message without data', { messages: [{ headers: {} }] }, 'messages[0].data: is required'],
    ['a bad timeout', { timeout: 'soon' }, 'timeout'],
  ])('refuses %s before connecting', async (_, change, message) => {
    const before = (await (await nc.jetstreamManager()).streams.info('ORDERS')).state.messages;
    const error = await taskFailure(runTask(natsPublish, { servers: nats.url, subject: 'orders.bad', messages: [{ data: 1 }], ...change }));
    expect(error.code).toBe('TASK_INPUT_INVALID');
    expect(error.message).toContain(message);
    expect((await (await nc.jetstreamManager()).streams.info('ORDERS')).state.messages).toBe(before);
  });

  it('reports an unreachable server as PEER_UNAVAILABLE, retryable', async () => {
    const error = await taskFailure(runTask(natsPublish, { servers: `nats://127.0.0.1:${await closedPort()}`, subject: 'x', messages: [{ data: 1 }] }));
    expect(error).toMatchObject({ code: 'PEER_UNAVAILABLE', retryable: true });
  });

  it('stops with the cancellation reason while connecting to a server that never answers', async () => {
    await expectCancelled((ctx) => runTask(natsPublish, { servers: `nats://${hole.address}`, subject: 'x', messages: [{ data: 1 }], timeout: '30s' }, ctx));
  });

  it('passes a token from a secret and never logs it', async () => {
    const ctx = peerContext({ secrets: { NATS_TOKEN: 'tok-s3cr3t' } });
    // This server has no auth: it accepts any token; what matters is the secret is resolved and unlogged.
    await runTask(natsPublish, { servers: nats.url, subject: 'greetings', messages: [{ data: 'x' }], tokenSecret: 'NATS_TOKEN' }, ctx);
    expect(JSON.stringify(ctx.logs)).not.toContain('tok-s3cr3t');
  });
});
