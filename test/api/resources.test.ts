/**
 * Bounded resources and bad input through the real API (issue 19, findings 10 and 11): event
 * streams limited per principal and in total, a slow log reader dropped instead of buffered for,
 * body limits, task log retention (`maestro logs prune` and the API's own pruning), a leap second
 * in `since`, and a workflow of another application on the same Temporal namespace that is not a run.
 */
import { randomUUID } from 'node:crypto';
import { request } from 'node:http';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { TaskLogEntry } from '../../src/store/index.js';
import { manifest, startHarness, TOKENS, type Harness } from './harness.js';

let h: Harness;
/** A run that sleeps long enough for the streams of a test to stay open. */
let sleeper: string;

beforeAll(async () => {
  h = await startHarness({ config: { streamsPerPrincipal: 2, streamsTotal: 3, streamStallMs: 1000, taskLogRetentionMs: 30 * 86_400_000 } });
  sleeper = `${(await h.register(manifest('    - { id: nap, uses: tasks/wait.sleep@0.1.0, with: { duration: 120s } }'))).name}@1.0.0`;
});
afterAll(async () => {
  await h?.close();
});

async function startSleeper(): Promise<string> {
  const res = await h.call('POST', '/runs', { json: { workflowRef: sleeper, namespace: h.namespace } });
  expect(res.status, res.text).toBe(201);
  return res.body.runId as string;
}

/** Opens an event stream as `token` and returns its response (the body unread) and a way to close it. */
async function openStream(path: string, token: keyof typeof TOKENS): Promise<{ res: Response; close(): void }> {
  const abort = new AbortController();
  const res = await fetch(`${h.api.url}${path}`, { headers: { authorization: `Bearer ${TOKENS[token]}`, accept: 'text/event-stream' }, signal: abort.signal });
  return {
    res,
    close: () => {
      abort.abort();
      res.body?.cancel().catch(() => undefined);
    },
  };
}

/** Lines of `count` × ~1 KiB, logged at `time`. */
function bulkLines(count: number, time = new Date().toISOString()): TaskLogEntry[] {
  return Array.from({ length: count }, (_, index) => ({ taskId: 'nap', attempt: 1, time, level: 'info', message: `${index} ${'x'.repeat(1000)}` }));
}

