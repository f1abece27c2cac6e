/**
 * The interpreter's semantics on the real Temporal dev server: what a user sees of a run.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { approveTask, cancelOnTemporal } from '../src/client/index.js';
import { generateSigningKey, loadApprovalKey, signApproval } from '../src/provenance/index.js';
import type { ApprovalRequest } from '../src/ir/index.js';
import { startEngine, task, waitForState, workflow, type Engine } from './helpers/engine.js';
import { startHttpPeer, type HttpPeer } from './helpers/http-peer.js';

let engine: Engine;
let peer: HttpPeer;

beforeAll(async () => {
  [engine, peer] = await Promise.all([startEngine({ largeOutputBytes: 4096 }), startHttpPeer()]);
});

afterAll(async () => {
  await engine?.close();
  await peer?.close();
});

/** A pure, fast task: doubles each row. */
const double = (id: string, needs: string[] = [], rows = '[1, 2, 3]'): string =>
  `    - id: ${id}\n      uses: tasks/transform.map@0.1.0\n${needs.length ? `      needs: [${needs.join(', ')}]\n` : ''}      with: { rows: ${rows.includes('${') ? `"${rows}"` : rows}, expression: "$ * 2" }`;

const get = (id: string, path: string, extra = ''): string =>
  `    - id: ${id}\n      uses: tasks/http.request@0.1.0\n      with: { url: "${peer.url}${path}" }${extra ? `\n${extra}` : ''}`;

describe('scheduling', () => {
  it('runs a diamond: the join starts after both branches and sees their outputs', async () => {
    const state = await engine.run(
      workflow(
        [
          double('a'),
          double('b', ['a'], '${tasks.a.outputs.rows}'),
          double('c', ['a'], '[10]'),
          double('d', ['b', 'c'], '${tasks.b.outputs.rows + tasks.c.outputs.rows}'),
        ].join('\n'),
      ),
    );
    expect(state.status).toBe('SUCCEEDED');
    expect(task(state, 'd').outputs).toEqual({ rows: [8, 16, 24, 40] });
    const d = Date.parse(task(state, 'd').startedAt ?? '');
    expect(d).toBeGreaterThanOrEqual(Date.parse(task(state, 'b').endedAt ?? ''));
    expect(d).toBeGreaterThanOrEqual(Date.parse(task(state, 'c').endedAt ?? ''));
  });

  it('fans out 100 tasks and fans them back in', async () => {
    const ids = Array.from({ length: 100 }, (_, i) => `t${i}`);
    const state = await engine.run(workflow([...ids.map((id) => double(id, [], '[1]')), double('join', ids, '[1]')].join('\n')));
    expect(state.status).toBe('SUCCEEDED');
    expect(state.tasks.filter((t) => t.status === 'SUCCEEDED')).toHaveLength(101);
    const lastBranchEnd = Math.max(...ids.map((id) => Date.parse(task(state, id).endedAt ?? '')));
    expect(Date.parse(task(state, 'join').startedAt ?? '')).toBeGreaterThanOrEqual(lastBranchEnd);
  });

  it('runs forEach over a list an upstream task returned, one item per element', async () => {
    const state = await engine.run(
      workflow(
        [
          get('list', '/list?n=5'),
          `    - id: each\n      uses: tasks/transform.map@0.1.0\n      needs: [list]\n      forEach: { items: "\${tasks.list.outputs.body.items}", maxParallel: 2 }\n      with: { rows: ["\${item}"], expression: "$ * 10 + \${index}" }`,
        ].join('\n'),
      ),
    );
    expect(state.status).toBe('SUCCEEDED');
    const each = task(state, 'each');
    expect(each.items?.map((item) => item.id)).toEqual(['each[0]', 'each[1]', 'each[2]', 'each[3]', 'each[4]']);
    expect(each.outputs).toEqual([0, 1, 2, 3, 4].map((i) => ({ rows: [i * 10 + i] })));
  });

  it('skips a task whose when is false, and the tasks that need it', async () => {
    const yaml = workflow(
      [
        `${double('deploy')}\n      when: "\${params.env == 'prod'}"`,
        double('announce', ['deploy']),
        double('always'),
      ].join('\n'),
      { parameters: '    - { name: env, type: string, required: true }' },
    );
    const staging = await engine.run(yaml, { env: 'staging' });
    expect(staging.status).toBe('SUCCEEDED');
    expect(task(staging, 'deploy')).toMatchObject({ status: 'SKIPPED', attempts: 0, error: { code: 'WHEN_FALSE' } });
    expect(task(staging, 'announce')).toMatchObject({ status: 'SKIPPED', error: { code: 'UPSTREAM_NOT_SUCCEEDED' } });
    expect(task(staging, 'always').status).toBe('SUCCEEDED');
    const prod = await engine.run(yaml, { env: 'prod' });
    expect(prod.tasks.map((t) => t.status)).toEqual(['SUCCEEDED', 'SUCCEEDED', 'SUCCEEDED']);
  });

  it('keeps at most maxParallel activities running at once', async () => {
    const ids = Array.from({ length: 6 }, (_, i) => `s${i}`);
    const state = await engine.run(
      workflow(ids.map((id) => get(id, `/slow/${id}?ms=300`)).join('\n'), { spec: '  maxParallel: 2' }),
    );
    expect(state.status).toBe('SUCCEEDED');
    const spans = ids.map((id) => [Date.parse(task(state, id).startedAt ?? ''), Date.parse(task(state, id).endedAt ?? '')] as const);
    const overlapAt = (t: number): number => spans.filter(([s, e]) => s <= t && t < e).length;
    expect(Math.max(...spans.map(([s]) => overlapAt(s)))).toBeLessThanOrEqual(2);
  });
});

