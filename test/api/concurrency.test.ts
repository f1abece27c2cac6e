/**
 * Concurrency keys (`spec.concurrency`) through the real API, worker and Temporal: one run per key
 * at a time (QUEUED behind the holder, refused with 409, or cancelling the holder), keys and
 * namespaces apart, the key freed on every ending (success, failure, cancel, timeout, a terminate
 * done straight on Temporal), and two API replicas starting runs of one key at the same moment.
 */
import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { TOKENS, manifest, startHarness, type Harness } from './harness.js';

let h: Harness;
beforeAll(async () => {
  h = await startHarness();
});
afterAll(() => h.close());

type Run = any; // eslint-disable-line @typescript-eslint/no-explicit-any -- tests read fields freely

/** Registers a workflow sleeping `params.sleep` (or failing with `params.fail`) under `spec.concurrency`. */
async function register(concurrency: string, { spec = '', namespace = h.namespace } = {}): Promise<string> {
  const yaml = manifest(
    [
      '    - { id: work, uses: tasks/wait.sleep@0.1.0, with: { duration: "${params.sleep}" } }',
      '    - { id: check, uses: tasks/schema.validate@0.1.0, needs: [work], with: { schema: { const: false }, data: "${params.fail}" } }',
    ].join('\n'),
    {
      parameters: [
        '    - { name: service, type: string, required: true }',
        '    - { name: sleep, type: string, default: 1h }',
        '    - { name: fail, type: boolean, default: false }',
      ].join('\n'),
    },
  ).replace('  tasks:', `  concurrency: ${concurrency}\n${spec}  tasks:`);
  const { name, version } = await h.register(yaml, namespace);
  return `${name}@${version}`;
}

async function start(workflowRef: string, params: Record<string, unknown>, { namespace = h.namespace, url }: { namespace?: string; url?: string } = {}) {
  const json = { workflowRef, namespace, params };
  if (url === undefined) return h.call('POST', '/runs', { token: 'operator', json });
  const res = await fetch(`${url}/runs`, { method: 'POST', headers: { authorization: `Bearer ${TOKENS.operator}`, 'content-type': 'application/json' }, body: JSON.stringify(json) });
  return { status: res.status, body: (await res.json()) as Run };
}

async function started(workflowRef: string, params: Record<string, unknown>, namespace?: string): Promise<string> {
  const res = await start(workflowRef, params, namespace === undefined ? {} : { namespace });
  expect(res.status, JSON.stringify(res.body)).toBe(201);
  return res.body.runId as string;
}

const ended = (run: Run): boolean => ['SUCCEEDED', 'FAILED', 'CANCELLED'].includes(run.status);
const running = (run: Run): boolean => run.status === 'RUNNING';
const work = (run: Run): Run => run.tasks.find((task: Run) => task.id === 'work');
const service = (): string => `svc-${randomUUID().slice(0, 8)}`;
const cancel = (runId: string) => h.call('POST', `/runs/${runId}/cancel`, { token: 'operator', json: {} });

/** Registers a workflow under `concurrency` and starts a run of a fresh service that holds its key. */
async function holding(concurrency: string): Promise<{ ref: string; svc: string; holder: string }> {
  const ref = await register(concurrency);
  const svc = service();
  const holder = await started(ref, { service: svc });
  await h.waitRun(holder, running);
  return { ref, svc, holder };
}

describe('onConflict: queue', () => {
  it('queues the second run, QUEUED behind the holder, until the first ends; then it runs', async () => {
    const ref = await register('{ key: "deploy-${params.service}" }');
    const svc = service();
    const first = await started(ref, { service: svc, sleep: '3s' });
    await h.waitRun(first, running);
    const res = await start(ref, { service: svc, sleep: '10ms' });
    expect(res.status).toBe(201);
    expect(res.body.status).toBe('QUEUED');
    const second = res.body.runId as string;
    const queued = await h.waitRun(second, (run) => run.status === 'QUEUED');
    expect(queued.concurrency).toEqual({ key: `deploy-${svc}`, holders: [first], position: 1 });
    expect(work(queued).status).toBe('PENDING');
    await expect.poll(async () => (await h.call('GET', `/runs?namespace=${h.namespace}&status=QUEUED`, { token: 'operator' })).body.items.map((run: Run) => run.runId)).toContain(second);
    const done = await h.waitRun(second, ended, 30_000);
    expect(done.status).toBe('SUCCEEDED');
    const firstDone = await h.waitRun(first, ended);
    expect(firstDone.status).toBe('SUCCEEDED');
    expect(Date.parse(work(done).startedAt)).toBeGreaterThanOrEqual(Date.parse(firstDone.endedAt));
  });

  it('lets a queued run be cancelled: it leaves the queue and the next one moves up', async () => {
    const { ref, svc, holder } = await holding('{ key: "${params.service}" }');
    const leaving = await started(ref, { service: svc, sleep: '10ms' });
    const staying = await started(ref, { service: svc, sleep: '10ms' });
    expect((await h.waitRun(staying, (run) => run.status === 'QUEUED')).concurrency).toMatchObject({ holders: [holder], position: 2 });
    expect((await cancel(leaving)).status).toBe(202);
    expect((await h.waitRun(leaving, ended)).status).toBe('CANCELLED');
    expect((await h.waitRun(staying, (run) => run.concurrency?.position === 1)).status).toBe('QUEUED');
    await cancel(holder);
    expect((await h.waitRun(staying, ended)).status).toBe('SUCCEEDED');
  });
});

