/**
 * `POST /hooks/{namespace}/{name}`: a webhook delivery. No bearer token — anyone on the network
 * can reach it — so the signature is checked first, over the raw bytes, before the body is even
 * parsed: a delivery that does not prove its sender holds the trigger's secret starts nothing
 * and learns nothing (an unknown trigger, a paused one's secret, a message trigger: all 401).
 */
import { MaestroError } from '../../errors/index.js';
import type { SecretResolver } from '../../secrets/index.js';
import type { TriggerRecord } from '../../store/index.js';
import { fireTrigger, recordTriggerEvent, triggerOf, verifyDelivery, type FireResult } from '../../triggers/index.js';
import { parseJsonText } from '../json-body.js';
import { requestTraceId, requestTraceParent, stringParam, type RouteContext, type RouteHandler } from '../context.js';
import { launchContext } from './access.js';

/** Request headers an expression may read: every one but the caller's credentials. */
const HIDDEN_HEADERS = new Set(['authorization', 'cookie', 'proxy-authorization']);

function eventHeaders(context: RouteContext): Record<string, string> {
  const headers: Record<string, string> = {};
  for (const [name, value] of Object.entries(context.req.headers)) {
    if (HIDDEN_HEADERS.has(name) || value === undefined) continue;
    headers[name] = Array.isArray(value) ? value.join(', ') : value;
  }
  return headers;
}

/**
 * How long a resolved trigger secret is reused. Every delivery — forged ones included — needs the
 * secret before its signature can be checked: without this, a flood of forged deliveries would be
 * a flood of reads from the secret source (AWS Secrets Manager). A rotated secret takes effect
 * within this time.
 */
const SECRET_TTL_MS = 30_000;
/** Most secrets kept per resolver (the cache is emptied when full). */
const SECRET_CACHE_SIZE = 1_000;
/** Resolved secrets by resolver (one per API), then by namespace and name. */
const secretCaches = new WeakMap<SecretResolver, Map<string, { value: string; until: number }>>();

/** The trigger's secret in its namespace, from the cache while fresh. @throws what the resolver throws (not cached). */
async function triggerSecret(resolve: SecretResolver, name: string, namespace: string): Promise<string> {
  let cache = secretCaches.get(resolve);
  if (cache === undefined) secretCaches.set(resolve, (cache = new Map()));
  const key = `${namespace}/${name}`;
  const hit = cache.get(key);
  if (hit !== undefined && hit.until > Date.now()) return hit.value;
  const value = await resolve(name, { namespace });
  if (cache.size >= SECRET_CACHE_SIZE) cache.clear();
  cache.set(key, { value, until: Date.now() + SECRET_TTL_MS });
  return value;
}

function unauthenticated(namespace: string, name: string): MaestroError {
  return new MaestroError('SIGNATURE_INVALID', `the delivery to /hooks/${namespace}/${name} carries no valid signature for a webhook trigger there`);
}

/** The answer to a fired delivery: 202 with the runs, or the refusal's problem when nothing else happened. */
function answer(result: FireResult): { status: number; body: unknown } {
  if (result.outcome === 'rate-limited') {
    throw new MaestroError('RATE_LIMITED', 'the trigger has fired as often as its rateLimit allows this minute; nothing started', { details: { retryAfterSeconds: result.retryAfterSeconds } });
  }
  const refused = result.outcome === 'refused' ? result.items.find((item) => item.code !== undefined) : undefined;
  if (refused?.code !== undefined) throw new MaestroError(refused.code, refused.message ?? refused.code);
  return { status: 202, body: { outcome: result.outcome, runIds: result.runIds, items: result.items } };
}

/**
 * Records a refused delivery — without its body or headers: neither is trusted, and either could
 * carry anything — at most `rateLimit.perMinute` times a minute per trigger, so a flood of
 * forged deliveries cannot grow the audit log without bound (past that they are only answered).
 */
async function auditRefusal(context: RouteContext, record: TriggerRecord, traceId: string, reason: string, details: Record<string, unknown>): Promise<void> {
  const now = context.deps.clock();
  // `#` appears in no trigger name: this window is the refusals', apart from the fires'.
  const refusals = await context.deps.store.countTriggerEvents(record.namespace, `${record.name}#refused`, now.toISOString().slice(0, 16), 1);
  if (refusals > triggerOf(record).rateLimit.perMinute) return;
  await recordTriggerEvent(context.deps.auditLog, {
    namespace: record.namespace,
    trigger: record.name,
    actor: 'anonymous',
    action: 'refused',
    traceId,
    reason,
    details: { ...details, remoteAddress: context.req.socket.remoteAddress ?? 'unknown' },
  });
}

/** `POST /hooks/{namespace}/{name}`. */
export const deliverWebhook: RouteHandler = async (context) => {
  const namespace = stringParam(context.path, 'namespace');
  const name = stringParam(context.path, 'name');
  const bytes = context.rawBytes ?? Buffer.alloc(0);
  const traceId = requestTraceId(context);
  const record = await context.deps.store.getTrigger(namespace, name);
  const auth = record === undefined ? undefined : triggerOf(record).auth;
  if (record === undefined || auth === undefined || record.message) throw unauthenticated(namespace, name);
  const secret = await triggerSecret(context.deps.secrets, auth.secret, namespace).catch((error: unknown) => {
    if (error instanceof MaestroError) return error;
    throw error;
  });
  const check =
    secret instanceof MaestroError
      ? { valid: false as const, reason: `the trigger's secret cannot be resolved in namespace ${namespace}: ${secret.message}` }
      : verifyDelivery(auth, secret, bytes, context.req.headers, context.deps.clock());
  if (!check.valid) {
    await auditRefusal(context, record, traceId, check.reason, { code: secret instanceof MaestroError ? secret.code : 'SIGNATURE_INVALID', bytes: bytes.length });
    throw unauthenticated(namespace, name);
  }
  const body = bytes.length === 0 ? null : parseJsonText(bytes);
  const traceParent = requestTraceParent(context);
  // A signed delivery id (standard-webhooks) is the key of a trigger without `dedupKey`: a replay within the tolerance is a duplicate.
  const id = check.deliveryId === undefined ? {} : { id: `webhook:${check.deliveryId}` };
  const event = { body, headers: eventHeaders(context), traceId, ...id, ...(traceParent === undefined ? {} : { traceParent }) };
  const result = await fireTrigger({ ...launchContext(context.deps), catalog: context.deps.catalog, clock: context.deps.clock }, record, event);
  return answer(result);
};
