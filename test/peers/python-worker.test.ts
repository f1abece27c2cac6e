/**
 * The Python worker (sdk/python, `maestro-py worker`) on the real Temporal dev server: a tiny
 * workflow standing in for the interpreter's dispatch calls `maestro.task:<name>@<version>` on the
 * Python task queue through Maestro's data converter (payloads encrypted by the TypeScript codec,
 * decrypted by the Python one, and back).
 */
import { spawnSync } from 'node:child_process';
import { randomBytes, randomUUID } from 'node:crypto';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { Client, Connection, WorkflowFailedError } from '@temporalio/client';
import type { Payload } from '@temporalio/common';
import { DefaultLogger, NativeConnection, Worker, bundleWorkflowCode } from '@temporalio/worker';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { AesGcmPayloadCodec, maestroDataConverter } from '../../src/codec/index.js';
import { parsePayloadKeys } from '../../src/config/index.js';
import type { PythonTaskOutcome } from '../fixtures/python-task-workflow.js';
import { REPO_ROOT } from './install.js';
import { PYTHON_SDK_BIN, PYTHON_TEST_TASKS_DIR, startPythonWorker, type PythonWorker } from './python-worker.js';

const payloadKey = `py=${randomBytes(32).toString('base64')}`;
const codec = new AesGcmPayloadCodec(parsePayloadKeys(payloadKey, 'test'));

