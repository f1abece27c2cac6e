/**
 * The JetStream consumer of one message trigger: a durable pull consumer with explicit acks on the
 * trigger's stream, filtered on its subject. A message is acknowledged only once its run has started
 * (or it was deliberately ignored or refused, see `settleMessage`); anything else is left
 * unacknowledged (nak with a delay) and JetStream redelivers it. At most `maxInFlight` messages are
 * in flight: the durable's `max_ack_pending` (created so) and the client's pull size both say so.
 * The server's address goes through the egress guard of the trigger's namespace.
 */
import { AckPolicy, connect, DeliverPolicy, nanos, NatsError, type ConsumerMessages, type JsMsg, type NatsConnection } from 'nats';
import type { EgressGuard } from '../../egress/index.js';
import { checkedNatsServers } from '../../tasks/index.js';
import { InFlight } from './in-flight.js';
import { boundedHeaders, natsMessageId, settleMessage, type MessageHandler, type MessageTriggerRef, type Settlement } from './message.js';

/** The NATS source of a trigger. */
export type NatsSource = Extract<MessageTriggerRef['source'], { nats: unknown }>['nats'];

/** Options of {@link startNatsConsumer}. */
export interface ConsumerOptions {
  handler: MessageHandler;
  /** The egress guard of the trigger's namespace. */
  egress: EgressGuard;
  /** Most messages handled at once. */
  maxInFlight: number;
  /** Largest message payload; a larger one is refused as poison. */
  maxMessageBytes: number;
  /** How long the broker waits for an ack before redelivering (JetStream `ack_wait` of a durable this creates). */
  ackWaitMs: number;
  /** How long a stop waits for messages in flight before leaving them unacknowledged. */
  stopGraceMs: number;
  /** Each message's settlement, for the metrics. */
  onSettled?: (settlement: Settlement) => void;
}

/** A running consumer. */
export interface RunningConsumer {
  /** Messages waiting for this trigger: not yet delivered, or delivered and not acknowledged. */
  lag(): Promise<number>;
  /** The most messages in flight at once so far. */
  readonly peakInFlight: number;
  /** Stops taking messages; those in flight after `stopGraceMs` stay unacknowledged. */
  stop(): Promise<void>;
}

/** Delay of the redelivery of a message whose run could not be started now. */
const RETRY_DELAY_MS = 2_000;

/** NATS' "consumer not found" API error. */
const CONSUMER_NOT_FOUND = 10014;

/**
 * Connects through the egress guard, makes sure the durable consumer exists (creating it with
 * explicit acks, the subject as filter and `max_ack_pending` = `maxInFlight`), and consumes.
 * @throws when the server cannot be reached, the guard refuses it, or the stream does not exist.
 */
export async function startNatsConsumer(trigger: MessageTriggerRef, source: NatsSource, options: ConsumerOptions): Promise<RunningConsumer> {
  const { handler, maxInFlight, maxMessageBytes, stopGraceMs } = options;
  const nc: NatsConnection = await connect({
    servers: await checkedNatsServers([source.url], options.egress),
    // Servers the cluster advertises were never checked: reconnect only to the checked one.
    ignoreClusterUpdates: true,
    name: `maestro-trigger ${trigger.namespace}/${trigger.name}`,
    timeout: 5_000,
    reconnect: true,
    maxReconnectAttempts: -1,
    reconnectTimeWait: 1_000,
  });
  let messages: ConsumerMessages | undefined;
  try {
    const jsm = await nc.jetstreamManager();
    try {
      await jsm.consumers.info(source.stream, source.durable);
    } catch (error) {
      if (!(error instanceof NatsError && error.api_error?.err_code === CONSUMER_NOT_FOUND)) throw error;
      await jsm.consumers.add(source.stream, {
        durable_name: source.durable,
        ack_policy: AckPolicy.Explicit,
        deliver_policy: DeliverPolicy.All,
        filter_subject: source.subject,
        max_ack_pending: maxInFlight,
        ack_wait: nanos(options.ackWaitMs),
      });
    }
    const consumer = await nc.jetstream().consumers.get(source.stream, source.durable);
    messages = await consumer.consume({ max_messages: maxInFlight });
    const inFlight = new InFlight(maxInFlight);
    /** Set once a stop has given up on what is still in flight: that stays unacknowledged. */
    let stopping = false;
    /** The in-progress signals of the messages in flight, which a stop ends. */
    const working = new Set<NodeJS.Timeout>();
    const settle = async (message: JsMsg): Promise<void> => {
      const id = natsMessageId(source.stream, message.seq, message.headers?.get('Nats-Msg-Id'));
      const headers = boundedHeaders(message.headers ? [...message.headers.keys()].map((name): [string, string] => [name, message.headers?.get(name) ?? '']) : []);
      // A run start may outlast the ack wait (a cold worker, a slow policy): tell JetStream the message
      // is in progress, so it is not redelivered to another consumer meanwhile.
      const progress = setInterval(() => message.working(), Math.max(500, options.ackWaitMs / 3));
      working.add(progress);
      let settlement: Settlement;
      try {
        settlement = await settleMessage(handler, trigger, { id, payload: message.data, headers }, maxMessageBytes);
      } finally {
        clearInterval(progress);
        working.delete(progress);
      }
      if (stopping) return;
      // The client queues acks while it reconnects; on a closed connection one is lost, and the
      // message is redelivered to the next consumer, which finds its run by the message id.
      if (settlement.ack) message.ack();
      else message.nak(settlement.delayMs ?? RETRY_DELAY_MS);
      options.onSettled?.(settlement);
    };
    const iterable = messages;
    const loop = (async () => {
      for await (const message of iterable) {
        await inFlight.acquire();
        // An ack or nak the client refuses (its connection closed meanwhile) leaves the message to be
        // delivered again: counted as a retry.
        void settle(message)
          .catch((error: unknown) => options.onSettled?.({ ack: false, outcome: 'retry', error }))
          .finally(() => inFlight.release());
      }
    })();
    return {
      lag: async () => {
        const info = await consumer.info();
        return info.num_pending + info.num_ack_pending;
      },
      get peakInFlight() {
        return inFlight.peak;
      },
      stop: async () => {
        await iterable.close();
        await loop.catch(() => undefined);
        await inFlight.idle(stopGraceMs);
        stopping = true;
        for (const progress of working) clearInterval(progress);
        await nc.close();
      },
    };
  } catch (error) {
    await messages?.close();
    await nc.close();
    throw error;
  }
}
