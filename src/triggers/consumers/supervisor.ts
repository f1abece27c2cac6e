/**
 * Runs one consumer per message trigger, following the trigger store: every `pollMs` it reads the
 * message triggers, starts a consumer for each new one, stops the consumer of each deleted one
 * (and restarts it when its source changed), and refreshes each consumer's lag. At most
 * `maxConsumers` triggers are consumed; a trigger whose consumer cannot start (the server is down,
 * the egress guard refuses it, the stream does not exist) is tried again at later polls, backing
 * off to once a minute. Nothing here holds a message: the brokers keep them until acknowledged.
 */
import { EgressGuard, type EgressPolicy } from '../../egress/index.js';
import type { MessageTriggersSettings } from '../../config/index.js';
import { startKafkaConsumer } from './kafka.js';
import { triggerLabel, type MessageHandler, type MessageTriggerRef } from './message.js';
import type { ConsumerMetrics } from './metrics.js';
import { startNatsConsumer, type ConsumerOptions, type RunningConsumer } from './nats.js';

/** Where the consumers' log lines go. */
export interface ConsumerLog {
  info(message: string, fields?: Record<string, unknown>): void;
  warn(message: string, fields?: Record<string, unknown>): void;
}

/** Options of {@link startMessageConsumers}. */
export interface MessageConsumersOptions {
  /** The message triggers of every namespace (the trigger store), read at every poll. */
  list(): Promise<MessageTriggerRef[]>;
  /** What a message does: the trigger path (`fireTrigger`), and the audit of refusals. */
  handler: MessageHandler;
  /** The egress policy tasks are checked against: a trigger's servers are checked for its namespace. */
  egress: EgressPolicy;
  /** The settings of `MAESTRO_TRIGGER_*`; each one unset takes its default. */
  settings?: MessageTriggersSettings;
  /**
   * How long a stop (of one consumer, or of all) waits for messages in flight; what is still in
   * flight then stays unacknowledged and is redelivered.
   * @default 10000
   */
  stopGraceMs?: number;
  /** @default undefined — no metrics */
  metrics?: ConsumerMetrics;
  /** @default the console */
  log?: ConsumerLog;
}

/** The running consumers of every message trigger. */
export interface MessageConsumers {
  /** Reads the store once and starts and stops consumers to match (the poll does it every `pollMs`). */
  reconcile(): Promise<void>;
  /** The consumer of a trigger (`namespace/name`), while it runs. */
  consumer(label: string): RunningConsumer | undefined;
  /** Stops polling and every consumer. */
  stop(): Promise<void>;
}

/** One consumed trigger. */
interface Entry {
  /** Its source as JSON: a change restarts the consumer. */
  source: string;
  kind: 'nats' | 'kafka';
  consumer: RunningConsumer;
  /** The last lag read, undefined until the first read or after a failed one. */
  lag?: number;
}

/** A trigger whose consumer failed to start: when to try again. */
interface Failure {
  source: string;
  attempts: number;
  retryAt: number;
}

const MAX_BACKOFF_MS = 60_000;

const consoleLog: ConsumerLog = {
  info: (message, fields) => console.info(message, fields ?? ''),
  warn: (message, fields) => console.warn(message, fields ?? ''),
};