describe('retries and timeouts', () => {
  it('retries a failing task with backoff until it succeeds', async () => {
    const state = await engine.run(
      workflow(get('flaky', '/flaky/retry-ok?failures=2', '      retry: { maxAttempts: 3, initialInterval: 100ms, jitter: 0.5 }')),
    );
    expect(state.status).toBe('SUCCEEDED');
    expect(task(state, 'flaky')).toMatchObject({ status: 'SUCCEEDED', attempts: 3, outputs: { status: 200 } });
    expect(peer.hits.get('/flaky/retry-ok')).toBe(3);
  });

  it('fails the task and the run once retries are exhausted', async () => {
    const state = await engine.run(workflow(get('down', '/status/503', '      retry: { maxAttempts: 2, initialInterval: 50ms }')));
    expect(state.status).toBe('FAILED');
    expect(task(state, 'down')).toMatchObject({ status: 'FAILED', attempts: 2, error: { code: 'TASK_FAILED' } });
    expect(state.error?.message).toContain('"down"');
  });

  it('does not retry a non-retryable failure', async () => {
    const state = await engine.run(workflow(get('missing', '/status/404', '      retry: { maxAttempts: 3, initialInterval: 50ms }')));
    expect(task(state, 'missing')).toMatchObject({ status: 'FAILED', attempts: 1 });
  });

  it('times out an attempt that runs longer than the task timeout', async () => {
    const state = await engine.run(workflow(get('slow', '/slow/timeout?ms=10000', '      timeout: 300ms')));
    expect(state.status).toBe('FAILED');
    expect(task(state, 'slow')).toMatchObject({ status: 'FAILED', error: { code: 'TASK_TIMEOUT' } });
  });

  it('fails a run that exceeds the workflow timeout and cancels what was running', async () => {
    const state = await engine.run(
      workflow(
        [`    - id: nap\n      uses: tasks/wait.sleep@0.1.0\n      with: { duration: 1m }`, double('after', ['nap'])].join('\n'),
        { spec: '  timeout: 500ms' },
      ),
    );
    expect(state.status).toBe('FAILED');
    expect(state.error?.code).toBe('RUN_TIMEOUT');
    expect(task(state, 'nap')).toMatchObject({ status: 'CANCELLED', error: { code: 'RUN_TIMEOUT' } });
    expect(task(state, 'after').status).toBe('SKIPPED');
  });
});

