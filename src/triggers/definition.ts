/**
 * A trigger's definition: what `POST /triggers`, `PUT /triggers/{name}` and a `kind: Trigger`
 * manifest register, checked and with its defaults applied. The request's shape is checked by the
 * OpenAPI schema (`TriggerDefinition` in `contracts/openapi.yaml`); this module adds what a schema
 * cannot say: every expression parses and is affordable, durations are within bounds.
 *
 * Expressions are CEL (without `${ }`) over `body` (the event's JSON), `headers` (lower-cased
 * names) and, with `items`, `item` and `index` (one run per element).
 */
import { parse } from '@bufbuild/cel';
import { MaestroError } from '../errors/index.js';
import { CEL_COST_LIMIT, leastCost, parseDuration } from '../ir/index.js';

/** How a webhook delivery is authenticated. */
export interface TriggerAuth {
  /** A named Maestro secret (`MAESTRO_SECRETS`), resolved for the trigger's namespace. */
  secret: string;
  /**
   * `hmac-sha256`: the header carries the hex HMAC-SHA256 of the raw body under the secret (GitHub,
   * most webhook senders); `token`: the header carries the secret itself (Alertmanager's
   * `http_config.authorization`); `standard-webhooks`: the Standard Webhooks headers `webhook-id`,
   * `webhook-timestamp` and `webhook-signature` (HMAC-SHA256 of id, time and body; a delivery more
   * than 5 minutes old is refused and the id deduplicates). Each is compared in constant time.
   */
  scheme: 'hmac-sha256' | 'token' | 'standard-webhooks';
  /** Lower-cased header name. @default `x-maestro-signature` (hmac-sha256), `authorization` (token), `webhook-signature` (standard-webhooks, which reads its fixed headers) */
  header: string;
  /** Text before the signature or token in the header. @default `sha256=` (hmac-sha256), `Bearer ` (token), empty (standard-webhooks) */
  prefix: string;
}

/** Where a message trigger reads its events (the message consumers of `src/triggers`). */
export type TriggerSource = { nats: { url: string; stream: string; subject: string; durable: string } } | { kafka: { brokers: string[]; topic: string; groupId: string } };

/** A trigger's definition, defaults applied: what the store keeps (besides name and namespace). */
export interface TriggerDefinition {
  /** `name`, or `name@version` (exact) or `name@range` (newest registered version in it). */
  runbook: string;
  /** Required for a webhook; a message trigger may rely on its broker's authentication. */
  auth?: TriggerAuth;
  /** CEL: false (or null) ignores the event, or the item. @default undefined — every event fires */
  filter?: string;
  /** CEL selecting a list: one run per element, bound as `item`. @default undefined — one run per event */
  items?: string;
  /** CEL per runbook input. @default {} */
  inputs: Record<string, string>;
  /** CEL: the event's (or item's) deduplication key. @default undefined — the message id, if any, else none */
  dedupKey?: string;
  /** How long a key keeps its run. @default `24h`, at most `30d` */
  dedupWindow: string;
  /** Events per minute that may fire (counted in the store, shared by every replica). @default {perMinute: 60} */
  rateLimit: { perMinute: number };
  /** A paused trigger answers every event `ignored`. @default false */
  paused: boolean;
  /** Absent for a webhook. */
  source?: TriggerSource;
  /** Free text. */
  note?: string;
}

/** A trigger as registered: its definition, name and namespace. */
export interface Trigger extends TriggerDefinition {
  name: string;
  namespace: string;
}

/** The longest `dedupWindow`. */
export const MAX_DEDUP_WINDOW_MS = 30 * 86_400_000;
/** The most runs one event may start (`items`). */
export const MAX_TRIGGER_ITEMS = 100;
/** The longest expression text. */
export const MAX_TRIGGER_EXPRESSION_LENGTH = 4_096;

const DEFAULTS = { dedupWindow: '24h', rateLimit: { perMinute: 60 }, paused: false } as const;

const AUTH_DEFAULTS: Record<TriggerAuth['scheme'], Pick<TriggerAuth, 'header' | 'prefix'>> = {
  'hmac-sha256': { header: 'x-maestro-signature', prefix: 'sha256=' },
  token: { header: 'authorization', prefix: 'Bearer ' },
  'standard-webhooks': { header: 'webhook-signature', prefix: '' },
};

/** A problem with a definition, at a JSON path. */
interface Issue {
  path: string;
  message: string;
}

function checkExpression(issues: Issue[], path: string, expression: string | undefined): void {
  if (expression === undefined) return;
  if (expression.length > MAX_TRIGGER_EXPRESSION_LENGTH) {
    issues.push({ path, message: `is longer than ${MAX_TRIGGER_EXPRESSION_LENGTH} characters` });
    return;
  }
  try {
    const parsed = parse(expression);
    if (leastCost(parsed.expr) > CEL_COST_LIMIT) issues.push({ path, message: `costs more than the limit of ${CEL_COST_LIMIT} whatever the event` });
  } catch (error) {
    issues.push({ path, message: `is not a CEL expression: ${error instanceof Error ? error.message : String(error)}` });
  }
}

