/**
 * Test harness of the API: the real Temporal dev server of the test run, a real worker on a
 * unique task queue (restartable), a SQLite store, audit log and task log in a temp dir, and the
 * API on an ephemeral port; the worker serves the built-in tasks and those of `config.taskModules`. Every response is checked against `contracts/openapi.yaml`.
 */
import { randomUUID } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Client, Connection } from '@temporalio/client';
import type { Payload } from '@temporalio/common';
import { NativeConnection, type Worker } from '@temporalio/worker';
import { expect, inject, vi } from 'vitest';
import { parseDocument } from 'yaml';
import { createAuthenticator, operations, responseValidator, startApi, tokenEntriesVerifier, type RunningApi, type TokenEntry } from '../../src/api/index.js';
import { loadCatalog } from '../../src/tasks/index.js';
import { pauseOnTemporal } from '../../src/client/index.js';
import { maestroDataConverter, payloadCodec, payloadKeys, type AesGcmPayloadCodec } from '../../src/codec/index.js';
import { main } from '../../src/cli/main.js';
import { extendConfig, loadConfig, type Config, type ConfigInput } from '../../src/config/index.js';
import { createPdp, createPolicyGate, type PolicyDecisionPoint, type PolicyGate } from '../../src/policy/index.js';
import { auditDecisionLog, createWorkerProvenance, loadApprovalKey } from '../../src/provenance/index.js';
import { openAuditLog, openStore, openTaskLog, type AuditLog, type Store, type TaskLog } from '../../src/store/index.js';
import { createWorker } from '../../src/worker/index.js';
import { interpreterBundle } from '../helpers/interpreter-bundle.js';
import { createSecretResolver, taskGrantKeys } from '../../src/secrets/index.js';

/** Tokens every harness knows, by name. */
export const TOKENS = {
  admin: 'admin-token-0123456789',
  operator: 'operator-token-0123456789',
  viewer: 'viewer-token-0123456789',
  sre: 'sre-token-0123456789',
  lead: 'lead-token-0123456789',
  outsider: 'outsider-token-0123456789',
  auditor: 'auditor-token-0123456789',
} as const;

/** A response, its body parsed by media type. */
export interface ApiResponse {
  status: number;
  type: string;
  headers: Headers;
  body: any; // eslint-disable-line @typescript-eslint/no-explicit-any -- tests read fields freely
  text: string;
}

/** Options of {@link startHarness}. */
export interface HarnessOptions {
  /** Extra settings (e.g. namespaceRunLimits), given the harness's namespace. */
  config?: ConfigInput | ((namespace: string) => ConfigInput);
  /** Temporal frontend to use. @default inject('temporalAddress') — the test run's dev server */
  address?: string;
  /** Start a worker on the task queue. @default true */
  worker?: boolean;
  /**
   * Check runs with the policy: the API decides every run start and the worker every task, with
   * the PDP the config chooses (embedded, or `policyMode: 'remote'` with `opaUrl`).
   * @default false — runs start unchecked and every task may run
   */
  policy?: boolean;
  /**
   * With `policy`: settings of the worker's PDP that differ from the API's (a policy bundle the
   * workers were given and the API not yet). @default {} — the API's PDP serves the worker too
   */
  workerPolicy?: ConfigInput;
  /** Tokens besides {@link TOKENS}' (send them with `call(..., { bearer })`). @default [] */
  tokens?: TokenEntry[];
  /** How long an approval decision is valid for its run to take (`StartApiOptions.approvalWaitMs`). @default the API's */
  approvalWaitMs?: number;
}

/** A running API with its worker and helpers. */
export interface Harness {
  /** A Maestro namespace unique to this harness (isolates list queries between test files). */
  namespace: string;
  config: Config;
  /** The payload codec of the API, its worker and {@link Harness.client} (keys in the harness's data dir, as `maestro dev` keeps them). */
  payloadCodec: AesGcmPayloadCodec;
  client: Client;
  store: Store;
  /** The audit log the API (and, with `policy`, the worker) appends to. */
  auditLog: AuditLog;
  /** The task log the worker appends to and the API reads. */
  taskLog: TaskLog;
  api: RunningApi;
  /** Sends a request as `token` (a key of TOKENS, or null for none), or with the raw `bearer` token. */
  call(
    method: string,
    path: string,
    options?: { token?: keyof typeof TOKENS | null; bearer?: string; json?: unknown; yaml?: string; headers?: Record<string, string> },
  ): Promise<ApiResponse>;
  /** Runs the `maestro` CLI against this API as `as` (a key of TOKENS, or a raw bearer token); returns its exit code and what it printed. */
  cli(as: keyof typeof TOKENS | { bearer: string }, ...argv: string[]): Promise<{ code: number; out: string; err: string }>;
  /**
   * Registers a workflow manifest (YAML) as admin in `namespace` (set as its `metadata.namespace`,
   * which a manifest that names one keeps); asserts 201 or 200.
   * @param namespace @default the harness's namespace
   */
  register(yaml: string, namespace?: string): Promise<{ name: string; version: string; digest: string }>;
  /** The run's history as text, every payload decoded with the codec (to show what it does not hold). */
  decodedHistory(runId: string): Promise<string>;
  /** Polls GET /runs/{runId} until `predicate` holds. */
  waitRun(runId: string, predicate: (run: any) => boolean, timeoutMs?: number): Promise<any>; // eslint-disable-line @typescript-eslint/no-explicit-any
  restartApi(): Promise<void>;
  /** Starts a second API on the same Temporal, task queue and registry (another replica); stop it before `close()`. */
  startReplica(): Promise<{ url: string; stop(): Promise<void> }>;
  stopWorker(): Promise<void>;
  startWorker(): Promise<void>;
  close(): Promise<void>;
}


