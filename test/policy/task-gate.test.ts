/**
 * The policy gate in the execution path, on the real Temporal dev server with the real
 * interpreter: `runTask` asks the PDP before the task's code runs (the wiring proposed for
 * src/activities/run-task.ts, reproduced here by wrapping the activity). A denied task ends FAILED
 * with POLICY_DENIED and the policy's reason, and its HTTP request never reaches the receiver; an
 * allowed one does; OPA down fails closed and nothing runs. Both PDPs give the same outcome.
 */
import { randomUUID } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Client, Connection } from '@temporalio/client';
import { ApplicationFailure } from '@temporalio/common';
import { NativeConnection, Worker } from '@temporalio/worker';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { createActivities } from '../../src/activities/index.js';
import { builtinCatalog, createBuiltinCatalog } from '../../src/tasks/index.js';
import { startRun, waitForRun } from '../../src/client/index.js';
import { compileWorkflow } from '../../src/compiler/index.js';
import { isMaestroError } from '../../src/errors/index.js';
import type { CompiledWorkflow, Principal, RunTaskInput } from '../../src/ir/index.js';
import { parseManifest, type WorkflowManifest } from '../../src/manifest/index.js';
import {
  createPdp,
  createPolicyGate,
  createRemotePdp,
  taskPolicyInput,
  type PolicyDecisionPoint,
  type PolicyGate,
  type TaskPolicyContext,
} from '../../src/policy/index.js';
import { loadConfig } from '../../src/config/index.js';
import { createSecretResolver } from '../../src/secrets/index.js';
import { createWorkerProvenance } from '../../src/provenance/index.js';
import { localRunner } from '../../src/runners/index.js';
import { FsArtifactStore, openAuditLog, type AuditLog } from '../../src/store/index.js';
import { interpreterBundle } from '../helpers/interpreter-bundle.js';
import { startHttpPeer, type HttpPeer } from '../helpers/http-peer.js';
import { freePort } from '../peers/ports.js';
import { startOpaServer, type OpaServer } from './opa-server.js';

const ALICE: Principal = { subject: 'alice', roles: ['operator'], namespaces: ['default', 'sandbox'] };

let peer: HttpPeer;
let opa: OpaServer;
let dir: string;
let log: AuditLog;
let client: Client;
let connection: Connection;
let nativeConnection: NativeConnection;
let worker: Worker;
let running: Promise<void>;
const taskQueue = `policy-${randomUUID()}`;
/** What the interpreter would carry in RunTaskInput.policy, by run id (the wiring not yet in src/ir). */
const contexts = new Map<string, TaskPolicyContext>();
/** The PDP the worker's gate uses; switched per test. */
let gate: PolicyGate;

function manifest(url: string): string {
  return `apiVersion: maestro/v1
kind: Workflow
metadata: { name: gated, version: 1.0.0 }
spec:
  policy: { purpose: testing, authority: tests, license: internal }
  tasks:
    - { id: prep, uses: tasks/transform.map@0.1.0, with: { rows: [{ a: 1 }], expression: "a" } }
    - { id: call, uses: tasks/http.request@0.1.0, needs: [prep], with: { url: "${url}" } }
`;
}

function compile(yaml: string): CompiledWorkflow {
  return compileWorkflow(parseManifest(yaml, 'gated.yaml', { catalog: builtinCatalog }) as WorkflowManifest, { catalog: builtinCatalog });
}

/** Starts a run as `principal` in `namespace` and waits for it. */
async function runAs(path: string, namespace: string, principal: Principal = ALICE) {
  const compiled = compile(manifest(`${peer.url}${path}`));
  const runId = `run-${randomUUID()}`;
  contexts.set(runId, { principal, workflow: { name: compiled.ir.name, version: compiled.ir.version, digest: compiled.digest }, context: compiled.ir.policy });
  await startRun(client, { compiled, params: {}, taskQueue, namespace, runId });
  return { runId, state: await waitForRun(client, runId) };
}

