/**
 * `GET /runs/{runId}/logs` and `maestro runs logs` end to end: a task module that logs (and
 * carelessly logs a secret it resolved) runs on the real worker under the embedded policy, and the
 * API serves its lines from the task log, as JSON pages and as a live event stream.
 */
import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseEvents } from '../../console/src/api/event-parser.js';
import { CHATTY_TASK_MODULE, manifest, startHarness, type Harness } from './harness.js';

const SECRET = `tok-${randomUUID()}`;
/** An operator of `default`, the namespace the shipped policy data lets run `testing` workflows. */
const OPERATOR = { name: 'log-reader', token: 'log-reader-token-0123456789', roles: ['operator'], namespaces: ['default'] };

let h: Harness;
let twoTasks: string;
let slow: string;

beforeAll(async () => {
  process.env.MAESTRO_SECRET_CHATTY_TOKEN = SECRET;
  h = await startHarness({ policy: true, tokens: [OPERATOR], config: { taskModules: [CHATTY_TASK_MODULE] } });
  twoTasks = `${(await h.register(manifest([
    '    - { id: first, uses: tests/chatty@0.1.0, with: { lines: 3, secret: CHATTY_TOKEN } }',
    '    - { id: second, uses: tests/chatty@0.1.0, needs: [first], with: { lines: 2 } }',
  ].join('\n'), { name: 'chatty-two' }), 'default')).name}@1.0.0`;
  slow = `${(await h.register(manifest('    - { id: slow, uses: tests/chatty@0.1.0, with: { lines: 8, delayMs: 400 } }', { name: 'chatty-slow' }), 'default')).name}@1.0.0`;
});
afterAll(async () => {
  await h?.close();
  delete process.env.MAESTRO_SECRET_CHATTY_TOKEN;
});

async function run(workflowRef: string): Promise<string> {
  const res = await h.call('POST', '/runs', { bearer: OPERATOR.token, json: { workflowRef, namespace: 'default' } });
  expect(res.status, res.text).toBe(201);
  return res.body.runId as string;
}

/** Reads an event stream to its end, calling `onEvent` as each event arrives. */
async function readStream(path: string, headers: Record<string, string>, onEvent: (event: { event: string; data: any }) => Promise<void> | void): Promise<Response> { // eslint-disable-line @typescript-eslint/no-explicit-any -- tests read fields freely
  const res = await fetch(`${h.api.url}${path}`, { headers: { authorization: `Bearer ${OPERATOR.token}`, accept: 'text/event-stream', ...headers } });
  expect(res.status).toBe(200);
  expect(res.headers.get('content-type')).toContain('text/event-stream');
  let buffer = '';
  for await (const chunk of res.body!.pipeThrough(new TextDecoderStream())) {
    const parsed = parseEvents(buffer + chunk);
    buffer = parsed.rest;
    for (const event of parsed.events) await onEvent({ event: event.event, data: JSON.parse(event.data) });
  }
  return res;
}