function tokenEntries(namespace: string): TokenEntry[] {
  return [
    { name: 'admin', token: TOKENS.admin, roles: ['admin'], namespaces: ['*'] },
    { name: 'operator', token: TOKENS.operator, roles: ['operator'], namespaces: [namespace, `${namespace}-limited`] },
    { name: 'viewer', token: TOKENS.viewer, roles: ['viewer'], namespaces: [namespace] },
    { name: 'sre', token: TOKENS.sre, roles: ['sre', 'sre-oncall'], namespaces: [namespace] },
    { name: 'lead', token: TOKENS.lead, roles: ['data-lead'], namespaces: [namespace] },
    { name: 'outsider', token: TOKENS.outsider, roles: ['operator', 'sre'], namespaces: ['elsewhere'] },
    { name: 'auditor', token: TOKENS.auditor, roles: ['auditor'], namespaces: [namespace] },
  ];
}

const OPERATIONS = operations();

/** The operation a request path matches (for response contract checks). */
function operationOf(method: string, path: string) {
  const pathname = path.split('?')[0] ?? path;
  return OPERATIONS.find((op) => {
    if (op.method !== method.toLowerCase()) return false;
    const pattern = new RegExp(`^${op.path.replace(/\{[^}]+\}/g, '[^/]+')}$`);
    return pattern.test(pathname);
  });
}

/** Asserts the response is one the document describes, with a body matching its schema. */
function checkContract(method: string, path: string, response: ApiResponse): void {
  const operation = operationOf(method, path);
  if (!operation) return; // unknown routes answer 404 problems, checked by their own test
  const validate = responseValidator(operation, response.status, response.type);
  expect(validate, `${method} ${path} → ${response.status} ${response.type} is not in openapi.yaml`).toBeDefined();
  if (validate && response.type !== 'text/event-stream' && response.type !== 'text/plain') {
    expect(validate(response.body), `${method} ${path} → ${response.status}: ${JSON.stringify(validate.errors)}`).toBe(true);
  }
}

/** A worker for the harness's task queue, keeping artifacts and provenance where the API's config says, as `maestro dev` does. */
async function startTestWorker(
  address: string,
  config: Config,
  policy: PolicyGate | undefined,
  taskLog: TaskLog,
  codec: AesGcmPayloadCodec,
  launch: { client: Client; auditLog: AuditLog },
): Promise<{ stop(): Promise<void> }> {
  const connection = await NativeConnection.connect({ address });
  const catalog = await loadCatalog(config);
  // Schedules' fires start runs from the worker, with its own store on the API's database.
  const store = await openStore({ dataDir: config.dataDir });
  const worker: Worker = await createWorker({
    connection,
    taskQueue: config.taskQueue,
    artifactDir: config.artifactDir,
    catalog,
    // With the policy on, the receipt lists the run's decisions, as the worker's does.
    provenance: await createWorkerProvenance({ config, catalog, taskModules: catalog.modules, ...(policy === undefined ? {} : { policyDecisions: auditDecisionLog(launch.auditLog).decisionIds }) }),
    approvalKey: (await loadApprovalKey(config)).publicKey,
    taskGrantKeys: taskGrantKeys(config.taskGrantKey, payloadKeys(config)),
    // The config's secret scopes (MAESTRO_SECRETS), as the worker of `maestro dev` has them.
    secrets: createSecretResolver(config),
    ...(policy === undefined ? {} : { policy }),
    taskLog,
    workflowBundle: await interpreterBundle(),
    payloadCodec: codec,
    subWorkflowMaxDepth: config.subWorkflowMaxDepth,
    usage: {
      ledger: store,
      costModel: config.costModel,
      budgets: config.budgets,
      auditLog: launch.auditLog,
      pauseRun: async (runId) => void (await pauseOnTemporal(launch.client, runId, true)),
    },
    progress: store,
    launch: {
      client: launch.client,
      store,
      auditLog: launch.auditLog,
      taskQueue: config.taskQueue,
      runLimits: config.namespaceRunLimits ?? {},
      payloadCodec: codec,
      ...(policy === undefined ? {} : { policy }),
      costModel: config.costModel,
      budgets: config.budgets,
    },
  });
  const running = worker.run();
  return {
    async stop() {
      worker.shutdown();
      await running;
      await connection.close();
      await store.close();
    },
  };
}