beforeAll(async () => {
  peer = await startHttpPeer();
  opa = await startOpaServer();
  dir = await mkdtemp(join(tmpdir(), 'maestro-task-gate-'));
  log = await openAuditLog({ dataDir: dir });
  const address = inject('temporalAddress');
  connection = await Connection.connect({ address });
  client = new Client({ connection });
  nativeConnection = await NativeConnection.connect({ address });
  const inner = createActivities({
    catalog: createBuiltinCatalog({ egressAllow: { '*': ['127.0.0.0/8'] } }),
    artifacts: new FsArtifactStore({ root: join(dir, 'artifacts') }),
    runners: { local: localRunner },
    secrets: createSecretResolver(loadConfig()),
    writeReceipt: (await createWorkerProvenance({ config: loadConfig({ MAESTRO_DATA_DIR: dir }), catalog: builtinCatalog })).writeReceipt,
  });
  worker = await Worker.create({
    connection: nativeConnection,
    taskQueue,
    workflowBundle: await interpreterBundle(),
    activities: {
      ...inner,
      // What runTask will do first: admit, and map a denial like runTask's toFailure does.
      async runTask(input: RunTaskInput) {
        try {
          const { recorded } = await gate.admit(taskPolicyInput({ ...input, ...(contexts.has(input.runId) ? { policy: contexts.get(input.runId)! } : {}) }));
          await recorded;
        } catch (error) {
          if (!isMaestroError(error)) throw error;
          throw ApplicationFailure.create({ message: error.message, type: error.code, nonRetryable: true, details: [{ retryable: error.retryable }] });
        }
        return inner.runTask(input);
      },
    },
  });
  running = worker.run();
});

afterAll(async () => {
  worker?.shutdown();
  await running;
  await nativeConnection?.close();
  await connection?.close();
  await log?.close();
  await opa?.stop();
  await peer?.close();
  await rm(dir, { recursive: true, force: true });
});

describe.each([
  ['embedded', () => createPdp({ policyMode: 'embedded' })],
  ['remote', () => Promise.resolve(createRemotePdp({ url: opa.url }))],
])('%s PDP in the execution path', (mode, makePdp) => {
  let pdp: PolicyDecisionPoint;
  beforeAll(async () => {
    pdp = await makePdp();
    gate = createPolicyGate({ pdp, log });
  });
  afterAll(() => pdp.close());

  it('runs an allowed task: the receiver gets the request, the decisions are logged', async () => {
    const path = `/ok/${mode}-allowed`;
    const { runId, state } = await runAs(path, 'default');
    expect(state.status).toBe('SUCCEEDED');
    expect(peer.hits.get(path)).toBe(1);
    const decisions = await log.list({ runId, kind: 'decision' });
    expect(decisions.map((d) => [d.taskId, d.result, d.actor])).toEqual([
      ['prep', 'allow', 'alice'],
      ['call', 'allow', 'alice'],
    ]);
  });

  it('fails a denied task with POLICY_DENIED and the reason, and its request never leaves', async () => {
    const path = `/ok/${mode}-denied`;
    const { runId, state } = await runAs(path, 'sandbox');
    expect(state.status).toBe('FAILED');
    const call = state.tasks.find((task) => task.id === 'call');
    expect(call?.status).toBe('FAILED');
    expect(call?.error?.code).toBe('POLICY_DENIED');
    expect(call?.error?.message).toContain('uses tasks/http.request, which sends data outside Maestro\'s trust boundary, and namespace "sandbox" has no egress allowance');
    expect(state.tasks.find((task) => task.id === 'prep')?.status).toBe('SUCCEEDED');
    expect(peer.hits.get(path)).toBeUndefined();
    expect((await log.list({ runId, kind: 'decision' })).map((d) => [d.taskId, d.result])).toEqual([
      ['prep', 'allow'],
      ['call', 'deny'],
    ]);
  });

  it('denies every task of a run carrying no principal', async () => {
    const path = `/ok/${mode}-anonymous`;
    const compiled = compile(manifest(`${peer.url}${path}`));
    const runId = `run-${randomUUID()}`;
    await startRun(client, { compiled, params: {}, taskQueue, runId });
    const state = await waitForRun(client, runId);
    expect(state.tasks.find((task) => task.id === 'prep')?.error?.code).toBe('POLICY_DENIED');
    expect(peer.hits.get(path)).toBeUndefined();
  });
});

describe('OPA down in remote mode', () => {
  it('fails closed: the first task fails POLICY_UNAVAILABLE with a clear reason and nothing runs', async () => {
    const pdp = createRemotePdp({ url: `http://127.0.0.1:${await freePort()}`, timeoutMs: 200 });
    gate = createPolicyGate({ pdp, log });
    const path = '/ok/opa-down';
    const { state } = await runAs(path, 'default');
    await pdp.close();
    expect(state.status).toBe('FAILED');
    const prep = state.tasks.find((task) => task.id === 'prep');
    expect(prep?.error?.code).toBe('POLICY_UNAVAILABLE');
    expect(prep?.error?.message).toMatch(/OPA at http:\/\/127\.0\.0\.1:\d+ could not decide .*; namespace "default" fails closed/);
    expect(state.tasks.find((task) => task.id === 'call')?.status).not.toBe('SUCCEEDED');
    expect(peer.hits.get(path)).toBeUndefined();
  });
});
