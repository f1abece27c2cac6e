import { afterAll, beforeAll, beforeEach, expect } from 'vitest';
import { peerContext } from '../helpers/egress.js';
import { startSigStub, type SigPeer } from '../peers/index.js';
import { TaskError, validateTaskInput, type ExecutableTaskDefinition, type TestTaskContext } from '../../src/sdk/index.js';

/**
 * Runs a task the way the `runTask` activity does: schema check, the task's own `validate`, then
 * `execute`, so "bad input" tests see exactly what a run would.
 */
export async function runTask<In, Out>(task: ExecutableTaskDefinition<In, Out>, input: unknown, ctx: TestTaskContext = peerContext()): Promise<Out> {
  validateTaskInput(task, input as Record<string, unknown>);
  task.validate?.(input as In);
  return task.execute(input as In, ctx);
}

/** The TaskError a task failed with (fails the test if it succeeded or threw something else). */
export async function taskFailure(promise: Promise<unknown>): Promise<TaskError> {
  const error: unknown = await promise.then(
    () => new Error('the task succeeded'),
    (rejection: unknown) => rejection,
  );
  if (error instanceof TaskError) return error;
  throw error;
}

/**
 * Starts a task, aborts its context after `afterMs` as a cancellation would, and checks that it
 * stops with the cancellation reason within `withinMs`.
 */
export async function expectCancelled(
  start: (ctx: TestTaskContext) => Promise<unknown>,
  { afterMs = 300, withinMs = 3_000, secrets = {} }: { afterMs?: number; withinMs?: number; secrets?: Record<string, string> } = {},
): Promise<void> {
  const ctx = peerContext({ secrets });
  const reason = new Error('run cancelled');
  const started = performance.now();
  setTimeout(() => ctx.abort(reason), afterMs);
  await expect(start(ctx)).rejects.toBe(reason);
  expect(performance.now() - started).toBeLessThan(afterMs + withinMs);
}

/**
 * The SIG stub of a connector test file: started once before its tests (its URL written into
 * `secrets[urlSecret]`, where the connector reads its endpoint), stopped after them, and its faults
 * (delay, busy answers, lost export answers, corrupt receipts) cleared before each test. Returns the
 * stub; call it inside tests and hooks, once the file's `beforeAll` has run.
 */
export function useSigStub(secrets: Record<string, string>, urlSecret = 'SIG_URL'): () => SigPeer {
  let sig: SigPeer | undefined;
  beforeAll(async () => {
    sig = await startSigStub();
    secrets[urlSecret] = sig.url;
  });
  afterAll(async () => {
    await sig?.stop();
  });
  beforeEach(() => {
    sig?.setDelay(0);
    sig?.busyNext(0);
    sig?.loseExportAnswers(0);
    sig?.corruptReceipts(false);
  });
  return () => {
    if (!sig) throw new Error('useSigStub: the SIG stub is read before the file’s beforeAll ran');
    return sig;
  };
}
