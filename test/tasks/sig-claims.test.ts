/**
 * connectors/sig.claims against the SIG stub of contracts/sig.openapi.yaml (1.1, POST /claims).
 */
import { describe, expect, it } from 'vitest';
import { createSigClaimsTask, HttpClient } from '../../src/tasks/index.js';
import { peerContext, TEST_EGRESS } from '../helpers/egress.js';
import { closedPort } from '../peers/index.js';
import { expectCancelled, runTask, taskFailure, useSigStub } from './helpers.js';

const secrets: Record<string, string> = { SIG_TOKEN: 'sig-t0k3n' };
const sig = useSigStub(secrets);
/** The stub is on loopback, which the test namespace allow-lists. */
const task = createSigClaimsTask({ http: new HttpClient(TEST_EGRESS) });
const ctx = () => peerContext({ secrets });
const receipt = { runId: 'run-source-1', digest: `sha256:${'ab'.repeat(32)}` };

describe('connectors/sig.claims', () => {
  it('registers claims linked to the run receipt, the endpoint and token from secrets', async () => {
    const context = ctx();
    const output = await runTask(
      task,
      {
        receipt,
        tokenSecret: 'SIG_TOKEN',
        claims: [
          { id: 'claim-a', itemId: 'case-42', statement: 'disclosed under order 7', evidence: ['sha256:00'] },
          { itemId: 'case-43', statement: 'withheld', receipt: { runId: 'run-other', digest: `sha256:${'cd'.repeat(32)}` } },
        ],
      },
      context,
    );
    expect(output).toMatchObject({
      accepted: 2,
      claims: [
        { id: 'claim-a', itemId: 'case-42', status: 'created', receiptDigest: receipt.digest },
        { id: expect.stringMatching(/^maestro:[0-9a-f]{32}$/), itemId: 'case-43', status: 'created', receiptDigest: `sha256:${'cd'.repeat(32)}` },
      ],
    });
    expect(sig().claims.get('claim-a')).toEqual({ id: 'claim-a', itemId: 'case-42', statement: 'disclosed under order 7', evidence: ['sha256:00'], receipt });
    expect(JSON.stringify([context.logs, context.events])).not.toContain('sig-t0k3n');
  });

  it('registers nothing twice: the same claims sent again are unchanged, under the same derived ids', async () => {
    const input = { endpoint: sig().url, receipt, claims: [{ itemId: 'case-50', statement: 'reviewed' }] };
    const first = await runTask(task, input, ctx());
    const again = await runTask(task, input, ctx());
    expect(first.claims[0]?.status).toBe('created');
    expect(again.claims).toEqual([{ ...first.claims[0], status: 'unchanged' }]);
  });

  it('fails without retry when a claim id is already registered for a different claim', async () => {
    await runTask(task, { endpoint: sig().url, claims: [{ id: 'claim-x', itemId: 'case-60', statement: 'first' }] }, ctx());
    const error = await taskFailure(runTask(task, { endpoint: sig().url, claims: [{ id: 'claim-x', itemId: 'case-60', statement: 'second' }] }, ctx()));
    expect(error).toMatchObject({ code: 'TASK_FAILED', retryable: false, details: { status: 409 } });
    expect(sig().claims.get('claim-x')?.statement).toBe('first');
  });

  it('waits out busy answers (429 + Retry-After) and re-sends the same claims', async () => {
    sig().busyNext(2, 0);
    const before = sig().claimRequests();
    const output = await runTask(task, { endpoint: sig().url, claims: [{ itemId: 'case-70', statement: 'busy' }] }, ctx());
    expect(output.accepted).toBe(1);
    expect(sig().claimRequests() - before).toBe(3);
  });

  it.each([
    ['no claims', { claims: [] }, 'claims: must NOT have fewer than 1 items'],
    ['more than 500 claims', { claims: Array.from({ length: 501 }, (_, i) => ({ itemId: `i-${i}`, statement: 's' })) }, 'claims: must NOT have more than 500 items'],
    ['a claim without statement', { claims: [{ itemId: 'case-1' }] }, 'claims[0].statement: is required'],
    ['a receipt digest that is not sha256', { receipt: { runId: 'r', digest: 'md5:00' }, claims: [{ itemId: 'case-1', statement: 's' }] }, 'receipt.digest: must match pattern'],
    ['a repeated claim id', { claims: [{ id: 'c', itemId: 'a', statement: 's' }, { id: 'c', itemId: 'b', statement: 't' }] }, 'claim id "c" appears twice'],
    ['the same claim twice', { claims: [{ itemId: 'a', statement: 's' }, { itemId: 'a', statement: 's' }] }, 'appears twice'],
  ])('refuses %s before sending', async (_, input, message) => {
    const before = sig().claimRequests();
    const error = await taskFailure(runTask(task, { endpoint: sig().url, ...input }, ctx()));
    expect(error).toMatchObject({ code: 'TASK_INPUT_INVALID', retryable: false });
    expect(error.message).toContain(message);
    expect(sig().claimRequests()).toBe(before);
  });

  it('reports an unreachable SIG as PEER_UNAVAILABLE, retryable', async () => {
    const error = await taskFailure(runTask(task, { endpoint: `http://127.0.0.1:${await closedPort()}`, claims: [{ itemId: 'a', statement: 's' }] }, ctx()));
    expect(error).toMatchObject({ code: 'PEER_UNAVAILABLE', retryable: true });
  });

  it('stops with the cancellation reason while SIG has not answered', async () => {
    sig().setDelay(2_000);
    const before = sig().claimRequests();
    await expectCancelled((c) => runTask(task, { endpoint: sig().url, claims: [{ itemId: 'case-80', statement: 'slow' }] }, c), { secrets, afterMs: 300 });
    expect(sig().claimRequests() - before).toBe(1);
  });
});
