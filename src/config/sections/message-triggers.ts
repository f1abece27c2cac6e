/**
 * Settings of the message triggers' consumers (NATS JetStream, Kafka), which run in the worker: how
 * many messages each trigger handles at once, how large one may be, how often the trigger store is
 * read (their lag and messages are metrics of the worker: see `metrics.ts`).
 */
import { Type } from '@sinclair/typebox';
import { optional, section, type SettingsOf } from '../setting.js';

/** The message triggers' consumers. */
export const messageTriggersSection = section('message-triggers', 'Message triggers: the NATS JetStream and Kafka consumers the worker runs, starting a runbook per message.', {
  triggerConsumers: optional(Type.Boolean(), {
    env: 'MAESTRO_TRIGGER_CONSUMERS',
    unset: 'true',
    description: 'Whether this worker consumes the message triggers (true | false). Several workers may: a JetStream durable and a Kafka group share the messages out, and a redelivery never starts a second run.',
  }),
  triggerMaxInFlight: optional(Type.Integer({ minimum: 1, maximum: 1_000 }), {
    env: 'MAESTRO_TRIGGER_MAX_IN_FLIGHT',
    unset: '16',
    description: 'Most messages one message trigger handles at once (runs being started); a JetStream durable the consumer creates gets it as `max_ack_pending`.',
  }),
  triggerMessageMaxBytes: optional(Type.Integer({ minimum: 1, maximum: 16 * 1024 * 1024 }), {
    env: 'MAESTRO_TRIGGER_MESSAGE_MAX_BYTES',
    unset: '1048576',
    description: 'Largest message payload a message trigger takes; a larger one is acknowledged and audited as refused (`MESSAGE_TOO_LARGE`), never redelivered.',
  }),
  triggerAckWaitMs: optional(Type.Integer({ minimum: 1_000, maximum: 3_600_000 }), {
    env: 'MAESTRO_TRIGGER_ACK_WAIT_MS',
    unset: '30000',
    description: 'JetStream `ack_wait` of a durable consumer the trigger creates: how long NATS waits for the ack of a delivered message before redelivering it.',
  }),
  triggerPollMs: optional(Type.Integer({ minimum: 100, maximum: 600_000 }), {
    env: 'MAESTRO_TRIGGER_POLL_MS',
    unset: '2000',
    description: 'How often the consumers read the trigger store to start consuming new message triggers and stop deleted ones, and refresh the lag metric.',
  }),
  triggerMaxConsumers: optional(Type.Integer({ minimum: 1, maximum: 10_000 }), {
    env: 'MAESTRO_TRIGGER_MAX_CONSUMERS',
    unset: '100',
    description: 'Most message triggers one process consumes; more are logged and left alone (this also bounds the metrics\' trigger label).',
  }),
});

/** The message triggers' consumers (see {@link messageTriggersSection}). */
export type MessageTriggersSettings = SettingsOf<typeof messageTriggersSection>;