describe('failure policies', () => {
  const branches = (): string =>
    [
      get('bad', '/status/500'),
      `    - id: nap\n      uses: tasks/wait.sleep@0.1.0\n      with: { ms: 1500 }`,
      double('after-nap', ['nap']),
    ].join('\n');

  it('failFast cancels running tasks and skips the rest', async () => {
    const state = await engine.run(workflow(branches()));
    expect(state.status).toBe('FAILED');
    expect(task(state, 'bad').status).toBe('FAILED');
    expect(task(state, 'nap')).toMatchObject({ status: 'CANCELLED', error: { code: 'FAIL_FAST' } });
    expect(task(state, 'after-nap').status).toBe('SKIPPED');
  });

  it('continue lets independent branches finish, and the run still fails', async () => {
    const state = await engine.run(workflow(branches(), { spec: '  failurePolicy: continue' }));
    expect(state.status).toBe('FAILED');
    expect(task(state, 'nap').status).toBe('SUCCEEDED');
    expect(task(state, 'after-nap').status).toBe('SUCCEEDED');
  });

  it('continueOnError keeps the run going and successful, downstream included', async () => {
    const state = await engine.run(workflow([`${get('bad', '/status/500')}\n      continueOnError: true`, double('next', ['bad'])].join('\n')));
    expect(state.status).toBe('SUCCEEDED');
    expect(task(state, 'bad').status).toBe('FAILED');
    expect(task(state, 'next').status).toBe('SUCCEEDED');
  });

  it('the circuit breaker stops scheduling after N task failures', async () => {
    const ids = ['f1', 'f2', 'f3', 'f4'];
    const state = await engine.run(
      workflow(ids.map((id) => get(id, '/status/500')).join('\n'), {
        spec: '  failurePolicy: continue\n  maxParallel: 1\n  circuitBreaker: { maxFailures: 2 }',
      }),
    );
    expect(state.status).toBe('FAILED');
    expect(state.error?.code).toBe('CIRCUIT_OPEN');
    expect(ids.map((id) => task(state, id).status)).toEqual(['FAILED', 'FAILED', 'SKIPPED', 'SKIPPED']);
  });
});

