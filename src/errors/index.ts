/**
 * Maestro's one error hierarchy. Every error has a stable `code`; {@link ERROR_CODES} maps each
 * code, in one place, to its HTTP status, CLI exit code and Temporal retryability.
 */

/** How each error code surfaces: HTTP status, CLI exit code, and whether Temporal may retry it. */
export const ERROR_CODES = {
  MANIFEST_INVALID: { http: 400, exit: 2, retryable: false },
  COMPILE_FAILED: { http: 400, exit: 2, retryable: false },
  PARAMS_INVALID: { http: 400, exit: 2, retryable: false },
  BAD_REQUEST: { http: 400, exit: 2, retryable: false },
  UNAUTHENTICATED: { http: 401, exit: 2, retryable: false },
  FORBIDDEN: { http: 403, exit: 2, retryable: false },
  POLICY_DENIED: { http: 403, exit: 1, retryable: false },
  POLICY_UNAVAILABLE: { http: 503, exit: 1, retryable: true },
  /** The egress guard refused a connection (or a container network) the run's namespace may not have. */
  EGRESS_DENIED: { http: 403, exit: 1, retryable: false },
  /** A container image that must carry a trusted signature has none, or an invalid one: it never starts. */
  IMAGE_NOT_VERIFIED: { http: 403, exit: 1, retryable: false },
  /**
   * A task asked for a secret its run's namespace may not use, or to send one to a host it is not
   * bound to: refused before anything is sent.
   */
  SECRET_FORBIDDEN: { http: 403, exit: 1, retryable: false },
  /** `POST /tasks/secrets`: a secret the run's namespace may use, but that is not set in the secrets source. */
  SECRET_NOT_FOUND: { http: 404, exit: 1, retryable: false },
  /** `POST /tasks/secrets` with a task attempt's grant that is past its expiry (the attempt's timeout). */
  GRANT_EXPIRED: { http: 401, exit: 1, retryable: false },
  /** `POST /tasks/secrets` with a grant Maestro did not mint: malformed, modified, or signed with another key. */
  GRANT_INVALID: { http: 401, exit: 1, retryable: false },
  RUNBOOK_NOT_ALLOWED: { http: 403, exit: 2, retryable: false },
  NOT_FOUND: { http: 404, exit: 2, retryable: false },
  TASK_NOT_FOUND: { http: 404, exit: 2, retryable: false },
  CONFLICT: { http: 409, exit: 1, retryable: false },
  /** `POST /tasks` of a task `name@version` the namespace has registered with other content (schemas, code digest, queue): register a new version. */
  TASK_VERSION_CONFLICT: { http: 409, exit: 1, retryable: false },
  /** `POST /schedules` with an id the namespace has a schedule under already (`PUT` replaces it). */
  SCHEDULE_EXISTS: { http: 409, exit: 1, retryable: false },
  /** A signal for a name no task of the run waits for (yet, or any more): nothing was delivered; send it again once a task waits. */
  SIGNAL_NOT_AWAITED: { http: 409, exit: 1, retryable: false },
  /** A signal payload that does not match the waiting task's JSON Schema, or is too large or deep: the task keeps waiting. */
  SIGNAL_PAYLOAD_INVALID: { http: 400, exit: 2, retryable: false },
  /** The run's concurrency key is held by as many runs as its limit and `onConflict: reject`: nothing started. */
  CONCURRENCY_LIMIT: { http: 409, exit: 1, retryable: false },
  /** A run's concurrency key could not be acquired or waited for (its lock workflow did not answer). */
  CONCURRENCY_UNAVAILABLE: { http: 503, exit: 1, retryable: true },
  /** A trigger name already registered in that namespace (`POST /triggers`; `PUT` replaces instead). */
  TRIGGER_EXISTS: { http: 409, exit: 1, retryable: false },
  /** A webhook delivery whose signature is missing or does not verify: nothing started. */
  SIGNATURE_INVALID: { http: 401, exit: 2, retryable: false },
  /** A trigger fired more often than its `rateLimit`: nothing started; retry after `Retry-After`. */
  RATE_LIMITED: { http: 429, exit: 1, retryable: true },
  PAYLOAD_TOO_LARGE: { http: 413, exit: 2, retryable: false },
  UNSUPPORTED_MEDIA_TYPE: { http: 415, exit: 2, retryable: false },
  /** The caller, or the API as a whole, holds as many event streams as it may: retry after `Retry-After`. */
  TOO_MANY_STREAMS: { http: 429, exit: 1, retryable: true },
  TASK_INPUT_INVALID: { http: 400, exit: 1, retryable: false },
  TASK_FAILED: { http: 500, exit: 1, retryable: true },
  TASK_TIMEOUT: { http: 504, exit: 1, retryable: true },
  RUNNER_FAILED: { http: 502, exit: 1, retryable: true },
  PEER_UNAVAILABLE: { http: 503, exit: 1, retryable: true },
  EXPRESSION_FAILED: { http: 400, exit: 1, retryable: false },
  /** A CEL expression that would cost more than its limit: refused at compile, failed at run time. */
  EXPRESSION_TOO_COSTLY: { http: 400, exit: 2, retryable: false },
  CONFIG_INVALID: { http: 500, exit: 2, retryable: false },
  TOOL_MISSING: { http: 500, exit: 2, retryable: false },
  UNAVAILABLE: { http: 503, exit: 1, retryable: true },
  /** The audit log refused the record of an action on a run (cancel, approve, retry), so the action was not taken. */
  AUDIT_UNAVAILABLE: { http: 503, exit: 1, retryable: true },
  /** An encrypted Temporal payload whose key id is not configured, or whose ciphertext fails authentication. */
  PAYLOAD_UNDECRYPTABLE: { http: 422, exit: 1, retryable: false },
  /** A workflow that would run itself through its sub-workflows (directly or not): refused at registration. */
  SUBWORKFLOW_RECURSION: { http: 400, exit: 2, retryable: false },
  /** A sub-workflow would nest deeper than `MAESTRO_SUBWORKFLOW_MAX_DEPTH`: its task fails, nothing starts. */
  SUBWORKFLOW_DEPTH_EXCEEDED: { http: 400, exit: 1, retryable: false },
  /** A sub-workflow resolved in another namespace than its run's, or not embedded in its parent: refused before it starts. */
  SUBWORKFLOW_FORBIDDEN: { http: 403, exit: 1, retryable: false },
  /**
   * A namespace's budget for the period is spent: a run start that would exceed it is refused
   * (nothing starts), and a task attempt that crosses it fails, not retried (or its run pauses).
   */
  BUDGET_EXCEEDED: { http: 403, exit: 1, retryable: false },
  INTERNAL: { http: 500, exit: 1, retryable: false },
} as const satisfies Record<string, { http: number; exit: number; retryable: boolean }>;

