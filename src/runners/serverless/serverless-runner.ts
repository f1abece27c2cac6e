import type { InvokeCommand as InvokeCommandType, LambdaClient } from '@aws-sdk/client-lambda';
import type { ResourceClassSetting } from '../../config/index.js';
import { createEgressAgent, egressRefusalOf } from '../../egress/index.js';
import { TaskError, isMaestroError } from '../../errors/index.js';
import type { TaskContext } from '../../sdk/index.js';
import { markFailed, serverAttributes, withClientSpan } from '../../telemetry/index.js';
import { DEFAULT_RESOURCE_CLASSES, resolveResourceClass } from '../resources.js';
import { RunnerError, classTimeout } from '../runner-error.js';
import type { RunnableTask, Runner } from '../runner.js';
import { functionInvocationOf, type FunctionResult } from '../workload.js';

/** Options of {@link createServerlessRunner}. */
export interface ServerlessRunnerOptions {
  /**
   * Functions by name (`MAESTRO_FUNCTIONS`): an `http(s)://` URL (Knative service, OpenFaaS
   * `…/function/<name>`) or `lambda:<name or ARN>`. @default {}
   */
  functions?: Readonly<Record<string, string>>;
  /**
   * AWS Lambda client settings: endpoint (`MAESTRO_LAMBDA_ENDPOINT`), region, credentials. Its
   * connections go through the run's egress guard like any other function's, so an endpoint on a
   * private or loopback address must be allow-listed for the namespace. @default the AWS SDK's
   */
  lambda?: { endpoint?: string; region?: string; credentials?: { accessKeyId: string; secretAccessKey: string; sessionToken?: string } };
  /**
   * What one idempotency key covers:
   * - `task` (default): every attempt of the task in the run shares `<runId>/<taskId>`. A
   *   function that remembers successes only (and answers 409 while one is in flight) then runs
   *   the effect at most once per task, even when an attempt that timed out on Maestro's side
   *   did in fact complete; a failed attempt leaves no result behind, so the next one runs again.
   * - `attempt`: `<runId>/<taskId>/<attempt>`, for functions that also remember failures (which
   *   would replay a failure to every later attempt under a shared key). A new attempt after an
   *   abandoned invocation may then repeat the effect.
   * Either way, re-executions of the same attempt (Temporal re-running it after a worker loss,
   * this runner re-sending after a lost response) reuse the key.
   * @default 'task'
   */
  idempotencyScope?: 'task' | 'attempt';
  /** Resource classes: an invocation is bounded by its class's time limit. @default {@link DEFAULT_RESOURCE_CLASSES} */
  resourceClasses?: Readonly<Record<string, ResourceClassSetting>>;
  /** Re-sends of one invocation after a lost connection or a 429/502/503/504, same key. @default 3 */
  transportRetries?: number;
  /** First delay between re-sends, doubled each time (and between polls of an in-flight key). @default 250 */
  retryDelayMs?: number;
  /** @default 5000 */
  heartbeatIntervalMs?: number;
}

/** The serverless runner. */
export interface ServerlessRunner extends Runner {
  run(definition: RunnableTask, input: Record<string, unknown>, ctx: TaskContext): Promise<FunctionResult>;
}

const RUNNER = 'serverless';
const ERROR_EXCERPT_CHARS = 1024;

/**
 * The idempotency key of an invocation: `<runId>/<taskId>` or, with scope `attempt`,
 * `<runId>/<taskId>/<attempt>` (forEach items have their own task ids, `task[3]`).
 */
export function idempotencyKey(ctx: Pick<TaskContext, 'runId' | 'taskId' | 'attempt'>, scope: 'task' | 'attempt' = 'task'): string {
  return scope === 'attempt' ? `${ctx.runId}/${ctx.taskId}/${ctx.attempt}` : `${ctx.runId}/${ctx.taskId}`;
}

/**
 * (Alpha) Invokes the function a task names (see `tasks/function.invoke`) once per attempt, with an
 * idempotency key:
 *
 * - HTTP (Knative, OpenFaaS): `POST` of the JSON payload with `Idempotency-Key`, and
 *   `X-Maestro-Run-Id`, `-Task-Id`, `-Attempt`. 2xx succeeds; 409 (the key is in flight) is polled
 *   until the first invocation answers; a lost connection and 429/502/503/504 are re-sent with the
 *   same key; 500 fails the task (retryable); another 4xx fails it for good.
 * - AWS Lambda (`lambda:<function>`): `Invoke` (RequestResponse) with the key in the client
 *   context (`custom.idempotencyKey`); the AWS SDK's retries re-send the same key; a function
 *   error fails the task (retryable) with its message.
 *
 * Both kinds connect through the run's egress guard (`ctx.egress`): an endpoint the namespace may
 * not reach, or one of Maestro's own, fails `EGRESS_DENIED` before any connection.
 *
 * Cancellation abandons the invocation (the request is aborted; the function may finish on its
 * own, and its key makes a later attempt find the result instead of repeating the effect).
 */
