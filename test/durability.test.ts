/**
 * A run survives its worker: the worker process is killed mid-run (SIGKILL) and a new one started;
 * the run completes, tasks that had completed are not executed again, and the usage ledger
 * records each attempt once.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { cancelOnTemporal } from '../src/client/index.js';
import { openStore } from '../src/store/index.js';
import { TEST_EGRESS_ALLOW, startEngine, task, waitForState, workflow, type Engine } from './helpers/engine.js';
import { startHttpPeer, type HttpPeer } from './helpers/http-peer.js';

let engine: Engine;
let peer: HttpPeer;
let dataDir: string;
const workers: ChildProcess[] = [];

beforeAll(async () => {
  [engine, peer, dataDir] = await Promise.all([startEngine({ worker: false }), startHttpPeer(), mkdtemp(join(tmpdir(), 'maestro-durability-'))]);
});

afterAll(async () => {
  for (const worker of workers) worker.kill('SIGKILL');
  await engine?.close();
  await peer?.close();
  await rm(dataDir, { recursive: true, force: true });
});

/** Starts `workers/worker.ts` as its own process on the engine's task queue. */
function startWorkerProcess(): ChildProcess {
  const child = spawn(process.execPath, ['--import', 'tsx', 'workers/worker.ts'], {
    env: { ...process.env, TEMPORAL_ADDRESS: engine.address, MAESTRO_TASK_QUEUE: engine.taskQueue, MAESTRO_DATA_DIR: dataDir, MAESTRO_LOG_LEVEL: 'warn', MAESTRO_PAYLOAD_KEY: engine.payloadKey,
      MAESTRO_EGRESS_ALLOW: JSON.stringify(TEST_EGRESS_ALLOW),
    },
    stdio: ['ignore', 'ignore', 'inherit'],
  });
  workers.push(child);
  return child;
}

it('completes a run whose worker was killed mid-task, without re-running completed tasks', async () => {
  const get = (id: string, path: string, needs: string[] = []): string =>
    `    - id: ${id}\n      uses: tasks/http.request@0.1.0\n${needs.length ? `      needs: [${needs.join(', ')}]\n` : ''}      with: { url: "${peer.url}${path}" }`;
  const runId = await engine.start(workflow([get('first', '/ok/first'), get('slow', '/slow/middle?ms=4000', ['first']), get('last', '/ok/last', ['slow'])].join('\n')));

  const firstWorker = startWorkerProcess();
  await waitForState(engine, runId, (state) => task(state, 'slow').status === 'RUNNING', 60_000);
  await expect.poll(() => peer.hits.get('/slow/middle') ?? 0, { timeout: 10_000 }).toBe(1);
  firstWorker.kill('SIGKILL');
  await new Promise((resolve) => firstWorker.once('exit', resolve));

  startWorkerProcess();
  const state = await engine.wait(runId);
  expect(state.status).toBe('SUCCEEDED');
  expect(state.tasks.map((t) => [t.id, t.status, t.attempts])).toEqual([
    ['first', 'SUCCEEDED', 1],
    ['slow', 'SUCCEEDED', 1],
    ['last', 'SUCCEEDED', 1],
  ]);
  expect(peer.hits.get('/ok/first')).toBe(1);
  expect(peer.hits.get('/slow/middle')).toBe(2);
  expect(peer.hits.get('/ok/last')).toBe(1);
  // The usage ledger holds each attempt once: the killed worker's attempt of `slow` never ended
  // there, and Temporal's retry of it (same attempt number) wrote the one row. `first` and the
  // retried `slow` each opened a connection on their worker; `last` may reuse `slow`'s (keep-alive).
  const store = await openStore({ dataDir });
  try {
    const rows = await store.listTaskAttempts(runId);
    expect(rows.map((row) => [row.taskId, row.attempt, row.outcome])).toEqual([
      ['first', 1, 'succeeded'],
      ['last', 1, 'succeeded'],
      ['slow', 1, 'succeeded'],
    ]);
    expect(rows.map((row) => row.connectorCalls)).toEqual([1, expect.any(Number), 1]);
    expect(rows[1]?.connectorCalls).toBeLessThanOrEqual(1);
    expect(await store.getRunRecord(runId)).toMatchObject({ runId, status: 'SUCCEEDED' });
  } finally {
    await store.close();
  }
}, 120_000);

it('answers state queries on finished runs from a freshly started worker', async () => {
  const succeeded = await engine.start(workflow('    - id: only\n      uses: tasks/transform.map@0.1.0\n      with: { rows: [1], expression: "$" }'));
  const cancelled = await engine.start(workflow('    - id: nap\n      uses: tasks/wait.sleep@0.1.0\n      with: { duration: 1h }'));
  for (const worker of workers) worker.kill('SIGKILL');
  const first = startWorkerProcess();
  expect((await engine.wait(succeeded)).status).toBe('SUCCEEDED');
  await waitForState(engine, cancelled, (state) => task(state, 'nap').status === 'RUNNING', 60_000);
  await cancelOnTemporal(engine.client, cancelled);
  expect((await engine.wait(cancelled)).status).toBe('CANCELLED');
  first.kill('SIGKILL');
  await new Promise((resolve) => first.once('exit', resolve));

  startWorkerProcess();
  const [done, stopped] = await Promise.all([
    waitForState(engine, succeeded, () => true, 60_000),
    waitForState(engine, cancelled, () => true, 60_000),
  ]);
  expect(done.status).toBe('SUCCEEDED');
  expect(stopped.status).toBe('CANCELLED');
  expect(task(stopped, 'nap').status).toBe('CANCELLED');
}, 180_000);