/** A stable Maestro error code. */
export type ErrorCode = keyof typeof ERROR_CODES;

/** Options of {@link MaestroError}. */
export interface MaestroErrorOptions {
  /** The underlying error. */
  cause?: unknown;
  /** Overrides the code's default retryability (see {@link ERROR_CODES}). */
  retryable?: boolean;
  /** Extra structured detail, safe to show the user (never secrets). */
  details?: Record<string, unknown>;
}

/** Base of every error Maestro raises on purpose. */
export class MaestroError extends Error {
  readonly code: ErrorCode;
  readonly retryable: boolean;
  readonly details?: Record<string, unknown>;

  constructor(code: ErrorCode, message: string, options: MaestroErrorOptions = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = new.target.name;
    this.code = code;
    this.retryable = options.retryable ?? ERROR_CODES[code].retryable;
    if (options.details) this.details = options.details;
  }

  /** HTTP status for this error. */
  get httpStatus(): number {
    return ERROR_CODES[this.code].http;
  }

  /** CLI exit code for this error. */
  get exitCode(): number {
    return ERROR_CODES[this.code].exit;
  }
}

/** One problem in a manifest, located by file, line, column and JSON path. */
export interface ManifestIssue {
  file: string;
  /** 1-based. */
  line: number;
  /** 1-based. */
  column: number;
  /** JSON path such as `spec.tasks[2].needs[0]`; empty for the document itself. */
  path: string;
  message: string;
  /** A more precise code than `MANIFEST_INVALID` for this issue. @default undefined */
  code?: ErrorCode;
}