describe('approval gates', () => {
  /** A decision as the API would sign it (the engine's worker trusts its key). */
  const signedBy = async (runId: string, request: ApprovalRequest): Promise<ApprovalRequest> =>
    signApproval(await loadApprovalKey({ dataDir: engine.artifactDir }), runId, request);
  const gate = (extra = ''): string =>
    workflow(
      [
        `    - id: approve\n      uses: ops/approval.gate@0.1.0\n      with: { approvers: [release-manager, sre], minApprovals: 2${extra} }`,
        double('ship', ['approve']),
      ].join('\n'),
    );

  it('waits for N approvals from holders of the listed roles, then continues', async () => {
    const runId = await engine.start(gate());
    const waiting = await waitForState(engine, runId, (s) => task(s, 'approve').status === 'WAITING');
    expect(waiting.status).toBe('WAITING');
    await expect(engine.approve(runId, { taskId: 'approve', decision: 'approve', approver: 'mallory', roles: ['dev'] })).rejects.toMatchObject(
      { code: 'FORBIDDEN', message: expect.stringMatching(/holds none of the approver roles/) },
    );
    await expect(engine.approve(runId, { taskId: 'ship', decision: 'approve', approver: 'alice', roles: ['sre'] })).rejects.toMatchObject(
      { code: 'TASK_NOT_FOUND' },
    );
    await engine.approve(runId, { taskId: 'approve', decision: 'approve', approver: 'alice', roles: ['sre'], comment: 'looks good' });
    await expect(engine.approve(runId, { taskId: 'approve', decision: 'approve', approver: 'alice', roles: ['sre'] })).rejects.toMatchObject(
      { code: 'CONFLICT', message: expect.stringMatching(/already decided/) },
    );
    expect((await engine.state(runId)).status).toBe('WAITING');
    await engine.approve(runId, { taskId: 'approve', decision: 'approve', approver: 'bob', roles: ['release-manager'] });
    const state = await engine.wait(runId);
    expect(state.status).toBe('SUCCEEDED');
    expect(task(state, 'approve').approvals?.map((a) => [a.approver, a.decision, a.comment])).toEqual([
      ['alice', 'approve', 'looks good'],
      ['bob', 'approve', undefined],
    ]);
  });

  it("answers Temporal's stack-trace query with where the run waits, a few frames deep", async () => {
    const runId = await engine.start(gate());
    await waitForState(engine, runId, (s) => task(s, 'approve').status === 'WAITING');
    const trace = await engine.client.workflow.getHandle(runId).query<string>('__stack_trace');
    // One stack per pending promise, blank-line separated; the sandbox keeps 6 frames, 2 of them the SDK's hook.
    const stacks = trace.split(/\n\s*\n/).map((stack) => stack.split('\n').filter((line) => line.trim().startsWith('at ')));
    expect(trace).toMatch(/awaitApproval/);
    expect(Math.max(...stacks.map((frames) => frames.length))).toBeLessThanOrEqual(4);
    await engine.client.workflow.getHandle(runId).cancel();
  });

  it('a rejection fails the run with the approver and the reason', async () => {
    const runId = await engine.start(gate());
    await waitForState(engine, runId, (s) => s.status === 'WAITING');
    await engine.approve(runId, { taskId: 'approve', decision: 'reject', approver: 'carol', roles: ['sre'], comment: 'change freeze' });
    const state = await engine.wait(runId);
    expect(state.status).toBe('FAILED');
    expect(task(state, 'approve').error).toEqual({ code: 'APPROVAL_REJECTED', message: 'rejected by carol: change freeze' });
    expect(task(state, 'ship').status).toBe('SKIPPED');
  });

  it('refuses an approval sent straight to Temporal without the API\'s proof, and forged roles or expiry; the run keeps waiting', async () => {
    const runId = await engine.start(gate());
    await waitForState(engine, runId, (s) => task(s, 'approve').status === 'WAITING');
    const forged: ApprovalRequest = { taskId: 'approve', decision: 'approve', approver: 'mallory', roles: ['release-manager', 'sre'] };
    // What anyone who can reach the Temporal frontend can send: no proof at all.
    await expect(approveTask(engine.client, runId, forged)).rejects.toMatchObject({ code: 'FORBIDDEN', message: expect.stringMatching(/no proof that the API authenticated/) });
    // A proof made with a key of the attacker's own.
    await expect(approveTask(engine.client, runId, signApproval(generateSigningKey('ed25519'), runId, forged))).rejects.toMatchObject({
      code: 'FORBIDDEN',
      message: expect.stringMatching(/proof does not match/),
    });
    // A genuine proof for a viewer, with roles added after it was signed; and one replayed on another run.
    const genuine = await signedBy(runId, { taskId: 'approve', decision: 'approve', approver: 'mallory', roles: ['viewer'] });
    await expect(approveTask(engine.client, runId, { ...genuine, roles: ['sre'] })).rejects.toMatchObject({ code: 'FORBIDDEN', message: expect.stringMatching(/proof does not match/) });
    const other = await engine.start(gate());
    await waitForState(engine, other, (s) => task(s, 'approve').status === 'WAITING');
    const forOther = await signedBy(other, { taskId: 'approve', decision: 'approve', approver: 'alice', roles: ['sre'] });
    await expect(approveTask(engine.client, runId, forOther)).rejects.toMatchObject({ code: 'FORBIDDEN' });
    // A genuine decision delivered after it expired (the API gave up on it and recorded it as
    // refused), and the same with its expiry pushed back or removed after signing.
    const key = await loadApprovalKey({ dataDir: engine.artifactDir });
    const expired = signApproval(key, runId, { taskId: 'approve', decision: 'approve', approver: 'alice', roles: ['sre'] }, { now: new Date(Date.now() - 60_000), validForMs: 1_000 });
    await expect(approveTask(engine.client, runId, expired)).rejects.toMatchObject({ code: 'FORBIDDEN', message: expect.stringMatching(/the decision expired at .* before the run could take it/) });
    const proof = expired.proof as NonNullable<ApprovalRequest['proof']>;
    const extended = { ...expired, proof: { ...proof, expiresAt: new Date(Date.now() + 60_000).toISOString() } };
    await expect(approveTask(engine.client, runId, extended)).rejects.toMatchObject({ code: 'FORBIDDEN', message: expect.stringMatching(/proof does not match/) });
    await expect(approveTask(engine.client, runId, { ...expired, proof: { issuedAt: proof.issuedAt, signature: proof.signature } })).rejects.toMatchObject({ code: 'FORBIDDEN', message: expect.stringMatching(/proof does not match/) });
    const state = await engine.state(runId);
    expect(state.status).toBe('WAITING');
    expect(task(state, 'approve').approvals ?? []).toEqual([]);
    await Promise.all([cancelOnTemporal(engine.client, runId), cancelOnTemporal(engine.client, other)]);
  });

  it('fails a gate whose approvers evaluate to an empty list, saying why', async () => {
    const yaml = workflow(
      [`    - id: approve\n      uses: ops/approval.gate@0.1.0\n      with: { approvers: "\${params.roles}" }`, double('ship', ['approve'])].join('\n'),
      { parameters: '    - { name: roles, type: array, required: true }' },
    );
    const state = await engine.run(yaml, { roles: [] });
    expect(state.status).toBe('FAILED');
    expect(task(state, 'approve').error).toEqual({ code: 'APPROVAL_GATE_INVALID', message: 'approvers must be a non-empty list of role names; it evaluated to []' });
    expect(task(state, 'ship').status).toBe('SKIPPED');
  });

  it('a gate whose approvers come from a parameter accepts the roles they evaluate to', async () => {
    const yaml = workflow(`    - id: approve\n      uses: ops/approval.gate@0.1.0\n      with: { approvers: "\${params.roles}" }`, {
      parameters: '    - { name: roles, type: array, required: true }',
    });
    const runId = await engine.start(yaml, { roles: ['dba'] });
    await waitForState(engine, runId, (s) => task(s, 'approve').status === 'WAITING');
    await engine.approve(runId, { taskId: 'approve', decision: 'approve', approver: 'dana', roles: ['dba'] });
    expect((await engine.wait(runId)).status).toBe('SUCCEEDED');
  });

  it('no decision within the timeout fails the gate', async () => {
    const state = await engine.run(gate(', timeout: 300ms'));
    expect(state.status).toBe('FAILED');
    expect(task(state, 'approve').error?.code).toBe('APPROVAL_TIMEOUT');
  });
});