/** Starts a harness; call `close()` in `afterAll`. */
export async function startHarness(options: HarnessOptions = {}): Promise<Harness> {
  const address = options.address ?? inject('temporalAddress');
  const namespace = `t-${randomUUID().slice(0, 8)}`;
  const extra = typeof options.config === 'function' ? options.config(namespace) : options.config;
  const dir = await mkdtemp(join(tmpdir(), 'maestro-api-'));
  const config = extendConfig(loadConfig({}), {
    temporalAddress: address,
    taskQueue: `api-${randomUUID()}`,
    dataDir: dir,
    ...extra,
  });
  let store = await openStore({ dataDir: dir });
  const auditLog = await openAuditLog({ dataDir: dir });
  const taskLog = await openTaskLog({ dataDir: dir });
  const pdp: PolicyDecisionPoint | undefined = options.policy ? await createPdp(config) : undefined;
  const reuse = config.policyReuseMaxAgeMs === undefined ? {} : { reuseMaxAgeMs: config.policyReuseMaxAgeMs };
  const gate = pdp === undefined ? undefined : createPolicyGate({ pdp, log: auditLog, ...reuse });
  const workerPdp = gate === undefined || options.workerPolicy === undefined ? undefined : await createPdp(extendConfig(config, options.workerPolicy));
  const workerGate = workerPdp === undefined ? gate : createPolicyGate({ pdp: workerPdp, log: auditLog, ...reuse });
  const authenticator = createAuthenticator([tokenEntriesVerifier([...tokenEntries(namespace), ...(options.tokens ?? [])])]);
  const codec = payloadCodec(config);
  const connection = await Connection.connect({ address });
  const client = new Client({ connection, dataConverter: maestroDataConverter(codec) });
  let worker = options.worker === false ? undefined : await startTestWorker(address, config, workerGate, taskLog, codec, { client, auditLog });
  const start = () =>
    startApi(config, {
      port: 0,
      authenticator,
      store,
      auditLog,
      taskLog,
      pdp: pdp ?? false,
      pollMs: 200,
      drainMs: 2_000,
      ...(options.approvalWaitMs === undefined ? {} : { approvalWaitMs: options.approvalWaitMs }),
    });
  let api = await start();

  const call: Harness['call'] = async (method, path, { token = 'admin', bearer, json, yaml, headers = {} } = {}) => {
    const secret = bearer ?? (token ? TOKENS[token] : undefined);
    const init: RequestInit = {
      method,
      headers: {
        ...(secret ? { authorization: `Bearer ${secret}` } : {}),
        ...(json !== undefined ? { 'content-type': 'application/json' } : {}),
        ...(yaml !== undefined ? { 'content-type': 'application/yaml' } : {}),
        ...headers,
      },
      ...(json !== undefined ? { body: JSON.stringify(json) } : yaml !== undefined ? { body: yaml } : {}),
    };
    const res = await fetch(`${api.url}${path}`, init);
    const text = await res.text();
    const type = (res.headers.get('content-type') ?? '').split(';')[0] ?? '';
    const body: unknown = type.endsWith('json') ? JSON.parse(text) : text;
    const response: ApiResponse = { status: res.status, type, headers: res.headers, body, text };
    checkContract(method, path, response);
    return response;
  };

  const harness: Harness = {
    namespace,
    config,
    payloadCodec: codec,
    client,
    get store() {
      return store;
    },
    auditLog,
    taskLog,
    get api() {
      return api;
    },
    call,
    async cli(as, ...argv) {
      process.env.MAESTRO_URL = api.url;
      process.env.MAESTRO_TOKEN = typeof as === 'string' ? TOKENS[as] : as.bearer;
      const out: string[] = [];
      const err: string[] = [];
      const log = vi.spyOn(console, 'log').mockImplementation((...args: unknown[]) => void out.push(args.join(' ')));
      const error = vi.spyOn(console, 'error').mockImplementation((...args: unknown[]) => void err.push(args.join(' ')));
      try {
        return { code: await main(argv), out: out.join('\n'), err: err.join('\n') };
      } finally {
        log.mockRestore();
        error.mockRestore();
      }
    },
    async register(yaml, into = namespace) {
      const res = await call('POST', '/workflows', { yaml: inNamespace(yaml, into) });
      expect([200, 201], JSON.stringify(res.body)).toContain(res.status);
      return res.body as { name: string; version: string; digest: string };
    },
    async decodedHistory(runId) {
      const history = await client.workflow.getHandle(runId).fetchHistory();
      const found: Payload[] = [];
      const walk = (node: unknown): void => {
        if (node === null || typeof node !== 'object') return;
        if ('metadata' in node && 'data' in node && node.data instanceof Uint8Array) found.push(node as Payload);
        else for (const child of Object.values(node)) walk(child);
      };
      walk(history);
      const decoded = await codec.decode(found);
      return [JSON.stringify(history), ...decoded.map((p) => Buffer.from(p.data ?? []).toString('utf8'))].join('\n');
    },
    async waitRun(runId, predicate, timeoutMs = 30_000) {
      const deadline = Date.now() + timeoutMs;
      for (;;) {
        const res = await call('GET', `/runs/${runId}`);
        if (res.status === 200 && predicate(res.body)) return res.body;
        if (Date.now() > deadline) throw new Error(`timed out waiting for run ${runId}; last: ${res.text}`);
        await new Promise((resolve) => setTimeout(resolve, 100));
      }
    },
    async restartApi() {
      await api.stop();
      await store.close();
      store = await openStore({ dataDir: dir });
      api = await start();
    },
    async startReplica() {
      const replicaStore = await openStore({ dataDir: dir });
      const replica = await startApi(config, { port: 0, authenticator, store: replicaStore, auditLog, taskLog, pdp: pdp ?? false, pollMs: 200, drainMs: 2_000 });
      return {
        url: replica.url,
        async stop() {
          await replica.stop();
          await replicaStore.close();
        },
      };
    },
    async stopWorker() {
      await worker?.stop();
      worker = undefined;
    },
    async startWorker() {
      worker ??= await startTestWorker(address, config, workerGate, taskLog, codec, { client, auditLog });
    },
    async close() {
      await api.stop();
      await worker?.stop();
      await store.close();
      await pdp?.close();
      await workerPdp?.close();
      await auditLog.close();
      await taskLog.close();
      await connection.close();
      await rm(dir, { recursive: true, force: true });
    },
  };
  return harness;
}

