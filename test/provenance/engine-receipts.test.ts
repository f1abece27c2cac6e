/**
 * Receipts and the task cache as the engine produces them: every run, whatever its outcome, ends
 * with a signed receipt that verifies against the run's state; a deterministic task with the same
 * inputs is served from the cache the second time.
 */
import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { cancelOnTemporal } from '../../src/client/index.js';
import { loadConfig } from '../../src/config/index.js';
import { INTERPRETER_WORKFLOW, type InterpreterInput, type RunState } from '../../src/ir/index.js';
import { receiptStoreFromConfig, trustedKeysFromConfig, verifyReceipt } from '../../src/provenance/index.js';
import { startEngine, task, waitForState, workflow, type Engine } from '../helpers/engine.js';

let engine: Engine;

beforeAll(async () => {
  engine = await startEngine();
});

afterAll(async () => {
  await engine?.close();
});

/** The worker of {@link startEngine} keeps its provenance beside its artifacts. */
const provenanceConfig = () => loadConfig({ MAESTRO_DATA_DIR: engine.artifactDir });

async function verifyRunReceipt(state: RunState) {
  const receipt = await receiptStoreFromConfig(provenanceConfig()).read(state.runId);
  return verifyReceipt(receipt.bundle, { publicKeys: await trustedKeysFromConfig(provenanceConfig()), run: state });
}

/** The markers a run's history records, in order, and how many search-attribute upserts. */
async function historyShape(runId: string): Promise<{ markers: string[]; upserts: number }> {
  const events = (await engine.client.workflow.getHandle(runId).fetchHistory()).events ?? [];
  return {
    markers: events.flatMap((event) => (event.markerRecordedEventAttributes?.markerName ? [event.markerRecordedEventAttributes.markerName] : [])),
    upserts: events.filter((event) => event.upsertWorkflowSearchAttributesEventAttributes).length,
  };
}

const map = (id: string, rows: string, extra = ''): string =>
  `    - id: ${id}\n      uses: tasks/transform.map@0.1.0\n      with: { rows: ${rows}, expression: "$ * 3" }${extra}`;

describe('receipts', () => {
  it('signs a receipt for a succeeded run that verifies against its state', async () => {
    const state = await engine.run(workflow(map('triple', '[1, 2]'), { name: 'receipt-ok' }));
    expect(state.status).toBe('SUCCEEDED');
    expect(await verifyRunReceipt(state)).toMatchObject({ ok: true });
  });

  it('signs a receipt for a failed run too', async () => {
    const state = await engine.run(
      workflow('    - id: check\n      uses: tasks/schema.validate@0.1.0\n      with: { schema: { type: string }, data: 1 }', { name: 'receipt-failed' }),
    );
    expect(state.status).toBe('FAILED');
    expect(await verifyRunReceipt(state)).toMatchObject({ ok: true });
  });

  it('signs a receipt for a cancelled run', async () => {
    const runId = await engine.start(workflow('    - id: nap\n      uses: tasks/wait.sleep@0.1.0\n      with: { duration: 1h }', { name: 'receipt-cancelled' }));
    await waitForState(engine, runId, (s) => task(s, 'nap').status === 'RUNNING');
    await cancelOnTemporal(engine.client, runId);
    const state = await engine.wait(runId);
    expect(state.status).toBe('CANCELLED');
    await expect.poll(async () => (await verifyRunReceipt(state)).ok, { timeout: 10_000 }).toBe(true);
  });

  it('writes the receipt through the worker in history format 2: no patch markers, no receipt marker, one status upsert', async () => {
    const state = await engine.run(workflow(map('triple', '[3]'), { name: 'receipt-format-2' }));
    expect(await verifyRunReceipt(state)).toMatchObject({ ok: true });
    expect(await historyShape(state.runId)).toEqual({ markers: ['core_local_activity'], upserts: 1 });
  });

  it('writes the receipt of a run an older client started (no history format) as then: local activity and patch markers', async () => {
    const compiled = engine.compile(workflow(map('triple', '[4]'), { name: 'receipt-format-1' }));
    const runId = `receipt-format-1-${randomUUID()}`;
    const input: InterpreterInput = { ir: compiled.ir, digest: compiled.digest, params: {}, namespace: 'default' };
    await engine.client.workflow.start(INTERPRETER_WORKFLOW, { workflowId: runId, taskQueue: engine.taskQueue, args: [input] });
    const state = await engine.wait(runId);
    expect(await verifyRunReceipt(state)).toMatchObject({ ok: true });
    // The cost-limit and shared-scope patches, the task, then the receipt's patch and local
    // activity; upserts: each patch's TemporalChangeVersion, and the status RUNNING, SUCCEEDED.
    const patch = 'core_patch';
    expect(await historyShape(runId)).toEqual({ markers: [patch, patch, 'core_local_activity', patch, 'core_local_activity'], upserts: 5 });
  });

  it('fails verification when the run state it is checked against was changed', async () => {
    const state = await engine.run(workflow(map('triple', '[5]'), { name: 'receipt-tamper' }));
    const forged = structuredClone(state);
    (task(forged, 'triple').outputs as { rows: number[] }).rows[0] = 16;
    expect(await verifyRunReceipt(forged)).toMatchObject({ ok: false, code: 'SUBJECT_MISMATCH' });
  });
});

describe('task cache', () => {
  it('serves a deterministic task with the same inputs from the cache, and runs it again when they change', async () => {
    const yaml = (rows: string): string => workflow(map('triple', rows), { name: 'cache' });
    const first = await engine.run(yaml('[7, 8]'));
    const second = await engine.run(yaml('[7, 8]'));
    const changed = await engine.run(yaml('[7, 9]'));
    expect(task(first, 'triple').cached).toBeUndefined();
    expect(task(second, 'triple')).toMatchObject({ status: 'SUCCEEDED', cached: true, outputs: { rows: [21, 24] } });
    expect(task(changed, 'triple').cached).toBeUndefined();
    expect(await verifyRunReceipt(second)).toMatchObject({ ok: true });
  });

  it('runs a task afresh when the manifest turns its cache off', async () => {
    const yaml = workflow(map('triple', '[4]', '\n      cache: { enabled: false }'), { name: 'no-cache' });
    await engine.run(yaml);
    expect(task(await engine.run(yaml), 'triple').cached).toBeUndefined();
  });
});