describe('event streams', () => {
  it('are limited per principal and in total: one more is 429 TOO_MANY_STREAMS with Retry-After, and a closed one frees its slot', async () => {
    const runId = await startSleeper();
    const open: { close(): void }[] = [];
    try {
      for (const path of [`/runs/${runId}/events`, `/runs/${runId}/logs`]) {
        const stream = await openStream(path, 'operator');
        open.push(stream);
        expect(stream.res.status).toBe(200);
      }
      const third = await h.call('GET', `/runs/${runId}/events`, { token: 'operator', headers: { accept: 'text/event-stream' } });
      expect(third.status).toBe(429);
      expect(third.type).toBe('application/problem+json');
      expect(third.body).toMatchObject({ status: 429, code: 'TOO_MANY_STREAMS' });
      expect(Number(third.headers.get('retry-after'))).toBeGreaterThan(0);
      // A start that would wait for its run takes a slot too, before anything starts: refused, no run.
      const key = `wait-${randomUUID()}`;
      const waiting = await h.call('POST', '/runs?wait=5s', { token: 'operator', headers: { 'idempotency-key': key }, json: { workflowRef: sleeper, namespace: h.namespace } });
      expect(waiting.status).toBe(429);
      expect(waiting.body).toMatchObject({ status: 429, code: 'TOO_MANY_STREAMS' });
      const unbound = await h.call('POST', '/runs', { token: 'operator', headers: { 'idempotency-key': key }, json: { workflowRef: sleeper, namespace: h.namespace } });
      expect(unbound.status, 'the refused start bound no run to its key').toBe(201);
      await h.call('POST', `/runs/${unbound.body.runId}/cancel`, { json: {} });

      // Another principal still gets one (3 open: the total), then nobody does.
      const viewers = await openStream(`/runs/${runId}/events`, 'viewer');
      open.push(viewers);
      expect(viewers.res.status).toBe(200);
      const over = await h.call('GET', `/runs/${runId}/events`, { token: 'sre', headers: { accept: 'text/event-stream' } });
      expect(over.status).toBe(429);
      expect(over.body.detail).toContain('the API holds 3 open event streams');

      // A JSON page of the log is no stream: never limited.
      expect((await h.call('GET', `/runs/${runId}/logs`, { token: 'operator' })).status).toBe(200);

      open.shift()!.close();
      await expect
        .poll(async () => {
          const stream = await openStream(`/runs/${runId}/events`, 'sre');
          stream.close();
          return stream.res.status;
        }, { timeout: 5000 })
        .toBe(200);
    } finally {
      for (const stream of open) stream.close();
      await h.call('POST', `/runs/${runId}/cancel`, { json: {} });
    }
  });

  it('drop a log reader that reads nothing instead of buffering the log for it', async () => {
    const runId = await startSleeper();
    // 30,000 lines of 1 KiB: 30 MiB of events, far more than the socket buffers hold.
    const total = 30_000;
    await h.taskLog.append(runId, bulkLines(total));
    try {
      const received = await new Promise<{ bytes: number; ended: boolean }>((resolve, reject) => {
        const url = new URL(`${h.api.url}/runs/${runId}/logs`);
        const req = request(url, { headers: { authorization: `Bearer ${TOKENS.operator}`, accept: 'text/event-stream' } }, (res) => {
          expect(res.statusCode).toBe(200);
          // Read nothing for three times the stall limit, then everything that is left.
          res.pause();
          let bytes = 0;
          let tail = '';
          setTimeout(() => {
            res.on('data', (chunk: Buffer) => {
              bytes += chunk.length;
              tail = (tail + chunk.toString('utf8')).slice(-200);
            });
            res.resume();
          }, 3000);
          const done = (): void => resolve({ bytes, ended: tail.includes('event: end') });
          res.once('end', done);
          res.once('close', done);
          res.once('aborted', done);
        });
        req.once('error', reject);
        req.end();
      });
      // The stream was cut: far fewer bytes than the log, and no `end` event.
      expect(received.ended).toBe(false);
      expect(received.bytes).toBeLessThan((total * 1000) / 2);
      // The API is fine and serves the same log to a reader that reads.
      expect((await h.call('GET', `/runs/${runId}/logs?after=${total - 1}`, { token: 'operator' })).body.items).toHaveLength(1);
    } finally {
      await h.call('POST', `/runs/${runId}/cancel`, { json: {} });
    }
  }, 60_000);
});

describe('request bodies', () => {
  it('larger than 1 MiB are 413 PAYLOAD_TOO_LARGE problems on every route, bodiless ones too', async () => {
    const big = JSON.stringify({ workflowRef: sleeper, params: { blob: 'x'.repeat(1_100_000) } });
    for (const [method, path] of [
      ['POST', '/runs'],
      ['POST', '/runs/run-x/cancel'],
      ['GET', '/runs'],
      ['GET', '/healthz'],
    ] as const) {
      // node:http, since fetch sends no body with a GET.
      const res = await new Promise<{ status: number; type: string; body: string }>((resolve, reject) => {
        const req = request(`${h.api.url}${path}`, { method, agent: false, headers: { authorization: `Bearer ${TOKENS.admin}`, 'content-type': 'application/json', 'content-length': String(Buffer.byteLength(big)) } }, (response) => {
          let body = '';
          response.on('data', (chunk: Buffer) => (body += chunk.toString('utf8')));
          response.once('end', () => resolve({ status: response.statusCode ?? 0, type: String(response.headers['content-type']), body }));
        });
        req.once('error', reject);
        req.end(big);
      });
      expect(res.status, `${method} ${path}: ${res.body.slice(0, 300)}`).toBe(413);
      expect(res.type).toContain('application/problem+json');
      expect((JSON.parse(res.body) as { code: string }).code).toBe('PAYLOAD_TOO_LARGE');
    }
  });
});

describe('deeply nested bodies', () => {
  it('are refused as 400 problems, never a 500', async () => {
    const depth = 100_000;
    const nested = `${'['.repeat(depth)}${']'.repeat(depth)}`;
    const takesObject = `${(await h.register(manifest('    - { id: nap, uses: tasks/wait.sleep@0.1.0, with: { duration: 1ms } }', { parameters: '    - { name: x, type: array }' }))).name}@1.0.0`;
    for (const [path, body] of [
      ['/runs', `{"workflowRef": "${takesObject}", "namespace": "${h.namespace}", "params": {"x": ${nested}}}`],
      ['/runbooks/trigger', `{"runbook": "none", "inputs": {"x": ${nested}}}`],
      ['/runs/run-x/cancel', `{"reason": ${nested}}`],
    ] as const) {
      const res = await fetch(`${h.api.url}${path}`, { method: 'POST', headers: { authorization: `Bearer ${TOKENS.admin}`, 'content-type': 'application/json' }, body });
      const text = await res.text();
      expect(res.status, `${path}: ${text.slice(0, 300)}`).toBe(400);
      expect(JSON.parse(text)).toMatchObject({ code: 'BAD_REQUEST', errors: [{ path: 'body' }] });
    }
  });
});

