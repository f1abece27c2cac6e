/**
 * What a message consumer hands the trigger path, and the pure rules that turn a delivered message
 * into it: the message id a redelivery keeps (so the run it starts is the same run), the size and
 * depth bounds, and JSON decoding. A message that breaks a bound or is not JSON is a poison
 * message: acknowledged and audited as refused, never handed on and never redelivered.
 */
import { MaestroError } from '../../errors/index.js';
import { jsonTooDeep, MAX_JSON_DEPTH } from '../../ir/index.js';

/** Where a message trigger consumes from: the `source` of `POST /triggers`. */
export type MessageSource =
  | { nats: { url: string; stream: string; subject: string; durable: string } }
  | { kafka: { brokers: string[]; topic: string; groupId: string } };

/** A trigger as the consumers see it: which one (namespace and name) and its source. */
export interface MessageTriggerRef {
  namespace: string;
  name: string;
  source: MessageSource;
}

/** One delivered message, decoded. */
export interface MessageEvent {
  /**
   * Stays the same for every delivery of one message: `nats:<stream>:<Nats-Msg-Id>` (or
   * `nats:<stream>:seq:<n>` without the header), `kafka:<topic>:<partition>:<offset>`.
   */
  id: string;
  /** The message's JSON payload. */
  body: unknown;
  /** Header names lower-cased, the first value of each. */
  headers: Record<string, string>;
}

/**
 * What became of a message: `started` (a run was started for it), `duplicate` (an earlier
 * delivery of it, or a message with the same `dedupKey`, had started its run), `ignored` (the filter said no), `refused` (a deliberate no: policy, allow-list, rate
 * limit — audited). All three are acknowledged; a thrown error is not, unless it is a permanent
 * `MaestroError` (see {@link settleMessage}).
 */
export type MessageOutcome =
  | { outcome: 'started'; runIds: string[] }
  | { outcome: 'duplicate'; runIds: string[] }
  | { outcome: 'ignored'; reason?: string }
  | { outcome: 'refused'; code: string; reason: string };

/** What the consumers call for each message and each poison message. */
export interface MessageHandler {
  /** Starts the trigger's runbook for `event` (filter, inputs, dedup, rate limit, audit, launch). */
  onMessage(trigger: MessageTriggerRef, event: MessageEvent): Promise<MessageOutcome>;
  /**
   * Records a message refused without a run: poison (too large, too deep, not JSON) before it
   * reached {@link onMessage}, or one {@link onMessage} refused by throwing a permanent error. It
   * is acknowledged once this returns; when this throws (the audit log is unavailable), it is not.
   */
  onRefused(trigger: MessageTriggerRef, refusal: RefusedMessage): Promise<void>;
}

/** A message refused without a run. */
export interface RefusedMessage {
  id: string;
  /** `MESSAGE_TOO_LARGE`, `MESSAGE_INVALID`, or the code of the error that refused it. */
  code: string;
  reason: string;
}

/** Most header names and bytes of header values kept per message; the rest are dropped. */
export const MAX_HEADERS = 64;
const MAX_HEADER_VALUE = 4096;

/** The bytes of a message checked and parsed as JSON, or why it is poison. */
export function decodeMessage(id: string, payload: Uint8Array, maxBytes: number): { body: unknown } | RefusedMessage {
  if (payload.byteLength > maxBytes) return { id, code: 'MESSAGE_TOO_LARGE', reason: `the message has ${payload.byteLength} bytes, more than the ${maxBytes} allowed` };
  if (jsonTooDeep(payload, MAX_JSON_DEPTH)) return { id, code: 'MESSAGE_INVALID', reason: `the message nests deeper than ${MAX_JSON_DEPTH} levels` };
  try {
    return { body: JSON.parse(Buffer.from(payload.buffer, payload.byteOffset, payload.byteLength).toString('utf8')) as unknown };
  } catch (error) {
    return { id, code: 'MESSAGE_INVALID', reason: `the message is not JSON: ${error instanceof Error ? error.message : String(error)}` };
  }
}