describe('cancellation', () => {
  it('cancelling a run cancels the in-flight activity and marks unfinished tasks CANCELLED', async () => {
    const runId = await engine.start(workflow([get('long', '/slow/cancel-me?ms=60000'), double('next', ['long'])].join('\n')));
    await waitForState(engine, runId, (s) => task(s, 'long').status === 'RUNNING');
    await new Promise((resolve) => setTimeout(resolve, 300));
    await cancelOnTemporal(engine.client, runId);
    const state = await engine.wait(runId);
    expect(state.status).toBe('CANCELLED');
    expect(task(state, 'long')).toMatchObject({ status: 'CANCELLED', error: { code: 'RUN_CANCELLED' } });
    expect(task(state, 'next').status).toBe('CANCELLED');
    const description = await engine.client.workflow.getHandle(runId).describe();
    expect(description.status.name).toBe('CANCELLED');
  });
});

describe('cancellation of fan-outs', () => {
  it('cancels running forEach items and those still queued', async () => {
    const runId = await engine.start(
      workflow(
        `    - id: each\n      uses: tasks/http.request@0.1.0\n      forEach: { items: "\${[1, 2, 3]}", maxParallel: 1 }\n      with: { url: "${peer.url}/slow/each?ms=60000" }`,
      ),
    );
    await waitForState(engine, runId, (s) => task(s, 'each').items?.[0]?.status === 'RUNNING');
    await cancelOnTemporal(engine.client, runId);
    const state = await engine.wait(runId);
    expect(state.status).toBe('CANCELLED');
    expect(task(state, 'each').items?.map((item) => item.status)).toEqual(['CANCELLED', 'CANCELLED', 'CANCELLED']);
  });
});

