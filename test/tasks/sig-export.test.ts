/**
 * connectors/sig.export against the SIG stub of contracts/sig.openapi.yaml (1.2.0, POST /export):
 * outputs and disclosure bundles exported with their receipt linked, once per run and task.
 */
import { describe, expect, it } from 'vitest';
import { createSigExportTask, egressPolicyOf, HttpClient } from '../../src/tasks/index.js';
import { createTestContext } from '../../src/sdk/index.js';
import { peerContext, TEST_EGRESS } from '../helpers/egress.js';
import { closedPort } from '../peers/index.js';
import { startEngine, task as taskOf, workflow } from '../helpers/engine.js';
import { runTask, taskFailure, useSigStub } from './helpers.js';

const secrets: Record<string, string> = { SIG_TOKEN: 'sig-exp0rt-t0k3n' };
const sig = useSigStub(secrets);
/** The stub is on loopback, which the test namespace allow-lists. */
const task = createSigExportTask({ http: new HttpClient(TEST_EGRESS) });
const receipt = { runId: 'run-source-1', digest: `sha256:${'ab'.repeat(32)}`, uri: 'https://maestro.example/runs/run-source-1/receipt' };
let runs = 0;
/** A context of a run of its own (each test exports from a new run), attempt `attempt`. */
const ctx = (runId: string, attempt = 1) => peerContext({ secrets, runId, taskId: 'export', attempt });
const newRun = () => `run-export-${++runs}-${Date.now()}`;

