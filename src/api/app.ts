/**
 * The Express application: one route per operation of `contracts/openapi.yaml`, each
 * authenticated, authorised by its `x-maestro-roles`, validated against its schemas, and
 * answered by the handler of its `operationId`; errors go through the one problem middleware.
 */
import express, { type Express, type NextFunction, type Request, type RequestHandler, type Response } from 'express';
import { builtinCatalog } from '../tasks/index.js';
import { payloadKeys } from '../codec/index.js';
import { receiptStoreFromConfig } from '../provenance/index.js';
import { createSecretResolver, taskGrantKeys } from '../secrets/index.js';
import { MaestroError, NotFoundError } from '../errors/index.js';
import { MAX_MANIFEST_BYTES } from '../manifest/index.js';
import { hasRole } from './auth/index.js';
import { consoleRouter } from './console.js';
import type { ApiDeps, ResolvedDeps, RouteHandler } from './context.js';
import { checkJsonDepth, parseJsonText } from './json-body.js';
import { createApiMetrics } from './metrics.js';
import { createRequestValidators, operations, type Operation } from './openapi/index.js';
import { problemMiddleware } from './problem.js';
import { codecCors } from './routes/codec.js';
import { ROUTE_HANDLERS } from './routes/index.js';
import { requestSpan } from '../telemetry/index.js';
import { STREAM_LIMIT_DEFAULTS, StreamSlots } from './stream-slots.js';

/** Media types accepted as YAML, all read as `application/yaml`. */
const YAML_TYPES = ['application/yaml', 'application/x-yaml', 'text/yaml', 'text/x-yaml'];
/** The largest request body of any route, when `bodyLimitBytes` is unset: a manifest's limit, 1 MiB. */
const DEFAULT_BODY_LIMIT_BYTES = MAX_MANIFEST_BYTES;

function mediaType(req: Request): string | undefined {
  const header = req.headers['content-type'];
  if (header === undefined || (req.headers['content-length'] === '0' && !req.headers['transfer-encoding'])) return undefined;
  const type = header.split(';')[0]?.trim().toLowerCase() ?? '';
  return YAML_TYPES.includes(type) ? 'application/yaml' : type;
}

/**
 * Body parsing for one operation: manifests keep their text (for positions; their depth is
 * checked with the manifest's), JSON is checked for depth, then parsed. Every route has one,
 * bodiless ones too, so no route reads more than `limit` bytes of a body (a larger one is
 * `413 PAYLOAD_TOO_LARGE` before parsing).
 */
function bodyParser(operation: Operation, limit: number): RequestHandler {
  if (operation.rawBody) return express.raw({ type: () => true, limit });
  const types = Object.keys(operation.body?.content ?? {});
  if (types.includes('application/yaml')) return express.text({ type: [...YAML_TYPES, 'application/json'], limit });
  return express.json({ limit, verify: (_req, _res, bytes) => checkJsonDepth(bytes) });
}

function route(operation: Operation, handler: RouteHandler, deps: ResolvedDeps): RequestHandler {
  const validator = createRequestValidators([operation]).get(operation.operationId);
  if (!validator) throw new MaestroError('INTERNAL', `no validator for ${operation.operationId}`);
  const open = operation.open || (operation.publicWhen === 'metricsPublic' && deps.config.metricsPublic === true);
  return async (req: Request, res: Response) => {
    const principal = open ? undefined : await deps.authenticator.authenticate(req.headers.authorization);
    if (principal && operation.roles.length > 0 && !operation.roles.some((role) => hasRole(principal, role))) {
      throw new MaestroError('FORBIDDEN', `${operation.operationId} needs one of the roles ${operation.roles.join(', ')}; ${principal.subject} holds ${principal.roles.join(', ') || 'none'}`);
    }
    const { path, query } = validator.params(req.params as Record<string, string>, req.query as Record<string, unknown>);
    if (operation.rawBody) {
      const rawBytes = Buffer.isBuffer(req.body) ? req.body : Buffer.alloc(0);
      const result = await handler({ deps, principal, path, query, body: undefined, rawBytes, req, res });
      if (result) res.status(result.status).json(result.body);
      return;
    }
    const type = operation.body ? mediaType(req) : undefined;
    const rawBody = typeof req.body === 'string' ? req.body : undefined;
    const parsed = type === 'application/json' && rawBody !== undefined ? parseJsonText(rawBody) : req.body;
    const body = validator.body(type, parsed);
    const result = await handler({ deps, principal, path, query, body, ...(rawBody === undefined ? {} : { rawBody }), req, res });
    if (result) res.status(result.status).json(result.body);
  };
}