/** Starts following the trigger store (a first {@link MessageConsumers.reconcile} is awaited). */
export async function startMessageConsumers(options: MessageConsumersOptions): Promise<MessageConsumers> {
  const { list, handler, egress, settings = {}, stopGraceMs = 10_000, metrics, log = consoleLog } = options;
  const pollMs = settings.triggerPollMs ?? 2_000;
  const maxConsumers = settings.triggerMaxConsumers ?? 100;
  const running = new Map<string, Entry>();
  const failures = new Map<string, Failure>();
  let stopped = false;

  metrics?.observeLag(() => new Map([...running].flatMap(([label, entry]) => (entry.lag === undefined ? [] : [[label, { source: entry.kind, lag: entry.lag }]]))));

  const start = async (trigger: MessageTriggerRef): Promise<RunningConsumer> => {
    const label = triggerLabel(trigger);
    const consumerOptions: ConsumerOptions = {
      handler,
      egress: new EgressGuard(egress, trigger.namespace),
      maxInFlight: settings.triggerMaxInFlight ?? 16,
      maxMessageBytes: settings.triggerMessageMaxBytes ?? 1024 * 1024,
      ackWaitMs: settings.triggerAckWaitMs ?? 30_000,
      stopGraceMs,
      ...(metrics === undefined ? {} : { onSettled: (settlement) => metrics.settled(label, settlement.outcome) }),
    };
    return 'nats' in trigger.source ? startNatsConsumer(trigger, trigger.source.nats, consumerOptions) : startKafkaConsumer(trigger, trigger.source.kafka, consumerOptions);
  };

  const stopEntry = async (label: string, entry: Entry): Promise<void> => {
    running.delete(label);
    try {
      await entry.consumer.stop();
    } catch (error) {
      log.warn(`message trigger ${label}: its consumer did not stop cleanly`, { error: String(error) });
    }
  };

  const reconcile = async (): Promise<void> => {
    const triggers = await list();
    const wanted = new Map(triggers.map((trigger) => [triggerLabel(trigger), trigger]));
    for (const [label, entry] of running) {
      const trigger = wanted.get(label);
      if (trigger === undefined || JSON.stringify(trigger.source) !== entry.source) {
        log.info(`message trigger ${label}: ${trigger === undefined ? 'deleted' : 'source changed'}, stopping its consumer`);
        await stopEntry(label, entry);
      }
    }
    for (const label of failures.keys()) if (!wanted.has(label)) failures.delete(label);
    for (const [label, trigger] of wanted) {
      if (stopped || running.has(label)) continue;
      const source = JSON.stringify(trigger.source);
      const failure = failures.get(label);
      if (failure !== undefined && failure.source === source && Date.now() < failure.retryAt) continue;
      if (running.size >= maxConsumers) {
        log.warn(`message trigger ${label} is not consumed: this process consumes at most ${maxConsumers} (MAESTRO_TRIGGER_MAX_CONSUMERS)`);
        continue;
      }
      try {
        const consumer = await start(trigger);
        running.set(label, { source, kind: 'nats' in trigger.source ? 'nats' : 'kafka', consumer });
        failures.delete(label);
        log.info(`message trigger ${label}: consuming`);
      } catch (error) {
        const attempts = failure !== undefined && failure.source === source ? failure.attempts + 1 : 1;
        failures.set(label, { source, attempts, retryAt: Date.now() + Math.min(pollMs * 2 ** (attempts - 1), MAX_BACKOFF_MS) });
        log.warn(`message trigger ${label}: its consumer cannot start (attempt ${attempts})`, { error: error instanceof Error ? error.message : String(error) });
      }
    }
    await Promise.all(
      [...running.values()].map(async (entry) => {
        try {
          entry.lag = await entry.consumer.lag();
        } catch {
          // A lag that cannot be read is not reported rather than reported stale.
          delete entry.lag;
        }
      }),
    );
  };

  let pass: Promise<void> = reconcile();
  await pass;
  // One pass at a time: a pass that failed (the store could not be read) does not stop the next.
  const next = (): Promise<void> => (pass = pass.catch(() => undefined).then(reconcile));
  const timer = setInterval(() => {
    next().catch((error: unknown) => log.warn('message triggers: the trigger store could not be read', { error: String(error) }));
  }, pollMs);
  return {
    reconcile: next,
    consumer: (label) => running.get(label)?.consumer,
    stop: async () => {
      stopped = true;
      clearInterval(timer);
      await pass.catch(() => undefined);
      await Promise.all([...running].map(([label, entry]) => stopEntry(label, entry)));
    },
  };
}
