/**
 * Reading a run never waits on its worker: `GET /runs/{runId}` answers from the state the
 * interpreter published while a long local activity holds the run's workflow task (a query would
 * wait for it), the event stream pushes each task change as it is published (not on a 500 ms
 * poll), `?wait=` returns when the run ends, and every one of these paths keeps other namespaces
 * out. Against the real API, worker and Temporal dev server.
 */
import { fileURLToPath } from 'node:url';
import { Client, Connection } from '@temporalio/client';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { cachedRunInput, rememberStartedRun, runInput, startedExecution } from '../../src/runs/index.js';
import { manifest, startHarness, TOKENS, type Harness } from './harness.js';

const NAP_TASK_MODULE = fileURLToPath(new URL('../fixtures/tasks/nap.ts', import.meta.url));
const FLAKY_TASK_MODULE = fileURLToPath(new URL('../fixtures/tasks/flaky.ts', import.meta.url));

/** The bound on the median read mid-task (see the test). */
const READ_BOUND_MS = 250;

let h: Harness;
/** first → nap (4 s, a local activity) → after. */
let napping: string;
/** Three activities of 300 ms in a row. */
let steps: string;

beforeAll(async () => {
  h = await startHarness({ config: { taskModules: [NAP_TASK_MODULE, FLAKY_TASK_MODULE] } });
  const ref = async (yaml: string): Promise<string> => {
    const { name, version } = await h.register(yaml);
    return `${name}@${version}`;
  };
  napping = await ref(
    manifest(
      [
        '    - { id: first, uses: tasks/transform.map@0.1.0, with: { rows: [1], expression: "$ + 1" } }',
        '    - { id: nap, uses: tests/nap@0.1.0, needs: [first], with: { ms: 4000 } }',
        '    - { id: after, uses: tasks/transform.map@0.1.0, needs: [nap], with: { rows: [2], expression: "$ + 1" } }',
      ].join('\n'),
    ),
  );
  steps = await ref(
    manifest(
      [
        '    - { id: a, uses: tests/flaky@0.1.0, with: { ms: 300 } }',
        '    - { id: b, uses: tests/flaky@0.1.0, needs: [a], with: { ms: 300 } }',
        '    - { id: c, uses: tests/flaky@0.1.0, needs: [b], with: { ms: 300 } }',
      ].join('\n'),
    ),
  );
});
afterAll(() => h?.close());

async function start(workflowRef: string): Promise<string> {
  const res = await h.call('POST', '/runs', { token: 'operator', json: { workflowRef, namespace: h.namespace } });
  expect(res.status, res.text).toBe(201);
  return res.body.runId as string;
}

/** A GET and how long it took. */
async function timedGet(path: string, token: keyof typeof TOKENS = 'operator'): Promise<{ ms: number; status: number; body: any }> { // eslint-disable-line @typescript-eslint/no-explicit-any -- tests read fields freely
  const began = performance.now();
  const res = await h.call('GET', path, { token });
  return { ms: performance.now() - began, status: res.status, body: res.body };
}

