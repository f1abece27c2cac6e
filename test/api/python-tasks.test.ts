/**
 * Python tasks end to end with the real Python worker (`maestro-py worker`, sdk/python), the real
 * API, worker and Temporal: the worker registers its tasks on start (`POST /tasks`), a workflow
 * mixing a Python task and `tasks/schema.validate` runs and the second run is served from the cache
 * (the receipt says so); bad input fails before the Python code runs; a `TaskError`'s code is the
 * task's error; a cancelled run's cancellation reaches a long Python task within seconds; a worker
 * SIGKILLed mid-task and started again completes the run (the heartbeat timeout); a schema change
 * under a registered version is refused and the worker exits 2; a Python task the policy denies
 * never runs. And the sample (examples/python): Parquet in the real S3 server aggregated with
 * DuckDB by `maestro-py worker --module etl_tasks`, its S3 credentials resolved through
 * `POST /tasks/secrets`, written back, validated and handed to the SIG stub by TypeScript tasks.
 * (The TypeScript stand-in worker, test/peers/remote-task-worker.ts, serves what the route tests of
 * test/api/task-secrets.test.ts need; what a real worker shows is shown here.)
 */
import { execFile } from 'node:child_process';
import { randomBytes, randomUUID } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { CreateBucketCommand, GetObjectCommand, PutObjectCommand, S3Client } from '@aws-sdk/client-s3';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { expectedSales, parquetRows, salesParquet } from '../fixtures/parquet.js';
import { REPO_ROOT } from '../peers/install.js';
import { PYTHON_SDK_BIN, PYTHON_TEST_TASKS_DIR, startPythonWorker, type PythonWorker } from '../peers/python-worker.js';
import { startS3, type S3Peer } from '../peers/s3.js';
import { startSigStub, type SigPeer } from '../peers/sig.js';
import { launchRun, newRunId } from '../../src/runs/index.js';
import { TOKENS, manifest, policyWorkflow, startHarness, type Harness } from './harness.js';

const payloadKey = `py=${randomBytes(32).toString('base64')}`;
const taskQueue = `maestro-py-${randomUUID().slice(0, 8)}`;
/** The sample's worker token: it registers its task (operator) and resolves its secrets (worker). */
const ETL_WORKER = { name: 'etl-worker', token: `etl-worker-${randomUUID()}`, roles: ['operator', 'worker'], namespaces: ['*'] };
const SAMPLE = join(REPO_ROOT, 'examples', 'python');
const SECRETS = ['S3_ACCESS_KEY_ID', 'S3_SECRET_ACCESS_KEY', 'SIG_INGEST_URL'];
const saved = { ...process.env };

let h: Harness;
let python: PythonWorker;
let s3: S3Peer;
let sig: SigPeer;

const startWorker = ({ harness = h, namespace = h.namespace, queue = taskQueue, token = TOKENS.operator as string, module = 'tasks_sample', dir = PYTHON_TEST_TASKS_DIR } = {}): Promise<PythonWorker> =>
  startPythonWorker({
    temporalAddress: inject('temporalAddress'),
    namespace,
    taskQueue: queue,
    payloadKey,
    maestroUrl: harness.api.url,
    token,
    module,
    pythonPath: [dir],
  });

beforeAll(async () => {
  [h, s3, sig] = await Promise.all([
    startHarness({
      config: (namespace) => ({
        payloadKey,
        // The sample's secrets are its namespace's; connectors/sig.ingest reaches the SIG stub on loopback.
        secrets: Object.fromEntries(SECRETS.map((name) => [name, { namespaces: [namespace] }])),
        egressAllow: { [namespace]: ['127.0.0.0/8'] },
      }),
      tokens: [ETL_WORKER],
    }),
    startS3(),
    startSigStub(),
  ]);
  // Read by the API when a task asks POST /tasks/secrets, and by the worker for sig.ingest.
  Object.assign(process.env, { MAESTRO_SECRET_S3_ACCESS_KEY_ID: s3.accessKeyId, MAESTRO_SECRET_S3_SECRET_ACCESS_KEY: s3.secretAccessKey, MAESTRO_SECRET_SIG_INGEST_URL: sig.url });
  python = await startWorker();
}, 300_000);
afterAll(async () => {
  await python?.stop();
  await h?.close();
  await Promise.all([s3?.stop(), sig?.stop()]);
  process.env = saved;
});