/**
 * The definition of a request body (shape already checked by the OpenAPI schema), checked, with
 * its defaults applied.
 *
 * @throws MaestroError `BAD_REQUEST` naming each problem by JSON path.
 * @example
 * normalizeTrigger({ runbook: 'rollback', auth: { secret: 'am-token', scheme: 'token' } })
 * // { runbook: 'rollback', auth: { secret: 'am-token', scheme: 'token', header: 'authorization', prefix: 'Bearer ' }, inputs: {}, dedupWindow: '24h', … }
 */
export function normalizeTrigger(body: Readonly<Record<string, unknown>>): TriggerDefinition {
  const given = body as Partial<TriggerDefinition> & { auth?: Partial<TriggerAuth> & Pick<TriggerAuth, 'secret'> };
  const issues: Issue[] = [];
  checkExpression(issues, 'filter', given.filter);
  checkExpression(issues, 'items', given.items);
  checkExpression(issues, 'dedupKey', given.dedupKey);
  for (const [input, expression] of Object.entries(given.inputs ?? {})) checkExpression(issues, `inputs.${input}`, expression);
  const dedupWindow = given.dedupWindow ?? DEFAULTS.dedupWindow;
  const windowMs = parseDuration(dedupWindow);
  if (windowMs === undefined || windowMs <= 0 || windowMs > MAX_DEDUP_WINDOW_MS) issues.push({ path: 'dedupWindow', message: 'must be a duration from 1ms to 30d (e.g. 10m, 24h)' });
  if (given.source === undefined && given.auth === undefined) issues.push({ path: 'auth', message: 'is required for a webhook (a trigger without source)' });
  if (given.auth?.scheme === 'standard-webhooks' && (given.auth.header !== undefined || given.auth.prefix !== undefined)) {
    issues.push({ path: 'auth', message: 'header and prefix do not apply to standard-webhooks, which reads webhook-id, webhook-timestamp and webhook-signature' });
  }
  if (issues.length > 0) throw new MaestroError('BAD_REQUEST', issues.map((issue) => `${issue.path} ${issue.message}`).join('; '), { details: { errors: issues } });
  const auth = given.auth;
  const scheme = auth?.scheme ?? 'hmac-sha256';
  return {
    runbook: String(given.runbook),
    ...(auth === undefined
      ? {}
      : { auth: { secret: auth.secret, scheme, header: (auth.header ?? AUTH_DEFAULTS[scheme].header).toLowerCase(), prefix: auth.prefix ?? AUTH_DEFAULTS[scheme].prefix } }),
    ...(given.filter === undefined ? {} : { filter: given.filter }),
    ...(given.items === undefined ? {} : { items: given.items }),
    inputs: { ...(given.inputs ?? {}) },
    ...(given.dedupKey === undefined ? {} : { dedupKey: given.dedupKey }),
    dedupWindow,
    rateLimit: { perMinute: given.rateLimit?.perMinute ?? DEFAULTS.rateLimit.perMinute },
    paused: given.paused ?? DEFAULTS.paused,
    ...(given.source === undefined ? {} : { source: given.source }),
    ...(given.note === undefined ? {} : { note: given.note }),
  };
}

/** The milliseconds of a normalised definition's `dedupWindow`. */
export function dedupWindowMs(definition: Pick<TriggerDefinition, 'dedupWindow'>): number {
  return parseDuration(definition.dedupWindow) ?? MAX_DEDUP_WINDOW_MS;
}

/** `host:port` of a broker address, lowercased, with the protocol's default port when none is given. */
function brokerAddress(address: string, defaultPort: number): string {
  const withoutScheme = address.trim().toLowerCase().replace(/^[a-z][a-z0-9+.-]*:\/\//, '');
  const hostPort = withoutScheme.split(/[/?#]/, 1)[0]?.replace(/^[^@]*@/, '') ?? '';
  return /:\d+$/.test(hostPort) ? hostPort : `${hostPort}:${defaultPort}`;
}

/**
 * The broker-side names a message trigger consumes under: a JetStream durable on a stream of a
 * server, or a Kafka group id on each of its brokers. Two triggers with a name in common would
 * share, so split, each other's messages: {@link saveTrigger} lets one trigger hold each name.
 * @example
 * consumerNames({ nats: { url: 'nats://NATS.internal,nats-2.internal:4223', stream: 'ORDERS', subject: 'o.*', durable: 'fulfil' } })
 * // ['nats://nats.internal:4222/ORDERS/fulfil', 'nats://nats-2.internal:4223/ORDERS/fulfil']
 */
export function consumerNames(source: TriggerSource): string[] {
  if ('nats' in source) {
    const { url, stream, durable } = source.nats;
    // `url` lists a cluster's servers, comma-separated: any one in common is the same cluster.
    return url.split(',').map((server) => `nats://${brokerAddress(server, 4222)}/${stream}/${durable}`);
  }
  return source.kafka.brokers.map((broker) => `kafka://${brokerAddress(broker, 9092)}/${source.kafka.groupId}`);
}
