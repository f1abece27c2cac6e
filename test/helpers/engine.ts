import { randomBytes, randomUUID } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Client, Connection } from '@temporalio/client';
import { NativeConnection } from '@temporalio/worker';
import { inject } from 'vitest';
import type { Catalog } from '../../src/catalog/index.js';
import { builtinCatalog, createBuiltinCatalog } from '../../src/tasks/index.js';
import { approveTask, startRun, waitForRun, getRunState } from '../../src/client/index.js';
import { AesGcmPayloadCodec, maestroDataConverter } from '../../src/codec/index.js';
import { compileWorkflow } from '../../src/compiler/index.js';
import { parsePayloadKeys } from '../../src/config/index.js';
import type { ApprovalRequest, CompiledWorkflow, Principal, RunState, TaskState } from '../../src/ir/index.js';
import { checkParams, parseManifest, type Manifest, type WorkflowManifest } from '../../src/manifest/index.js';
import type { Runners } from '../../src/runners/index.js';
import type { SecretResolver } from '../../src/secrets/index.js';
import { loadApprovalKey, signApproval } from '../../src/provenance/index.js';
import { createWorker } from '../../src/worker/index.js';
import { interpreterBundle } from './interpreter-bundle.js';
import { TEST_EGRESS_ALLOW } from './egress.js';

/** The principal test runs act for: a tester in every namespace (tests' manifests use authority `tests`). */
export const TEST_PRINCIPAL: Principal = { subject: 'test:engine', roles: ['tester'], namespaces: ['*'] };

/** A worker on its own task queue, on the test run's Temporal dev server, plus a client. */
export interface Engine {
  address: string;
  /** Encrypts the payloads of the engine's worker and client (a key of its own), as every Maestro process does. */
  payloadCodec: AesGcmPayloadCodec;
  /** That key as `MAESTRO_PAYLOAD_KEY`, for a CLI or worker process the test starts against the engine. */
  payloadKey: string;
  client: Client;
  taskQueue: string;
  artifactDir: string;
  /** Parses and compiles an inline manifest (see {@link workflow}). */
  compile(yaml: string): CompiledWorkflow;
  /** Starts a run of an inline manifest (in Maestro namespace `default` unless `options.namespace`); returns its id. */
  start(yaml: string, params?: Record<string, unknown>, options?: { historyEventLimit?: number; namespace?: string }): Promise<string>;
  /** Starts a run and waits for its final state. */
  run(yaml: string, params?: Record<string, unknown>): Promise<RunState>;
  wait(runId: string): Promise<RunState>;
  state(runId: string): Promise<RunState>;
  /** Sends an approval decision signed with the worker's approval key, as the API would. */
  approve(runId: string, request: ApprovalRequest): Promise<TaskState>;
  /** Stops the worker (runs stay on the server). */
  stopWorker(): Promise<void>;
  close(): Promise<void>;
}

/** Options of {@link startEngine}. */
export interface EngineOptions {
  /** Start no worker in this process (a test runs its own, e.g. in a child process). @default true */
  worker?: boolean;
  /** @default 262144 */
  largeOutputBytes?: number;
  /**
   * The worker's catalog.
   * @default the built-in tasks with loopback allow-listed for the tests' namespace (the peers run on
   * 127.0.0.1), the test run's Temporal frontend guarded as Maestro's own endpoint
   */
  catalog?: Catalog;
  /** How the worker resolves task secrets. @default the worker's: `MAESTRO_SECRET_<NAME>`, undeclared */
  secrets?: SecretResolver;
  /** The worker's runners. @default { local: localRunner } */
  runners?: Runners;
}

export { TEST_EGRESS_ALLOW } from './egress.js';

