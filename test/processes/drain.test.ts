/**
 * `maestro worker` and `maestro api` drain on SIGTERM, each as its own process: the worker stops
 * polling, lets the task in flight finish (or, past `MAESTRO_WORKER_DRAIN_TIMEOUT_MS`, hands it back
 * to Temporal, which runs it on another worker), answers `/readyz` 503 meanwhile and exits 0; a
 * second signal exits at once. The API answers `/readyz` 503 at once, then refuses new connections
 * while a slow request in flight completes, and exits 0.
 */
import { randomBytes } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { request } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { TEST_EGRESS_ALLOW, startEngine, task, waitForState, workflow, type Engine } from '../helpers/engine.js';
import { startHttpPeer, type HttpPeer } from '../helpers/http-peer.js';
import { startMaestroCommand, type MaestroCommand } from '../helpers/maestro-process.js';

let engine: Engine;
let peer: HttpPeer;
let dataDir: string;
const started: MaestroCommand[] = [];

beforeAll(async () => {
  [engine, peer, dataDir] = await Promise.all([startEngine({ worker: false }), startHttpPeer(), mkdtemp(join(tmpdir(), 'maestro-drain-'))]);
});

afterAll(async () => {
  for (const command of started) command.child.kill('SIGKILL');
  await engine?.close();
  await peer?.close();
  await rm(dataDir, { recursive: true, force: true });
});

// Each test's processes end with it: a worker left polling the task queue would take the next
// test's task, and the worker that test drains would have nothing in flight.
afterEach(async () => {
  for (const command of started.splice(0)) {
    command.child.kill('SIGKILL');
    await command.exited.catch(() => undefined);
  }
});

/** The settings of a worker or API on the engine's Temporal, task queue and payload key. */
function env(extra: Record<string, string> = {}): Record<string, string> {
  return {
    TEMPORAL_ADDRESS: engine.address,
    MAESTRO_TASK_QUEUE: engine.taskQueue,
    MAESTRO_DATA_DIR: dataDir,
    MAESTRO_PAYLOAD_KEY: engine.payloadKey,
    MAESTRO_LOG_LEVEL: 'warn',
    MAESTRO_EGRESS_ALLOW: JSON.stringify(TEST_EGRESS_ALLOW),
    MAESTRO_TRIGGER_CONSUMERS: 'false',
    ...extra,
  };
}

async function start(command: 'api' | 'worker', extra: Record<string, string> = {}): Promise<MaestroCommand> {
  const process = await startMaestroCommand(command, env(extra));
  started.push(process);
  return process;
}

/** `first` → `slow` (a GET the peer answers after `ms`) → `last`; each path is the peer's hit counter. */
function slowWorkflow(name: string, ms: number): string {
  const get = (id: string, path: string, needs: string[] = []): string =>
    `    - id: ${id}\n      uses: tasks/http.request@0.1.0\n${needs.length ? `      needs: [${needs.join(', ')}]\n` : ''}      with: { url: "${peer.url}${path}", timeout: 60s }`;
  return workflow([get('first', `/ok/${name}-first`), get('slow', `/slow/${name}?ms=${ms}`, ['first']), get('last', `/ok/${name}-last`, ['slow'])].join('\n'));
}

/** Starts a run of {@link slowWorkflow} and resolves once its slow task is running on a worker. */
async function runUntilSlow(name: string, ms: number): Promise<string> {
  const runId = await engine.start(slowWorkflow(name, ms));
  await waitForState(engine, runId, (state) => task(state, 'slow').status === 'RUNNING', 120_000);
  await expect.poll(() => peer.hits.get(`/slow/${name}`) ?? 0, { timeout: 20_000 }).toBe(1);
  return runId;
}

const readyz = (worker: MaestroCommand): Promise<{ status: number; body: unknown }> => fetch(`${worker.url}/readyz`).then(async (res) => ({ status: res.status, body: await res.json() }));

