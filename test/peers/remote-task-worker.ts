/**
 * A stand-in for the Python worker (`sdk/python`, `maestro-py worker`): a real `@temporalio/worker`
 * Worker on its own task queue, with Maestro's data converter, serving activities named
 * `maestro.task:<name>@<version>` that follow the wire contract of `docs/python-tasks.md` — so the
 * TypeScript side of remote tasks is tested against a real remote worker before the Python one exists.
 *
 * test/api/task-secrets.test.ts uses it where a real worker would cost more than it shows: a run
 * kept running while the route is attacked, and a task calling the route with the raw grant. What a
 * real worker shows (dispatch, cache, cancellation, restarts, policy) is in python-tasks.test.ts.
 *
 * Its tasks (register them with {@link REMOTE_TASKS}):
 * - `py/slow@0.1.0`: heartbeats every 200 ms for `input.ms`, ending early (cancelled) when the run is;
 * - `py/secret@0.1.0`: resolves secret `input.name` (for `input.host`) with its attempt's grant through
 *   `POST /tasks/secrets` of `apiUrl` as `workerToken`, as `ctx.secrets()` does; returns the value's length
 *   and fails with the problem's code when refused. It never logs the value.
 */
import { Context } from '@temporalio/activity';
import { ApplicationFailure } from '@temporalio/common';
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

/** A running stand-in worker. */
export interface RemoteTaskWorker {
  stop(): Promise<void>;
}

const object = { type: 'object' };
/** The registrations (`POST /tasks` bodies without namespace and queue) of the stand-in's tasks. */
export const REMOTE_TASKS = [
  { name: 'py/slow', version: '0.1.0', deterministic: false, inputSchema: { type: 'object', properties: { ms: { type: 'integer' } } }, outputSchema: object },
  { name: 'py/secret', version: '0.1.0', deterministic: false, inputSchema: { type: 'object', properties: { name: { type: 'string' }, host: { type: 'string' } }, required: ['name'] }, outputSchema: object },
].map((task) => ({ ...task, description: `stand-in ${task.name}`, language: 'python', codeDigest: `sha256:${'5'.repeat(64)}` }));

/** Starts the stand-in worker; `stop()` shuts it down (its running attempts are abandoned, as a killed worker's). */
export async function startRemoteTaskWorker({ temporalAddress, namespace = 'default', taskQueue, payloadCodec, apiUrl, workerToken }: RemoteTaskWorkerOptions): Promise<RemoteTaskWorker> {
  const log = (message: string): RemoteTaskResult['logs'] => [{ ts: new Date().toISOString(), level: 'info', message, fields: {} }];
  const activities = {
    'maestro.task:py/slow@0.1.0': async (request: RemoteTaskRequest): Promise<RemoteTaskResult> => {
      const context = Context.current();
      const until = Date.now() + (typeof request.input.ms === 'number' ? request.input.ms : 60_000);
      while (Date.now() < until) {
        context.heartbeat();
        await context.sleep(200);
      }
      return { output: { slept: true } };
    },
    'maestro.task:py/secret@0.1.0': async (request: RemoteTaskRequest): Promise<RemoteTaskResult> => {
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
    async stop() {
      worker.shutdown();
      await running;
      await connection.close();
    },
  };
}
