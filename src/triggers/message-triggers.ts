/**
 * Message triggers, wired: the consumers of `consumers/` handing each message to {@link fireTrigger}
 * (the one trigger path: filter, inputs, dedup on the message id or `dedupKey`, rate limit, audit,
 * `startRunbook`), run by the worker (`workers/worker.ts`, and `maestro dev`'s) with the store,
 * audit log, policy decision point and Temporal client of the same settings as the API, the egress
 * policy of tasks; their lag and messages are metrics of the process (the worker's `/metrics`).
 */
import { Client, Connection } from '@temporalio/client';
import { maestroDataConverter, payloadCodec } from '../codec/index.js';
import { temporalConnectOptions, type Config } from '../config/index.js';
import { openLaunchContext } from '../runs/index.js';
import { egressPolicyOf, loadCatalog } from '../tasks/index.js';
import { formatTraceparent, parseTraceparent } from '../telemetry/index.js';
import { recordTriggerEvent } from './audit.js';
import { consumerMetrics, RetryLater, startMessageConsumers, type ConsumerLog, type MessageHandler, type MessageSource } from './consumers/index.js';
import { fireTrigger, triggerActor, type TriggerContext } from './fire.js';
import { listMessageTriggers } from './registry.js';

/**
 * The trigger path for messages. The trigger is read again for every message, so a change of its
 * filter, inputs, runbook or principal applies to the next message; a deleted or paused one
 * ignores what its consumer still delivers (the consumer stops at the next poll). Over its rate
 * limit a message is deferred (redelivered once the window resets), never dropped.
 */
export function triggerMessageHandler(context: TriggerContext): MessageHandler {
  return {
    async onMessage(ref, event) {
      const record = await context.store.getTrigger(ref.namespace, ref.name);
      if (record === undefined || record.paused || !record.message) return { outcome: 'ignored', reason: 'the trigger was deleted or paused' };
      // A producer's trace context (our connectors send it) parents the runs; a malformed one is ignored.
      const parent = parseTraceparent(event.headers.traceparent);
      const trace = parent === undefined ? {} : { traceId: parent.traceId, traceParent: formatTraceparent(parent) };
      const result = await fireTrigger(context, record, { body: event.body, headers: event.headers, id: event.id, ...trace });
      switch (result.outcome) {
        case 'rate-limited':
          throw new RetryLater(`trigger ${ref.namespace}/${ref.name} is over its rate limit`, (result.retryAfterSeconds ?? 1) * 1000);
        case 'started':
        case 'duplicate':
          return { outcome: result.outcome, runIds: result.runIds };
        case 'ignored':
          return { outcome: 'ignored' };
        case 'refused': {
          const refused = result.items.find((item) => item.outcome === 'refused');
          return { outcome: 'refused', code: refused?.code ?? 'FORBIDDEN', reason: refused?.message ?? 'refused' };
        }
      }
    },
    async onRefused(ref, refusal) {
      await recordTriggerEvent(context.auditLog, {
        namespace: ref.namespace,
        trigger: ref.name,
        actor: triggerActor(ref),
        action: 'refused',
        reason: refusal.reason,
        details: { code: refusal.code, messageId: refusal.id },
      });
    },
  };
}

/** Options of {@link runMessageTriggers}. */
export interface RunMessageTriggersOptions {
  /** @default the console */
  log?: ConsumerLog;
}

/** Running message triggers. */
export interface RunningMessageTriggers {
  /** Stops the consumers (messages in flight after 10 s stay unacknowledged) and closes what it opened. */
  stop(): Promise<void>;
}

/**
 * Connects to Temporal, opens the launch context (store, audit log, PDP) and the catalog from
 * `config`, and consumes every enabled message trigger of every namespace until stopped.
 */
export async function runMessageTriggers(config: Config, options: RunMessageTriggersOptions = {}): Promise<RunningMessageTriggers> {
  const connection = await Connection.connect(temporalConnectOptions(config));
  const closing: (() => Promise<void>)[] = [() => connection.close()];
  const close = async (): Promise<void> => {
    for (const step of closing.reverse()) await step();
  };
  try {
    const client = new Client({ connection, namespace: config.temporalNamespace, dataConverter: maestroDataConverter(payloadCodec(config)) });
    const launch = await openLaunchContext(config, client);
    closing.push(() => launch.close());
    const context: TriggerContext = { ...launch, catalog: await loadCatalog(config) };
    const consumers = await startMessageConsumers({
      list: async () => (await listMessageTriggers(launch.store)).map((record) => ({ namespace: record.namespace, name: record.name, source: (record.definition as { source: MessageSource }).source })),
      handler: triggerMessageHandler(context),
      egress: egressPolicyOf(config),
      settings: config,
      metrics: consumerMetrics(),
      ...(options.log === undefined ? {} : { log: options.log }),
    });
    closing.push(() => consumers.stop());
    return { stop: close };
  } catch (error) {
    await close();
    throw error;
  }
}
