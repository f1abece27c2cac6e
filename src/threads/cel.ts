/**
 * CEL templates resolved off the caller's event loop. One CEL evaluation is bounded by its cost
 * limit (`CEL_COST_LIMIT`), which still lets it take tens of milliseconds, and a document can hold
 * many expressions: evaluated on the API's event loop, a runbook trigger could hold `/healthz`
 * and every other request that long. Here they run on a thread, and a job that takes longer than
 * its time limit is stopped by terminating the thread. The results are exactly those of
 * `resolveTemplates` (the same code runs on the thread).
 */
import { availableParallelism } from 'node:os';
import { MaestroError } from '../errors/index.js';
import { ExpressionError, type ExpressionBindings, type ExpressionErrorCode } from '../ir/index.js';
import { ThreadPool, type ThreadStop } from './pool.js';

/** A job of the CEL thread: templates by name, resolved over `bindings`. */
export interface CelJob {
  templates: Readonly<Record<string, unknown>>;
  bindings: ExpressionBindings;
  /** Names of the integer params and inputs (CEL sees them as ints). */
  integers: string[];
}

/** A template's value, or the {@link ExpressionError} it failed with (as data: threads pass no classes). */
type CelResult = { value: unknown } | { error: { message: string; expression: string; code: ExpressionErrorCode; at?: { line: number; column: number } } };

/** The CEL thread's answer to a job: a result per template, or the unexpected failure that stopped it. */
export interface CelAnswer {
  results: Record<string, CelResult>;
  internal?: string;
}

/** A template's value, or why it could not be computed. */
export type ResolvedTemplate = { value: unknown } | { error: ExpressionError };

/** Options of {@link resolveTemplatesOffThread}. */
export interface OffThreadOptions {
  /** Longest the whole job may take; past it the thread is terminated. @default 2000 */
  timeoutMs?: number;
  /** Aborts the job (its thread is terminated). */
  signal?: AbortSignal;
  /**
   * What the templates belong to, named in the error of a job that takes too long
   * (e.g. `runbook deploy@1.0.0`). @default none: the message alone
   */
  owner?: string;
  /** JSON path of the templates in their document, given in that error's `details.errors`. @default none */
  path?: string;
}

const THREAD = new URL('./cel-thread.ts', import.meta.url);

/** `${a.b.c}` and nothing else: a field path, at most 16 fields deep. */
const FIELD_PATH = /^\$\{\s*([A-Za-z_][A-Za-z0-9_]*(?:\.[A-Za-z_][A-Za-z0-9_]*){0,15})\s*\}$/;
/**
 * CEL's reserved words (a path naming one does not parse, so it is left to CEL to say so), and
 * `__proto__`, which the bindings' copies do not keep as a field.
 */
const CEL_RESERVED = new Set(['__proto__', 'true', 'false', 'null', 'in', 'as', 'break', 'const', 'continue', 'else', 'for', 'function', 'if', 'import', 'let', 'loop', 'package', 'namespace', 'return', 'var', 'void', 'while']);

/** The plain-object variables a field path may start from. */
function pathRoot(bindings: ExpressionBindings, name: string): unknown {
  switch (name) {
    case 'params':
      return bindings.params;
    case 'inputs':
      return bindings.inputs;
    case 'item':
      return 'item' in bindings ? bindings.item : undefined;
    case 'body':
      return bindings.event === undefined ? undefined : (bindings.event.body ?? null);
    case 'headers':
      return bindings.event?.headers;
    default:
      return undefined;
  }
}

/**
 * The value of a template that is one field path (`${body.order.id}`, `${inputs.n}`) ending on a
 * JSON scalar, read by walking the bindings: what CEL answers for it (a JSON number, an int input
 * or param included, comes back as the same number), at the cost of reading the fields — so it
 * needs no thread. Anything else (another shape of expression, a missing field, a list or map
 * value, a reserved word) is `undefined`: CEL evaluates it, on a thread.
 */
