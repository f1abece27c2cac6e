/**
 * connectors/sig.ingest against the SIG stub of contracts/sig.openapi.yaml.
 */
import { describe, expect, it } from 'vitest';
import { createSigIngestTask, HttpClient } from '../../src/tasks/index.js';
import { peerContext, TEST_EGRESS } from '../helpers/egress.js';
import { closedPort } from '../peers/index.js';
import { expectCancelled, runTask, taskFailure, useSigStub } from './helpers.js';

const secrets: Record<string, string> = { SIG_TOKEN: 'sig-t0k3n' };
const sig = useSigStub(secrets, 'SIG_INGEST_URL');
/** The stub is on loopback, which the test namespace allow-lists. */
const task = createSigIngestTask({ http: new HttpClient(TEST_EGRESS) });
const ctx = () => peerContext({ secrets });
const items = (n: number, prefix = 'item') => Array.from({ length: n }, (_, i) => ({ id: `${prefix}-${i}`, payload: { n: i, tags: ['a', 'b'] } }));

describe('connectors/sig.ingest', () => {
  it('sends one batch and returns verified receipts, the endpoint and token from secrets', async () => {
    const context = ctx();
    const output = await runTask(task, { items: items(3, 'one'), tokenSecret: 'SIG_TOKEN' }, context);
    expect(output).toMatchObject({ batches: 1, items: 3, jobIds: [expect.stringMatching(/^job-/)] });
    expect(output.receipts.map((r) => r.id)).toEqual(['one-0', 'one-1', 'one-2']);
    expect(sig().batches.at(-1)).toMatchObject({ authorization: 'Bearer sig-t0k3n', items: items(3, 'one') });
    expect(JSON.stringify(context.logs)).not.toContain('sig-t0k3n');
  });

  it('streams in bounded batches with at most maxInFlight requests in flight', async () => {
    sig().setDelay(50);
    const before = sig().batches.length;
    const context = ctx();
    const output = await runTask(task, { mode: 'stream', items: items(95, 'stream'), batchSize: 10, maxInFlight: 3, endpoint: sig().url }, context);
    expect(output).toMatchObject({ batches: 10, items: 95 });
    expect(output.jobIds).toHaveLength(10);
    expect(output.receipts.map((r) => r.id)).toEqual(items(95, 'stream').map((i) => i.id));
    const sent = sig().batches.slice(before);
    expect(Math.max(...sent.map((b) => b.items.length))).toBe(10);
    expect(sig().maxConcurrent()).toBeLessThanOrEqual(3);
    expect(context.heartbeats.at(-1)).toEqual({ sent: 95, total: 95 });
  });

  it('waits out busy answers (429 + Retry-After) and re-sends the same batch', async () => {
    sig().busyNext(2, 0);
    const before = sig().requests();
    const output = await runTask(task, { mode: 'stream', items: items(4, 'busy'), batchSize: 2, maxInFlight: 1, endpoint: sig().url }, ctx());
    expect(output.batches).toBe(2);
    expect(sig().requests() - before).toBe(4);
    expect([...sig().items.keys()]).toEqual(expect.arrayContaining(items(4, 'busy').map((i) => i.id)));
  });

  it('gives up as PEER_UNAVAILABLE, retryable, when SIG stays busy', async () => {
    sig().busyNext(10, 0);
    const error = await taskFailure(runTask(task, { items: items(1, 'gone'), endpoint: sig().url, maxBusyRetries: 2 }, ctx()));
    expect(error).toMatchObject({ code: 'PEER_UNAVAILABLE', retryable: true, details: { status: 429 } });
  });

  it('fails without retry when a receipt hashes a different payload', async () => {
    sig().corruptReceipts(true);
    const error = await taskFailure(runTask(task, { items: items(1, 'tamper'), endpoint: sig().url }, ctx()));
    expect(error).toMatchObject({ code: 'TASK_FAILED', retryable: false, details: { id: 'tamper-0' } });
  });

  it.each([
    ['more than 500 items in batch mode', { items: items(501) }, 'use mode: stream'],
    ['a duplicate item id', { items: [...items(1), ...items(1)] }, 'item id "item-0" appears twice'],
    ['an item without payload', { items: [{ id: 'x' }] }, 'items[0].payload: is required'],
    ['an id with spaces', { items: [{ id: 'a b', payload: 1 }] }, 'items[0].id: must match pattern'],
    ['a batch size above the contract limit', { items: items(1), mode: 'stream', batchSize: 501 }, 'batchSize: must be <= 500'],
  ])('refuses %s before sending', async (_, input, message) => {
    const before = sig().requests();
    const error = await taskFailure(runTask(task, { endpoint: sig().url, ...input }, ctx()));
    expect(error.code).toBe('TASK_INPUT_INVALID');
    expect(error.message).toContain(message);
    expect(sig().requests()).toBe(before);
  });

  it('reports an unreachable SIG as PEER_UNAVAILABLE, retryable', async () => {
    const error = await taskFailure(runTask(task, { items: items(1), endpoint: `http://127.0.0.1:${await closedPort()}` }, ctx()));
    expect(error).toMatchObject({ code: 'PEER_UNAVAILABLE', retryable: true });
  });

  it('stops with the cancellation reason mid-stream and sends no further batch', async () => {
    sig().setDelay(400);
    const before = sig().requests();
    await expectCancelled((c) => runTask(task, { mode: 'stream', items: items(50, 'cancel'), batchSize: 5, maxInFlight: 1, endpoint: sig().url }, c), { secrets, afterMs: 600 });
    await new Promise((resolve) => setTimeout(resolve, 500));
    expect(sig().requests() - before).toBeLessThanOrEqual(2);
  });
});
