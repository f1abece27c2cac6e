/**
 * Issue 19, bounded expressions and parsing, as an attacker would try it against the real API and
 * the real Temporal worker in the same process (as under `npm start`): a CEL macro bomb in a
 * runbook param, a JSONata regular expression that backtracks for minutes, a CEL expression in a
 * manifest that no run could afford, and request bodies too large, too deep or full of aliases.
 * While the bombs go off, `/healthz` must keep answering within 100 ms.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { manifest, startHarness, type Harness } from './harness.js';

let h: Harness;

beforeAll(async () => {
  h = await startHarness();
});
afterAll(() => h.close());

/**
 * Polls `/healthz` every 20 ms while `during` runs; returns its result and the slowest answer (ms).
 * The API runs in this process, so a held event loop would also hold the poller's own timer: each
 * answer is timed from when its request was due (the previous answer + 20 ms), which is what a
 * prober in another process would see.
 */
async function whileHealthPolled<T>(during: () => Promise<T>): Promise<{ result: T; slowest: number; polls: number }> {
  let done = false;
  let slowest = 0;
  let polls = 0;
  const latencies: number[] = [];
  const poller = (async () => {
    let due = performance.now();
    while (!done) {
      const res = await fetch(`${h.api.url}/healthz`);
      await res.arrayBuffer();
      const latency = performance.now() - due;
      latencies.push(Math.round(latency));
      slowest = Math.max(slowest, latency);
      polls += 1;
      due = performance.now() + 20;
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
  })();
  try {
    return { result: await during(), ...(await stopped()) };
  } finally {
    done = true;
    await poller;
  }

  /** Waits for the poll under way, which may have overlapped the end of `during`. */
  async function stopped() {
    done = true;
    await poller;
    console.log('healthz latencies (ms)', latencies.join(' '));
    return { slowest, polls };
  }
}

/**
 * The slowest `/healthz` answer allowed while a bomb goes off: 100 ms (issue 19: "/healthz answers
 * within 100 ms under any task load"), or — on a machine so loaded that the same polls without a
 * bomb, in the same run, already saw slower answers — 1.5 × that: a timed test asserts against a
 * baseline of its own run, never an absolute figure of a shared machine. Before the limits, the
 * bombs held the event loop for minutes.
 */
function healthBound(harmlessSlowest: number): number {
  return Math.max(100, harmlessSlowest * 1.5);
}

const TEN = '[0, 1, 2, 3, 4, 5, 6, 7, 8, 9]';

/** `.all` nested `depth` deep over `list`: 10^depth iterations for a 10-element list. */
function macroBomb(list: string, depth: number): string {
  let body = 'v0 >= 0';
  for (let level = depth - 1; level >= 0; level -= 1) body = `${list}.all(v${level}, ${body})`;
  return body;
}

/**
 * Registers a runbook `<prefix>-<namespace>@1.0.0` of one workflow param `param` (of `type`) that
 * `spec.params` maps to `template` over an array input `l`, for role `sre`; returns its dry-run
 * trigger.
 */
async function costlyRunbook(prefix: string, param: string, type: string, template: string): Promise<(l: number[]) => ReturnType<Harness['call']>> {
  const target = await h.register(manifest('    - { id: noop, uses: tasks/wait.sleep@0.1.0, with: { duration: 1ms } }', { parameters: `    - { name: ${param}, type: ${type} }` }));
  const name = `${prefix}-${h.namespace}`;
  const runbook = [
    'apiVersion: maestro/v1',
    'kind: Runbook',
    'metadata:',
    `  name: ${name}`,
    `  namespace: ${h.namespace}`,
    '  version: 1.0.0',
    '  allowList: { roles: [sre] }',
    'spec:',
    '  inputs:',
    '    - { name: l, type: array, required: true }',
    `  workflowRef: ${target.name}@${target.version}`,
    '  params:',
    `    ${param}: ${template}`,
    '',
  ].join('\n');
  expect((await h.call('POST', '/runbooks', { yaml: runbook })).status).toBe(201);
  return (l) => h.call('POST', '/runbooks/trigger', { token: 'sre', json: { namespace: h.namespace, runbook: `${name}@1.0.0`, inputs: { l }, dryRun: true } });
}

describe('CEL has a cost limit', () => {
  it('refuses a runbook param of nested macros fast with EXPRESSION_TOO_COSTLY, its line and column, while /healthz answers', async () => {
    // The list comes from the trigger's inputs, so the compiler cannot know its length: the
    // run-time budget has to stop it.
    const trigger = await costlyRunbook('bomb', 'ok', 'boolean', `"\${${macroBomb('inputs.l', 9)}}"`);
    // Warm: the first trigger compiles validators and plans; that is not the bomb's cost.
    expect((await trigger([0])).status).toBe(200);
    let started = performance.now();
    const baseline = await whileHealthPolled(() => trigger([0, 1]));
    expect(baseline.result.status).toBe(200);
    const harmless = performance.now() - started;
    started = performance.now();
    const { result: res, slowest, polls } = await whileHealthPolled(() => trigger([0, 1, 2, 3, 4, 5, 6, 7, 8, 9]));
    const took = performance.now() - started;
    expect(res.status).toBe(400);
    expect(res.type).toBe('application/problem+json');
    expect(res.body).toMatchObject({ code: 'EXPRESSION_TOO_COSTLY', status: 400 });
    expect(res.body.errors).toEqual([expect.objectContaining({ path: 'spec.params.ok', line: 1, column: expect.any(Number) })]);
    console.log(`CEL bomb refused in ${took.toFixed(0)} ms (a harmless trigger: ${harmless.toFixed(0)} ms); /healthz slowest ${slowest.toFixed(1)} ms over ${polls} polls (harmless: ${baseline.slowest.toFixed(1)} ms)`);
    // Unbounded, 10^9 iterations took over 60 s; the budget stops it within ~100 ms of a harmless trigger.
    expect(took - harmless).toBeLessThan(250);
    expect(slowest).toBeLessThan(healthBound(baseline.slowest));
  });

  it('evaluates a runbook whose params together cost seconds off the event loop: /healthz answers within 100 ms, and the params stop at 2 s', async () => {
    // Each expression stays under the cost limit (4 nested macros over 9 elements: ~15 ms on a
    // quiet core); 600 of them would hold an event loop for seconds.
    const costly = `"\${${macroBomb('inputs.l', 4)}}"`;
    const trigger = await costlyRunbook('many', 'many', 'array', `[${Array.from({ length: 600 }, () => costly).join(', ')}]`);
    // Warm, and the same params over one element are cheap.
    expect((await trigger([0])).status).toBe(200);
    // The baseline: the same 2 s of polls with nothing evaluated.
    const baseline = await whileHealthPolled(() => new Promise((resolve) => setTimeout(resolve, 2_000)));
    const started = performance.now();
    const { result: res, slowest, polls } = await whileHealthPolled(() => trigger([0, 1, 2, 3, 4, 5, 6, 7, 8]));
    const took = performance.now() - started;
    console.log(`600 costly params stopped in ${took.toFixed(0)} ms; /healthz slowest ${slowest.toFixed(1)} ms over ${polls} polls (idle: ${baseline.slowest.toFixed(1)} ms)`);
    expect(res.status).toBe(400);
    expect(res.body).toMatchObject({ code: 'EXPRESSION_TOO_COSTLY', status: 400, detail: expect.stringContaining('took longer than 2000 ms') });
    expect(res.body.errors).toEqual([expect.objectContaining({ path: 'spec.params' })]);
    expect(took).toBeLessThan(3_000);
    expect(polls).toBeGreaterThan(10);
    expect(slowest).toBeLessThan(healthBound(baseline.slowest));
  });

  it('refuses at compile a manifest expression that no run could afford, at its line and column', async () => {
    const yaml = manifest(`    - { id: a, uses: tasks/wait.sleep@0.1.0, when: "\${${macroBomb(TEN, 9)}}", with: { duration: 1ms } }`);
    const started = performance.now();
    const res = await h.call('POST', '/workflows', { yaml });
    expect(performance.now() - started).toBeLessThan(1_000);
    expect(res.status).toBe(400);
    expect(res.body).toMatchObject({ code: 'EXPRESSION_TOO_COSTLY', status: 400 });
    expect(res.body.errors).toEqual([expect.objectContaining({ path: 'spec.tasks[0].when', line: 9, column: expect.any(Number) })]);
    expect(res.body.errors[0].column).toBe(55); // where the expression starts, after `when: "${`
    expect(res.body.errors[0].message).toContain('more than the limit of 100000');
  });

  it('fails a task whose expression goes over the limit at run time with EXPRESSION_TOO_COSTLY', async () => {
    const target = await h.register(
      manifest(`    - { id: a, uses: tasks/wait.sleep@0.1.0, when: "\${${macroBomb('params.l', 6)}}", with: { duration: 1ms } }`, {
        parameters: '    - { name: l, type: array, required: true }',
      }),
    );
    const res = await h.call('POST', '/runs', { json: { workflowRef: `${target.name}@${target.version}`, namespace: h.namespace, params: { l: [0, 1, 2, 3, 4, 5, 6, 7, 8, 9] } } });
    expect(res.status).toBe(201);
    const run = await h.waitRun(res.body.runId, (r) => r.status === 'FAILED');
    expect(run.tasks[0]).toMatchObject({ status: 'FAILED', error: { code: 'EXPRESSION_TOO_COSTLY', message: expect.stringContaining('line 1, column') } });
  });
});

describe('JSONata runs off the event loop', () => {
  it('fails a backtracking regular expression with TASK_TIMEOUT at its 1 s limit while /healthz answers', async () => {
    const target = await h.register(
      manifest('    - { id: bomb, uses: tasks/transform.map@0.1.0, with: { rows: "${params.rows}", expression: "$match($, /(a+)+$/)" } }', {
        parameters: '    - { name: rows, type: array, required: true }',
      }),
    );
    const runOf = async (rows: string[]) => {
      const res = await h.call('POST', '/runs', { json: { workflowRef: `${target.name}@${target.version}`, namespace: h.namespace, params: { rows } } });
      expect(res.status).toBe(201);
      return h.waitRun(res.body.runId, (r) => r.status === 'FAILED' || r.status === 'SUCCEEDED', 30_000);
    };
    // Warm: the first run of a workflow starts its threads and caches; that is not the bomb's cost.
    expect((await runOf(['aaa'])).status).toBe('SUCCEEDED');
    const baseline = await whileHealthPolled(() => runOf(['aaaa']));
    expect(baseline.result.status).toBe('SUCCEEDED');
    const { result: run, slowest, polls } = await whileHealthPolled(() => runOf([`${'a'.repeat(40)}b`]));
    expect(run.status).toBe('FAILED');
    expect(run.tasks[0]).toMatchObject({ status: 'FAILED', error: { code: 'TASK_TIMEOUT', message: 'row 0: evaluation ran longer than 1000 ms' } });
    const took = Date.parse(run.tasks[0].endedAt) - Date.parse(run.tasks[0].startedAt);
    console.log(`JSONata bomb failed after ${took} ms; /healthz slowest ${slowest.toFixed(1)} ms over ${polls} polls (harmless run: ${baseline.slowest.toFixed(1)} ms)`);
    expect(took).toBeLessThan(2_500);
    expect(slowest).toBeLessThan(healthBound(baseline.slowest));
  });
});

describe('request bodies and manifests have size, depth and alias limits', () => {
  it('answers a 10 MB manifest with 413 problem+json', async () => {
    const started = performance.now();
    const res = await h.call('POST', '/workflows', { yaml: `${manifest('    - { id: a, uses: tasks/wait.sleep@0.1.0, with: { duration: 1ms } }')}\n# ${'x'.repeat(10 * 1024 * 1024)}\n` });
    expect(res.status).toBe(413);
    expect(res.body).toMatchObject({ code: 'PAYLOAD_TOO_LARGE', status: 413 });
    expect(performance.now() - started).toBeLessThan(2_000);
  });

  it('answers a JSON body nested 10,000 deep with 400 problem+json, before parsing it', async () => {
    const deep = `{"namespace": "x", "params": ${'{"a":'.repeat(10_000)}1${'}'.repeat(10_000)}}`;
    const started = performance.now();
    const res = await h.call('POST', '/runs', { yaml: deep, headers: { 'content-type': 'application/json' } });
    expect(res.status).toBe(400);
    expect(res.body).toMatchObject({ code: 'BAD_REQUEST', status: 400 });
    expect(res.body.detail).toContain('nested deeper than 64');
    expect(performance.now() - started).toBeLessThan(1_000);
  });

  it('answers a manifest nested 10,000 deep with 400 and where, before parsing it', async () => {
    const yaml = `${manifest('    - { id: a, uses: tasks/wait.sleep@0.1.0, with: { duration: 1ms } }')}\n  x: ${'['.repeat(10_000)}${']'.repeat(10_000)}\n`;
    const started = performance.now();
    const res = await h.call('POST', '/workflows', { yaml });
    expect(res.status).toBe(400);
    expect(res.body).toMatchObject({ code: 'MANIFEST_INVALID', status: 400 });
    expect(res.body.errors[0]).toMatchObject({ line: 10, column: expect.any(Number), message: expect.stringContaining('nested deeper than 64') });
    expect(performance.now() - started).toBeLessThan(1_000);
  });

  it('answers a YAML alias bomb ("billion laughs") with 400 problem+json', async () => {
    const lines = ['a: &a ["lol", "lol", "lol", "lol", "lol", "lol", "lol", "lol", "lol"]'];
    for (let level = 1; level < 9; level += 1) {
      const prev = String.fromCharCode(96 + level);
      const name = String.fromCharCode(97 + level);
      lines.push(`${name}: &${name} [${Array.from({ length: 9 }, () => `*${prev}`).join(', ')}]`);
    }
    const started = performance.now();
    const res = await h.call('POST', '/workflows', { yaml: `${lines.join('\n')}\n` });
    expect(res.status).toBe(400);
    expect(res.body).toMatchObject({ code: 'MANIFEST_INVALID', status: 400 });
    expect(res.body.errors[0].message).toMatch(/alias/i);
    expect(performance.now() - started).toBeLessThan(1_000);
  });
});