describe('onConflict: reject and cancel-running', () => {
  it('reject answers 409 CONCURRENCY_LIMIT naming the holder, and nothing starts', async () => {
    const { ref, svc, holder } = await holding('{ key: "${params.service}", onConflict: reject }');
    const res = await start(ref, { service: svc, sleep: '10ms' });
    expect(res.status).toBe(409);
    expect(res.body).toMatchObject({ type: 'urn:maestro:error:CONCURRENCY_LIMIT', code: 'CONCURRENCY_LIMIT', holders: [holder] });
    expect(res.body.detail).toContain(holder);
    const listed = await h.call('GET', `/runs?namespace=${h.namespace}&workflowRef=${ref}`, { token: 'operator' });
    expect(listed.body.items.map((run: Run) => run.runId)).toEqual([holder]);
    await cancel(holder);
    await h.waitRun(holder, ended);
    // Freed: the next start is granted.
    expect((await start(ref, { service: svc, sleep: '10ms' })).body.status).toBe('RUNNING');
  });

  it('a runbook trigger is refused the same way (409) when the key of its workflow is held', async () => {
    const { ref, svc, holder } = await holding('{ key: "${params.service}", onConflict: reject }');
    const name = `rb-${randomUUID().slice(0, 8)}`;
    const runbook = [
      'apiVersion: maestro/v1',
      'kind: Runbook',
      `metadata: { name: ${name}, namespace: ${h.namespace}, version: 1.0.0, allowList: { roles: [sre] } }`,
      'spec:',
      '  inputs: [{ name: service, type: string, required: true }]',
      `  workflowRef: ${ref}`,
    ].join('\n');
    expect((await h.call('POST', '/runbooks', { yaml: runbook })).status).toBe(201);
    const res = await h.call('POST', '/runbooks/trigger', { token: 'sre', json: { namespace: h.namespace, runbook: name, inputs: { service: svc } } });
    expect(res.status, res.text).toBe(409);
    expect(res.body).toMatchObject({ code: 'CONCURRENCY_LIMIT', holders: [holder] });
    await cancel(holder);
  });

  it('a repeated request (same idempotency key) gets its finished run back, not a 409', async () => {
    const ref = await register('{ key: "${params.service}", onConflict: reject }');
    const svc = service();
    const json = { workflowRef: ref, namespace: h.namespace, params: { service: svc, sleep: '10ms' }, idempotencyKey: `k-${svc}` };
    const first = await h.call('POST', '/runs', { token: 'operator', json });
    await h.waitRun(first.body.runId, ended);
    const holder = await started(ref, { service: svc });
    await h.waitRun(holder, running);
    const again = await h.call('POST', '/runs', { token: 'operator', json });
    expect(again.status).toBe(200);
    expect(again.body).toMatchObject({ runId: first.body.runId, status: 'SUCCEEDED' });
    await cancel(holder);
  });

  it('a retry takes the key like any start: refused while another run holds it', async () => {
    const ref = await register('{ key: "${params.service}", onConflict: reject }');
    const svc = service();
    const failed = await started(ref, { service: svc, sleep: '10ms', fail: true });
    expect((await h.waitRun(failed, ended)).status).toBe('FAILED');
    const holder = await started(ref, { service: svc });
    await h.waitRun(holder, running);
    const retry = await h.call('POST', `/runs/${failed}/retry`, { token: 'operator', json: { from: 'failed' } });
    expect(retry.status).toBe(409);
    expect(retry.body).toMatchObject({ code: 'CONCURRENCY_LIMIT', holders: [holder] });
    await cancel(holder);
  });

  it('cancel-running cancels the holder (its cancellation runs as usual) and the new run takes the key', async () => {
    const { ref, svc, holder } = await holding('{ key: "${params.service}", onConflict: cancel-running }');
    const res = await start(ref, { service: svc, sleep: '10ms' });
    expect(res.status).toBe(201);
    const cancelled = await h.waitRun(holder, ended);
    expect(cancelled.status).toBe('CANCELLED');
    expect(work(cancelled)).toMatchObject({ status: 'CANCELLED', error: { code: 'RUN_CANCELLED' } });
    // Recorded like any cancellation, by the new run's starter.
    const records = (await h.call('GET', `/audit?runId=${holder}&kind=cancellation`, { token: 'admin' })).body.items;
    expect(records).toEqual([expect.objectContaining({ actor: 'operator', details: { by: res.body.runId } })]);
    expect((await h.waitRun(res.body.runId, ended)).status).toBe('SUCCEEDED');
  });
});