describe('GET /runs/{runId} while a long local activity holds the workflow task', () => {
  it('answers within 50 ms with the tasks settled so far, at once after the start too', async () => {
    const runId = await start(napping);
    const first = await timedGet(`/runs/${runId}`);
    expect(first.status).toBe(200);
    expect(first.body.status).toBe('RUNNING');
    // The nap takes 4 s inside one workflow task: a query would be held that long.
    expect(first.ms).toBeLessThan(2_000);
    const mid = await h.waitRun(runId, (run) => run.tasks.find((task: { id: string }) => task.id === 'nap')?.status === 'RUNNING', 3_000);
    expect(mid.tasks).toEqual([
      expect.objectContaining({ id: 'first', status: 'SUCCEEDED', outputs: { rows: [2] } }),
      expect.objectContaining({ id: 'nap', status: 'RUNNING', attempts: 1 }),
      expect.objectContaining({ id: 'after', status: 'PENDING' }),
    ]);
    // The store holds the published state sealed with the payload key: no task output in clear.
    const row = await h.store.getRunProgress(runId);
    expect(row?.status).toBe('RUNNING');
    expect(row?.state.startsWith('{')).toBe(false);
    expect(row?.state).not.toContain('rows');
    const reads = [];
    for (let i = 0; i < 5; i += 1) reads.push(await timedGet(`/runs/${runId}`));
    expect(reads.every((read) => read.status === 200 && read.body.status === 'RUNNING')).toBe(true);
    const sorted = reads.map((read) => read.ms).sort((a, b) => a - b);
    // Within 50 ms on a quiet machine (bench/read-latency.ts measures it); the bound here leaves
    // room for a machine shared with other suites while staying far below the 2 s a query waits.
    expect(sorted[2], `reads took ${sorted.map(Math.round).join(', ')} ms`).toBeLessThan(READ_BOUND_MS);
    expect((await h.waitRun(runId, (run) => run.status === 'SUCCEEDED', 10_000)).tasks.map((task: { status: string }) => task.status)).toEqual(['SUCCEEDED', 'SUCCEEDED', 'SUCCEEDED']);
  });
});

describe('GET /runs/{runId}/events', () => {
  it('pushes each task change as it is published, not on a poll', async () => {
    const runId = await start(steps);
    const res = await fetch(`${h.api.url}/runs/${runId}/events`, { headers: { authorization: `Bearer ${TOKENS.operator}` } });
    expect(res.status).toBe(200);
    const arrivals: { event: string; data: any; at: number }[] = []; // eslint-disable-line @typescript-eslint/no-explicit-any -- tests read fields freely
    const decoder = new TextDecoder();
    let buffered = '';
    for await (const chunk of res.body as unknown as AsyncIterable<Uint8Array>) {
      const at = Date.now();
      buffered += decoder.decode(chunk, { stream: true });
      const blocks = buffered.split('\n\n');
      buffered = blocks.pop() ?? '';
      for (const block of blocks.filter((b) => b.startsWith('event:'))) {
        const [eventLine = '', dataLine = ''] = block.split('\n');
        arrivals.push({ event: eventLine.slice('event: '.length), data: JSON.parse(dataLine.slice('data: '.length)), at });
      }
    }
    expect(arrivals.at(-1)).toMatchObject({ event: 'end', data: { runId, status: 'SUCCEEDED' } });
    const succeeded = arrivals.filter((a) => a.event === 'task' && a.data.status === 'SUCCEEDED');
    expect(succeeded.map((a) => a.data.id), JSON.stringify(arrivals.map(({ event, data }) => [event, data.id, data.status]))).toEqual(['a', 'b', 'c']);
    // Each end reaches the client soon after the worker's clock says it happened: a 500 ms poll
    // would be late by 250 ms on average and often by more than the bound here.
    const lateness = succeeded.map((a) => a.at - Date.parse(a.data.endedAt));
    expect(Math.max(...lateness), `late by ${lateness.join(', ')} ms`).toBeLessThan(300);
    // Every task went through RUNNING on the stream, pushed when the attempt started.
    expect(arrivals.filter((a) => a.event === 'task' && a.data.status === 'RUNNING').map((a) => a.data.id)).toEqual(['a', 'b', 'c']);
  });
});

