import { connect, ErrorCode, headers as natsHeaders, NatsError, type NatsConnection } from 'nats';
import { isIPv6 } from 'node:net';
import type { EgressGuard } from '../egress/index.js';
import { parseDuration } from '../ir/index.js';
import { defineTask, TaskError } from '../sdk/index.js';
import { withClientSpan, withTraceContext, type TraceHeaders } from '../telemetry/index.js';
import { durationSchema } from './schemas.js';
import { messagingAttributes } from './shared/messaging.js';
import { untilAborted } from './shared/abort.js';
import { destinationHost } from './shared/destination.js';
import { connectorFailure, invalidInput } from './shared/failures.js';
import { payloadBytes } from './shared/payload.js';
import { secretNameSchema, stringMapSchema } from './shared/schemas.js';

/** One message of `connectors/nats.publish`. */
export interface NatsMessage {
  /** A string is sent as is; any other JSON value as JSON. */
  data: unknown;
  headers?: Record<string, string>;
  /** JetStream de-duplication id (`Nats-Msg-Id`). */
  msgId?: string;
}

/** Input of `connectors/nats.publish`. */
export interface NatsPublishInput {
  servers: string | string[];
  subject: string;
  messages: NatsMessage[];
  /** Publish through JetStream and wait for each message's ack. @default false */
  jetstream?: boolean;
  /** Name of the secret holding a NATS token. */
  tokenSecret?: string;
  /** @default '10s' */
  timeout?: string;
}

/** Output of `connectors/nats.publish`. */
export interface NatsPublishOutput {
  count: number;
  /** JetStream only: one ack per message, in order. */
  acks?: { stream: string; seq: number; duplicate: boolean }[];
}

/** The NATS client's error codes meaning the server could not be reached. */
const UNREACHABLE: ReadonlySet<string> = new Set([ErrorCode.ConnectionRefused, ErrorCode.ConnectionTimeout, ErrorCode.ConnectionClosed, ErrorCode.Disconnect]);

function natsUnavailable(error: unknown): string | undefined {
  return error instanceof NatsError && UNREACHABLE.has(error.code) ? error.code : undefined;
}

/**
 * `connectors/nats.publish`: publishes messages to a NATS subject. Core NATS publishes are flushed
 * (one round trip) so the server has them when the task succeeds; with `jetstream: true` each
 * message is published through JetStream and the task waits for the stream's ack. The client does
 * not reconnect: an unreachable server fails the task with `PEER_UNAVAILABLE` (retryable), and the
 * run's retry policy decides what happens next.
 *
 * @example
 * - id: announce
 *   uses: connectors/nats.publish@0.1.0
 *   with: { servers: "nats://nats:4222", subject: orders.created, jetstream: true, messages: [{ data: { id: 42 }, msgId: order-42 }] }
 */