export function fieldPathValue(template: unknown, bindings: ExpressionBindings): { value: string | number | boolean | null } | undefined {
  if (typeof template !== 'string' || template.length > 256) return undefined;
  const path = FIELD_PATH.exec(template)?.[1];
  if (path === undefined) return undefined;
  const [root = '', ...fields] = path.split('.');
  if (fields.length === 0 || CEL_RESERVED.has(root) || fields.some((field) => CEL_RESERVED.has(field))) return undefined;
  let value = pathRoot(bindings, root);
  for (const field of fields) {
    // Plain objects only, as JSON.parse makes them: CEL reads no other kind of object as a map.
    if (value === null || typeof value !== 'object' || Object.getPrototypeOf(value) !== Object.prototype || !Object.hasOwn(value, field)) return undefined;
    value = (value as Record<string, unknown>)[field];
  }
  if (value === null || typeof value === 'string' || typeof value === 'boolean') return { value };
  return typeof value === 'number' && Number.isFinite(value) ? { value } : undefined;
}
/** CEL needs little memory: its cost limit bounds the lists a macro builds. */
const THREAD_HEAP_MB = 64;

let pool: ThreadPool | undefined;

/**
 * Resolves each template (`resolveTemplates`) on a thread of the process's CEL pool, so no
 * expression holds the caller's event loop.
 *
 * @returns each template's value, or the `ExpressionError` it failed with.
 * @throws MaestroError `EXPRESSION_TOO_COSTLY` when the job takes longer than `timeoutMs`, naming
 *   `owner` and `path`.
 * @throws MaestroError `INTERNAL` when the thread fails unexpectedly.
 * @example
 * await resolveTemplatesOffThread({ key: 'backfill/${inputs.day}' }, { params: {}, tasks: {}, inputs: { day: 3 } }, new Set(['day']))
 * // { key: { value: 'backfill/3' } }
 */
export async function resolveTemplatesOffThread(
  templates: Readonly<Record<string, unknown>>,
  bindings: ExpressionBindings,
  integerParams: ReadonlySet<string> = new Set(),
  { timeoutMs = 2_000, signal, owner, path }: OffThreadOptions = {},
): Promise<Record<string, ResolvedTemplate>> {
  // Field paths (a trigger's `body.n`, a runbook's `${inputs.n}`, the common case) cost no more than
  // reading them: without a thread's round trip, which on a busy machine waits for a core.
  const inline: Record<string, ResolvedTemplate> = {};
  for (const [name, template] of Object.entries(templates)) {
    const found = fieldPathValue(template, bindings);
    if (found === undefined) break;
    inline[name] = found;
  }
  if (Object.keys(inline).length === Object.keys(templates).length) return inline;
  // As many threads as cores, at most 2: triggers are few, and each job is short.
  pool ??= new ThreadPool({ module: THREAD, size: Math.min(2, availableParallelism()), heapMb: THREAD_HEAP_MB });
  const job: CelJob = { templates, bindings, integers: [...integerParams] };
  const answer = await pool.run<CelAnswer | ThreadStop>({
    message: job,
    timeoutMs,
    ...(signal ? { signal } : {}),
    onMessage: (message) => message as CelAnswer,
    onStop: (stop) => stop,
  });
  if ('kind' in answer) {
    if (answer.kind === 'timeout') {
      const message = `the expressions took longer than ${timeoutMs} ms to evaluate`;
      throw new MaestroError('EXPRESSION_TOO_COSTLY', owner === undefined ? message : `${owner}: ${message}`, path === undefined ? {} : { details: { errors: [{ path, message }] } });
    }
    throw new MaestroError('INTERNAL', `the CEL thread stopped: ${answer.message}`);
  }
  if (answer.internal !== undefined) throw new MaestroError('INTERNAL', `the CEL thread failed: ${answer.internal}`);
  return Object.fromEntries(
    Object.entries(answer.results).map(([name, result]) => [
      name,
      'value' in result ? result : { error: new ExpressionError(result.error.message, result.error.expression, result.error.code, result.error.at) },
    ]),
  );
}