describe('GET /runs/{runId}?wait=', () => {
  it('returns once the run ends, without polling, and when the wait is over if it has not', async () => {
    const runId = await start(napping);
    const short = await timedGet(`/runs/${runId}?wait=200ms`);
    expect(short.status).toBe(200);
    expect(short.body.status).toBe('RUNNING');
    expect(short.ms).toBeGreaterThanOrEqual(150);
    const long = await timedGet(`/runs/${runId}?wait=30s`);
    expect(long.status).toBe(200);
    expect(long.body).toMatchObject({ runId, status: 'SUCCEEDED', endedAt: expect.any(String) });
    expect(long.body.tasks.map((task: { status: string }) => task.status)).toEqual(['SUCCEEDED', 'SUCCEEDED', 'SUCCEEDED']);
    expect(long.ms).toBeLessThan(10_000);
    // A finished run answers at once.
    expect((await timedGet(`/runs/${runId}?wait=30s`)).ms).toBeLessThan(5_000);
  });

  it('reads a run it started without reading the input back from its history: the input Temporal holds', async () => {
    const started = await h.call('POST', '/runs', { token: 'operator', json: { workflowRef: steps, namespace: h.namespace } });
    expect(started.status, started.text).toBe(201);
    const { runId } = started.body;
    // A client whose connection is closed reads no history: what answers is what the start kept.
    const connection = await Connection.connect({ address: inject('temporalAddress') });
    await connection.close();
    const kept = await cachedRunInput(new Client({ connection }), runId);
    expect(kept).toEqual(await runInput(h.client, runId));
    expect(kept).toMatchObject({ namespace: h.namespace, params: {}, startedBy: expect.any(String) });
    // A run it did not start is read from its history, which the closed client cannot do.
    await expect(cachedRunInput(new Client({ connection }), 'run-started-elsewhere')).rejects.toThrow();
    // A burst of starts does not push out the input of a run being read.
    for (let i = 0; i < 100; i += 1) rememberStartedRun(`run-burst-${i}`, kept);
    expect(await cachedRunInput(new Client({ connection }), runId)).toBe(kept);
  });

  it('waits for a run it started as the start left it, answering what a read afterwards answers', async () => {
    const started = await h.call('POST', '/runs', { token: 'operator', json: { workflowRef: steps, namespace: h.namespace, priority: 2 } });
    expect(started.status, started.text).toBe(201);
    const { runId } = started.body;
    // What the wait starts from instead of describing the run on Temporal.
    expect(startedExecution(runId)).toMatchObject({ runId, namespace: h.namespace, priority: 2, status: 'RUNNING', closed: false });
    expect(startedExecution('run-started-elsewhere')).toBeUndefined();
    const waited = await timedGet(`/runs/${runId}?wait=30s`);
    expect(waited.status).toBe(200);
    expect(waited.body).toMatchObject({ runId, status: 'SUCCEEDED', priority: 2, endedAt: expect.any(String) });
    expect((await h.call('GET', `/runs/${runId}`)).body).toEqual(waited.body);
    // A wait that is over before the end reads the run as it is then.
    const napper = await start(napping);
    expect((await timedGet(`/runs/${napper}?wait=200ms`)).body).toMatchObject({ runId: napper, status: 'RUNNING' });
  });

  it('refuses a wait longer than 60 s or not a duration', async () => {
    const runId = await start(napping);
    const long = await h.call('GET', `/runs/${runId}?wait=61s`);
    expect(long.status).toBe(400);
    expect(long.body.errors).toEqual([{ path: 'query.wait', message: 'is longer than 60s' }]);
    expect((await h.call('GET', `/runs/${runId}?wait=soon`)).status).toBe(400);
  });
});

