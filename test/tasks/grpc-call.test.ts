/**
 * tasks/grpc.call against a real @grpc/grpc-js server.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { grpcCall } from '../../src/tasks/index.js';
import { closedPort, startBlackHole, startGrpcPeer, type BlackHolePeer, type GrpcPeer } from '../peers/index.js';
import { expectCancelled, runTask, taskFailure } from './helpers.js';

let grpc: GrpcPeer;
let hole: BlackHolePeer;

beforeAll(async () => {
  [grpc, hole] = await Promise.all([startGrpcPeer(), startBlackHole()]);
});

afterAll(async () => {
  await Promise.all([grpc?.stop(), hole?.stop()]);
});

const call = (extra: Record<string, unknown>) => ({ address: grpc.address, protoFile: grpc.protoFile, service: 'maestro.test.Greeter', ...extra });

describe('tasks/grpc.call', () => {
  it('makes a unary call described by a .proto file', async () => {
    const output = await runTask(grpcCall, call({ method: 'SayHello', request: { name: 'Ada' } }));
    expect(output.response).toMatchObject({ message: 'Hello, Ada!' });
    expect(typeof output.response['served_at']).toBe('string');
  });

  it('makes the same call described by an inline .proto source', async () => {
    const output = await runTask(grpcCall, { address: grpc.address, protoSource: grpc.protoSource, service: 'maestro.test.Greeter', method: 'SayHello', request: { name: 'Grace' } });
    expect(output.response).toMatchObject({ message: 'Hello, Grace!' });
  });

  it('makes the call described by the server itself through reflection when no proto is given', async () => {
    const output = await runTask(grpcCall, { address: grpc.address, service: 'maestro.test.Greeter', method: 'SayHello', request: { name: 'Linus' } });
    expect(output.response).toMatchObject({ message: 'Hello, Linus!' });
    expect(typeof output.response['served_at']).toBe('string');
  });

  it.each([
    ['a service the server does not know', { service: 'maestro.test.Nope', method: 'SayHello' }, 'the server knows no service "maestro.test.Nope"'],
    ['a method the service does not have', { method: 'SayGoodbye' }, 'has no method "SayGoodbye"; methods: SayHello, SlowHello, Fail'],
  ])('refuses %s, learnt through reflection, without calling it', async (_, change, message) => {
    const before = grpc.calls.get('SayHello') ?? 0;
    const error = await taskFailure(runTask(grpcCall, { address: grpc.address, service: 'maestro.test.Greeter', ...change }));
    expect(error).toMatchObject({ code: 'TASK_INPUT_INVALID', retryable: false });
    expect(error.message).toContain(message);
    expect(grpc.calls.get('SayHello') ?? 0).toBe(before);
  });

  it('says to give a proto when the server serves no reflection', async () => {
    const bare = await startGrpcPeer({ reflection: false });
    try {
      const error = await taskFailure(runTask(grpcCall, { address: bare.address, service: 'maestro.test.Greeter', method: 'SayHello' }));
      expect(error).toMatchObject({ code: 'TASK_FAILED', retryable: false, details: { status: 'UNIMPLEMENTED' } });
      expect(error.message).toContain('does not serve gRPC reflection; give protoFile or protoSource');
      expect(bare.calls.size).toBe(0);
    } finally {
      await bare.stop();
    }
  });

  it('stops with the cancellation reason while a server without a proto does not answer', async () => {
    await expectCancelled((ctx) => runTask(grpcCall, { address: hole.address, service: 'maestro.test.Greeter', method: 'SayHello' }, ctx));
  });

  it.each([
    ['an unknown service', { service: 'maestro.test.Nope', method: 'SayHello' }, 'no service "maestro.test.Nope"'],
    ['an unknown method', { method: 'SayGoodbye' }, 'has no method "SayGoodbye"; methods: SayHello, SlowHello, Fail'],
    ['an address without port', { address: 'localhost', method: 'SayHello' }, 'address: must match pattern'],
    ['both proto forms', { method: 'SayHello', protoSource: 'syntax = "proto3";' }, 'must NOT be valid'],
    ['a proto that does not parse', { method: 'SayHello', protoFile: undefined, protoSource: 'service {' }, 'protoSource'],
  ])('refuses %s before calling', async (_, change, message) => {
    const before = grpc.calls.get('SayHello') ?? 0;
    const error = await taskFailure(runTask(grpcCall, JSON.parse(JSON.stringify(call(change)))));
    expect(error.code).toBe('TASK_INPUT_INVALID');
    expect(error.message).toContain(message);
    expect(grpc.calls.get('SayHello') ?? 0).toBe(before);
  });

  it.each([
    [3, 'INVALID_ARGUMENT', 'TASK_FAILED', false],
    [5, 'NOT_FOUND', 'TASK_FAILED', false],
    [8, 'RESOURCE_EXHAUSTED', 'TASK_FAILED', true],
    [14, 'UNAVAILABLE', 'PEER_UNAVAILABLE', true],
  ])('maps gRPC status %i (%s) to %s, retryable %s', async (code, status, taskCode, retryable) => {
    const error = await taskFailure(runTask(grpcCall, call({ method: 'Fail', request: { code, message: 'nope' } })));
    expect(error).toMatchObject({ code: taskCode, retryable, details: { status } });
  });

  it('fails as TASK_TIMEOUT, retryable, past its deadline', async () => {
    const error = await taskFailure(runTask(grpcCall, call({ method: 'SlowHello', request: { name: 'x', delay_ms: 5000 }, timeout: '200ms' })));
    expect(error).toMatchObject({ code: 'TASK_TIMEOUT', retryable: true });
  });

  it('reports an unreachable server as PEER_UNAVAILABLE, retryable', async () => {
    const error = await taskFailure(runTask(grpcCall, call({ address: `127.0.0.1:${await closedPort()}`, method: 'SayHello' })));
    expect(error).toMatchObject({ code: 'PEER_UNAVAILABLE', retryable: true });
  });

  it('cancels the call on the server when the run is cancelled', async () => {
    const before = grpc.cancelled();
    await expectCancelled((ctx) => runTask(grpcCall, call({ method: 'SlowHello', request: { name: 'x', delay_ms: 10_000 } }), ctx));
    await expect.poll(() => grpc.cancelled()).toBe(before + 1);
  });

  it('stops with the cancellation reason while the server does not answer', async () => {
    await expectCancelled((ctx) => runTask(grpcCall, call({ address: hole.address, method: 'SayHello' }), ctx));
  });
});
