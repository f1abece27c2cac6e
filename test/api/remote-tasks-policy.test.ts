/**
 * A remote task the policy denies never runs: the worker's gate decides the attempt in
 * `prepareRemoteTask`, before anything is dispatched to the remote worker's task queue (against the
 * real API, worker, embedded OPA and the stand-in remote worker).
 */
import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { launchRun, newRunId } from '../../src/runs/index.js';
import { REMOTE_TASKS, startRemoteTaskWorker, type RemoteTaskWorker } from '../peers/remote-task-worker.js';
import { policyWorkflow as workflow, startHarness, type Harness } from './harness.js';

const ALICE = { name: 'alice', token: 'alice-remote-token-0123456789', roles: ['operator'], namespaces: ['default'] };

let h: Harness;
let remote: RemoteTaskWorker;
const taskQueue = `maestro-py-${randomUUID().slice(0, 8)}`;

beforeAll(async () => {
  h = await startHarness({ policy: true, tokens: [ALICE] });
  remote = await startRemoteTaskWorker({ temporalAddress: inject('temporalAddress'), taskQueue, payloadCodec: h.payloadCodec });
  const noop = REMOTE_TASKS.find((task) => task.name === 'py/noop');
  // Another version than other suites' registrations in namespace default: the queue is this suite's.
  const res = await h.call('POST', '/tasks', { bearer: ALICE.token, json: { ...noop, version: `0.1.${Date.now()}`, namespace: 'default', taskQueue } });
  expect(res.status, res.text).toBe(201);
}, 120_000);
afterAll(async () => {
  await remote?.stop();
  await h?.close();
});

describe('a remote task denied by policy', () => {
  it('fails with POLICY_DENIED and never reaches the remote worker', async () => {
    const name = `gated-${randomUUID().slice(0, 8)}`;
    await h.register(workflow(name, 'release-management', ['{ id: greet, uses: py/noop@^0.1, with: { name: Ada } }']), 'default');
    // Started without the run-start check (a launch context with no policy): the worker's gate decides the attempt.
    const compiled = (await h.store.getWorkflow('default', name, '1.0.0'))!;
    expect(compiled.ir.tasks[0]).toMatchObject({ execution: 'remote', remote: { taskQueue } });
    const runId = newRunId();
    await launchRun(
      { client: h.client, store: h.store, auditLog: h.auditLog, taskQueue: h.config.taskQueue, runLimits: {}, payloadCodec: h.payloadCodec },
      { runId, compiled, params: {}, namespace: 'default', startedBy: 'alice', principal: { subject: 'alice', roles: ['operator'], namespaces: ['default'] } },
    );
    const denied = await h.waitRun(runId, (r) => r.status === 'FAILED' || r.status === 'SUCCEEDED', 60_000);
    expect(denied.status).toBe('FAILED');
    expect(denied.tasks[0].error.code).toBe('POLICY_DENIED');
    expect(remote.calls).toEqual([]);
  });
});