describe('GET /runs/{runId}/logs', () => {
  it("returns each task's lines in order, with task id, attempt and fields, the policy decision first and no secret", async () => {
    const id = await run(twoTasks);
    await h.waitRun(id, (r) => r.status === 'SUCCEEDED');
    const res = await h.call('GET', `/runs/${id}/logs`, { bearer: OPERATOR.token });
    expect(res.status).toBe(200);
    expect(res.body.next).toBeUndefined();
    const items = res.body.items as { seq: number; taskId: string; attempt: number; level: string; message: string; fields?: Record<string, unknown> }[];
    expect(items.map((line) => line.seq)).toEqual(items.map((_, index) => index + 1));
    expect(items.map((line) => `${line.taskId}#${line.attempt} ${line.level} ${line.message}`)).toEqual([
      expect.stringMatching(/^first#1 info policy allowed \(purpose testing, authority tests, license internal\) decision \S+ \(reused from the run start\)$/),
      'first#1 warn connecting with [redacted]',
      'first#1 info line 1 of 3',
      'first#1 info line 2 of 3',
      'first#1 info line 3 of 3',
      'first#1 info event done',
      expect.stringMatching(/^second#1 info policy allowed/),
      'second#1 info line 1 of 2',
      'second#1 info line 2 of 2',
      'second#1 info event done',
    ]);
    expect(items[1]?.fields).toEqual({ authorization: 'Bearer [redacted]' });
    expect(items[2]?.fields).toEqual({ line: 1 });
    expect(res.text).not.toContain(SECRET);

    const second = await h.call('GET', `/runs/${id}/logs?taskId=second&limit=2`);
    expect(second.body.items.map((line: { message: string }) => line.message)).toEqual([expect.stringMatching(/^policy allowed/), 'line 1 of 2']);
    expect(second.body.next).toBe(8);
    const rest = await h.call('GET', `/runs/${id}/logs?taskId=second&after=${second.body.next}`);
    expect(rest.body.items.map((line: { seq: number }) => line.seq)).toEqual([9, 10]);
  });

  it('streams lines while the task runs, then ends once the run has ended; Last-Event-ID resumes', async () => {
    const id = await run(slow);
    const seen: { seq: number; message: string }[] = [];
    const statusAtFirstLine: string[] = [];
    let end: unknown;
    await readStream(`/runs/${id}/logs`, {}, async ({ event, data }) => {
      if (event === 'log') {
        if (seen.length === 1) statusAtFirstLine.push((await h.call('GET', `/runs/${id}`)).body.status);
        seen.push(data);
      }
      if (event === 'end') end = data;
    });
    expect(statusAtFirstLine).toEqual(['RUNNING']);
    expect(seen.map((line) => line.message).slice(1)).toEqual([...Array.from({ length: 8 }, (_, index) => `line ${index + 1} of 8`), 'event done']);
    expect(end).toEqual({ runId: id, status: 'SUCCEEDED' });

    const resumed: number[] = [];
    await readStream(`/runs/${id}/logs`, { 'last-event-id': '7' }, ({ event, data }) => void (event === 'log' && resumed.push(data.seq)));
    expect(resumed).toEqual([8, 9, 10]);
  });

  it('answers as run detail does for another namespace, and 404 for an unknown run', async () => {
    const id = await run(twoTasks);
    const detail = await h.call('GET', `/runs/${id}`, { token: 'outsider' });
    const logs = await h.call('GET', `/runs/${id}/logs`, { token: 'outsider' });
    expect(logs.status).toBe(detail.status);
    expect(logs.status).toBe(403);
    expect(logs.type).toBe('application/problem+json');
    expect((await h.call('GET', '/runs/run-unknown/logs')).status).toBe(404);
    expect((await h.call('GET', '/runs/run-unknown/logs', { headers: { accept: 'text/event-stream' } })).status).toBe(404);
    expect((await h.call('GET', `/runs/${id}/logs?limit=0`)).status).toBe(400);
  });
});

describe('maestro runs logs', () => {
  it('prints the lines of a run or one task, as text or JSON, and --follow waits for the run to end', async () => {
    const id = await run(twoTasks);
    await h.waitRun(id, (r) => r.status === 'SUCCEEDED');
    const text = await h.cli({ bearer: OPERATOR.token }, 'runs', 'logs', id, '--task', 'second');
    expect(text.code).toBe(0);
    expect(text.out.split('\n').map((line) => line.replace(/^\S+ /, ''))).toEqual([
      expect.stringMatching(/^second#1 INFO {2}policy allowed/),
      'second#1 INFO  line 1 of 2 {"line":1}',
      'second#1 INFO  line 2 of 2 {"line":2}',
      'second#1 INFO  event done {"event":{"type":"done","lines":2}}',
    ]);
    const json = await h.cli({ bearer: OPERATOR.token }, 'runs', 'logs', id, '--json');
    expect(json.out.split('\n').map((line) => (JSON.parse(line) as { seq: number }).seq)).toEqual(Array.from({ length: 10 }, (_, index) => index + 1));
    expect(json.out).not.toContain(SECRET);

    const live = await run(slow);
    const followed = await h.cli({ bearer: OPERATOR.token }, 'runs', 'logs', live, '-f');
    expect(followed.code).toBe(0);
    expect(followed.out).toContain('line 8 of 8');
    expect((await h.call('GET', `/runs/${live}`, { bearer: OPERATOR.token })).body.status).toBe('SUCCEEDED');
    expect((await h.cli({ bearer: OPERATOR.token }, 'runs', 'logs', 'run-unknown')).code).toBe(2);
  });
});