/** Headers as the trigger's CEL sees them: names lower-cased, first value, bounded in count and size. */
export function boundedHeaders(entries: Iterable<[string, string]>): Record<string, string> {
  const headers: Record<string, string> = {};
  let count = 0;
  for (const [name, value] of entries) {
    const key = name.toLowerCase();
    if (key in headers) continue;
    if (++count > MAX_HEADERS) break;
    headers[key] = value.length > MAX_HEADER_VALUE ? value.slice(0, MAX_HEADER_VALUE) : value;
  }
  return headers;
}

/** The id of a JetStream message: its `Nats-Msg-Id` (JetStream's own de-duplication id), else its stream sequence. */
export function natsMessageId(stream: string, sequence: number, msgId: string | undefined): string {
  return msgId !== undefined && msgId !== '' ? `nats:${stream}:${msgId}` : `nats:${stream}:seq:${sequence}`;
}

/** The id of a Kafka record: where it is in the log. */
export function kafkaMessageId(topic: string, partition: number, offset: string): string {
  return `kafka:${topic}:${partition}:${offset}`;
}

/** `namespace/name`, the label and log name of a trigger. */
export function triggerLabel(trigger: Pick<MessageTriggerRef, 'namespace' | 'name'>): string {
  return `${trigger.namespace}/${trigger.name}`;
}

/**
 * Thrown by {@link MessageHandler.onMessage} for a message that may not fire now but will later
 * (the trigger's rate limit): it is left for redelivery after `delayMs`, not acknowledged.
 */
export class RetryLater extends Error {
  constructor(
    message: string,
    /** How long to wait before the message is delivered again. */
    readonly delayMs: number,
  ) {
    super(message);
    this.name = 'RetryLater';
  }
}

/** One delivered message before decoding, as both consumers read it. */
export interface Delivery {
  id: string;
  payload: Uint8Array;
  headers: Record<string, string>;
}

/** What a consumer does with a message once {@link settleMessage} has run: acknowledge it, or leave it for redelivery. */
export interface Settlement {
  ack: boolean;
  /** What happened, for the messages metric: `started`, `duplicate`, `ignored`, `refused`, `poison` or `retry`. */
  outcome: MessageOutcome['outcome'] | 'poison' | 'retry';
  /** The error that left the message for redelivery. */
  error?: unknown;
  /** How long to wait before it is delivered again, when the handler said ({@link RetryLater}). */
  delayMs?: number;
}

/**
 * Decodes a delivery and hands it to `handler`. Acknowledged: a run started (or one an earlier
 * delivery started, `duplicate`: the trigger path deduplicates on `id`), an ignored message, a refusal, a poison
 * message once recorded, and a message `onMessage` refused with a permanent `MaestroError` once
 * recorded. Left for redelivery: any other error (Temporal, the store, the audit log or the PDP
 * unavailable), so a message is never lost to an outage.
 */
export async function settleMessage(handler: MessageHandler, trigger: MessageTriggerRef, delivery: Delivery, maxBytes: number): Promise<Settlement> {
  const decoded = decodeMessage(delivery.id, delivery.payload, maxBytes);
  try {
    if (!('body' in decoded)) {
      await handler.onRefused(trigger, decoded);
      return { ack: true, outcome: 'poison' };
    }
    try {
      const { outcome } = await handler.onMessage(trigger, { id: delivery.id, body: decoded.body, headers: delivery.headers });
      return { ack: true, outcome };
    } catch (error) {
      if (!(error instanceof MaestroError) || error.retryable) throw error;
      await handler.onRefused(trigger, { id: delivery.id, code: error.code, reason: error.message });
      return { ack: true, outcome: 'refused' };
    }
  } catch (error) {
    return { ack: false, outcome: 'retry', error, ...(error instanceof RetryLater ? { delayMs: error.delayMs } : {}) };
  }
}
