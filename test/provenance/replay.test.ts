/**
 * Replay on the real Temporal dev server, through the one run-start path (a launch context over a
 * SQLite store and audit log). The original run's receipt is written here, the way the worker
 * writes it.
 */
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { main } from '../../src/cli/main.js';
import { loadConfig } from '../../src/config/index.js';
import { FsBlobStore } from '../../src/store/index.js';
import { ReceiptStore, createReceiptWriter, localBundleSigner, openProvenance } from '../../src/provenance/index.js';
import { replayReport } from '../../src/runs/index.js';
import { replayRun, startReplay, type LaunchContext, type ReplayOptions } from '../../src/runs/index.js';
import { openAuditLog, openStore, type AuditLog, type Store } from '../../src/store/index.js';
import { TEST_PRINCIPAL, startEngine, workflow, type Engine } from '../helpers/engine.js';
import { startHttpPeer, type HttpPeer } from '../helpers/http-peer.js';
import { tempDir, testKey } from './fixtures.js';

let engine: Engine;
let peer: HttpPeer;
let receipts: ReceiptStore;
let cleanup: () => Promise<void>;
let store: Store;
let auditLog: AuditLog;
let context: LaunchContext;
let options: ReplayOptions;
const publicKeys = [testKey().publicKeyPem];

beforeAll(async () => {
  [engine, peer] = await Promise.all([startEngine(), startHttpPeer()]);
  const temp = await tempDir();
  cleanup = temp.cleanup;
  receipts = new ReceiptStore(new FsBlobStore(temp.dir));
  [store, auditLog] = await Promise.all([openStore({ dataDir: temp.dir }), openAuditLog({ dataDir: temp.dir })]);
  context = { client: engine.client, store, auditLog, taskQueue: engine.taskQueue, runLimits: {}, payloadCodec: engine.payloadCodec };
  options = { receipts, publicKeys, principal: TEST_PRINCIPAL, startedBy: 'replayer' };
});
afterAll(async () => {
  await Promise.all([store?.close(), auditLog?.close()]);
  await Promise.all([engine?.close(), peer?.close(), cleanup?.()]);
});

/** Runs a manifest to the end and writes its receipt; returns the run id. */
async function runWithReceipt(yaml: string, params: Record<string, unknown> = {}): Promise<string> {
  const compiled = engine.compile(yaml);
  const runId = await engine.start(yaml, params);
  const state = await engine.wait(runId);
  const write = createReceiptWriter({ receipts, signer: localBundleSigner(testKey()), builderId: 'urn:test', workerBuildId: 'test', taskCodeDigests: {} });
  await write({ runId, ir: compiled.ir, digest: compiled.digest, params, state });
  return runId;
}