describe('task log retention', () => {
  it('`maestro logs prune --older-than 30d` deletes older lines of every run and keeps the rest', async () => {
    const runId = await startSleeper();
    await h.call('POST', `/runs/${runId}/cancel`, { json: {} });
    const old = new Date(Date.now() - 40 * 86_400_000).toISOString();
    await h.taskLog.append(runId, [...bulkLines(3, old), ...bulkLines(2)]);
    const before = process.env.MAESTRO_DATA_DIR;
    process.env.MAESTRO_DATA_DIR = h.config.dataDir;
    try {
      const bad = await h.cli('admin', 'logs', 'prune', '--older-than', 'a while');
      expect(bad.code).toBe(2);
      const pruned = await h.cli('admin', 'logs', 'prune', '--older-than', '30d');
      expect(pruned.code, pruned.err).toBe(0);
      expect(pruned.out).toMatch(/^deleted \d+ task log lines logged before /);
    } finally {
      if (before === undefined) delete process.env.MAESTRO_DATA_DIR;
      else process.env.MAESTRO_DATA_DIR = before;
    }
    const res = await h.call('GET', `/runs/${runId}/logs`);
    expect(res.body.items.map((line: { seq: number }) => line.seq)).toEqual([4, 5]);
  });

  it('with MAESTRO_TASK_LOG_RETENTION the API prunes by itself', async () => {
    const runId = await startSleeper();
    await h.call('POST', `/runs/${runId}/cancel`, { json: {} });
    await h.taskLog.append(runId, [...bulkLines(2, new Date(Date.now() - 31 * 86_400_000).toISOString()), ...bulkLines(1)]);
    await h.restartApi(); // pruning runs at start, then hourly
    await expect.poll(async () => (await h.call('GET', `/runs/${runId}/logs`)).body.items.map((line: { seq: number }) => line.seq), { timeout: 5000 }).toEqual([3]);
  });
});

describe('bad input is never a 500', () => {
  it('a leap second in `since`/`until` is a valid instant', async () => {
    const res = await h.call('GET', `/runs?since=${encodeURIComponent('2016-12-31T23:59:60Z')}&until=${encodeURIComponent('2016-12-31T23:59:60.5+00:00')}`);
    expect(res.status, res.text).toBe(200);
    expect(res.body.items).toEqual([]);
  });

  it('an instant past year 9999 is 400 naming the parameter', async () => {
    const res = await h.call('GET', `/runs?until=${encodeURIComponent('9999-12-31T23:59:59-23:59')}`);
    expect(res.status).toBe(400);
    expect(res.body).toMatchObject({ code: 'BAD_REQUEST', errors: [{ path: 'query.until' }] });
  });

  it("another application's workflow on the same Temporal namespace is no run: 404 everywhere, and it is not cancelled", async () => {
    const workflowId = `other-app-${randomUUID()}`;
    const handle = await h.client.workflow.start('billingWorkflow', { workflowId, taskQueue: `other-app-${randomUUID()}`, args: [{ invoice: 42 }] });
    try {
      for (const [method, path] of [
        ['GET', `/runs/${workflowId}`],
        ['GET', `/runs/${workflowId}/logs`],
        ['POST', `/runs/${workflowId}/cancel`],
        ['POST', `/runs/${workflowId}/approvals`],
      ] as const) {
        const json = path.endsWith('approvals') ? { taskId: 'x', decision: 'approve' } : method === 'POST' ? {} : undefined;
        const res = await h.call(method, path, { ...(json === undefined ? {} : { json }) });
        expect(res.status, `${method} ${path}: ${res.text}`).toBe(404);
        expect(res.body.code).toBe('NOT_FOUND');
      }
      expect((await handle.describe()).status.name).toBe('RUNNING');
    } finally {
      await handle.terminate('test over');
    }
  });
});