/** Formats an issue as `file:line:col: path: message`, the CLI's and the editor's format. */
export function formatIssue(issue: ManifestIssue): string {
  return `${issue.file}:${issue.line}:${issue.column}: ${issue.path || '(root)'}: ${issue.message}`;
}

/**
 * A manifest that failed parsing, schema validation or semantic checks; carries every issue found.
 * Its code is the issues' own when they all share one (e.g. `EXPRESSION_TOO_COSTLY`), else
 * `MANIFEST_INVALID`.
 */
export class ManifestError extends MaestroError {
  constructor(
    readonly issues: ManifestIssue[],
    options: MaestroErrorOptions = {},
  ) {
    const codes = new Set(issues.map((issue) => issue.code ?? 'MANIFEST_INVALID'));
    const [only] = codes;
    super(codes.size === 1 && only ? only : 'MANIFEST_INVALID', issues.map(formatIssue).join('\n'), options);
  }
}

/** Run parameters that are missing, unknown or of the wrong type. */
export class ParamsError extends MaestroError {
  constructor(
    readonly problems: { name: string; message: string }[],
    options: MaestroErrorOptions = {},
  ) {
    super('PARAMS_INVALID', problems.map((p) => `param "${p.name}": ${p.message}`).join('; '), options);
  }
}

/** Something the user named (workflow, run, task) does not exist. */
export class NotFoundError extends MaestroError {
  constructor(message: string, options: MaestroErrorOptions = {}) {
    super('NOT_FOUND', message, options);
  }
}

/** A task's own failure, raised by task code through the SDK. */
export class TaskError extends MaestroError {
  constructor(message: string, options: MaestroErrorOptions & { code?: ErrorCode } = {}) {
    super(options.code ?? 'TASK_FAILED', message, options);
  }
}

/**
 * The policy decision point said no (`POLICY_DENIED`), or could not answer and the namespace fails
 * closed (`POLICY_UNAVAILABLE`, retryable). The message is the policy's reasons; `details` carries
 * `{decisionId, reasons, bundleRevision}` so the denial can be found in the decision log.
 */
export class PolicyDeniedError extends MaestroError {
  constructor(
    readonly reasons: readonly string[],
    readonly decisionId: string,
    options: MaestroErrorOptions & { code?: 'POLICY_DENIED' | 'POLICY_UNAVAILABLE'; bundleRevision?: string } = {},
  ) {
    const { code = 'POLICY_DENIED', bundleRevision, ...rest } = options;
    super(code, `denied by policy: ${reasons.join('; ') || 'no reason given'}`, {
      ...rest,
      details: { decisionId, reasons: [...reasons], ...(bundleRevision === undefined ? {} : { bundleRevision }), ...rest.details },
    });
  }
}

/** Bad configuration or a missing tool; start-up stops with this message. */
export class ConfigError extends MaestroError {
  constructor(message: string, options: MaestroErrorOptions & { code?: 'CONFIG_INVALID' | 'TOOL_MISSING' } = {}) {
    super(options.code ?? 'CONFIG_INVALID', message, options);
  }
}

/** True when `code` is one of Maestro's error codes (e.g. a Temporal failure type). */
export function isErrorCode(code: unknown): code is ErrorCode {
  return typeof code === 'string' && Object.hasOwn(ERROR_CODES, code);
}

/** Narrows an unknown to a MaestroError. */
export function isMaestroError(error: unknown): error is MaestroError {
  return error instanceof MaestroError;
}
