/**
 * The one error middleware: every error becomes RFC 9457 `application/problem+json` with the
 * stable Maestro `code`, its HTTP status taken from `ERROR_CODES`.
 */
import type { ErrorRequestHandler } from 'express';
import { ERROR_CODES, MaestroError, ManifestError, ParamsError, PolicyDeniedError, type ErrorCode } from '../errors/index.js';

/** An RFC 9457 problem document as Maestro sends it. */
export interface Problem {
  /** `urn:maestro:error:<CODE>`. */
  type: string;
  title: string;
  status: number;
  detail: string;
  code: ErrorCode;
  /** The request path. */
  instance: string;
  /** Located problems: manifest issues (line, column, path) or request and param problems (path). */
  errors?: { path: string; message: string; line?: number; column?: number }[];
  /** A policy denial's reasons (`POLICY_DENIED`, `POLICY_UNAVAILABLE`). */
  reasons?: string[];
  /** A policy denial's decision id: the key of its record in the audit log. */
  decisionId?: string;
  /** A denied run start's denials, one per decision (`taskId` absent for the run's own). */
  decisions?: { taskId?: string; decisionId: string; reasons: string[] }[];
  /** The runs holding a concurrency key that refused a start (`CONCURRENCY_LIMIT`). */
  holders?: string[];
  /** `BUDGET_EXCEEDED`: the namespace, its budget's period and limit, and its usage so far in the period. */
  namespace?: string;
  period?: string;
  limit?: number;
  usage?: number;
}

const TITLES: Partial<Record<ErrorCode, string>> = {
  BUDGET_EXCEEDED: 'The namespace\'s budget is spent',
  MANIFEST_INVALID: 'The manifest is invalid',
  PARAMS_INVALID: 'The parameters are invalid',
  BAD_REQUEST: 'The request is invalid',
  UNAUTHENTICATED: 'Authentication required',
  FORBIDDEN: 'Not allowed',
  RUNBOOK_NOT_ALLOWED: 'The runbook is not allowed for this caller',
  CONCURRENCY_LIMIT: 'The concurrency key is held',
  NOT_FOUND: 'Not found',
  TASK_NOT_FOUND: 'Task not found',
  CONFLICT: 'Conflict',
  PAYLOAD_TOO_LARGE: 'The request body is too large',
  EXPRESSION_TOO_COSTLY: 'An expression costs more than its limit',
  UNSUPPORTED_MEDIA_TYPE: 'Unsupported media type',
  TOO_MANY_STREAMS: 'Too many open event streams',
  TRIGGER_EXISTS: 'The trigger exists',
  SIGNATURE_INVALID: 'The delivery carries no valid signature',
  RATE_LIMITED: 'The trigger fired too often',
  POLICY_DENIED: 'Denied by policy',
  POLICY_UNAVAILABLE: 'The policy decision point could not decide',
  UNAVAILABLE: 'A dependency is unavailable',
  INTERNAL: 'Internal error',
};

/**
 * body-parser's errors carry a `type` and a `status`; this is the one adapter turning them into
 * Maestro errors (a malformed JSON body is the client's fault, not a 500).
 */
function fromBodyParser(error: unknown): MaestroError | undefined {
  if (error === null || typeof error !== 'object' || !('type' in error) || typeof error.type !== 'string') return undefined;
  const message = error instanceof Error ? error.message : 'invalid request body';
  switch (error.type) {
    case 'entity.parse.failed':
      return new MaestroError('BAD_REQUEST', `the body is not valid JSON: ${message}`, { cause: error });
    case 'entity.too.large':
      return new MaestroError('PAYLOAD_TOO_LARGE', message, { cause: error });
    case 'encoding.unsupported':
    case 'charset.unsupported':
      return new MaestroError('UNSUPPORTED_MEDIA_TYPE', message, { cause: error });
    case 'request.aborted':
    case 'request.size.invalid':
    case 'stream.encoding.set':
      return new MaestroError('BAD_REQUEST', message, { cause: error });
    default:
      return undefined;
  }
}

