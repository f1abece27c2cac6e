/**
 * Two `maestro api` processes and a `maestro worker`, each its own process, against one Temporal
 * and one PostgreSQL: nothing one API replica holds in memory is needed by the other. The same
 * idempotency key through API A then API B is one run; a namespace's run limit holds across both;
 * a webhook's dedup key holds across both (docs/architecture.md, "State and replicas").
 */
import { randomBytes, randomUUID } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { hmacSha256Hex } from '../../src/triggers/index.js';
import { startMaestroCommand, type MaestroCommand } from '../helpers/maestro-process.js';
import { startPostgres, type PostgresPeer } from '../peers/index.js';

const TOKEN = randomBytes(24).toString('hex');
/** Names of this file's workflows, runbook and trigger: the registry is this file's, the Temporal namespace is shared. */
const RUN = randomUUID().slice(0, 8);
const HOOK_SECRET = `hook-${randomUUID()}`;
/** The namespace with a run limit (the policy's data knows it); runs are read by id, never listed, so other files' runs do not matter. */
const CAPPED = 'sandbox';
/** The webhook's namespace, where a secret needs no declaration. */
const HOOKED = 'default';

let pg: PostgresPeer;
let dataDir: string;
let apiA: MaestroCommand;
let apiB: MaestroCommand;
let worker: MaestroCommand;

type Body = Record<string, any>; // eslint-disable-line @typescript-eslint/no-explicit-any -- tests read fields freely

/** Calls `api` as the admin dev token. */
async function call(api: MaestroCommand, method: string, path: string, body?: unknown, type = 'application/json'): Promise<{ status: number; body: Body }> {
  const res = await fetch(`${api.url}${path}`, {
    method,
    headers: { authorization: `Bearer ${TOKEN}`, ...(body === undefined ? {} : { 'content-type': type }) },
    ...(body === undefined ? {} : { body: typeof body === 'string' ? body : JSON.stringify(body) }),
  });
  const text = await res.text();
  return { status: res.status, body: text === '' ? {} : (JSON.parse(text) as Body) };
}

function workflowYaml(name: string, namespace: string, tasks: string, parameters = ''): string {
  return [
    'apiVersion: maestro/v1',
    'kind: Workflow',
    `metadata: { name: ${name}, version: 1.0.0, namespace: ${namespace} }`,
    'spec:',
    '  policy: { purpose: testing, authority: tests, license: internal }',
    ...(parameters === '' ? [] : ['  parameters:', parameters]),
    '  tasks:',
    tasks,
  ].join('\n');
}

async function register(api: MaestroCommand, yaml: string, path = '/workflows'): Promise<void> {
  const res = await call(api, 'POST', path, yaml, 'application/yaml');
  expect(res.status, JSON.stringify(res.body)).toBeLessThan(300);
}

beforeAll(async () => {
  [pg, dataDir] = await Promise.all([startPostgres(), mkdtemp(join(tmpdir(), 'maestro-replicas-'))]);
  const env = {
    TEMPORAL_ADDRESS: inject('temporalAddress'),
    MAESTRO_TASK_QUEUE: `replicas-${randomUUID()}`,
    MAESTRO_DATABASE_URL: pg.url,
    // Keys, receipts and artifacts: one volume, as compose and the chart give every replica.
    MAESTRO_DATA_DIR: dataDir,
    MAESTRO_DEV_TOKEN: TOKEN,
    MAESTRO_LOG_LEVEL: 'warn',
    MAESTRO_NAMESPACE_RUN_LIMITS: `${CAPPED}=1`,
    MAESTRO_SECRET_HOOK_KEY: HOOK_SECRET,
    MAESTRO_TRIGGER_CONSUMERS: 'false',
  };
  // The worker first: it creates the store's schema while the APIs wait for nothing but it.
  worker = await startMaestroCommand('worker', env);
  [apiA, apiB] = await Promise.all([startMaestroCommand('api', env), startMaestroCommand('api', env)]);
}, 600_000);

afterAll(async () => {
  await Promise.all([apiA?.stop(), apiB?.stop(), worker?.stop()]);
  await pg?.stop();
  await rm(dataDir, { recursive: true, force: true });
});

