import type { Attributes } from '@opentelemetry/api';
import { serverAttributes } from '../../telemetry/index.js';

/**
 * The OTel messaging attributes of a publish of `count` messages to `destination` (a Kafka topic, a
 * NATS subject) through the first of `servers`: no credentials, no message content.
 */
export function messagingAttributes(system: 'kafka' | 'nats', destination: string, count: number, servers: readonly string[]): Attributes {
  return {
    'messaging.system': system,
    'messaging.operation.name': 'send',
    'messaging.operation.type': 'send',
    'messaging.destination.name': destination,
    ...(count > 1 ? { 'messaging.batch.message_count': count } : {}),
    ...(servers[0] === undefined ? {} : serverAttributes(servers[0], system === 'nats' ? 4222 : undefined)),
  };
}
