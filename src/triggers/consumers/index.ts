/**
 * Message triggers' consumers: one NATS JetStream durable consumer or Kafka consumer-group member
 * per trigger, following the trigger store, each message handed to the trigger path and
 * acknowledged only once its run has started (or it was deliberately ignored or refused).
 */
export { startMessageConsumers, type ConsumerLog, type MessageConsumers, type MessageConsumersOptions } from './supervisor.js';
export { consumerMetrics, type ConsumerMetrics } from './metrics.js';
export type { RunningConsumer } from './nats.js';
export {
  decodeMessage,
  kafkaMessageId,
  natsMessageId,
  RetryLater,
  settleMessage,
  triggerLabel,
  type MessageEvent,
  type MessageHandler,
  type MessageOutcome,
  type MessageSource,
  type MessageTriggerRef,
  type RefusedMessage,
  type Settlement,
} from './message.js';