export function createServerlessRunner(options: ServerlessRunnerOptions = {}): ServerlessRunner {
  const {
    functions = {},
    idempotencyScope = 'task',
    resourceClasses = DEFAULT_RESOURCE_CLASSES,
    transportRetries = 3,
    retryDelayMs = 250,
    heartbeatIntervalMs = 5000,
  } = options;
  let lambdaSdk: Promise<typeof import('@aws-sdk/client-lambda')> | undefined;
  /**
   * A Lambda client for one invocation: its connections go through the run's namespace guard (the
   * guard differs per namespace, so clients are not shared), to the address the guard checked.
   */
  const lambdaClient = async (ctx: TaskContext): Promise<{ client: LambdaClient; InvokeCommand: typeof InvokeCommandType }> => {
    const { LambdaClient: Client, InvokeCommand } = await (lambdaSdk ??= import('@aws-sdk/client-lambda'));
    const client = new Client({
      ...(options.lambda?.endpoint ? { endpoint: options.lambda.endpoint } : {}),
      ...(options.lambda?.region ? { region: options.lambda.region } : {}),
      ...(options.lambda?.credentials ? { credentials: options.lambda.credentials } : {}),
      requestHandler: { httpAgent: ctx.egress.httpAgent(), httpsAgent: ctx.egress.httpsAgent() },
    });
    return { client, InvokeCommand };
  };

  async function run(definition: RunnableTask, input: Record<string, unknown>, ctx: TaskContext): Promise<FunctionResult> {
    const invocation = functionInvocationOf(definition, input, RUNNER);
    const target = Object.hasOwn(functions, invocation.function) ? functions[invocation.function] : undefined;
    if (!target) {
      throw new RunnerError(RUNNER, `no function "${invocation.function}" on this worker (known: ${Object.keys(functions).join(', ') || 'none'})`, {
        code: 'TASK_INPUT_INVALID',
        retryable: false,
      });
    }
    const resources = resolveResourceClass(resourceClasses, undefined, RUNNER);
    const deadline = AbortSignal.timeout(resources.timeoutMs);
    const signal = AbortSignal.any([ctx.signal, deadline]);
    const key = idempotencyKey(ctx, idempotencyScope);
    const beat = setInterval(() => ctx.heartbeat({ runner: RUNNER, function: invocation.function }), heartbeatIntervalMs);
    ctx.logger.info('invoking function', { runner: RUNNER, function: invocation.function, idempotencyKey: key });
    try {
      const result = target.startsWith('lambda:')
        ? await invokeLambda(target.slice('lambda:'.length), invocation.payload, key, ctx, signal)
        : await invokeHttp(target, invocation.payload, key, ctx, signal);
      ctx.logger.info('function answered', { runner: RUNNER, function: invocation.function, status: result.status });
      return result;
    } catch (error) {
      if (ctx.signal.aborted) {
        ctx.logger.info('invocation abandoned', { runner: RUNNER, function: invocation.function, idempotencyKey: key });
        throw ctx.signal.reason;
      }
      if (deadline.aborted) throw classTimeout(RUNNER, resources.name, resources.timeoutMs);
      throw error;
    } finally {
      clearInterval(beat);
    }
  }

  async function invokeHttp(url: string, payload: unknown, key: string, ctx: TaskContext, signal: AbortSignal): Promise<FunctionResult> {
    const body = JSON.stringify(payload ?? null);
    let failures = 0;
    let delay = retryDelayMs;
    // The function's address is checked like any task's connection (the run's namespace allow-list).
    const dispatcher = createEgressAgent({ guard: ctx.egress });
    try {
      for (;;) {
        signal.throwIfAborted();
        let response: Response;
        try {
          // Each send (a re-send too) is a client span of its own, as OTel's HTTP conventions ask.
          response = await withClientSpan('POST', () => ({ 'http.request.method': 'POST', ...serverAttributes(url) }), async (trace, span) => {
            const answer = await fetch(url, {
              method: 'POST',
              headers: {
                'content-type': 'application/json',
                accept: 'application/json',
                'idempotency-key': key,
                'x-maestro-run-id': ctx.runId,
                'x-maestro-task-id': ctx.taskId,
                'x-maestro-attempt': String(ctx.attempt),
                ...trace,
              },
              body,
              signal,
              dispatcher,
            } as RequestInit);
            span.setAttribute('http.response.status_code', answer.status);
            if (answer.status >= 400) markFailed(span, String(answer.status));
            return answer;
          });
        } catch (error) {
          if (signal.aborted) throw error;
          const refused = egressRefusalOf(error);
          if (refused) throw refused;
          // The request may or may not have reached the function: re-send with the same key.
          failures += 1;
          if (failures > transportRetries) {
            throw new TaskError(`function at ${url} unreachable: ${causeOf(error)}`, { code: 'PEER_UNAVAILABLE', retryable: true, cause: error });
          }
          ctx.logger.warn('function unreachable; re-sending with the same idempotency key', { runner: RUNNER, error: causeOf(error), resend: failures });
          await sleep(delay, signal);
          delay *= 2;
          continue;
        }
        const text = await response.text();
        if (response.ok) return { status: response.status, result: decode(text, response.headers.get('content-type')) };
        if (response.status === 409) {
          // Another execution of this invocation holds the key: wait for its result.
          ctx.logger.info('function busy with this idempotency key; waiting', { runner: RUNNER });
          await sleep(delay, signal);
          delay = Math.min(delay * 2, 5000);
          continue;
        }
        if ([429, 502, 503, 504].includes(response.status) && failures < transportRetries) {
          failures += 1;
          await sleep(delay, signal);
          delay *= 2;
          continue;
        }
        throw new TaskError(`function at ${url} answered ${response.status}${text ? `: ${text.slice(0, ERROR_EXCERPT_CHARS)}` : ''}`, {
          code: 'TASK_FAILED',
          retryable: response.status === 429 || response.status >= 500,
          details: { status: response.status },
        });
      }
    } finally {
      await dispatcher.close();
    }
  }

  async function invokeLambda(functionName: string, payload: unknown, key: string, ctx: TaskContext, signal: AbortSignal): Promise<FunctionResult> {
    const { client, InvokeCommand } = await lambdaClient(ctx);
    const attributes = { 'rpc.system': 'aws-api', 'rpc.service': 'Lambda', 'rpc.method': 'Invoke', 'faas.invoked_name': functionName, 'faas.invoked_provider': 'aws' };
    let output;
    try {
      // The trace context goes in the client context's `custom`, where Lambda hands it to the
      // function (and where OpenTelemetry's Lambda instrumentation looks for it).
      output = await withClientSpan('Lambda.Invoke', attributes, (trace) => {
        const clientContext = Buffer.from(
          JSON.stringify({ custom: { idempotencyKey: key, runId: ctx.runId, taskId: ctx.taskId, attempt: String(ctx.attempt), ...trace } }),
        ).toString('base64');
        return client.send(
          new InvokeCommand({
            FunctionName: functionName,
            InvocationType: 'RequestResponse',
            ClientContext: clientContext,
            Payload: new TextEncoder().encode(JSON.stringify(payload ?? null)),
          }),
          { abortSignal: signal },
        );
      });
    } catch (error) {
      if (signal.aborted || isMaestroError(error)) throw error;
      const refused = egressRefusalOf(error);
      if (refused) throw refused;
      const status = (error as { $metadata?: { httpStatusCode?: number } }).$metadata?.httpStatusCode;
      throw new RunnerError(RUNNER, `Lambda ${functionName} could not be invoked${status ? ` (HTTP ${status})` : ''}: ${causeOf(error)}`, {
        cause: error,
        retryable: status === undefined || status === 429 || status >= 500,
      });
    } finally {
      client.destroy();
    }
    const text = output.Payload ? new TextDecoder().decode(output.Payload) : '';
    const result = decode(text, 'application/json');
    if (output.FunctionError) {
      const message = (result as { errorMessage?: unknown } | null)?.errorMessage;
      throw new TaskError(`Lambda ${functionName} failed (${output.FunctionError}): ${typeof message === 'string' ? message : text.slice(0, ERROR_EXCERPT_CHARS)}`, {
        code: 'TASK_FAILED',
        retryable: true,
        details: { functionError: output.FunctionError },
      });
    }
    return { status: output.StatusCode ?? 200, result };
  }

  return { run };
}

function decode(text: string, contentType: string | null): unknown {
  if (text === '') return null;
  if (contentType?.includes('json')) {
    try {
      return JSON.parse(text) as unknown;
    } catch {
      // A function that mislabels text as JSON still gets its answer through, as text.
      return text;
    }
  }
  return text;
}

function causeOf(error: unknown): string {
  const cause = (error as { cause?: { code?: unknown; message?: unknown } } | undefined)?.cause;
  if (cause && typeof cause.code === 'string') return cause.code;
  if (cause && typeof cause.message === 'string') return cause.message;
  return error instanceof Error ? error.message : String(error);
}

function sleep(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    if (signal.aborted) return reject(signal.reason);
    const timer = setTimeout(() => {
      signal.removeEventListener('abort', onAbort);
      resolve();
    }, ms);
    const onAbort = (): void => {
      clearTimeout(timer);
      reject(signal.reason);
    };
    signal.addEventListener('abort', onAbort, { once: true });
  });
}