describe('maestro worker on SIGTERM', () => {
  it('stops polling, lets the running task finish, answers /readyz 503 meanwhile and exits 0; the next worker ends the run without repeating it', async () => {
    const worker = await start('worker', { MAESTRO_WORKER_DRAIN_TIMEOUT_MS: '60000' });
    expect(await readyz(worker)).toEqual({ status: 200, body: { status: 'ready', missing: [], checks: { temporal: { ok: true }, store: { ok: true }, policy: { ok: true }, polling: { ok: true } } } });
    const runId = await runUntilSlow('drained', 6_000);
    const signalled = Date.now();
    worker.child.kill('SIGTERM');
    await expect.poll(() => readyz(worker).then((r) => r.status, () => 'gone'), { timeout: 3_000, interval: 100 }).toBe(503);
    expect((await readyz(worker)).body).toMatchObject({ status: 'not-ready', missing: ['polling'] });
    expect(await worker.exited).toBe(0);
    // It waited for the task, which ended on it: Temporal has its result, the next worker does not run it again.
    expect(Date.now() - signalled).toBeGreaterThan(2_000);
    await start('worker');
    const state = await engine.wait(runId);
    expect(state.status).toBe('SUCCEEDED');
    expect(state.tasks.map((t) => [t.id, t.status, t.attempts])).toEqual([
      ['first', 'SUCCEEDED', 1],
      ['slow', 'SUCCEEDED', 1],
      ['last', 'SUCCEEDED', 1],
    ]);
    expect([peer.hits.get('/ok/drained-first'), peer.hits.get('/slow/drained'), peer.hits.get('/ok/drained-last')]).toEqual([1, 1, 1]);
  }, 360_000);

  it('past the drain timeout, hands the running task back to Temporal and exits 0; it completes on another worker', async () => {
    const worker = await start('worker', { MAESTRO_WORKER_DRAIN_TIMEOUT_MS: '1000' });
    const runId = await runUntilSlow('handed-back', 15_000);
    const signalled = Date.now();
    worker.child.kill('SIGTERM');
    expect(await worker.exited).toBe(0);
    expect(Date.now() - signalled).toBeLessThan(12_000);
    await start('worker');
    const state = await engine.wait(runId);
    expect(state.status).toBe('SUCCEEDED');
    expect(task(state, 'slow').status).toBe('SUCCEEDED');
    // Started twice (the first attempt was cut off), completed once.
    expect(peer.hits.get('/slow/handed-back')).toBe(2);
    expect(peer.hits.get('/ok/handed-back-last')).toBe(1);
  }, 360_000);

  it('exits at once on a second signal while it drains (one within a second of the first is the same request)', async () => {
    const worker = await start('worker', { MAESTRO_WORKER_DRAIN_TIMEOUT_MS: '60000' });
    const runId = await runUntilSlow('impatient', 30_000);
    worker.child.kill('SIGTERM');
    await expect.poll(() => readyz(worker).then((r) => r.status, () => 'gone'), { timeout: 3_000, interval: 100 }).toBe(503);
    // A second signal within a second is the same request come by another path: ignored.
    worker.child.kill('SIGTERM');
    await new Promise((resolve) => setTimeout(resolve, 1_200));
    expect(worker.child.exitCode).toBeNull();
    const again = Date.now();
    worker.child.kill('SIGINT');
    expect(await worker.exited).toBe(130);
    expect(Date.now() - again).toBeLessThan(3_000);
    await engine.client.workflow.getHandle(runId).terminate('test over');
  }, 360_000);
});

describe('maestro api on SIGTERM', () => {
  it('answers /readyz 503 at once, then refuses new connections while a slow request completes, and exits 0', async () => {
    const token = randomBytes(24).toString('hex');
    const api = await start('api', { MAESTRO_DEV_TOKEN: token, MAESTRO_API_DRAIN_DELAY_MS: '1500' });
    const yaml = workflow('    - { id: nap, uses: tasks/wait.sleep@0.1.0, with: { duration: 1ms } }', { name: 'drained-api' });
    const body = Buffer.from(yaml);
    const { port } = new URL(api.url);
    // A registration whose body arrives slowly: in flight across the whole drain.
    const slow = request({ host: '127.0.0.1', port, path: '/workflows', method: 'POST', headers: { authorization: `Bearer ${token}`, 'content-type': 'application/yaml', 'content-length': String(body.length) } });
    const answered = new Promise<{ status: number; text: string }>((resolve, reject) => {
      slow.once('response', (res) => {
        let text = '';
        res.on('data', (chunk: Buffer) => (text += chunk.toString('utf8')));
        res.once('end', () => resolve({ status: res.statusCode ?? 0, text }));
      });
      slow.once('error', reject);
    });
    slow.write(body.subarray(0, 20));
    await new Promise((resolve) => setTimeout(resolve, 200));
    api.child.kill('SIGTERM');
    await expect.poll(() => fetch(`${api.url}/readyz`).then((res) => res.status, () => 'refused'), { timeout: 1_000, interval: 50 }).toBe(503);
    await expect.poll(() => fetch(`${api.url}/healthz`).then((res) => res.status, () => 'refused'), { timeout: 5_000, interval: 100 }).toBe('refused');
    expect(api.child.exitCode).toBeNull();
    slow.end(body.subarray(20));
    const response = await answered;
    expect(response.status, response.text).toBe(201);
    expect(await api.exited).toBe(0);
  }, 240_000);
});
