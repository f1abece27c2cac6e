import kafkajs, { type ISocketFactory, type Producer, type SASLOptions } from 'kafkajs';
import type { EgressGuard } from '../egress/index.js';
import { parseDuration } from '../ir/index.js';
import { defineTask, type TaskContext, type TaskLogger } from '../sdk/index.js';
import { withClientSpan, withTraceContext } from '../telemetry/index.js';
import { durationSchema } from './schemas.js';
import { messagingAttributes } from './shared/messaging.js';
import { untilAborted } from './shared/abort.js';
import { destinationHost } from './shared/destination.js';
import { connectorFailure, invalidInput } from './shared/failures.js';
import { secretNameSchema, stringMapSchema } from './shared/schemas.js';

// kafkajs is CommonJS and spreads its error classes into its exports, which Node's ESM loader
// cannot see as named exports: take them from the default export.
const { CompressionTypes, Kafka, KafkaJSError, logLevel, Partitioners } = kafkajs;
type LogLevel = kafkajs.logLevel;

/** One message of `connectors/kafka.publish`. */
export interface KafkaMessage {
  key?: string;
  /** A string is sent as is; any other JSON value as JSON. */
  value: unknown;
  headers?: Record<string, string>;
  partition?: number;
}

/** Input of `connectors/kafka.publish`. */
export interface KafkaPublishInput {
  brokers: string[];
  topic: string;
  messages: KafkaMessage[];
  /** -1: all in-sync replicas; 1: the leader; 0: none. @default -1 */
  acks?: -1 | 0 | 1;
  /** @default 'none' */
  compression?: 'none' | 'gzip';
  /** @default 'maestro' */
  clientId?: string;
  /** @default false */
  ssl?: boolean;
  /** SASL: the password comes from a secret. */
  sasl?: { mechanism: 'plain' | 'scram-sha-256' | 'scram-sha-512'; username: string; passwordSecret: string };
  /** @default '10s' */
  timeout?: string;
}

/** Output of `connectors/kafka.publish`. */
export interface KafkaPublishOutput {
  count: number;
  /** Where the batch landed: per partition, the offset of its first message. */
  offsets: { partition: number; baseOffset: string }[];
}

/**
 * `connectors/kafka.publish`: publishes messages to a Kafka topic with kafkajs, in one produce
 * request per partition, and waits for the acks `acks` asks for. kafkajs' own retries are kept
 * short (the run's retry policy is the retry); an unreachable broker fails the task with
 * `PEER_UNAVAILABLE`, retryable.
 *
 * @example
 * - id: emit
 *   uses: connectors/kafka.publish@0.1.0
 *   with: { brokers: ["kafka:9092"], topic: orders, messages: [{ key: "42", value: { id: 42 } }] }
 */
