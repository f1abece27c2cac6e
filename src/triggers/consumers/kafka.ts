/**
 * The Kafka consumer of one message trigger: a member of the trigger's consumer group with automatic
 * commits off. Records are handled `maxInFlight` at a time, and a partition's offset is committed
 * only past records whose runs have started (or that were deliberately ignored or refused, see
 * `settleMessage`); a record that could not be settled stops the batch, the offsets before it are
 * committed, and Kafka hands it out again. Every broker connection (bootstrap and advertised) goes
 * through the egress guard of the trigger's namespace.
 */
import kafkajs, { type Admin, type Consumer, type KafkaMessage } from 'kafkajs';
import { guardedKafkaSockets } from '../../tasks/index.js';
import { InFlight } from './in-flight.js';
import { boundedHeaders, kafkaMessageId, settleMessage, type MessageTriggerRef } from './message.js';
import type { ConsumerOptions, RunningConsumer } from './nats.js';

const { Kafka, logLevel } = kafkajs;

/** The Kafka source of a trigger. */
export type KafkaSource = Extract<MessageTriggerRef['source'], { kafka: unknown }>['kafka'];

/** A record that could not be settled now: the batch stops before it, and it is fetched again. */
class Unsettled extends Error {}

/** Longest wait before a record left for redelivery is fetched again (the group's session must stay alive meanwhile). */
const MAX_RETRY_DELAY_MS = 5_000;
/** Wait before a record whose run could not be started now is fetched again. */
const RETRY_DELAY_MS = 1_000;

function headerEntries(message: KafkaMessage): [string, string][] {
  return Object.entries(message.headers ?? {}).flatMap(([name, value]): [string, string][] => {
    const first = Array.isArray(value) ? value[0] : value;
    return first === undefined ? [] : [[name, first.toString()]];
  });
}

/**
 * Joins the trigger's consumer group through the egress guard and consumes its topic from the
 * group's committed offsets (from the beginning for a new group).
 * @throws when no broker can be reached or the guard refuses them.
 */
export async function startKafkaConsumer(trigger: MessageTriggerRef, source: KafkaSource, options: ConsumerOptions): Promise<RunningConsumer> {
  const { handler, maxInFlight, maxMessageBytes, stopGraceMs } = options;
  const kafka = new Kafka({
    clientId: `maestro-trigger-${trigger.namespace}-${trigger.name}`,
    brokers: source.brokers,
    connectionTimeout: 5_000,
    requestTimeout: 10_000,
    logLevel: logLevel.NOTHING,
    socketFactory: guardedKafkaSockets(options.egress),
  });
  const consumer: Consumer = kafka.consumer({ groupId: source.groupId, maxBytesPerPartition: Math.max(maxMessageBytes * 2, 1_048_576), retry: { retries: 5 } });
  const admin: Admin = kafka.admin();
  const inFlight = new InFlight(maxInFlight);
  /** Rejects the records still in flight once a stop has waited `stopGraceMs`: they stay uncommitted. */
  let abandon: (error: Error) => void = () => undefined;
  const abandoned = new Promise<never>((_, reject) => (abandon = reject));
  // Handled where it is raced; this keeps a stop without records in flight from reporting it unhandled.
  abandoned.catch(() => undefined);
  /** Set by a stop: no new window of records starts. */
  let stopping = false;
  try {
    await consumer.connect();
    await admin.connect();
    await consumer.subscribe({ topic: source.topic, fromBeginning: true });
    await consumer.run({
      autoCommit: false,
      eachBatchAutoResolve: false,
      eachBatch: async ({ batch, resolveOffset, heartbeat, isRunning, isStale }) => {
        const commit = async (offset: string): Promise<void> => {
          resolveOffset(offset);
          await consumer.commitOffsets([{ topic: batch.topic, partition: batch.partition, offset: (BigInt(offset) + 1n).toString() }]);
        };
        for (let start = 0; start < batch.messages.length && !stopping && isRunning() && !isStale(); start += maxInFlight) {
          const window = batch.messages.slice(start, start + maxInFlight);
          const settled = await Promise.all(
            window.map(async (message) => {
              await inFlight.acquire();
              try {
                const delivery = { id: kafkaMessageId(batch.topic, batch.partition, message.offset), payload: message.value ?? Buffer.alloc(0), headers: boundedHeaders(headerEntries(message)) };
                const settlement = await Promise.race([settleMessage(handler, trigger, delivery, maxMessageBytes), abandoned]);
                options.onSettled?.(settlement);
                return settlement.ack ? undefined : Math.min(settlement.delayMs ?? RETRY_DELAY_MS, MAX_RETRY_DELAY_MS);
              } finally {
                inFlight.release();
              }
            }),
          );
          const firstUnsettled = settled.findIndex((delay) => delay !== undefined);
          const done = firstUnsettled === -1 ? window : window.slice(0, firstUnsettled);
          const last = done.at(-1);
          if (last !== undefined) await commit(last.offset);
          if (firstUnsettled !== -1) {
            // Kafka redelivers by fetching again from the committed offset: wait first, so an outage or
            // a rate limit is not met again at once, heartbeating so the group keeps this member.
            await new Promise((resolve) => setTimeout(resolve, settled[firstUnsettled]));
            await heartbeat();
            throw new Unsettled(`record ${window[firstUnsettled]?.offset ?? '?'} of ${batch.topic}/${batch.partition} could not be settled; it is fetched again`);
          }
          await heartbeat();
        }
      },
    });
  } catch (error) {
    await admin.disconnect();
    await consumer.disconnect();
    throw error;
  }
  return {
    lag: async () => {
      const [ends, committed] = await Promise.all([admin.fetchTopicOffsets(source.topic), admin.fetchOffsets({ groupId: source.groupId, topics: [source.topic] })]);
      const at = new Map((committed[0]?.partitions ?? []).map((p) => [p.partition, BigInt(p.offset)]));
      let lag = 0n;
      for (const end of ends) {
        const from = at.get(end.partition) ?? -1n;
        lag += BigInt(end.high) - (from >= 0n ? from : BigInt(end.low));
      }
      return Number(lag);
    },
    get peakInFlight() {
      return inFlight.peak;
    },
    stop: async () => {
      stopping = true;
      if (!(await inFlight.idle(stopGraceMs))) abandon(new Unsettled('the consumer stopped before these records were settled'));
      await consumer.disconnect();
      await admin.disconnect();
    },
  };
}