const start = async (workflowRef: string, params: Record<string, unknown> = {}): Promise<string> => {
  const res = await h.call('POST', '/runs', { token: 'operator', json: { workflowRef, namespace: h.namespace, params } });
  expect(res.status, res.text).toBe(201);
  return res.body.runId as string;
};
const ended = (runId: string, timeoutMs = 60_000) => h.waitRun(runId, (r) => r.status !== 'RUNNING' && r.status !== 'PENDING', timeoutMs);
const ref = async (yaml: string): Promise<string> => {
  const { name, version } = await h.register(yaml);
  return `${name}@${version}`;
};
/** The run's signed receipt statement (written as the run ends). */
async function receipt(runId: string): Promise<any> { // eslint-disable-line @typescript-eslint/no-explicit-any -- tests read fields freely
  let res = await h.call('GET', `/runs/${runId}/receipt`);
  for (let i = 0; res.status === 404 && i < 50; i += 1) {
    await new Promise((resolve) => setTimeout(resolve, 100));
    res = await h.call('GET', `/runs/${runId}/receipt`);
  }
  expect(res.status, res.text).toBe(200);
  return JSON.parse(Buffer.from(res.body.dsseEnvelope.payload, 'base64').toString());
}
/** Waits until the run's first task is running (dispatched to the Python worker). */
async function running(runId: string): Promise<void> {
  await h.waitRun(runId, (r) => r.tasks?.[0]?.status === 'RUNNING', 30_000);
}