export const kafkaPublish = defineTask<KafkaPublishInput, KafkaPublishOutput>({
  name: 'connectors/kafka.publish',
  version: '0.1.0',
  description: 'Publishes messages to a Kafka topic (kafkajs) and waits for the requested acks.',
  execution: 'activity',
  input: {
    type: 'object',
    properties: {
      brokers: {
        type: 'array',
        minItems: 1,
        items: { type: 'string', pattern: '^[^\\s:/]+:\\d{1,5}$' },
        description: 'Bootstrap brokers, host:port.',
      },
      topic: { type: 'string', pattern: '^[A-Za-z0-9._-]{1,249}$', description: 'Topic to publish to.' },
      messages: {
        type: 'array',
        minItems: 1,
        maxItems: 10_000,
        description: 'Messages, in order.',
        items: {
          type: 'object',
          properties: {
            key: { type: 'string', description: 'Partitioning key.' },
            value: { description: 'Payload: a string is sent as is; any other JSON value as JSON.' },
            headers: stringMapSchema('Record headers.'),
            partition: { type: 'integer', minimum: 0, description: 'Explicit partition; otherwise by key.' },
          },
          required: ['value'],
          additionalProperties: false,
        },
      },
      acks: { enum: [-1, 0, 1], default: -1, description: '-1: all in-sync replicas; 1: the leader only; 0: no ack.' },
      compression: { enum: ['none', 'gzip'], default: 'none', description: 'Batch compression.' },
      clientId: { type: 'string', minLength: 1, default: 'maestro', description: 'Kafka client id.' },
      ssl: { type: 'boolean', default: false, description: 'Connect with TLS.' },
      sasl: {
        type: 'object',
        properties: {
          mechanism: { enum: ['plain', 'scram-sha-256', 'scram-sha-512'] },
          username: { type: 'string', minLength: 1 },
          passwordSecret: secretNameSchema('Name of the secret holding the SASL password.'),
        },
        required: ['mechanism', 'username', 'passwordSecret'],
        additionalProperties: false,
      },
      timeout: durationSchema('Limit on connecting and on each request. Default 10s.'),
    },
    required: ['brokers', 'topic', 'messages'],
    additionalProperties: false,
  },
  output: {
    type: 'object',
    properties: {
      count: { type: 'integer', minimum: 0, description: 'Messages published.' },
      offsets: {
        type: 'array',
        description: 'Per partition written, the offset of the first message (a decimal string: offsets are 64-bit).',
        items: {
          type: 'object',
          properties: { partition: { type: 'integer' }, baseOffset: { type: 'string' } },
          required: ['partition', 'baseOffset'],
          additionalProperties: false,
        },
      },
    },
    required: ['count', 'offsets'],
    additionalProperties: false,
  },
  validate({ timeout }) {
    if (timeout !== undefined && parseDuration(timeout) === undefined) throw invalidInput('timeout', `"${timeout}" is not a duration`);
  },
  async execute(input, ctx) {
    const { brokers, topic, messages, acks = -1, compression = 'none', clientId = 'maestro', ssl = false } = input;
    const timeoutMs = parseDuration(input.timeout ?? '10s') ?? 10_000;
    const sasl = input.sasl ? await saslOptions(input.sasl, brokers, ctx) : undefined;
    const kafka = new Kafka({
      clientId,
      brokers,
      ssl,
      ...(sasl ? { sasl } : {}),
      connectionTimeout: timeoutMs,
      requestTimeout: timeoutMs,
      retry: { retries: 2, initialRetryTime: 100, maxRetryTime: 1_000 },
      logLevel: logLevel.WARN,
      logCreator: kafkaLogger(ctx.logger),
      socketFactory: guardedKafkaSockets(ctx.egress),
    });
    const producer: Producer = kafka.producer({ createPartitioner: Partitioners.DefaultPartitioner, allowAutoTopicCreation: true });
    const exchange = `publish to Kafka ${brokers.join(',')} topic ${topic}`;
    try {
      return await untilAborted(
        ctx,
        () =>
          withClientSpan(`send ${topic}`, messagingAttributes('kafka', topic, messages.length, brokers), async (trace) => {
            await producer.connect();
            const metadata = await producer.send({
              topic,
              acks,
              timeout: timeoutMs,
              compression: compression === 'gzip' ? CompressionTypes.GZIP : CompressionTypes.None,
              messages: messages.map((m) => {
                const headers = withTraceContext(m.headers, trace);
                return {
                  key: m.key ?? null,
                  value: typeof m.value === 'string' ? m.value : JSON.stringify(m.value),
                  ...(headers ? { headers } : {}),
                  ...(m.partition === undefined ? {} : { partition: m.partition }),
                };
              }),
            });
            ctx.logger.info('published', { topic, count: messages.length });
            return {
              count: messages.length,
              offsets: metadata.map((m) => ({ partition: m.partition, baseOffset: m.baseOffset ?? '-1' })),
            };
          }, { kind: 'producer' }),
        () => producer.disconnect(),
      );
    } catch (error) {
      throw connectorFailure(error, ctx.signal, exchange, { permanent: (e) => rootKafkaError(e)?.retriable === false, egress: ctx.egress });
    } finally {
      // After a cancellation `untilAborted` already released the producer; waiting for it here
      // would hold the cancellation until the hung request times out.
      if (!ctx.signal.aborted) await producer.disconnect();
    }
  },
});

/**
 * Every broker connection (the bootstrap brokers and those the cluster's metadata names) through
 * the egress guard, connected to the checked address; TLS verifies the broker's host name. Message
 * triggers' Kafka consumers connect through it too.
 */
export function guardedKafkaSockets(egress: EgressGuard): ISocketFactory {
  return ({ host, port, ssl, onConnect }) => {
    const tls = ssl ? { ...(typeof ssl === 'object' ? ssl : {}) } : undefined;
    const socket = egress.socket({ host, port, ...(tls ? { tls } : {}) });
    socket.once(tls ? 'secureConnect' : 'connect', onConnect);
    return socket;
  };
}

async function saslOptions(sasl: NonNullable<KafkaPublishInput['sasl']>, brokers: readonly string[], ctx: TaskContext): Promise<SASLOptions> {
  // The bootstrap brokers named here; the brokers they advertise are the cluster's own.
  const password = await ctx.secrets(sasl.passwordSecret, { host: brokers.map(destinationHost) });
  return { mechanism: sasl.mechanism, username: sasl.username, password } as SASLOptions;
}

/** The innermost kafkajs error (retries-exceeded errors wrap the one that decides). */
function rootKafkaError(error: unknown): kafkajs.KafkaJSError | undefined {
  let root: kafkajs.KafkaJSError | undefined;
  for (let current: unknown = error, depth = 0; current instanceof KafkaJSError && depth < 8; depth++) {
    root = current;
    current = current.cause;
  }
  return root;
}

/**
 * Routes kafkajs' log lines into the task log. Its errors are logged as warnings: what fails the
 * task is reported once, by the task's own error.
 */
function kafkaLogger(logger: TaskLogger) {
  return () =>
    ({ level, log }: { level: LogLevel; log: { message: string } & Record<string, unknown> }) => {
      const { message, ...fields } = log;
      if (level <= logLevel.WARN) logger.warn(`kafkajs: ${message}`, fields);
      else logger.debug(`kafkajs: ${message}`, fields);
    };
}