describe('POST /runs?wait=', () => {
  it('answers once the run has ended, with its detail; a wait that is over answers the live run', async () => {
    const began = performance.now();
    const done = await h.call('POST', '/runs?wait=30s', { token: 'operator', json: { workflowRef: steps, namespace: h.namespace } });
    const ms = performance.now() - began;
    expect(done.status, done.text).toBe(201);
    expect(done.body).toMatchObject({ workflowRef: steps, namespace: h.namespace, status: 'SUCCEEDED', run: { runId: done.body.runId, status: 'SUCCEEDED', endedAt: expect.any(String) } });
    expect(done.body.run.tasks.map((task: { id: string; status: string }) => `${task.id}:${task.status}`)).toEqual(['a:SUCCEEDED', 'b:SUCCEEDED', 'c:SUCCEEDED']);
    // Three tasks of 300 ms in a row: the answer waited for them.
    expect(ms).toBeGreaterThanOrEqual(850);
    // What GET answers for the run afterwards is what the start answered.
    expect((await h.call('GET', `/runs/${done.body.runId}`)).body).toEqual(done.body.run);

    const short = await h.call('POST', '/runs?wait=200ms', { token: 'operator', json: { workflowRef: napping, namespace: h.namespace } });
    expect(short.status).toBe(201);
    expect(short.body).toMatchObject({ status: 'RUNNING', run: { status: 'RUNNING' } });
  });

  it('answers the run an idempotency key started, waited for too; a bad wait starts nothing', async () => {
    const key = `wait-${performance.now()}`;
    const first = await h.call('POST', '/runs', { token: 'operator', headers: { 'idempotency-key': key }, json: { workflowRef: steps, namespace: h.namespace } });
    expect(first.status).toBe(201);
    const again = await h.call('POST', '/runs?wait=30s', { token: 'operator', headers: { 'idempotency-key': key }, json: { workflowRef: steps, namespace: h.namespace } });
    expect(again.status).toBe(200);
    expect(again.body).toMatchObject({ runId: first.body.runId, status: 'SUCCEEDED', run: { status: 'SUCCEEDED' } });

    const badKey = `bad-wait-${performance.now()}`;
    const bad = await h.call('POST', '/runs?wait=61s', { token: 'operator', headers: { 'idempotency-key': badKey }, json: { workflowRef: steps, namespace: h.namespace } });
    expect(bad.status).toBe(400);
    expect(bad.body.errors).toEqual([{ path: 'query.wait', message: 'is longer than 60s' }]);
    const fresh = await h.call('POST', '/runs', { token: 'operator', headers: { 'idempotency-key': badKey }, json: { workflowRef: steps, namespace: h.namespace } });
    expect(fresh.status, 'the refused start bound no run to its key').toBe(201);
  });

  it('keeps a caller of another namespace from starting (and waiting on) a run there', async () => {
    const res = await h.call('POST', '/runs?wait=5s', { token: 'outsider', json: { workflowRef: steps, namespace: h.namespace } });
    expect(res.status).toBe(403);
    expect(res.text).not.toContain('"tasks"');
  });
});

describe('GET /runs/{runId} before any worker has taken the run', () => {
  it('answers at once with every task pending, not held until a worker comes', async () => {
    await h.stopWorker();
    let runId: string;
    try {
      runId = await start(napping);
      const first = await timedGet(`/runs/${runId}`);
      expect(first.status).toBe(200);
      expect(first.ms).toBeLessThan(2_000);
      expect(first.body.tasks.map((task: { id: string; status: string }) => `${task.id}:${task.status}`)).toEqual(['first:PENDING', 'nap:PENDING', 'after:PENDING']);
    } finally {
      await h.startWorker();
    }
    expect((await h.waitRun(runId, (run) => run.status === 'SUCCEEDED', 30_000)).status).toBe('SUCCEEDED');
  });
});

describe('namespaces', () => {
  it('keeps a caller of another namespace out of a run on every read path, with nothing of the run in the answer', async () => {
    const runId = await start(napping);
    await h.waitRun(runId, (run) => run.tasks.some((task: { status: string }) => task.status === 'RUNNING'), 3_000);
    const plain = await h.call('GET', `/runs/${runId}`, { token: 'outsider' });
    const waited = await h.call('GET', `/runs/${runId}?wait=5s`, { token: 'outsider' });
    const stream = await h.call('GET', `/runs/${runId}/events`, { token: 'outsider' });
    for (const res of [plain, waited, stream]) {
      expect(res.status).toBe(403);
      expect(res.text).not.toContain('"tasks"');
      expect(res.text).not.toContain('nap');
    }
    expect((await h.call('GET', '/runs/run-unknown?wait=5s')).status).toBe(404);
  });
});