/** Starts an {@link Engine}; call `close()` in `afterAll`. */
export async function startEngine({ worker: withWorker = true, largeOutputBytes, catalog, secrets, runners }: EngineOptions = {}): Promise<Engine> {
  const address = inject('temporalAddress');
  const taskQueue = `test-${randomUUID()}`;
  const artifactDir = await mkdtemp(join(tmpdir(), 'maestro-artifacts-'));
  const payloadKey = `engine=${randomBytes(32).toString('base64')}`;
  const payloadCodec = new AesGcmPayloadCodec(parsePayloadKeys(payloadKey, 'engine'));
  const connection = await Connection.connect({ address });
  const client = new Client({ connection, dataConverter: maestroDataConverter(payloadCodec) });
  let stopWorker = async (): Promise<void> => undefined;
  if (withWorker) {
    const nativeConnection = await NativeConnection.connect({ address });
    const worker = await createWorker({
      connection: nativeConnection,
      taskQueue,
      artifactDir,
      workflowBundle: await interpreterBundle(),
      catalog: catalog ?? createBuiltinCatalog({ egressAllow: TEST_EGRESS_ALLOW, temporalAddress: address }),
      payloadCodec,
      ...(largeOutputBytes === undefined ? {} : { largeOutputBytes }),
      ...(secrets === undefined ? {} : { secrets }),
      ...(runners === undefined ? {} : { runners }),
    });
    const running = worker.run();
    let stopped = false;
    stopWorker = async () => {
      if (stopped) return;
      stopped = true;
      worker.shutdown();
      await running;
      await nativeConnection.close();
    };
  }
  const compile = (yaml: string): CompiledWorkflow =>
    compileWorkflow(asWorkflow(parseManifest(yaml, 'inline.yaml', { catalog: builtinCatalog })), { catalog: builtinCatalog });
  const start: Engine['start'] = (yaml, params = {}, options = {}) => {
    const compiled = compile(yaml);
    return startRun(client, { compiled, params: checkParams(compiled.ir.parameters, params), taskQueue, principal: TEST_PRINCIPAL, ...options });
  };
  return {
    address,
    payloadCodec,
    payloadKey,
    client,
    taskQueue,
    artifactDir,
    compile,
    start,
    run: async (yaml, params) => waitForRun(client, await start(yaml, params)),
    wait: (runId) => waitForRun(client, runId),
    state: (runId) => getRunState(client, runId),
    // The worker's default key: the dev approval key beside its artifacts.
    approve: async (runId, request) => approveTask(client, runId, signApproval(await loadApprovalKey({ dataDir: artifactDir }), runId, request)),
    stopWorker: () => stopWorker(),
    close: async () => {
      await stopWorker();
      await connection.close();
      await rm(artifactDir, { recursive: true, force: true });
    },
  };
}

/**
 * An inline workflow manifest: `tasks` (YAML list items, indented by 4) under a standard header.
 * `spec` adds spec-level YAML lines (indented by 2), e.g. `failurePolicy: continue`.
 */
export function workflow(tasks: string, { name = 'test', spec = '', parameters = '' } = {}): string {
  return [
    'apiVersion: maestro/v1',
    'kind: Workflow',
    'metadata:',
    `  name: ${name}`,
    '  version: 1.0.0',
    'spec:',
    '  policy: { purpose: testing, authority: tests, license: internal }',
    ...(parameters ? ['  parameters:', parameters] : []),
    ...(spec ? [spec] : []),
    '  tasks:',
    tasks,
  ].join('\n');
}

function asWorkflow(manifest: Manifest): WorkflowManifest {
  if (manifest.kind !== 'Workflow') throw new Error(`expected a Workflow manifest, got ${manifest.kind}`);
  return manifest;
}

/** Polls until `predicate(state)` holds (or fails after `timeoutMs`). */
export async function waitForState(engine: Engine, runId: string, predicate: (state: RunState) => boolean, timeoutMs = 30_000): Promise<RunState> {
  const deadline = Date.now() + timeoutMs;
  let last: unknown;
  for (;;) {
    // Queries need a polling worker; one still starting (or restarting) answers later.
    last = await engine.state(runId).catch((error: unknown) => error);
    if (!(last instanceof Error) && predicate(last as RunState)) return last as RunState;
    if (Date.now() > deadline) throw new Error(`timed out waiting; last state: ${last instanceof Error ? last.message : JSON.stringify(last)}`);
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}

/** The state of one task of a run. */
export function task(state: RunState, id: string) {
  const found = state.tasks.find((t) => t.id === id);
  if (!found) throw new Error(`no task ${id} in ${state.tasks.map((t) => t.id).join(', ')}`);
  return found;
}