describe('large DAGs and outputs', () => {
  it('keeps outputs over the limit in the artifact store and hands them to downstream tasks', async () => {
    const rows = JSON.stringify(Array.from({ length: 2000 }, (_, i) => i));
    const state = await engine.run(workflow([double('big', [], rows), double('sum', ['big'], '${tasks.big.outputs.rows}')].join('\n')));
    expect(state.status).toBe('SUCCEEDED');
    expect(task(state, 'big').outputs).toMatchObject({ rows: { $artifact: { uri: expect.stringMatching(/^artifact:\/\/sha256\//) } } });
    const sum = task(state, 'sum').outputs as { rows: unknown };
    expect(sum.rows).toMatchObject({ $artifact: expect.anything() });
  });

  it('continues as new to stay under the history limit and still completes every task', async () => {
    // Activities: each step adds its own events, so the history grows step by step.
    const step = (i: number): string => `${get(`step${i}`, `/ok/chain${i}`)}${i ? `\n      needs: [step${i - 1}]` : ''}`;
    const yaml = workflow(Array.from({ length: 30 }, (_, i) => step(i)).join('\n'), { name: 'long-chain' });
    const runId = await engine.start(yaml, {}, { historyEventLimit: 40 });
    const state = await engine.wait(runId);
    expect(state.status).toBe('SUCCEEDED');
    expect(state.tasks.every((t) => t.status === 'SUCCEEDED')).toBe(true);
    const description = await engine.client.workflow.getHandle(runId).describe();
    expect(description.runId).not.toBe(description.raw.workflowExecutionInfo?.firstRunId);
  });
});

describe('compensations across continue-as-new', () => {
  it('keeps the completion order over continue-as-new, and compensates latest first once the last step fails', async () => {
    // Activities grow the history step by step; the run continues as new while its steps run.
    const step = (i: number): string =>
      `${get(`step${i}`, i === 7 ? '/status/500' : `/ok/saga${i}`, `${i ? `      needs: [step${i - 1}]\n` : ''}      compensate: { uses: tasks/wait.sleep@0.1.0, with: { duration: 1ms } }`)}`;
    const runId = await engine.start(workflow(Array.from({ length: 8 }, (_, i) => step(i)).join('\n'), { name: 'long-saga' }), {}, { historyEventLimit: 30 });
    const state = await engine.wait(runId);
    expect(state.status).toBe('FAILED');
    const undone = [6, 5, 4, 3, 2, 1, 0].map((i) => task(state, `step${i}.compensate`));
    expect(undone.map((t) => t.status)).toEqual(Array.from({ length: 7 }, () => 'SUCCEEDED'));
    for (let i = 1; i < undone.length; i += 1) expect(Date.parse(undone[i - 1]?.endedAt ?? '')).toBeLessThanOrEqual(Date.parse(undone[i]?.startedAt ?? ''));
    expect(task(state, 'step7.compensate')).toMatchObject({ status: 'SKIPPED', error: { code: 'NOT_COMPENSATED' } });
    const description = await engine.client.workflow.getHandle(runId).describe();
    expect(description.runId).not.toBe(description.raw.workflowExecutionInfo?.firstRunId);
  });
});

describe('visibility', () => {
  it('tags every run with search attributes for workflow, version, digest, namespace and status', async () => {
    const yaml = workflow(double('only'), { name: 'visible' });
    const state = await engine.run(yaml);
    const { digest } = engine.compile(yaml);
    const query = `WorkflowId = '${state.runId}' AND MaestroWorkflow = 'visible' AND MaestroVersion = '1.0.0' AND MaestroDigest = '${digest}' AND MaestroNamespace = 'default' AND MaestroStatus = 'SUCCEEDED'`;
    await expect
      .poll(
        async () => {
          const found: string[] = [];
          for await (const execution of engine.client.workflow.list({ query })) found.push(execution.workflowId);
          return found;
        },
        { timeout: 10_000 },
      )
      .toEqual([state.runId]);
  });
});
