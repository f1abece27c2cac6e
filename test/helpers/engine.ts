import { randomBytes, randomUUID } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Client, Connection } from '@temporalio/client';
import { DefaultLogger, NativeConnection, Runtime, type WorkflowBundleWithSourceMap } from '@temporalio/worker';
import { inject } from 'vitest';
import { builtinCatalog, createBuiltinCatalog, type Catalog } from '../../src/catalog/index.js';
import { startRun, waitForRun, getRunState } from '../../src/client/index.js';
import { AesGcmPayloadCodec, maestroDataConverter } from '../../src/codec/index.js';
import { compileWorkflow } from '../../src/compiler/index.js';
import { parsePayloadKeys } from '../../src/config/index.js';
import type { CompiledWorkflow, Principal, RunState } from '../../src/ir/index.js';
import { checkParams, parseManifest, type Manifest, type WorkflowManifest } from '../../src/manifest/index.js';
import { bundleInterpreter, createWorker } from '../../workers/worker.js';

let bundle: Promise<WorkflowBundleWithSourceMap> | undefined;

/** The principal test runs act for: a tester in every namespace (tests' manifests use authority `tests`). */
export const TEST_PRINCIPAL: Principal = { subject: 'test:engine', roles: ['tester'], namespaces: ['*'] };
let runtimeInstalled = false;

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
  /** Starts a run of an inline manifest; returns its id. */
  start(yaml: string, params?: Record<string, unknown>, options?: { historyEventLimit?: number }): Promise<string>;
  /** Starts a run and waits for its final state. */
  run(yaml: string, params?: Record<string, unknown>): Promise<RunState>;
  wait(runId: string): Promise<RunState>;
  state(runId: string): Promise<RunState>;
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
   * @default the built-in tasks with loopback allow-listed for the tests' namespace (the peers run on 127.0.0.1)
   */
  catalog?: Catalog;
}

/**
 * The allow-list the tests' worker runs with: their peers listen on loopback, which HTTP tasks may
 * only reach where a namespace allow-lists it (`MAESTRO_HTTP_ALLOW`).
 */
export const TEST_HTTP_ALLOW = { default: ['127.0.0.0/8', '::1/128'] } as const;

/** Starts an {@link Engine}; call `close()` in `afterAll`. */
export async function startEngine({ worker: withWorker = true, largeOutputBytes, catalog }: EngineOptions = {}): Promise<Engine> {
  const address = inject('temporalAddress');
  const taskQueue = `test-${randomUUID()}`;
  const artifactDir = await mkdtemp(join(tmpdir(), 'maestro-artifacts-'));
  const payloadKey = `engine=${randomBytes(32).toString('base64')}`;
  const payloadCodec = new AesGcmPayloadCodec(parsePayloadKeys(payloadKey, 'engine'));
  const connection = await Connection.connect({ address });
  const client = new Client({ connection, dataConverter: maestroDataConverter(payloadCodec) });
  let stopWorker = async (): Promise<void> => undefined;
  if (withWorker) {
    if (!runtimeInstalled) {
      // Task failures are what these tests provoke; the worker's warnings about them are noise here.
      Runtime.install({ logger: new DefaultLogger('ERROR') });
      runtimeInstalled = true;
    }
    bundle ??= bundleInterpreter();
    const nativeConnection = await NativeConnection.connect({ address });
    const worker = await createWorker({
      connection: nativeConnection,
      taskQueue,
      artifactDir,
      workflowBundle: await bundle,
      catalog: catalog ?? createBuiltinCatalog({ httpAllow: TEST_HTTP_ALLOW }),
      payloadCodec,
      ...(largeOutputBytes === undefined ? {} : { largeOutputBytes }),
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