describe('Python tasks on the real Python worker', () => {
  it('registers the worker’s tasks on start, in its namespace', async () => {
    const res = await h.call('GET', `/tasks?namespace=${h.namespace}`, { token: 'operator' });
    expect(res.status, res.text).toBe(200);
    expect(res.text).toContain('py/hello');
    expect(res.text).toContain('py/wait');
  });

  it('runs a workflow mixing a Python task and schema.validate, and serves the second run from the cache', async () => {
    const workflowRef = await ref(
      manifest(
        [
          '    - { id: greet, uses: py/hello@^0.1, with: { name: "${params.who}" } }',
          '    - { id: check, uses: tasks/schema.validate@^0.1, needs: [greet], with: { data: "${tasks.greet.outputs}", schema: { type: object, required: [greeting] } } }',
        ].join('\n'),
        { parameters: '    - { name: who, type: string }' },
      ),
    );
    const who = `ada-${randomUUID().slice(0, 6)}`;
    const runId = await start(workflowRef, { who });
    const run = await ended(runId);
    expect(run.status, JSON.stringify(run.tasks)).toBe('SUCCEEDED');
    expect(run.tasks[0]).toMatchObject({ id: 'greet', status: 'SUCCEEDED', outputs: { greeting: `Hello, ${who}!` } });
    const logs = await h.call('GET', `/runs/${runId}/logs`, { token: 'operator' });
    expect(logs.text).toContain('greeting');

    const againId = await start(workflowRef, { who });
    const again = await ended(againId);
    expect(again.status).toBe('SUCCEEDED');
    expect(again.tasks[0]).toMatchObject({ status: 'SUCCEEDED', cached: true, outputs: { greeting: `Hello, ${who}!` } });
    const statement = await receipt(againId);
    expect(statement.predicate.buildDefinition.resolvedDependencies).toContainEqual(expect.objectContaining({ name: 'py/hello@0.1.0' }));
    expect(statement.predicate.runDetails.byproducts.find((b: { name: string }) => b.name === 'task/greet')).toMatchObject({ annotations: expect.objectContaining({ cached: true }) });
  });

  it('fails bad input before the Python code runs', async () => {
    const workflowRef = await ref(manifest('    - { id: greet, uses: py/hello@^0.1, with: { name: "${params.n}" } }', { parameters: '    - { name: n, type: integer }' }));
    const runId = await start(workflowRef, { n: 7 });
    const run = await ended(runId);
    expect(run.status).toBe('FAILED');
    expect(run.tasks[0].error).toMatchObject({ code: 'TASK_INPUT_INVALID' });
    // py/hello logs `greeting` first thing: no line means its code never ran.
    const logs = await h.call('GET', `/runs/${runId}/logs`, { token: 'operator' });
    expect(logs.text).not.toContain('greeting');
  });

  it('fails the task with the code its TaskError raised', async () => {
    const run = await ended(await start(await ref(manifest('    - { id: greet, uses: py/hello@^0.1, with: { name: fail } }'))));
    expect(run.status).toBe('FAILED');
    expect(run.tasks[0]).toMatchObject({ attempts: 1, error: { code: 'GREETING_REFUSED', message: 'asked to fail' } });
  });

  it('carries a cancelled run’s cancellation to a long Python task within seconds', async () => {
    const runId = await start(await ref(manifest('    - { id: nap, uses: py/wait@^0.1, with: { seconds: 120 } }')));
    await running(runId);
    await new Promise((resolve) => setTimeout(resolve, 1_000));
    const cancelledAt = Date.now();
    expect((await h.call('POST', `/runs/${runId}/cancel`, { token: 'operator' })).status).toBe(202);
    // The dispatch waits for the activity to acknowledge its cancellation (WAIT_CANCELLATION_COMPLETED),
    // and a lost one would take the 30 s heartbeat timeout: CANCELLED within 10 s is the Python task's answer.
    await h.waitRun(runId, (r) => r.status === 'CANCELLED', 30_000);
    expect(Date.now() - cancelledAt).toBeLessThan(10_000);
  }, 60_000);

  it('completes the run when the worker is SIGKILLed mid-task and started again (heartbeat timeout)', async () => {
    const runId = await start(await ref(manifest('    - { id: nap, uses: py/wait@^0.1, with: { seconds: 6 } }')));
    await running(runId);
    await new Promise((resolve) => setTimeout(resolve, 1_500));
    await python.kill();
    python = await startWorker();
    // The lost attempt times out on its heartbeat (30 s), then Temporal retries it on the new worker.
    const run = await ended(runId, 120_000);
    expect(run.status, JSON.stringify(run.tasks)).toBe('SUCCEEDED');
    expect(run.tasks[0]).toMatchObject({ outputs: { cancelled: false } });
  }, 180_000);

  it('runs the sample ETL: Parquet in S3 aggregated by the Python task, written back, validated and ingested by TypeScript tasks', async () => {
    const etl = await startWorker({ queue: `${taskQueue}-etl`, module: 'etl_tasks', dir: SAMPLE, token: ETL_WORKER.token });
    const bucket = `sales-${randomUUID().slice(0, 8)}`;
    const client = new S3Client({ endpoint: s3.endpoint, region: s3.region, forcePathStyle: true, credentials: { accessKeyId: s3.accessKeyId, secretAccessKey: s3.secretAccessKey } });
    try {
      await client.send(new CreateBucketCommand({ Bucket: bucket }));
      await client.send(new PutObjectCommand({ Bucket: bucket, Key: 'sales.parquet', Body: salesParquet(1_000) }));
      const workflowRef = await ref(readFileSync(join(SAMPLE, 'etl-workflow.yaml'), 'utf8'));
      const runId = await start(workflowRef, { bucket, s3Endpoint: s3.endpoint });
      const run = await ended(runId, 120_000);
      expect(run.status, JSON.stringify(run.tasks)).toBe('SUCCEEDED');
      expect(run.tasks.map((t: { id: string; status: string }) => `${t.id} ${t.status}`)).toEqual(['aggregate SUCCEEDED', 'validate SUCCEEDED', 'ingest SUCCEEDED']);
      const expected = expectedSales(1_000);
      expect(run.tasks[0].outputs).toMatchObject({ rows_in: 1_000, groups: 4, target_key: 'by-region/sales.parquet' });

      // The aggregate is in S3, one row per region; SIG has one item per region.
      const written = await client.send(new GetObjectCommand({ Bucket: bucket, Key: 'by-region/sales.parquet' }));
      expect(parquetRows(Buffer.from(await written.Body!.transformToByteArray()))).toEqual(expected);
      for (const row of expected) expect(sig.items.get(row.region)).toEqual(row);

      // The credentials came through the grant: the audit says so, and no log or history holds them.
      const audit = await h.call('GET', `/audit?runId=${runId}&kind=secret`, { token: 'admin' });
      expect(audit.body.items.map((r: { details: { secret: string } }) => r.details.secret).sort()).toEqual(['S3_ACCESS_KEY_ID', 'S3_SECRET_ACCESS_KEY']);
      const logs = await h.call('GET', `/runs/${runId}/logs`, { token: 'operator' });
      expect(logs.text).toContain('wrote');
      const history = await h.decodedHistory(runId);
      for (const text of [logs.text, history]) expect(text).not.toContain(s3.secretAccessKey);

      const statement = await receipt(runId);
      expect(statement.predicate.buildDefinition.resolvedDependencies).toContainEqual(expect.objectContaining({ name: 'py/parquet-aggregate@0.1.0' }));
    } finally {
      client.destroy();
      await etl.stop();
    }
  }, 240_000);

  it('refuses a schema change under a registered version: the worker exits 2 on the 409', async () => {
    const limited = `${h.namespace}-limited`;
    const res = await h.call('POST', '/tasks', {
      token: 'operator',
      json: {
        namespace: limited, name: 'py/hello', version: '0.1.0', language: 'python', taskQueue, deterministic: true, timeoutMs: 60_000,
        codeDigest: `sha256:${'a'.repeat(64)}`, inputSchema: { type: 'object', properties: { other: { type: 'string' } } }, outputSchema: { type: 'object' },
      },
    });
    expect(res.status, res.text).toBe(201);
    const exit = await new Promise<{ code: number | null; stderr: string }>((resolve) => {
      const child = execFile(
        join(PYTHON_SDK_BIN, 'maestro-py'),
        ['worker', '--module', 'tasks_sample', '--namespace', limited, '--task-queue', taskQueue],
        {
          env: { ...process.env, TEMPORAL_ADDRESS: inject('temporalAddress'), MAESTRO_PAYLOAD_KEY: payloadKey, MAESTRO_URL: h.api.url, MAESTRO_TOKEN: TOKENS.operator, PYTHONPATH: PYTHON_TEST_TASKS_DIR },
          timeout: 60_000,
        },
        (_error, _stdout, stderr) => resolve({ code: child.exitCode, stderr }),
      );
    });
    expect(exit.code, exit.stderr).toBe(2);
    expect(exit.stderr).toMatch(/TASK_VERSION_CONFLICT|409|version/i);
  }, 90_000);
});