export const natsPublish = defineTask<NatsPublishInput, NatsPublishOutput>({
  name: 'connectors/nats.publish',
  version: '0.1.0',
  description: 'Publishes messages to a NATS subject; with jetstream, waits for each stream ack.',
  execution: 'activity',
  input: {
    type: 'object',
    properties: {
      servers: {
        description: 'NATS server URL(s), e.g. nats://127.0.0.1:4222.',
        anyOf: [
          { type: 'string', minLength: 1 },
          { type: 'array', items: { type: 'string', minLength: 1 }, minItems: 1 },
        ],
      },
      subject: { type: 'string', pattern: '^[^\\s*>]+$', description: 'Subject to publish to (no wildcards).' },
      messages: {
        type: 'array',
        minItems: 1,
        maxItems: 10_000,
        description: 'Messages, published in order.',
        items: {
          type: 'object',
          properties: {
            data: { description: 'Payload: a string is sent as is; any other JSON value as JSON.' },
            headers: stringMapSchema('Message headers.'),
            msgId: { type: 'string', minLength: 1, description: 'JetStream de-duplication id (Nats-Msg-Id).' },
          },
          required: ['data'],
          additionalProperties: false,
        },
      },
      jetstream: { type: 'boolean', default: false, description: 'Publish through JetStream and wait for each ack.' },
      tokenSecret: secretNameSchema('Name of the secret holding a NATS auth token.'),
      timeout: durationSchema('Limit on connecting and on each ack. Default 10s.'),
    },
    required: ['servers', 'subject', 'messages'],
    additionalProperties: false,
  },
  output: {
    type: 'object',
    properties: {
      count: { type: 'integer', minimum: 0, description: 'Messages published.' },
      acks: {
        type: 'array',
        description: 'JetStream acks, one per message.',
        items: {
          type: 'object',
          properties: { stream: { type: 'string' }, seq: { type: 'integer' }, duplicate: { type: 'boolean' } },
          required: ['stream', 'seq', 'duplicate'],
          additionalProperties: false,
        },
      },
    },
    required: ['count'],
    additionalProperties: false,
  },
  validate({ timeout }) {
    if (timeout !== undefined && parseDuration(timeout) === undefined) throw invalidInput('timeout', `"${timeout}" is not a duration`);
  },
  async execute(input, ctx) {
    const { subject, messages, jetstream = false } = input;
    const servers = Array.isArray(input.servers) ? input.servers : [input.servers];
    const timeoutMs = parseDuration(input.timeout ?? '10s') ?? 10_000;
    const token = input.tokenSecret === undefined ? undefined : await ctx.secrets(input.tokenSecret, { host: servers.map(destinationHost) });
    const exchange = `publish to NATS ${servers.join(',')} subject ${subject}`;
    let nc: NatsConnection | undefined;
    try {
      return await untilAborted(
        ctx,
        async () => {
          nc = await connect({
            servers: await checkedNatsServers(servers, ctx.egress),
            // Servers the cluster advertises were never checked: connect only to the listed ones.
            ignoreClusterUpdates: true,
            timeout: timeoutMs,
            reconnect: false,
            maxReconnectAttempts: 0,
            ...(token ? { token } : {}),
          });
          const connection = nc;
          const output = await withClientSpan(
            `send ${subject}`,
            messagingAttributes('nats', subject, messages.length, servers),
            (trace) => (jetstream ? publishJetStream(connection, subject, messages, timeoutMs, trace) : publishCore(connection, subject, messages, trace)),
            { kind: 'producer' },
          );
          ctx.logger.info('published', { subject, count: output.count, jetstream });
          return output;
        },
        () => nc?.close(),
      );
    } catch (error) {
      throw connectorFailure(error, ctx.signal, exchange, { unavailable: natsUnavailable, permanent: (e) => isNoStream(e) });
    } finally {
      if (nc && !nc.isClosed()) await nc.close();
    }
  },
});

/**
 * The servers with each host replaced by the address the egress guard checked for it, so the
 * client connects to exactly that address. A server the guard refuses fails the task (and a message
 * trigger's consumer does not start).
 */
export async function checkedNatsServers(servers: readonly string[], egress: EgressGuard): Promise<string[]> {
  return Promise.all(
    servers.map(async (server) => {
      const url = new URL(/^[a-z]+:\/\//i.test(server) ? server : `nats://${server}`);
      const { address } = await egress.target(url.hostname, Number(url.port || 4222));
      url.hostname = isIPv6(address) ? `[${address}]` : address;
      return url.toString().replace(/\/$/, '');
    }),
  );
}

/** The message's headers, its trace context the engine's (see `withTraceContext`). */
function messageHeaders(message: NatsMessage, trace: TraceHeaders) {
  const headers = withTraceContext(message.headers, trace);
  if (!headers) return undefined;
  const h = natsHeaders();
  for (const [name, value] of Object.entries(headers)) h.set(name, value);
  return h;
}

async function publishCore(nc: NatsConnection, subject: string, messages: NatsMessage[], trace: TraceHeaders): Promise<NatsPublishOutput> {
  for (const message of messages) {
    const headers = messageHeaders(message, trace);
    nc.publish(subject, payloadBytes(message.data), headers ? { headers } : {});
  }
  // A flush is a round trip: when it returns, the server has processed every publish before it.
  await nc.flush();
  return { count: messages.length };
}

async function publishJetStream(nc: NatsConnection, subject: string, messages: NatsMessage[], timeout: number, trace: TraceHeaders): Promise<NatsPublishOutput> {
  const js = nc.jetstream({ timeout });
  const acks: NonNullable<NatsPublishOutput['acks']> = [];
  for (const message of messages) {
    const headers = messageHeaders(message, trace);
    try {
      const ack = await js.publish(subject, payloadBytes(message.data), {
        ...(headers ? { headers } : {}),
        ...(message.msgId ? { msgID: message.msgId } : {}),
        timeout,
      });
      acks.push({ stream: ack.stream, seq: ack.seq, duplicate: ack.duplicate });
    } catch (error) {
      if (!isNoStream(error)) throw error;
      throw new TaskError(`no JetStream stream captures subject ${subject}: create one, or publish without jetstream`, {
        code: 'TASK_FAILED',
        retryable: false,
        cause: error,
        details: { subject, published: acks.length },
      });
    }
  }
  return { count: messages.length, acks };
}

/** JetStream answers a publish to a subject no stream captures with "no responders" (503). */
function isNoStream(error: unknown): boolean {
  return error instanceof NatsError && error.code === ErrorCode.NoResponders;
}