describe('the Python worker', () => {
  const address = inject('temporalAddress');
  const workflowQueue = `py-wf-${randomUUID()}`;
  const pythonQueue = `py-${randomUUID()}`;
  let connection: Connection;
  let client: Client;
  let worker: Worker;
  let running: Promise<void>;
  let python: PythonWorker;

  const startWorker = (taskQueue: string, env: Record<string, string> = {}): Promise<PythonWorker> =>
    startPythonWorker({ temporalAddress: address, namespace: 'default', taskQueue, payloadKey, module: 'tasks_sample', pythonPath: [PYTHON_TEST_TASKS_DIR], env });

  const call = (activity: string, input: unknown, { taskQueue = pythonQueue, heartbeatTimeoutMs = 30_000, maximumAttempts = 1 } = {}) =>
    client.workflow.start('callPythonTask', {
      taskQueue: workflowQueue,
      workflowId: `py-${randomUUID()}`,
      args: [{ activity, taskQueue, heartbeatTimeoutMs, maximumAttempts, arg: { input, context: { runId: 'run-1', taskId: 'greet', attempt: 1, namespace: 'default', grant: 'g' } } }],
    });
  const outcome = async (activity: string, input: unknown, options = {}): Promise<PythonTaskOutcome> => (await call(activity, input, options)).result() as Promise<PythonTaskOutcome>;
  /** The first heartbeat details of the call's task (encrypted), once its code runs and heartbeats; undefined after 20 s. */
  const firstHeartbeat = async (handle: Awaited<ReturnType<typeof call>>): Promise<Payload | undefined> => {
    for (let tries = 0; tries < 100; tries += 1) {
      const details = (await handle.describe()).raw.pendingActivities?.[0]?.heartbeatDetails?.payloads?.[0] as Payload | undefined;
      if (details) return details;
      await new Promise((resolve) => setTimeout(resolve, 200));
    }
    return undefined;
  };

  beforeAll(async () => {
    connection = await Connection.connect({ address });
    client = new Client({ connection, dataConverter: maestroDataConverter(codec) });
    worker = await Worker.create({
      connection: await NativeConnection.connect({ address }),
      taskQueue: workflowQueue,
      workflowBundle: await bundleWorkflowCode({ workflowsPath: new URL('../fixtures/python-task-workflow.ts', import.meta.url).pathname, logger: new DefaultLogger('ERROR') }),
      dataConverter: maestroDataConverter(codec),
    });
    running = worker.run();
    python = await startWorker(pythonQueue);
  }, 300_000);

  afterAll(async () => {
    await python?.stop();
    worker?.shutdown();
    await running;
    await connection?.close();
  });

  it('runs a task: its output, logs and events come back through both codecs', async () => {
    const result = await outcome('maestro.task:py/hello@0.1.0', { name: 'Ada' });
    expect(result).toMatchObject({ ok: true, result: { output: { greeting: 'Hello, Ada!' }, events: [{ type: 'greeted', name: 'Ada' }] } });
    const logs = (result as { result: { logs: unknown[] } }).result.logs;
    expect(logs).toEqual([{ ts: expect.stringMatching(/^\d{4}-\d\d-\d\dT.*Z$/), level: 'info', message: 'greeting', fields: { name: 'Ada', attempt: 1 } }]);
  });

  it('fails with the TaskError code, non-retryable, and the logs in details[0]', async () => {
    expect(await outcome('maestro.task:py/hello@0.1.0', { name: 'fail' })).toMatchObject({
      ok: false,
      type: 'GREETING_REFUSED',
      nonRetryable: true,
      message: 'asked to fail',
      details: [{ message: 'asked to fail', logs: [{ message: 'greeting' }], events: [{ type: 'greeted' }] }],
    });
    // Any other exception is a retryable TASK_FAILED: the second attempt runs too (its log says attempt… 1: the context is Maestro's).
    expect(await outcome('maestro.task:py/hello@0.1.0', { name: 'crash' }, { maximumAttempts: 2 })).toMatchObject({ ok: false, type: 'TASK_FAILED', nonRetryable: false, message: 'RuntimeError: boom' });
  });

  it('refuses bad input before the code runs (INVALID_INPUT, non-retryable)', async () => {
    const result = await outcome('maestro.task:py/hello@0.1.0', { name: 42 }, { maximumAttempts: 3 });
    expect(result).toMatchObject({ ok: false, type: 'INVALID_INPUT', nonRetryable: true, details: [{ logs: [], events: [] }] });
  });

  it('heartbeats, and a cancellation reaches the Python task within seconds', async () => {
    const handle = await call('maestro.task:py/wait@0.1.0', { seconds: 120 });
    // The task heartbeats its progress (ctx.heartbeat); the details reach history encrypted.
    const details = await firstHeartbeat(handle);
    expect(Buffer.from(details?.metadata?.encoding ?? []).toString()).toBe('binary/encrypted');
    const [plain] = await codec.decode([details!]);
    expect(JSON.parse(Buffer.from(plain?.data ?? []).toString())).toEqual({ step: expect.any(Number) });
    const cancelledAt = Date.now();
    await handle.cancel();
    await expect(handle.result()).rejects.toBeInstanceOf(WorkflowFailedError);
    // The workflow waits for the activity to acknowledge the cancellation (WAIT_CANCELLATION_COMPLETED).
    expect(Date.now() - cancelledAt).toBeLessThan(10_000);
  }, 60_000);

  it('drains on SIGTERM: a task in flight finishes before the worker exits', async () => {
    const queue = `py-drain-${randomUUID()}`;
    const draining = await startWorker(queue);
    const handle = await call('maestro.task:py/wait@0.1.0', { seconds: 3 }, { taskQueue: queue });
    // In flight: the task's code runs (it heartbeats), not only handed to the worker by the server.
    await firstHeartbeat(handle);
    await draining.stop();
    expect(await handle.result()).toMatchObject({ ok: true, result: { output: { cancelled: false } } });
    expect(draining.output()).toContain('maestro-py: draining');
  }, 60_000);

  it('a task of a killed worker is retried on another once its heartbeat is lost', async () => {
    const queue = `py-kill-${randomUUID()}`;
    const doomed = await startWorker(queue);
    const handle = await call('maestro.task:py/wait@0.1.0', { seconds: 4 }, { taskQueue: queue, heartbeatTimeoutMs: 3_000, maximumAttempts: 2 });
    for (let tries = 0; tries < 100 && !(await handle.describe()).raw.pendingActivities?.[0]?.lastStartedTime; tries += 1) {
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
    await doomed.kill();
    const rescuer = await startWorker(queue);
    try {
      expect(await handle.result()).toMatchObject({ ok: true, result: { output: { cancelled: false } } });
    } finally {
      await rescuer.stop();
    }
  }, 90_000);

  it("gives pytest a maestro_worker fixture serving a module's tasks (sdk/python/tests/test_worker_fixture.py)", () => {
    const python = join(PYTHON_SDK_BIN, 'python');
    const args = ['-m', 'pytest', '-q', '-p', 'no:cacheprovider', '-c', 'sdk/python/pyproject.toml', '--rootdir', 'sdk/python', 'sdk/python/tests/test_worker_fixture.py'];
    const result = spawnSync(python, args, { cwd: REPO_ROOT, encoding: 'utf8', env: { ...process.env, MAESTRO_TEST_TEMPORAL_ADDRESS: address }, timeout: 120_000 });
    expect(result.stdout + result.stderr).toMatch(/1 passed/);
  }, 150_000);

  describe('with a Maestro API (a local stand-in for POST /tasks and POST /tasks/secrets)', () => {
    let server: Server;
    let url: string;
    const registrations: Record<string, unknown>[] = [];
    let conflict = false;

    beforeAll(async () => {
      server = createServer((request, response) => {
        let body = '';
        request.on('data', (chunk: Buffer) => (body += chunk.toString('utf8')));
        request.on('end', () => {
          const parsed = JSON.parse(body) as Record<string, unknown>;
          const answer = (status: number, value: unknown): void => {
            response.writeHead(status, { 'content-type': status < 300 ? 'application/json' : 'application/problem+json' });
            response.end(JSON.stringify(value));
          };
          if (request.url === '/tasks') {
            registrations.push({ ...parsed, authorization: request.headers.authorization });
            if (conflict) return answer(409, { status: 409, code: 'TASK_VERSION_CONFLICT', detail: 'registered with other content' });
            return answer(201, parsed);
          }
          if (request.headers.authorization !== 'Bearer worker-token' || parsed.grant !== 'g') return answer(401, { status: 401, code: 'GRANT_EXPIRED' });
          if (parsed.name === 'db') return answer(200, { value: 'hunter2' });
          return answer(404, { status: 404, code: 'SECRET_NOT_FOUND' });
        });
      });
      await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
      url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
    });
    afterAll(() => new Promise<void>((resolve) => server.close(() => resolve())));

    it('registers every task, resolves secrets with the grant, and redacts their values', async () => {
      const queue = `py-api-${randomUUID()}`;
      const registered = await startPythonWorker({ temporalAddress: address, namespace: 'default', taskQueue: queue, payloadKey, maestroUrl: url, token: 'worker-token', module: 'tasks_sample', pythonPath: [PYTHON_TEST_TASKS_DIR] });
      try {
        expect(registrations.map((body) => `${String(body.name)}@${String(body.version)}`).sort()).toEqual(['py/bad-output@1.0.0', 'py/hello@0.1.0', 'py/secret@0.1.0', 'py/wait@0.1.0']);
        expect(registrations.find((body) => body.name === 'py/hello')).toMatchObject({
          namespace: 'default',
          language: 'python',
          taskQueue: queue,
          deterministic: true,
          timeoutMs: 600_000,
          codeDigest: expect.stringMatching(/^sha256:[0-9a-f]{64}$/),
          inputSchema: { type: 'object', required: ['name'] },
          outputSchema: { type: 'object', required: ['greeting'] },
          authorization: 'Bearer worker-token',
        });
        const result = await outcome('maestro.task:py/secret@0.1.0', { secret: 'db', lines: 2 }, { taskQueue: queue });
        expect(result).toMatchObject({ ok: true, result: { output: { length: 7 }, events: [{ type: 'used', value: '[REDACTED]' }] } });
        expect(JSON.stringify(result)).not.toContain('hunter2');
        expect(JSON.stringify(result)).toContain('using [REDACTED]');
        expect(await outcome('maestro.task:py/secret@0.1.0', { secret: 'missing' }, { taskQueue: queue })).toMatchObject({ ok: false, type: 'SECRET_NOT_FOUND', nonRetryable: true });
        expect(registered.output()).not.toContain('hunter2');
      } finally {
        await registered.stop();
      }
    }, 120_000);

    it('refuses to start when a task is registered with other content (409)', async () => {
      conflict = true;
      await expect(startPythonWorker({ temporalAddress: address, namespace: 'default', taskQueue: `py-409-${randomUUID()}`, payloadKey, maestroUrl: url, token: 't', module: 'tasks_sample', pythonPath: [PYTHON_TEST_TASKS_DIR] })).rejects.toThrow(/already registered in Maestro with other content: bump the version \(TASK_VERSION_CONFLICT/);
    }, 60_000);
  });
});