describe('isolation', () => {
  it('runs with different keys, and runs of the same key text in different namespaces, do not wait for each other', async () => {
    const other = `${h.namespace}-limited`;
    const ref = await register('{ key: "${params.service}", onConflict: reject }');
    const otherRef = await register('{ key: "${params.service}", onConflict: reject }', { namespace: other });
    const svc = service();
    const a = await started(ref, { service: svc });
    const b = await started(ref, { service: service() });
    const c = await started(otherRef, { service: svc }, other);
    for (const runId of [a, b, c]) expect((await h.waitRun(runId, running)).status).toBe('RUNNING');
    for (const runId of [a, b, c]) await cancel(runId);
  });
});

describe('the key is released on every ending', () => {
  /** Starts a holder that ends as `end` makes it, and a queued run that must then get the key. */
  async function releasedAfter(end: (holder: string) => Promise<unknown>, holderParams: Record<string, unknown> = {}, holderSpec = ''): Promise<Run> {
    const ref = await register('{ key: "${params.service}" }');
    // The holder may be of another workflow: the key, not the workflow, is what they share.
    const holderRef = holderSpec === '' ? ref : await register('{ key: "${params.service}" }', { spec: holderSpec });
    const svc = service();
    const holder = await started(holderRef, { service: svc, ...holderParams });
    await h.waitRun(holder, running);
    const next = await started(ref, { service: svc, sleep: '10ms' });
    await h.waitRun(next, (run) => run.status === 'QUEUED');
    await end(holder);
    expect((await h.waitRun(next, ended, 60_000)).status).toBe('SUCCEEDED');
    return h.waitRun(holder, ended);
  }

  it('after a failure', async () => {
    expect((await releasedAfter(async () => undefined, { sleep: '1s', fail: true })).status).toBe('FAILED');
  });

  it('after a cancel', async () => {
    expect((await releasedAfter(cancel)).status).toBe('CANCELLED');
  });

  it('after the run timeout', async () => {
    const holder = await releasedAfter(async () => undefined, {}, '  timeout: 2s\n');
    expect(holder.error).toMatchObject({ code: 'RUN_TIMEOUT' });
  });

  it('after a terminate done straight on Temporal (the lock sees the holder ended)', async () => {
    const holder = await releasedAfter((runId) => h.client.workflow.getHandle(runId).terminate('from the Temporal UI'));
    expect(holder.status).toBe('FAILED');
  });
});

describe('replicas and restarts', () => {
  it('keeps the queue across a restart of the worker and the API: it lives in Temporal', async () => {
    const { ref, svc, holder } = await holding('{ key: "${params.service}" }');
    const next = await started(ref, { service: svc, sleep: '10ms' });
    await h.waitRun(next, (run) => run.status === 'QUEUED');
    await h.stopWorker();
    await h.restartApi();
    await h.startWorker();
    expect((await h.waitRun(next, (run) => run.status === 'QUEUED')).concurrency).toMatchObject({ holders: [holder], position: 1 });
    await cancel(holder);
    expect((await h.waitRun(next, ended, 60_000)).status).toBe('SUCCEEDED');
  });


  it('concurrent starts of one key through two APIs hold it at most `limit` times', async () => {
    const replica = await h.startReplica();
    try {
      const ref = await register('{ key: "${params.service}", limit: 2, onConflict: reject }');
      const svc = service();
      const answers = await Promise.all(Array.from({ length: 8 }, (_, i) => start(ref, { service: svc }, i % 2 === 0 ? { url: h.api.url } : { url: replica.url })));
      const statuses = answers.map((answer) => answer.status).sort();
      expect(statuses).toEqual([201, 201, 409, 409, 409, 409, 409, 409]);
      for (const answer of answers.filter((a) => a.status === 201)) await cancel(answer.body.runId);
    } finally {
      await replica.stop();
    }
  });
});