/** Records each request's latency under its route template once the response is sent. */
function timing(deps: ResolvedDeps, template: string): RequestHandler {
  return (req: Request, res: Response, next: NextFunction) => {
    const start = process.hrtime.bigint();
    res.once('finish', () => deps.metrics.request(req.method, template, res.statusCode, Number(process.hrtime.bigint() - start) / 1e9));
    next();
  };
}

/**
 * Handles the request in its server span when this process exports traces (see `requestSpan`):
 * the caller's valid `traceparent` is its parent, and the runs it starts are its children.
 */
function traced(template: string): RequestHandler {
  return (req: Request, res: Response, next: NextFunction) => {
    const span = requestSpan({ method: req.method, traceparent: req.headers.traceparent }, template);
    if (span === undefined) return next();
    // `close` comes after `finish`, and also when the client goes away before the response is sent.
    res.once('close', () => span.end(res.statusCode));
    span.run(next);
  };
}

/**
 * Builds the API. Fails at once if an operation of the document has no handler or a handler has
 * no operation, so the document and the code cannot drift apart.
 *
 * @example
 * const app = createApp({ config, client, store, authenticator: authenticatorFromConfig(config) });
 * app.listen(config.port);
 */
export function createApp(deps: ApiDeps): Express {
  const streams = new StreamSlots({
    perPrincipal: deps.config.streamsPerPrincipal ?? STREAM_LIMIT_DEFAULTS.perPrincipal,
    total: deps.config.streamsTotal ?? STREAM_LIMIT_DEFAULTS.total,
  });
  const resolved: ResolvedDeps = {
    catalog: builtinCatalog,
    clock: () => new Date(),
    metrics: createApiMetrics(),
    shutdown: new AbortController().signal,
    draining: new AbortController().signal,
    streams,
    approvalWaitMs: 5_000,
    ...deps,
    secrets: deps.secrets ?? createSecretResolver(deps.config),
    receipts: deps.receipts ?? receiptStoreFromConfig(deps.config),
    taskGrantKeys: deps.taskGrantKeys ?? taskGrantKeys(deps.config.taskGrantKey, payloadKeys(deps.config)),
  };
  const app = express();
  app.disable('x-powered-by');
  app.set('query parser', 'simple');
  const documented = operations();
  const missing = documented.filter((op) => !(op.operationId in ROUTE_HANDLERS)).map((op) => op.operationId);
  const extra = Object.keys(ROUTE_HANDLERS).filter((id) => !documented.some((op) => op.operationId === id));
  if (missing.length > 0 || extra.length > 0) {
    throw new MaestroError('INTERNAL', `openapi.yaml and the handlers disagree: no handler for [${missing.join(', ')}], undocumented [${extra.join(', ')}]`);
  }
  app.use('/codec', codecCors(resolved.config));
  const bodyLimit = resolved.config.bodyLimitBytes ?? DEFAULT_BODY_LIMIT_BYTES;
  for (const operation of documented) {
    const handler = ROUTE_HANDLERS[operation.operationId as keyof typeof ROUTE_HANDLERS];
    // Traced after the body is read: the body parser calls on from the socket's events, outside
    // whatever context was active before it.
    app[operation.method](operation.routePath, timing(resolved, operation.path), bodyParser(operation, bodyLimit), traced(operation.path), route(operation, handler, resolved));
  }
  app.use('/console', consoleRouter(resolved));
  app.use((req: Request) => {
    throw new NotFoundError(`no route ${req.method} ${req.path}`);
  });
  app.use(problemMiddleware());
  return app;
}
