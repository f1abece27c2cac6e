/**
 * The serverless runner (alpha) against a local function server: OpenFaaS-style HTTP functions
 * and the AWS Lambda Invoke API (through @aws-sdk/client-lambda with a local endpoint), both
 * honouring idempotency keys the way Maestro expects of a function.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { createServerlessRunner, type ServerlessRunner } from '../../src/runners/index.js';
import { egressPolicyOf, functionInvoke } from '../../src/tasks/index.js';
import { loadConfig } from '../../src/config/index.js';
import { createTestContext, type TestTaskContext } from '../../src/sdk/index.js';
import { TEST_EGRESS_ALLOW, peerContext } from '../helpers/egress.js';
import { startFunctionServer, type FunctionServer } from '../peers/functions.js';

let server: FunctionServer;
let runner: ServerlessRunner;
let charged = 0;

beforeAll(async () => {
  server = await startFunctionServer();
  server.register('charge', async (payload) => {
    charged += (payload as { amount: number }).amount;
    return { body: { charged: (payload as { amount: number }).amount, total: charged } };
  });
  server.register('slow', async () => {
    await new Promise((resolve) => setTimeout(resolve, 800));
    return { body: { done: true } };
  });
  server.register('flaky', async (payload) => ((payload as { fail: boolean }).fail ? { status: 500, body: { error: 'database down' } } : { body: { ok: true } }));
  server.register('picky', async () => ({ status: 400, body: { error: 'amount must be positive' } }));
  server.register('hang', () => new Promise(() => undefined));
  runner = createServerlessRunner({
    functions: {
      charge: server.functionUrl('charge'),
      slow: server.functionUrl('slow'),
      flaky: server.functionUrl('flaky'),
      picky: server.functionUrl('picky'),
      hang: server.functionUrl('hang'),
      'charge-lambda': 'lambda:charge',
      'flaky-lambda': 'lambda:flaky',
    },
    lambda: { endpoint: server.url, region: 'eu-west-1', credentials: { accessKeyId: 'test', secretAccessKey: 'test' } },
    retryDelayMs: 20,
    heartbeatIntervalMs: 50,
  });
});

afterAll(async () => {
  await server?.close();
});

let counter = 0;
function context(options: Parameters<typeof peerContext>[0] = {}): TestTaskContext {
  counter += 1;
  return peerContext({ runId: `run-${counter}`, taskId: 'bill', ...options });
}

const invoke = (fn: string, payload: unknown, ctx: TestTaskContext) => runner.run(functionInvoke, { function: fn, payload }, ctx);

async function failure(promise: Promise<unknown>): Promise<Error & { code?: string; retryable?: boolean }> {
  try {
    await promise;
  } catch (error) {
    return error as Error;
  }
  throw new Error('expected the invocation to fail');
}

describe('serverless runner: HTTP functions', () => {
  it('invokes the function with the payload and an idempotency key, and returns its JSON answer', async () => {
    const before = charged;
    const ctx = context();
    const result = await invoke('charge', { amount: 5 }, ctx);
    expect(result).toEqual({ status: 200, result: { charged: 5, total: before + 5 } });
    expect(server.invocations.at(-1)).toEqual({ name: 'charge', key: `${ctx.runId}/bill`, outcome: 'ran' });
  });

  it('has one effect when the same attempt is executed twice (a worker lost, Temporal re-runs it)', async () => {
    const before = server.effects('charge');
    const ctx = context();
    const first = await invoke('charge', { amount: 7 }, ctx);
    const again = await invoke('charge', { amount: 7 }, peerContext({ runId: ctx.runId, taskId: ctx.taskId, attempt: ctx.attempt }));
    expect(again).toEqual(first);
    expect(server.effects('charge') - before).toBe(1);
  });

  it('re-sends with the same key after a lost response, and the effect still happens once', async () => {
    const before = server.effects('charge');
    const ctx = context();
    server.dropNextResponse('charge');
    const result = await invoke('charge', { amount: 3 }, ctx);
    expect(result.result).toMatchObject({ charged: 3 });
    expect(server.effects('charge') - before).toBe(1);
    expect(server.invocations.filter((entry) => entry.key === `${ctx.runId}/bill`).map((entry) => entry.outcome)).toEqual(['dropped', 'replayed']);
    expect(ctx.logs.map((record) => record.message)).toContain('function unreachable; re-sending with the same idempotency key');
  });

  it('waits on 409 while an abandoned earlier attempt still runs, then gets its result: never a second effect', async () => {
    const before = server.effects('slow');
    const first = context();
    const abandoned = invoke('slow', {}, first);
    await new Promise((resolve) => setTimeout(resolve, 100));
    first.abort(new Error('attempt 1 timed out'));
    await expect(abandoned).rejects.toThrow('attempt 1 timed out');
    // Attempt 2 of the same task: the key is per task, so it finds attempt 1's invocation.
    const second = peerContext({ runId: first.runId, taskId: first.taskId, attempt: 2 });
    await expect(invoke('slow', {}, second)).resolves.toEqual({ status: 200, result: { done: true } });
    expect(server.effects('slow') - before).toBe(1);
    expect(server.invocations.filter((entry) => entry.key === `${first.runId}/bill`).map((entry) => entry.outcome)).toContain('in-flight');
  });

  it('runs a new attempt again after a failed one (failures leave no result behind)', async () => {
    const ctx = context();
    const error = await failure(invoke('flaky', { fail: true }, ctx));
    expect(error.code).toBe('TASK_FAILED');
    expect(error.retryable).toBe(true);
    expect(error.message).toContain('answered 500: {"error":"database down"}');
    const retry = peerContext({ runId: ctx.runId, taskId: ctx.taskId, attempt: 2 });
    await expect(invoke('flaky', { fail: false }, retry)).resolves.toEqual({ status: 200, result: { ok: true } });
  });

  it('uses one key per attempt with idempotencyScope: attempt', async () => {
    const perAttempt = createServerlessRunner({ functions: { charge: server.functionUrl('charge') }, idempotencyScope: 'attempt' });
    const ctx = context({ attempt: 3 });
    await perAttempt.run(functionInvoke, { function: 'charge', payload: { amount: 1 } }, ctx);
    expect(server.invocations.at(-1)?.key).toBe(`${ctx.runId}/bill/3`);
  });

  it('fails a 4xx answer for good, and an unknown function name before any request', async () => {
    const rejected = await failure(invoke('picky', { amount: -1 }, context()));
    expect(rejected.code).toBe('TASK_FAILED');
    expect(rejected.retryable).toBe(false);
    expect(rejected.message).toContain('amount must be positive');
    const unknown = await failure(invoke('nope', {}, context()));
    expect(unknown.code).toBe('TASK_INPUT_INVALID');
    expect(unknown.message).toContain('no function "nope"');
  });

  it('abandons the invocation when the attempt is cancelled', async () => {
    const ctx = context();
    const pending = invoke('hang', {}, ctx);
    await new Promise((resolve) => setTimeout(resolve, 100));
    const reason = new Error('run cancelled');
    const at = Date.now();
    ctx.abort(reason);
    await expect(pending).rejects.toBe(reason);
    expect(Date.now() - at).toBeLessThan(1000);
    expect(ctx.logs.map((record) => record.message)).toContain('invocation abandoned');
  });
});

describe('serverless runner: AWS Lambda (local Invoke endpoint)', () => {
  it('invokes through @aws-sdk/client-lambda with the key in the client context; the same key has one effect', async () => {
    const before = server.effects('charge');
    const ctx = context();
    const first = await invoke('charge-lambda', { amount: 11 }, ctx);
    expect(first).toMatchObject({ status: 200, result: { charged: 11 } });
    const again = await invoke('charge-lambda', { amount: 11 }, peerContext({ runId: ctx.runId, taskId: ctx.taskId }));
    expect(again).toEqual(first);
    expect(server.effects('charge') - before).toBe(1);
    expect(server.invocations.filter((entry) => entry.key === `${ctx.runId}/bill`).map((entry) => entry.outcome)).toEqual(['ran', 'replayed']);
  });

  it("fails the task with the function's error message on a function error", async () => {
    const error = await failure(invoke('flaky-lambda', { fail: true }, context()));
    expect(error.code).toBe('TASK_FAILED');
    expect(error.retryable).toBe(true);
    expect(error.message).toContain('Lambda flaky failed (Unhandled)');
    expect(error.message).toContain('database down');
  });

  it("refuses a Lambda endpoint on Maestro's own endpoints or on an address the namespace does not allow, and the endpoint receives nothing", async () => {
    // The function server stands for the Temporal frontend (a worker whose TEMPORAL_ADDRESS is its address), inside an allow-listed range.
    const port = Number(new URL(server.url).port);
    const asTemporal = egressPolicyOf(loadConfig({ MAESTRO_EGRESS_ALLOW: JSON.stringify(TEST_EGRESS_ALLOW), TEMPORAL_ADDRESS: `127.0.0.1:${port}` }));
    const before = { connections: server.connections, invocations: server.invocations.length, effects: server.effects('charge') };
    const infrastructure = await failure(invoke('charge-lambda', { amount: 13 }, createTestContext({ egress: asTemporal })));
    expect(infrastructure).toMatchObject({ code: 'EGRESS_DENIED', retryable: false, details: { range: 'maestro-infrastructure', port } });
    // Without an allow-list, a loopback endpoint is refused like any task's connection.
    const loopback = await failure(invoke('charge-lambda', { amount: 13 }, createTestContext()));
    expect(loopback).toMatchObject({ code: 'EGRESS_DENIED', retryable: false, details: { range: 'loopback' } });
    expect({ connections: server.connections, invocations: server.invocations.length, effects: server.effects('charge') }).toEqual(before);
    // An admin who lists the exact host:port opens it.
    const listed = egressPolicyOf(loadConfig({ MAESTRO_EGRESS_ALLOW: JSON.stringify({ default: [`127.0.0.1:${port}`] }), TEMPORAL_ADDRESS: `127.0.0.1:${port}` }));
    await expect(invoke('charge-lambda', { amount: 13 }, createTestContext({ egress: listed }))).resolves.toMatchObject({ status: 200, result: { charged: 13 } });
  });
});
