import { egressRefusalOf, type EgressGuard } from '../../egress/index.js';
import { isMaestroError } from '../../errors/index.js';
import { TaskError } from '../../sdk/index.js';
import { unreachableCode } from '../http/network-error.js';

/** What a connector was doing, for its error messages: `publish to kafka 127.0.0.1:9092`. */
export type Exchange = string;

/**
 * The one mapping of a connector's failure to what the run records:
 * - the cancellation itself, once `signal` has aborted;
 * - the egress guard's refusal (`EGRESS_DENIED`), found in the error's causes or, for clients that
 *   drop the cause (kafkajs), in `egress`;
 * - Maestro errors as they are;
 * - an unreachable peer (refused, reset, DNS, or `unavailable(error)` says so) as
 *   `PEER_UNAVAILABLE`, retryable;
 * - anything else as `TASK_FAILED`, retryable unless `permanent(error)` says it would fail again.
 */
export function connectorFailure(
  error: unknown,
  signal: AbortSignal,
  exchange: Exchange,
  {
    unavailable,
    permanent,
    egress,
  }: { unavailable?: (error: unknown) => string | undefined; permanent?: (error: unknown) => boolean; egress?: EgressGuard } = {},
): unknown {
  if (signal.aborted) return signal.reason;
  const refused = egressRefusalOf(error) ?? egress?.refusal;
  if (refused) return refused;
  if (isMaestroError(error)) return error;
  const code = unavailable?.(error) ?? unreachableCode(error);
  if (code !== undefined) {
    return new TaskError(`${exchange}: peer unavailable (${code})`, { code: 'PEER_UNAVAILABLE', retryable: true, cause: error, details: { cause: code } });
  }
  const reason = error instanceof Error ? error.message : String(error);
  return new TaskError(`${exchange} failed: ${reason}`, { code: 'TASK_FAILED', retryable: !(permanent?.(error) ?? false), cause: error });
}

/** A `TASK_INPUT_INVALID` error for `path`: the caller's mistake, never retried. */
export function invalidInput(path: string, message: string, cause?: unknown): TaskError {
  return new TaskError(`${path}: ${message}`, { code: 'TASK_INPUT_INVALID', retryable: false, cause, details: { path } });
}