describe('two API replicas on one Temporal and one PostgreSQL', () => {
  it('the same idempotency key through API A then API B returns the same run', async () => {
    await register(apiA, workflowYaml(`idem-${RUN}`, 'default', '    - { id: nap, uses: tasks/wait.sleep@0.1.0, with: { duration: 1ms } }'));
    const key = `deploy-${randomUUID()}`;
    const first = await call(apiA, 'POST', '/runs', { workflowRef: `idem-${RUN}@1.0.0`, idempotencyKey: key });
    expect(first.status, JSON.stringify(first.body)).toBe(201);
    const again = await call(apiB, 'POST', '/runs', { workflowRef: `idem-${RUN}@1.0.0`, idempotencyKey: key });
    expect(again.status, JSON.stringify(again.body)).toBe(200);
    expect(again.body.runId).toBe(first.body.runId);
    await expect.poll(async () => (await call(apiB, 'GET', `/runs/${first.body.runId}`)).body.status, { timeout: 60_000 }).toBe('SUCCEEDED');
  });

  it("a namespace's run limit holds across both: one run at a time, the others QUEUED, whichever API started them", async () => {
    await register(apiB, workflowYaml(`hold-${RUN}`, CAPPED, '    - { id: nap, uses: tasks/wait.sleep@0.1.0, with: { duration: "${params.sleep}" } }', '    - { name: sleep, type: string, default: 1h }'));
    // Four starts at once, two through each API.
    const starts = await Promise.all([apiA, apiB, apiA, apiB].map((api) => call(api, 'POST', '/runs', { workflowRef: `hold-${RUN}@1.0.0`, namespace: CAPPED })));
    for (const start of starts) expect(start.status, JSON.stringify(start.body)).toBe(201);
    const runIds = starts.map((start) => String(start.body.runId));
    expect(starts.filter((start) => start.body.status === 'QUEUED')).toHaveLength(3);
    const statuses = async (): Promise<string[]> => Promise.all(runIds.map(async (runId, i) => (await call(i % 2 === 0 ? apiB : apiA, 'GET', `/runs/${runId}`)).body.status as string));
    await expect.poll(async () => (await statuses()).sort(), { timeout: 60_000 }).toEqual(['QUEUED', 'QUEUED', 'QUEUED', 'RUNNING']);
    // Still one at a time a while later: neither API's admission loop admits past the other's.
    await new Promise((resolve) => setTimeout(resolve, 3_000));
    expect((await statuses()).filter((status) => status === 'RUNNING')).toHaveLength(1);
    const holder = runIds[(await statuses()).indexOf('RUNNING')] as string;
    expect((await call(apiA, 'POST', `/runs/${holder}/cancel`, {})).status).toBeLessThan(300);
    // The slot freed by the cancel goes to exactly one queued run.
    await expect.poll(async () => (await statuses()).sort(), { timeout: 60_000 }).toEqual(['CANCELLED', 'QUEUED', 'QUEUED', 'RUNNING']);
    for (const runId of runIds) await call(apiB, 'POST', `/runs/${runId}/cancel`, {});
  }, 180_000);

  it("a webhook's dedup key holds across both: the second delivery, to the other API, returns the first run", async () => {
    await register(apiA, workflowYaml(`hooked-${RUN}`, HOOKED, '    - { id: nap, uses: tasks/wait.sleep@0.1.0, with: { duration: 1ms } }', '    - { name: service, type: string, required: true }'));
    const runbook = ['apiVersion: maestro/v1', 'kind: Runbook', `metadata: { name: redeploy-${RUN}, namespace: ${HOOKED}, version: 1.0.0, allowList: { roles: [admin] } }`, 'spec:', '  inputs:', '    - { name: service, type: string, required: true }', `  workflowRef: hooked-${RUN}@1.0.0`].join('\n');
    await register(apiA, runbook, '/runbooks');
    const created = await call(apiB, 'POST', '/triggers', { namespace: HOOKED, name: `push-${RUN}`, runbook: `redeploy-${RUN}`, auth: { secret: 'hook-key', header: 'X-Hub-Signature-256' }, inputs: { service: 'body.service' }, dedupKey: 'body.delivery' });
    expect(created.status, JSON.stringify(created.body)).toBe(201);
    const body = JSON.stringify({ service: 'api', delivery: randomUUID() });
    const deliver = async (api: MaestroCommand): Promise<{ status: number; body: Body }> => {
      const res = await fetch(`${api.url}/hooks/${HOOKED}/push-${RUN}`, { method: 'POST', headers: { 'content-type': 'application/json', 'x-hub-signature-256': `sha256=${hmacSha256Hex(HOOK_SECRET, Buffer.from(body))}` }, body });
      return { status: res.status, body: (await res.json()) as Body };
    };
    const first = await deliver(apiA);
    expect(first.status, JSON.stringify(first.body)).toBe(202);
    expect(first.body).toMatchObject({ outcome: 'started', runIds: [expect.any(String)] });
    const second = await deliver(apiB);
    expect(second.status, JSON.stringify(second.body)).toBe(202);
    expect(second.body).toMatchObject({ outcome: 'duplicate', runIds: first.body.runIds });
  });
});
