/**
 * Triggers: runs started by events rather than callers — webhooks (`POST /hooks/…`) and message
 * triggers (NATS JetStream, Kafka). A trigger is a registered definition (runbook, auth, CEL
 * filter/items/inputs/dedupKey, rate limit, optional message source) acting for the principal
 * recorded when it was last written; {@link fireTrigger} starts its runbook for one event through
 * the one run-start path (`startRunbook` in `src/runs`).
 */
export { MAX_DEDUP_WINDOW_MS, MAX_TRIGGER_EXPRESSION_LENGTH, MAX_TRIGGER_ITEMS, dedupWindowMs, normalizeTrigger, type Trigger, type TriggerAuth, type TriggerDefinition, type TriggerSource } from './definition.js';
export { TRIGGER_AUDIT_KIND, recordTriggerEvent, type TriggerAuditEvent } from './audit.js';
export { fireTrigger, triggerActor, triggerOf, type FireOutcome, type FireResult, type FiredItem, type TriggerContext, type TriggerEvent } from './fire.js';
export { hmacSha256Hex, standardWebhookSignature, STANDARD_WEBHOOKS_TOLERANCE_SECONDS, verifyDelivery, verifySignature, type DeliveryCheck, type DeliveryHeaders } from './signature.js';
export { listMessageTriggers, saveTrigger, type RegistryContext, type SaveTriggerRequest, type SavedTrigger } from './registry.js';
export { runMessageTriggers, triggerMessageHandler, type RunMessageTriggersOptions, type RunningMessageTriggers } from './message-triggers.js';
export { startMessageConsumers, consumerMetrics, type MessageConsumers, type MessageHandler, type MessageTriggerRef } from './consumers/index.js';
