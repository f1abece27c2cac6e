/**
 * A stand-in for the Python worker (`sdk/python`, `maestro-py worker`): a real `@temporalio/worker`
 * Worker on its own task queue, with Maestro's data converter, serving activities named
 * `maestro.task:<name>@<version>` that follow the wire contract of `docs/python-tasks.md` — so the
 * TypeScript side of remote tasks is tested against a real remote worker before the Python one exists.
 *
 * Its tasks (register them with {@link REMOTE_TASKS}):
 * - `py/noop@0.1.0`: returns its input as `{ echo }`, logging one line and emitting one event;
 * - `py/slow@0.1.0`: heartbeats every 200 ms for `input.ms`, ending early (cancelled) when the run is;
 * - `py/fail@0.1.0`: fails with code `input.code` (default `BAD_THING`), retryable when `input.retryable`;
 * - `py/secret@0.1.0`: resolves secret `input.name` (for `input.host`) with its attempt's grant through
 *   `POST /tasks/secrets` of `apiUrl` as `workerToken`, as `ctx.secrets()` does; returns the value's length
 *   and fails with the problem's code when refused. It never logs the value.
 */
import { Context } from '@temporalio/activity';
import { ApplicationFailure, CancelledFailure } from '@temporalio/common';
import { NativeConnection, Worker } from '@temporalio/worker';
import { maestroDataConverter, type AesGcmPayloadCodec } from '../../src/codec/index.js';
import type { RemoteTaskRequest, RemoteTaskResult } from '../../src/ir/index.js';

/** Options of {@link startRemoteTaskWorker}. */
export interface RemoteTaskWorkerOptions {
  temporalAddress: string;
  /** Temporal namespace. @default 'default' */
  namespace?: string;
  taskQueue: string;
  /** The payload codec of Maestro's worker and API (the same keys as `MAESTRO_PAYLOAD_KEY`). */
  payloadCodec: AesGcmPayloadCodec;
  /** The Maestro API `py/secret` calls (`MAESTRO_URL`). */
  apiUrl?: string;
  /** Bearer token of role `worker` `py/secret` calls with (`MAESTRO_TOKEN`). */
  workerToken?: string;
}

/** A running stand-in worker, and what its tasks saw. */
export interface RemoteTaskWorker {
  /** `<name>@<version> <taskId>` of every attempt that reached the task's code, in order. */
  calls: string[];
  /** `<taskId>` of every `py/slow` attempt that saw its cancellation. */
  cancelled: string[];
  stop(): Promise<void>;
}

const object = { type: 'object' };
/** The registrations (`POST /tasks` bodies without namespace and queue) of the stand-in's tasks. */
export const REMOTE_TASKS = [
  { name: 'py/noop', version: '0.1.0', deterministic: true, inputSchema: { type: 'object', properties: { name: { type: 'string' } }, required: ['name'] }, outputSchema: { type: 'object', required: ['echo'] } },
  { name: 'py/slow', version: '0.1.0', deterministic: false, inputSchema: { type: 'object', properties: { ms: { type: 'integer' } } }, outputSchema: object },
  { name: 'py/fail', version: '0.1.0', deterministic: false, inputSchema: { type: 'object', properties: { code: { type: 'string' }, retryable: { type: 'boolean' } } }, outputSchema: object },
  { name: 'py/secret', version: '0.1.0', deterministic: false, inputSchema: { type: 'object', properties: { name: { type: 'string' }, host: { type: 'string' } }, required: ['name'] }, outputSchema: object },
].map((task) => ({ ...task, description: `stand-in ${task.name}`, language: 'python', codeDigest: `sha256:${'5'.repeat(64)}` }));

/** Starts the stand-in worker; `stop()` shuts it down (its running attempts are abandoned, as a killed worker's). */
export async function startRemoteTaskWorker({ temporalAddress, namespace = 'default', taskQueue, payloadCodec, apiUrl, workerToken }: RemoteTaskWorkerOptions): Promise<RemoteTaskWorker> {
  const calls: string[] = [];
  const cancelled: string[] = [];
  const seen = (uses: string, request: RemoteTaskRequest): void => void calls.push(`${uses} ${request.context.taskId}`);
  const log = (message: string): RemoteTaskResult['logs'] => [{ ts: new Date().toISOString(), level: 'info', message, fields: {} }];
  const activities = {
    'maestro.task:py/noop@0.1.0': async (request: RemoteTaskRequest): Promise<RemoteTaskResult> => {
      seen('py/noop@0.1.0', request);
      return { output: { echo: request.input }, logs: log(`hello ${String(request.input.name)}`), events: [{ type: 'greeted' }] };
    },
    'maestro.task:py/slow@0.1.0': async (request: RemoteTaskRequest): Promise<RemoteTaskResult> => {
      seen('py/slow@0.1.0', request);
      const context = Context.current();
      const until = Date.now() + (typeof request.input.ms === 'number' ? request.input.ms : 60_000);
      while (Date.now() < until) {
        context.heartbeat();
        try {
          await context.sleep(200);
        } catch (error) {
          if (error instanceof CancelledFailure) cancelled.push(request.context.taskId);
          throw error;
        }
      }
      return { output: { slept: true } };
    },
    'maestro.task:py/fail@0.1.0': async (request: RemoteTaskRequest): Promise<RemoteTaskResult> => {
      seen('py/fail@0.1.0', request);
      const code = typeof request.input.code === 'string' ? request.input.code : 'BAD_THING';
      throw ApplicationFailure.create({ message: `failed with ${code}`, type: code, nonRetryable: request.input.retryable !== true, details: [{ message: `failed with ${code}`, logs: log('about to fail'), events: [] }] });
    },
    'maestro.task:py/secret@0.1.0': async (request: RemoteTaskRequest): Promise<RemoteTaskResult> => {
      seen('py/secret@0.1.0', request);
      const { name, host } = request.input as { name: string; host?: string };
      const res = await fetch(`${apiUrl ?? ''}/tasks/secrets`, {
        method: 'POST',
        headers: { authorization: `Bearer ${workerToken ?? ''}`, 'content-type': 'application/json' },
        body: JSON.stringify({ grant: request.context.grant, name, ...(host === undefined ? {} : { host }) }),
      });
      const body = (await res.json()) as { value?: string; code?: string; detail?: string };
      if (res.status !== 200) throw ApplicationFailure.create({ message: body.detail ?? `HTTP ${res.status}`, type: body.code ?? 'TASK_FAILED', nonRetryable: true, details: [{ message: body.detail ?? '', logs: log(`secret ${name} refused`), events: [] }] });
      return { output: { length: body.value?.length ?? 0 }, logs: log(`resolved secret ${name}`) };
    },
  };
  const connection = await NativeConnection.connect({ address: temporalAddress });
    // Heartbeats carry the cancellation: sent at most a second apart (the SDK's default throttle is
  // 80% of the 30 s heartbeat timeout, which would delay a cancellation by ~24 s).
  const worker = await Worker.create({ connection, namespace, taskQueue, activities, dataConverter: maestroDataConverter(payloadCodec), maxHeartbeatThrottleInterval: '1s' });
  const running = worker.run();
  return {
    calls,
    cancelled,
    async stop() {
      worker.shutdown();
      await running;
      await connection.close();
    },
  };
}