function locatedErrors(error: MaestroError): Problem['errors'] {
  if (error instanceof ManifestError) {
    return error.issues.map(({ line, column, path, message }) => ({ line, column, path, message }));
  }
  if (error instanceof ParamsError) return error.problems.map(({ name, message }) => ({ path: `params.${name}`, message }));
  const errors = error.details?.errors;
  return Array.isArray(errors) ? (errors as Problem['errors']) : undefined;
}

/** The reasons and decision ids of a policy denial, for the client to act on and the auditor to find. */
function policyFields(error: MaestroError): Pick<Problem, 'reasons' | 'decisionId' | 'decisions'> {
  if (!(error instanceof PolicyDeniedError)) return {};
  const decisions = error.details?.decisions;
  return { reasons: [...error.reasons], decisionId: error.decisionId, ...(Array.isArray(decisions) ? { decisions: decisions as Problem['decisions'] } : {}) };
}

/** A refused start's budget figures (`BUDGET_EXCEEDED`), from the error's details. */
function budgetFields(error: MaestroError): Pick<Problem, 'namespace' | 'period' | 'limit' | 'usage'> {
  const { namespace, period, limit, usage } = error.details ?? {};
  return {
    ...(typeof namespace === 'string' ? { namespace } : {}),
    ...(typeof period === 'string' ? { period } : {}),
    ...(typeof limit === 'number' ? { limit } : {}),
    ...(typeof usage === 'number' ? { usage } : {}),
  };
}

/** The problem document for an error; unexpected errors become `INTERNAL` without their message. */
export function toProblem(error: unknown, instance: string): Problem {
  const maestro = error instanceof MaestroError ? error : fromBodyParser(error);
  if (!maestro) {
    return { type: 'urn:maestro:error:INTERNAL', title: 'Internal error', status: 500, detail: 'an unexpected error occurred; see the server log', code: 'INTERNAL', instance };
  }
  const errors = locatedErrors(maestro);
  return {
    type: `urn:maestro:error:${maestro.code}`,
    title: TITLES[maestro.code] ?? maestro.code,
    status: ERROR_CODES[maestro.code].http,
    detail: maestro.message,
    code: maestro.code,
    instance,
    ...(errors ? { errors } : {}),
    ...policyFields(maestro),
    ...(maestro.code === 'CONCURRENCY_LIMIT' && Array.isArray(maestro.details?.holders) ? { holders: maestro.details.holders as string[] } : {}),
    ...(maestro.code === 'BUDGET_EXCEEDED' ? budgetFields(maestro) : {}),
  };
}

/** Options of {@link problemMiddleware}. */
export interface ProblemMiddlewareOptions {
  /**
   * Where unexpected errors (500) are reported.
   * @default console.error
   */
  log?: (message: string, error: unknown) => void;
}

/** Express error middleware sending {@link toProblem}'s document. */
export function problemMiddleware({ log = console.error }: ProblemMiddlewareOptions = {}): ErrorRequestHandler {
  return (error: unknown, req, res, next) => {
    if (res.headersSent) {
      next(error);
      return;
    }
    const problem = toProblem(error, req.originalUrl.split('?')[0] ?? req.originalUrl);
    if (problem.status >= 500) log(`maestro api: ${req.method} ${req.originalUrl} failed:`, error);
    if (problem.code === 'UNAUTHENTICATED') res.setHeader('WWW-Authenticate', 'Bearer realm="maestro"');
    const retryAfter = error instanceof MaestroError ? error.details?.retryAfterSeconds : undefined;
    if (typeof retryAfter === 'number') res.setHeader('Retry-After', String(retryAfter));
    res.status(problem.status).type('application/problem+json').send(JSON.stringify(problem));
  };
}