describe('a Python task denied by policy', () => {
  const ALICE = { name: 'alice', token: 'alice-python-token-0123456789', roles: ['operator'], namespaces: ['default'] };
  let gated: Harness;
  let worker: PythonWorker;

  beforeAll(async () => {
    gated = await startHarness({ policy: true, tokens: [ALICE], config: { payloadKey } });
    worker = await startWorker({ harness: gated, namespace: 'default', queue: `${taskQueue}-gated`, token: ALICE.token });
  }, 300_000);
  afterAll(async () => {
    await worker?.stop();
    await gated?.close();
  });

  it('fails with POLICY_DENIED and never reaches the Python code', async () => {
    const name = `gated-${randomUUID().slice(0, 8)}`;
    await gated.register(policyWorkflow(name, 'release-management', ['{ id: greet, uses: py/hello@^0.1, with: { name: Ada } }']), 'default');
    // Started without the run-start check (a launch context with no policy): the worker's gate decides the attempt.
    const compiled = (await gated.store.getWorkflow('default', name, '1.0.0'))!;
    expect(compiled.ir.tasks[0]).toMatchObject({ execution: 'remote', remote: { taskQueue: `${taskQueue}-gated` } });
    const runId = newRunId();
    await launchRun(
      { client: gated.client, store: gated.store, auditLog: gated.auditLog, taskQueue: gated.config.taskQueue, runLimits: {}, payloadCodec: gated.payloadCodec },
      { runId, compiled, params: {}, namespace: 'default', startedBy: 'alice', principal: { subject: 'alice', roles: ['operator'], namespaces: ['default'] } },
    );
    const denied = await gated.waitRun(runId, (r) => r.status === 'FAILED' || r.status === 'SUCCEEDED', 60_000);
    expect(denied.status).toBe('FAILED');
    expect(denied.tasks[0].error.code).toBe('POLICY_DENIED');
    // py/hello logs `greeting` first thing: no line means its code never ran.
    const logs = await gated.call('GET', `/runs/${runId}/logs`);
    expect(logs.text).not.toContain('greeting');
  });
});