/** `yaml` with `metadata.namespace: namespace` unless it names a namespace already. */
export function inNamespace(yaml: string, namespace: string): string {
  const document = parseDocument(yaml);
  if (!document.hasIn(['metadata', 'namespace'])) document.setIn(['metadata', 'namespace'], namespace);
  return document.toString();
}

/** A workflow manifest with a unique name (so tests never collide in the shared registry). */
export function manifest(tasks: string, { name = `wf-${randomUUID().slice(0, 8)}`, version = '1.0.0', parameters = '' } = {}): string {
  return [
    'apiVersion: maestro/v1',
    'kind: Workflow',
    'metadata:',
    `  name: ${name}`,
    `  version: ${version}`,
    'spec:',
    '  policy: { purpose: testing, authority: tests, license: internal }',
    ...(parameters ? ['  parameters:', parameters] : []),
    '  tasks:',
    tasks,
  ].join('\n');
}

/** A workflow of namespace `default` under the repository policy's `testing` purpose, acting under `authority`, with these task lines. */
export function policyWorkflow(name: string, authority: string, tasks: string[]): string {
  return [
    'apiVersion: maestro/v1',
    'kind: Workflow',
    `metadata: { name: ${name}, version: 1.0.0, namespace: default }`,
    'spec:',
    `  policy: { purpose: testing, authority: ${authority}, license: internal }`,
    '  tasks:',
    ...tasks.map((task) => `    - ${task}`),
  ].join('\n');
}

/** Module of `tests/chatty@0.1.0`, a task that logs numbered lines (slowly if asked): pass it in `config.taskModules`. */
export const CHATTY_TASK_MODULE = fileURLToPath(new URL('../fixtures/tasks/chatty.ts', import.meta.url));

/** Three quick sequential tasks. */
export const THREE_TASKS = [
  '    - { id: a, uses: tasks/transform.map@0.1.0, with: { rows: [1, 2], expression: "$ * 2" } }',
  '    - { id: b, uses: tasks/wait.sleep@0.1.0, needs: [a], with: { duration: 10ms } }',
  '    - { id: c, uses: tasks/transform.map@0.1.0, needs: [b], with: { rows: "${tasks.a.outputs.rows}", expression: "$ + 1" } }',
].join('\n');