describe('connectors/sig.export', () => {
  it("exports a run's outputs linked to the receipt, the endpoint and token from secrets", async () => {
    const runId = newRun();
    const context = ctx(runId);
    const output = await runTask(task, { receipt, tokenSecret: 'SIG_TOKEN', outputs: { rows: 3, table: 'receipts' } }, context);
    expect(output).toEqual({ exportId: expect.stringMatching(/^maestro:[0-9a-f]{40}$/), status: 'created', receiptDigest: receipt.digest });
    expect(sig().exports.get(output.exportId)).toEqual({ exportId: output.exportId, namespace: 'default', runId, taskId: 'export', kind: 'outputs', outputs: { rows: 3, table: 'receipts' }, receipt });
    expect(JSON.stringify([context.logs, context.events])).not.toContain('sig-exp0rt-t0k3n');
  });

  it('exports a disclosure bundle by digest, as tasks/disclosure.package describes it', async () => {
    const output = await runTask(task, { endpoint: sig().url, receipt, bundle: { sha256: 'cd'.repeat(32), size: 4096, uri: 'https://maestro.example/bundles/case-7.zip' } }, ctx(newRun()));
    expect(sig().exports.get(output.exportId)).toMatchObject({ kind: 'disclosure', bundle: { digest: `sha256:${'cd'.repeat(32)}`, size: 4096, uri: 'https://maestro.example/bundles/case-7.zip' }, receipt });
  });

  it('exports once per run: a retried attempt after a lost answer, and the task run again, record nothing twice', async () => {
    const runId = newRun();
    const input = { endpoint: sig().url, receipt, outputs: { rows: 1 } };
    const before = sig().exports.size;
    sig().loseExportAnswers(1);
    // Attempt 1: SIG recorded the export, but its answer is lost; the attempt fails, retryable.
    expect(await taskFailure(runTask(task, input, ctx(runId, 1)))).toMatchObject({ code: 'TASK_FAILED', retryable: true, details: { status: 500 } });
    const retried = await runTask(task, input, ctx(runId, 2));
    const again = await runTask(task, input, ctx(runId, 3));
    expect([retried.status, again.status]).toEqual(['unchanged', 'unchanged']);
    expect(again.exportId).toBe(retried.exportId);
    expect(sig().exports.size - before).toBe(1);
    // Another run, or the same run id in another namespace, is another export.
    const other = await runTask(task, input, ctx(newRun()));
    const sandboxToo = egressPolicyOf({ egressAllow: { default: ['127.0.0.0/8'], sandbox: ['127.0.0.0/8'] } });
    const elsewhere = await runTask(createSigExportTask({ http: new HttpClient(sandboxToo) }), input, createTestContext({ egress: sandboxToo, secrets, runId, taskId: 'export', namespace: 'sandbox' }));
    expect(new Set([retried.exportId, other.exportId, elsewhere.exportId]).size).toBe(3);
    expect([other.status, elsewhere.status]).toEqual(['created', 'created']);
  });

  it('fails without retry when the task of the same run exports different content', async () => {
    const runId = newRun();
    await runTask(task, { endpoint: sig().url, receipt, outputs: { rows: 1 } }, ctx(runId));
    const error = await taskFailure(runTask(task, { endpoint: sig().url, receipt, outputs: { rows: 2 } }, ctx(runId, 2)));
    expect(error).toMatchObject({ code: 'TASK_FAILED', retryable: false, details: { status: 409 } });
  });

  it('waits out busy answers (429 + Retry-After) and re-sends the same export', async () => {
    sig().busyNext(2, 0);
    const before = sig().exportRequests();
    expect((await runTask(task, { endpoint: sig().url, receipt, outputs: [] }, ctx(newRun()))).status).toBe('created');
    expect(sig().exportRequests() - before).toBe(3);
  });

  it.each([
    ['neither outputs nor bundle', { receipt }, 'give exactly one of outputs and bundle'],
    ['both outputs and bundle', { receipt, outputs: 1, bundle: { sha256: 'cd'.repeat(32), size: 1 } }, 'give exactly one of outputs and bundle'],
    ['no receipt', { outputs: 1 }, 'receipt: is required'],
    ['a receipt digest that is not sha256', { receipt: { runId: 'r', digest: 'md5:00' }, outputs: 1 }, 'receipt.digest: must match pattern'],
    ['outputs over 1 MiB', { receipt, outputs: { blob: 'x'.repeat(1_100_000) } }, 'larger than 1048576 bytes'],
    ['a bundle digest that is not hex sha256', { receipt, bundle: { sha256: 'zz', size: 1 } }, 'bundle.sha256: must match pattern'],
  ])('refuses %s before sending', async (_, input, message) => {
    const before = sig().exportRequests();
    const error = await taskFailure(runTask(task, { endpoint: sig().url, ...input }, ctx(newRun())));
    expect(error).toMatchObject({ code: 'TASK_INPUT_INVALID', retryable: false });
    expect(error.message).toContain(message);
    expect(sig().exportRequests()).toBe(before);
  });

  it('reports an unreachable SIG as PEER_UNAVAILABLE, retryable', async () => {
    const error = await taskFailure(runTask(task, { endpoint: `http://127.0.0.1:${await closedPort()}`, receipt, outputs: 1 }, ctx(newRun())));
    expect(error).toMatchObject({ code: 'PEER_UNAVAILABLE', retryable: true });
  });

  it('reaches only what the namespace allows: a private SIG address is refused before anything is sent', async () => {
    const guarded = createSigExportTask();
    const before = sig().exportRequests();
    const error = await taskFailure(runTask(guarded, { endpoint: sig().url, receipt, outputs: 1 }, ctx(newRun())));
    expect(error.code).toBe('EGRESS_DENIED');
    expect(sig().exportRequests()).toBe(before);
  });
});

describe('connectors/sig.export on the real engine', () => {
  it('records one export when SIG records the first attempt but its answer is lost: Temporal retries, SIG says unchanged', async () => {
    const engine = await startEngine();
    try {
      const requests = sig().exportRequests();
      const exports = sig().exports.size;
      sig().loseExportAnswers(1);
      const state = await engine.run(
        workflow(`    - id: export\n      uses: connectors/sig.export@0.1.0\n      retry: { maxAttempts: 3, initialInterval: 50ms }\n      with: { endpoint: "${sig().url}", receipt: { runId: run-source-1, digest: "${receipt.digest}" }, outputs: { rows: 1 } }`),
      );
      expect(state.status).toBe('SUCCEEDED');
      expect(taskOf(state, 'export')).toMatchObject({ status: 'SUCCEEDED', attempts: 2, outputs: { status: 'unchanged', receiptDigest: receipt.digest } });
      expect(sig().exportRequests() - requests).toBe(2);
      expect(sig().exports.size - exports).toBe(1);
      expect([...sig().exports.values()].at(-1)).toMatchObject({ runId: state.runId, taskId: 'export' });
    } finally {
      await engine.close();
    }
  });
});
