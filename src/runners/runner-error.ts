import { MaestroError, TaskError, type ErrorCode, type MaestroErrorOptions } from '../errors/index.js';

/**
 * A runner could not carry out an attempt: the engine, cluster or function endpoint is
 * unreachable or refused the work (code `RUNNER_FAILED`, retryable unless said otherwise). A task
 * that ran and failed (non-zero exit, failed Job, function error) is a {@link TaskError} instead.
 */
export class RunnerError extends MaestroError {
  constructor(
    readonly runner: string,
    message: string,
    options: MaestroErrorOptions & { code?: Extract<ErrorCode, 'RUNNER_FAILED' | 'POLICY_DENIED' | 'IMAGE_NOT_VERIFIED' | 'TASK_INPUT_INVALID' | 'CONFIG_INVALID'> } = {},
  ) {
    super(options.code ?? 'RUNNER_FAILED', `${runner} runner: ${message}`, options);
  }
}

/** The attempt ran past its resource class's time limit (retryable, like any timeout). */
export function classTimeout(runner: string, resourceClass: string, timeoutMs: number): TaskError {
  return new TaskError(`${runner} runner: timed out after ${timeoutMs} ms (resource class "${resourceClass}")`, {
    code: 'TASK_TIMEOUT',
    retryable: true,
    details: { resourceClass, timeoutMs },
  });
}