describe('replayRun', () => {
  it('re-executes a deterministic run and reports every task hash-equal', async () => {
    const runId = await runWithReceipt(
      workflow(
        [
          '    - id: shape',
          '      uses: tasks/transform.map@0.1.0',
          '      with: { rows: "${params.rows}", expression: \'{ "v": $ * 2 }\' }',
          '    - id: each',
          '      uses: tasks/transform.map@0.1.0',
          '      needs: [shape]',
          '      forEach: { items: "${tasks.shape.outputs.rows}" }',
          '      with: { rows: ["${item}"], expression: "v + 1" }',
          '    - id: pause',
          '      uses: tasks/wait.sleep@0.1.0',
          '      needs: [each]',
          '      with: { duration: 1ms }',
        ].join('\n'),
        { parameters: '    - { name: rows, type: array, required: true }' },
      ),
      { rows: [1, 2, 3] },
    );
    const report = await replayRun(context, runId, options);
    expect(report.replayStatus).toBe('SUCCEEDED');
    expect(report.replayRunId).toMatch(new RegExp(`^${runId}-replay-[0-9a-f]{8}$`));
    expect(report.equal).toBe(true);
    expect(report.tasks.map((t) => [t.taskId, t.verdict])).toEqual([
      ['shape', 'equal'],
      ['each', 'equal'],
      ['each[0]', 'equal'],
      ['each[1]', 'equal'],
      ['each[2]', 'equal'],
      ['pause', 'equal'],
    ]);
  });

  it('reports a task whose output changes between runs as different', async () => {
    const runId = await runWithReceipt(
      workflow(
        [
          '    - id: stable',
          '      uses: tasks/transform.map@0.1.0',
          '      with: { rows: [1], expression: "$" }',
          '    - id: counter',
          '      uses: tasks/http.request@0.1.0',
          `      with: { url: "${peer.url}/ok/replay-counter" }`,
        ].join('\n'),
      ),
    );
    const report = await replayRun(context, runId, options);
    expect(report.equal).toBe(false);
    const verdicts = Object.fromEntries(report.tasks.map((t) => [t.taskId, t]));
    expect(verdicts.stable?.verdict).toBe('equal');
    expect(verdicts.counter).toMatchObject({ verdict: 'different', original: expect.stringMatching(/^sha256:/), replay: expect.stringMatching(/^sha256:/) });
  });

  it('asks every approval gate again, and records the replay in the audit log before it starts', async () => {
    const yaml = workflow(
      [
        '    - id: gate',
        '      uses: ops/approval.gate@0.1.0',
        '      with: { approvers: [sre], minApprovals: 1 }',
        '    - id: after',
        '      uses: tasks/transform.map@0.1.0',
        '      needs: [gate]',
        '      with: { rows: [1], expression: "$" }',
      ].join('\n'),
    );
    const compiled = engine.compile(yaml);
    const runId = await engine.start(yaml);
    const { waitForState, task } = await import('../helpers/engine.js');
    await waitForState(engine, runId, (s) => task(s, 'gate').status === 'WAITING');
    await engine.approve(runId, { taskId: 'gate', decision: 'approve', approver: 'alice', roles: ['sre'] });
    const state = await engine.wait(runId);
    const write = createReceiptWriter({ receipts, signer: localBundleSigner(testKey()), builderId: 'urn:test', workerBuildId: 'test', taskCodeDigests: {} });
    await write({ runId, ir: compiled.ir, digest: compiled.digest, params: {}, state });
    const { replayRunId } = await startReplay(context, runId, options);
    // The original approval is not carried over: the replay waits at the gate until someone decides.
    const waiting = await waitForState(engine, replayRunId, (s) => task(s, 'gate').status === 'WAITING');
    expect(task(waiting, 'after').status).toBe('PENDING');
    const [record] = await auditLog.list({ runId, kind: 'replay' });
    expect(record).toMatchObject({ kind: 'replay', runId, actor: 'replayer', result: 'replay', details: { replayRunId } });
    await engine.approve(replayRunId, { taskId: 'gate', decision: 'approve', approver: 'bob', roles: ['sre'] });
    const report = await replayReport(engine.client, runId, replayRunId, options);
    // The gate's outputs are the new decision (another approver); the work after it is the same.
    expect(report.replayStatus).toBe('SUCCEEDED');
    expect(report.tasks.find((t) => t.taskId === 'after')?.verdict).toBe('equal');
  });

  it('refuses to compare against a receipt that does not verify', async () => {
    const runId = await runWithReceipt(workflow('    - id: one\n      uses: tasks/transform.map@0.1.0\n      with: { rows: [1], expression: "$" }'));
    const { generateSigningKey } = await import('../../src/provenance/index.js');
    await expect(replayRun(context, runId, { ...options, publicKeys: [generateSigningKey().publicKeyPem] })).rejects.toThrow(
      /does not verify \(UNTRUSTED_KEY\)/,
    );
    await expect(replayRun(context, 'run-that-never-was', options)).rejects.toMatchObject({ code: 'NOT_FOUND' });
    expect(await auditLog.list({ runId, kind: 'replay' })).toEqual([]);
  });
});

describe('maestro replay', () => {
  it('replays a run from the CLI, with the configured receipts and keys, and exits 0 when hash-equal', async () => {
    const temp = await tempDir('maestro-replay-cli-');
    const env = { TEMPORAL_ADDRESS: process.env.TEMPORAL_ADDRESS, MAESTRO_DATA_DIR: process.env.MAESTRO_DATA_DIR, MAESTRO_TASK_QUEUE: process.env.MAESTRO_TASK_QUEUE, MAESTRO_PAYLOAD_KEY: process.env.MAESTRO_PAYLOAD_KEY };
    process.env.TEMPORAL_ADDRESS = engine.address;
    process.env.MAESTRO_PAYLOAD_KEY = engine.payloadKey;
    process.env.MAESTRO_DATA_DIR = temp.dir;
    // The replay starts like any CLI run: on the configured task queue, where this engine's worker polls.
    process.env.MAESTRO_TASK_QUEUE = engine.taskQueue;
    try {
      const yaml = workflow('    - id: one\n      uses: tasks/transform.map@0.1.0\n      with: { rows: [1, 2], expression: "$ * 3" }');
      const compiled = engine.compile(yaml);
      const runId = await engine.start(yaml);
      const state = await engine.wait(runId);
      const provenance = await openProvenance(loadConfig());
      const write = createReceiptWriter({ receipts: provenance.receipts, signer: provenance.signer, builderId: provenance.builderId, workerBuildId: 'w', taskCodeDigests: {} });
      await write({ runId, ir: compiled.ir, digest: compiled.digest, params: {}, state });
      const lines: string[] = [];
      vi.spyOn(console, 'log').mockImplementation((line: string) => void lines.push(line));
      const code = await main(['replay', runId, '--json']);
      vi.restoreAllMocks();
      expect(code).toBe(0);
      expect(JSON.parse(lines.join('\n'))).toMatchObject({ runId, equal: true, replayStatus: 'SUCCEEDED', tasks: [{ taskId: 'one', verdict: 'equal' }] });
    } finally {
      for (const [name, value] of Object.entries(env)) {
        if (value === undefined) delete process.env[name];
        else process.env[name] = value;
      }
      await temp.cleanup();
    }
  });
});
