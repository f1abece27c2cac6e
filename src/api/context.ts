/**
 * What every route handler gets: the API's dependencies, the caller, and the validated request.
 */
import type { Client } from '@temporalio/client';
import { randomBytes } from 'node:crypto';
import type { Request, Response } from 'express';
import type { Catalog } from '../catalog/index.js';
import type { AesGcmPayloadCodec } from '../codec/index.js';
import type { Config } from '../config/index.js';
import { MaestroError } from '../errors/index.js';
import type { PolicyGate } from '../policy/index.js';
import type { ReceiptStore, SigningKey } from '../provenance/index.js';
import type { SecretResolver } from '../secrets/index.js';
import type { AuditLog, Store, TaskLog } from '../store/index.js';
import type { AuthenticatedPrincipal, Authenticator } from './auth/index.js';
import type { ApiMetrics } from './metrics.js';
import type { StreamSlots } from './stream-slots.js';
import { activeTraceparent, formatTraceparent, parseTraceparent } from '../telemetry/index.js';

/** The dependencies of {@link createApp}. */
export interface ApiDeps {
  /** Settings: task queue, namespace run limits, whether /metrics is open. */
  config: Config;
  /** Temporal client on `config.temporalNamespace`. */
  client: Client;
  store: Store;
  authenticator: Authenticator;
  /** The Temporal client's payload codec: the `/codec` endpoint, and secret params while queued. */
  payloadCodec: AesGcmPayloadCodec;
  /** The hash-chained audit log: run-start decisions, approvals, cancellations, retries; `GET /audit`. */
  auditLog: AuditLog;
  /** Signs each approval decision so the worker knows the API authenticated the approver. */
  approvalKey: SigningKey;
  /**
   * How long an approval decision is valid for its run to take (its proof's expiry). A run whose
   * worker does not take it in time refuses it for good, and the caller gets 503 shortly after
   * (see `approveRunTask`).
   * @default 5_000
   */
  approvalWaitMs?: number;
  /** What tasks logged, as the workers append it: `GET /runs/{runId}/logs`. */
  taskLog: TaskLog;
  /**
   * Run receipts: `GET /runs/{runId}/receipt`, and the children's digests in a run's detail.
   * @default receiptStoreFromConfig(config)
   */
  receipts?: ReceiptStore;
  /**
   * Decides every run start (`POST /runs`, runbook triggers, retries) before anything starts, and
   * answers dry runs with the decisions a trigger would get.
   * @default undefined — runs start unchecked (the workers' task gate still decides every task)
   */
  policy?: PolicyGate;
  /**
   * Resolves the named secrets webhook triggers verify deliveries with, in the trigger's namespace
   * (the `MAESTRO_SECRETS` scopes tasks use).
   * @default createSecretResolver(config)
   */
  secrets?: SecretResolver;
  /**
   * Keys `POST /tasks/secrets` verifies remote task attempts' grants with (the workers mint them).
   * @default taskGrantKeys(config.taskGrantKey, payloadKeys(config))
   */
  taskGrantKeys?: readonly Buffer[];
  /**
   * The tasks manifests are checked and compiled against: the built-in ones and those of
   * `MAESTRO_TASK_MODULES`, as the workers serve them.
   * @default builtinCatalog
   */
  catalog?: Catalog;
  /**
   * The time registrations are stamped with.
   * @default () => new Date()
   */
  clock?: () => Date;
  /**
   * Where request and run metrics go.
   * @default a private {@link ApiMetrics} (served by GET /metrics)
   */
  metrics?: ApiMetrics;
  /**
   * Aborted when the API shuts down: long-lived responses (event streams) end at once.
   * @default a signal that is never aborted
   */
  shutdown?: AbortSignal;
  /**
   * Aborted when the API begins to drain (before `shutdown`): `/readyz` answers 503 from then on,
   * so that a load balancer stops sending while in-flight requests finish.
   * @default a signal that is never aborted
   */
  draining?: AbortSignal;
  /**
   * The event streams this API holds open, per principal and in total.
   * @default slots limited by `config.streamsPerPrincipal` and `config.streamsTotal`
   */
  streams?: StreamSlots;
}

/** {@link ApiDeps} with defaults applied (`policy` has none). */
export type ResolvedDeps = Required<Omit<ApiDeps, 'policy'>> & Pick<ApiDeps, 'policy'>;

/** A validated request, as a route handler sees it. */
export interface RouteContext {
  deps: ResolvedDeps;
  /** Undefined only on open routes (health, readiness, public metrics). */
  principal: AuthenticatedPrincipal | undefined;
  path: Record<string, unknown>;
  query: Record<string, unknown>;
  /** The body: the parsed JSON, or the text of a YAML body. */
  body: unknown;
  /** The body as sent, for operations that take manifests (positions in error messages). */
  rawBody?: string;
  /** The body's bytes as sent, for operations marked `x-maestro-raw-body` (webhooks). */
  rawBytes?: Buffer;
  req: Request;
  res: Response;
}

/** A response for the router to send as JSON; a handler that streams sends its own and returns nothing. */
export interface RouteResult {
  status: number;
  body: unknown;
}

/** A route handler, keyed by its OpenAPI `operationId`. */
export type RouteHandler = (context: RouteContext) => Promise<RouteResult | undefined>;

/** The authenticated caller of a non-open route. */
export function caller(context: RouteContext): AuthenticatedPrincipal {
  if (!context.principal) throw new MaestroError('UNAUTHENTICATED', 'this operation needs a bearer token');
  return context.principal;
}

/** A string path or query value the OpenAPI validation guarantees. */
export function stringParam(values: Record<string, unknown>, name: string): string {
  const value = values[name];
  if (typeof value !== 'string') throw new MaestroError('BAD_REQUEST', `${name} is required`);
  return value;
}

/**
 * The span a run started by this request is a child of, as a `traceparent`: the request's own
 * server span when this process exports traces, else the caller's valid `traceparent` (so the
 * worker's spans still join the caller's trace), else none.
 */
export function requestTraceParent(context: Pick<RouteContext, 'req'>): string | undefined {
  const own = activeTraceparent();
  if (own !== undefined) return own;
  const caller = parseTraceparent(context.req.get('traceparent'));
  return caller === undefined ? undefined : formatTraceparent(caller);
}

/**
 * The trace id a run started by this request carries into its policy decisions, task attempts and
 * spans: that of {@link requestTraceParent} (the caller's when its `traceparent` is valid), else a
 * new random one, so every run's records correlate either way.
 */
export function requestTraceId(context: Pick<RouteContext, 'req'>): string {
  return parseTraceparent(requestTraceParent(context))?.traceId ?? randomBytes(16).toString('hex');
}
