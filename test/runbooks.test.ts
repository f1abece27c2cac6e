/**
 * The eight reference runbooks, each triggered end to end on the real Temporal dev server against
 * real peers (Kafka, NATS, S3, PostgreSQL) and in-process receivers (SIG, Slack, a deploy API).
 * Each test checks what the runbook really did: rows in tables, objects in buckets, messages on
 * topics and subjects, items in SIG.
 */
import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { CreateBucketCommand, GetObjectCommand, PutObjectCommand, S3Client } from '@aws-sdk/client-s3';
import kafkajs from 'kafkajs';
import { connect, StringCodec, type NatsConnection, type Subscription } from 'nats';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createAuthenticator, startApi, tokenEntriesVerifier } from '../src/api/index.js';
import { createBuiltinCatalog } from '../src/tasks/index.js';
import { extendConfig, loadConfig } from '../src/config/index.js';
import type { RunState } from '../src/ir/index.js';
import { defaultApprovalKeyFile } from '../src/provenance/index.js';
import { startEngine, task, TEST_EGRESS_ALLOW, waitForState, type Engine } from './helpers/engine.js';
import {
  readKafkaTopic,
  startDeployApi,
  startKafka,
  startNats,
  startPostgres,
  startS3,
  startSigStub,
  startSlackWebhook,
  type DeployApiPeer,
  type KafkaPeer,
  type NatsPeer,
  type PostgresPeer,
  type S3Peer,
  type SigPeer,
  type SlackPeer,
} from './peers/index.js';
import { loadRunbook, triggerRunbook } from './runbooks/trigger.js';

let kafka: KafkaPeer;
let nats: NatsPeer;
let s3: S3Peer;
let db: PostgresPeer;
let sig: SigPeer;
let slack: SlackPeer;
let deployApi: DeployApiPeer;
let engine: Engine;
let files: string;
let bucketClient: S3Client;
let sql: pg.Client;
let nc: NatsConnection;
const sc = StringCodec();

beforeAll(async () => {
  [kafka, nats, s3, db, sig, slack, deployApi] = await Promise.all([
    startKafka(),
    startNats(),
    startS3(),
    startPostgres(),
    startSigStub(),
    startSlackWebhook(),
    startDeployApi(),
  ]);
  // The worker resolves secrets from MAESTRO_SECRET_<NAME> (envSecrets), read at resolution time.
  Object.assign(process.env, {
    MAESTRO_SECRET_SLACK_WEBHOOK_URL: slack.webhookUrl,
    MAESTRO_SECRET_DATABASE_URL: db.url,
    MAESTRO_SECRET_S3_ACCESS_KEY_ID: s3.accessKeyId,
    MAESTRO_SECRET_S3_SECRET_ACCESS_KEY: s3.secretAccessKey,
    MAESTRO_SECRET_SIG_INGEST_URL: sig.url,
  });
  files = await mkdtemp(join(tmpdir(), 'maestro-files-'));
  await mkdir(join(files, 'bundles'));
  engine = await startEngine({ catalog: createBuiltinCatalog({ egressAllow: TEST_EGRESS_ALLOW, fileRoots: [files] }) });
  bucketClient = new S3Client({ endpoint: s3.endpoint, region: s3.region, forcePathStyle: true, credentials: { accessKeyId: s3.accessKeyId, secretAccessKey: s3.secretAccessKey } });
  for (const bucket of ['maestro-dev', 'demo-datasets', 'raw-records']) await bucketClient.send(new CreateBucketCommand({ Bucket: bucket }));
  sql = new pg.Client({ connectionString: db.url });
  await sql.connect();
  nc = await connect({ servers: nats.url });
  const admin = new kafkajs.Kafka({ brokers: kafka.brokers, logLevel: kafkajs.logLevel.NOTHING }).admin();
  await admin.connect();
  await admin.createTopics({ topics: [{ topic: 'ingest.completed' }, { topic: 'deployments' }], waitForLeaders: true });
  await admin.disconnect();
}, 240_000);

afterAll(async () => {
  bucketClient?.destroy();
  await nc?.close();
  await sql?.end();
  await engine?.close();
  await Promise.all([kafka?.stop(), nats?.stop(), s3?.stop(), db?.stop(), sig?.stop(), slack?.stop(), deployApi?.stop()]);
  if (files) await rm(files, { recursive: true, force: true });
});

/** Subscribes before a run, and returns what arrived once it is done. */
async function listen(subject: string): Promise<{ sub: Subscription; received(): Promise<unknown[]> }> {
  const sub = nc.subscribe(subject);
  await nc.flush();
  return {
    sub,
    received: async () => {
      await nc.flush();
      sub.unsubscribe();
      const out: unknown[] = [];
      for await (const m of sub) out.push(JSON.parse(sc.decode(m.data)));
      return out;
    },
  };
}

async function object(bucket: string, key: string): Promise<string> {
  const response = await bucketClient.send(new GetObjectCommand({ Bucket: bucket, Key: key }));
  return (await response.Body?.transformToString()) ?? '';
}

/** Every task succeeded (a compensation is skipped when nothing needs undoing), and so did the run. */
function succeeded(state: RunState): RunState {
  const undone = (t: RunState['tasks'][number]): boolean => t.id.endsWith('.compensate') && t.error?.code === 'NOT_COMPENSATED';
  const failed = state.tasks.filter((t) => t.status !== 'SUCCEEDED' && !undone(t)).map((t) => `${t.id}: ${t.status} ${t.error?.message ?? ''}`);
  expect(failed, 'every task succeeded').toEqual([]);
  expect(state.status).toBe('SUCCEEDED');
  return state;
}

/** Waits for the run's gate to wait, approves it as someone holding `role`, then waits for the end. */
async function approveAndFinish(runId: string, gate: string, role: string): Promise<RunState> {
  await waitForState(engine, runId, (s) => task(s, gate).status === 'WAITING');
  await engine.approve(runId, { taskId: gate, decision: 'approve', approver: `${role}-on-duty`, roles: [role] });
  return engine.wait(runId);
}

const API_TOKENS = { admin: 'admin-token-0123456789', sre: 'sre-token-0123456789', lead: 'lead-token-0123456789', engineer: 'engineer-token-0123456789' } as const;

/**
 * The HTTP API on the engine's task queue (its worker runs what the API starts), with an admin,
 * an on-call SRE, a data lead and a data engineer, all in the namespace the worker allow-lists loopback for.
 */
async function startRunbookApi(): Promise<{
  call(token: keyof typeof API_TOKENS, method: string, path: string, body: { json?: unknown; yaml?: string }): Promise<{ status: number; body: any }>; // eslint-disable-line @typescript-eslint/no-explicit-any -- tests read fields freely
  stop(): Promise<void>;
}> {
  const dataDir = await mkdtemp(join(tmpdir(), 'maestro-runbook-api-'));
  // The engine's worker checks approvals against its dev approval key: the API signs with that one.
  const approvalKey = defaultApprovalKeyFile({ dataDir: engine.artifactDir });
  const config = extendConfig(loadConfig({}), { temporalAddress: engine.address, taskQueue: engine.taskQueue, dataDir, approvalKey });
  const entry = (name: string, token: string, roles: string[]) => ({ name, token, roles, namespaces: ['default'] });
  const authenticator = createAuthenticator([
    tokenEntriesVerifier([entry('admin', API_TOKENS.admin, ['admin']), entry('sre', API_TOKENS.sre, ['sre', 'sre-oncall']), entry('lead', API_TOKENS.lead, ['data-lead']), entry('engineer', API_TOKENS.engineer, ['data-engineer'])]),
  ]);
  const running = await startApi(config, { port: 0, authenticator, pdp: false, payloadCodec: engine.payloadCodec });
  return {
    async call(token, method, path, { json, yaml }) {
      const res = await fetch(`${running.url}${path}`, {
        method,
        headers: { authorization: `Bearer ${API_TOKENS[token]}`, 'content-type': yaml === undefined ? 'application/json' : 'application/yaml' },
        body: yaml ?? JSON.stringify(json),
      });
      return { status: res.status, body: await res.json() };
    },
    async stop() {
      await running.stop();
      await rm(dataDir, { recursive: true, force: true });
    },
  };
}

describe('reference runbooks', () => {
  it('dev-bootstrap creates the tables, the bucket marker, and announces the namespace', async () => {
    const ready = await listen('maestro.namespaces.ready');
    const state = succeeded(await engine.wait(await triggerRunbook(engine, 'dev-bootstrap', { s3Endpoint: s3.endpoint, natsUrl: nats.url })));
    const tables = await sql.query("SELECT table_name FROM information_schema.tables WHERE table_schema = 'public' ORDER BY table_name");
    expect(tables.rows.map((r: { table_name: string }) => r.table_name)).toEqual(['deployments', 'disclosures', 'drills', 'entities']);
    expect(JSON.parse(await object('maestro-dev', 'bootstrap/dev.json'))).toEqual({ namespace: 'dev', bootstrappedBy: 'maestro' });
    expect(await ready.received()).toEqual([{ namespace: 'dev', marker: 'bootstrap/dev.json' }]);
    expect(slack.messages.map((m) => m['text'])).toContain('Bootstrapping namespace dev...');
    expect(task(state, 'settle').status).toBe('SUCCEEDED');
  });

  it('demo-seed loads the dataset from the bucket and ingests it into SIG', async () => {
    await bucketClient.send(new PutObjectCommand({ Bucket: 'demo-datasets', Key: 'people.json', Body: JSON.stringify([{ id: 1, name: 'Ada' }, { id: 2, name: 'Grace' }]) }));
    const state = succeeded(await engine.wait(await triggerRunbook(engine, 'demo-seed', { dataset: 'people.json', s3Endpoint: s3.endpoint })));
    expect(sig.items.get('demo-1')).toEqual({ id: 1, name: 'Ada', source: 'demo-seed' });
    expect(sig.items.get('demo-2')).toEqual({ id: 2, name: 'Grace', source: 'demo-seed' });
    expect(task(state, 'ingest').outputs).toMatchObject({ items: 2, batches: 1 });
    expect(loadRunbook('demo-seed').runbook.metadata.approvals).toMatchObject({ required: true, approvers: ['product-lead'] });
  });

  const records = [
    { id: 'e-1', name: '  Ada Lovelace ', updated: '2025-01-02T00:00:00Z' },
    { id: 'e-2', name: 'Grace Hopper', updated: '2025-03-04T00:00:00Z' },
  ];

  it('ingest-enrich-handoff hands enriched rows to SIG, keeps receipts, archives and announces on Kafka', async () => {
    await bucketClient.send(new PutObjectCommand({ Bucket: 'raw-records', Key: 'raw.json', Body: JSON.stringify(records) }));
    const state = succeeded(
      await engine.wait(await triggerRunbook(engine, 'ingest-enrich-handoff', { source_bucket: 'raw-records', s3Endpoint: s3.endpoint, brokers: kafka.brokers })),
    );
    expect(sig.items.get('e-1')).toEqual({ name: 'Ada Lovelace', normalized: 'ada lovelace', source: 's3', updated: '2025-01-02T00:00:00Z' });
    const rows = await sql.query("SELECT id, payload->>'normalized' AS normalized, receipt FROM entities WHERE id LIKE 'e-%' ORDER BY id");
    expect(rows.rows).toEqual([
      { id: 'e-1', normalized: 'ada lovelace', receipt: expect.stringMatching(/^sha256:[0-9a-f]{64}$/) },
      { id: 'e-2', normalized: 'grace hopper', receipt: expect.stringMatching(/^sha256:[0-9a-f]{64}$/) },
    ]);
    expect(JSON.parse(await object('raw-records', 'curated/raw.json'))).toHaveLength(2);
    const [announced] = await readKafkaTopic(kafka.brokers, 'ingest.completed', 1);
    expect(announced?.key).toBe('raw.json');
    expect(JSON.parse(announced?.value ?? '{}')).toMatchObject({ source: 's3://raw-records/raw.json', curated: 'curated/raw.json', items: 2 });
    expect(task(state, 'handoff').outputs).toMatchObject({ items: 2 });
  });

  it('backfill-entity-resolver, triggered through the API with since/until, resolves only the records updated in the window', async () => {
    const { runbook, workflowYaml } = loadRunbook('backfill-entity-resolver');
    expect(runbook.metadata.approvals).toMatchObject({ minApprovals: 2 });
    const backfill = [
      { id: 'b-0', name: 'Before Window', updated: '2024-12-31T23:59:59Z' },
      { id: 'b-1', name: ' Katherine Johnson', updated: '2025-01-01T00:00:00Z' },
      { id: 'b-2', name: 'Dorothy Vaughan', updated: '2025-01-15T12:00:00Z' },
      { id: 'b-3', name: 'At Until', updated: '2025-02-01T00:00:00Z' },
    ];
    await bucketClient.send(new PutObjectCommand({ Bucket: 'raw-records', Key: 'backfill.json', Body: JSON.stringify(backfill) }));
    const api = await startRunbookApi();
    try {
      expect((await api.call('admin', 'POST', '/workflows', { yaml: workflowYaml })).status).toBe(201);
      expect((await api.call('admin', 'POST', '/runbooks', { yaml: await readFile(join(import.meta.dirname, '..', 'runbooks', 'backfill-entity-resolver.yaml'), 'utf8') })).status).toBe(201);
      const inputs = { since: '2025-01-01T00:00:00Z', until: '2025-02-01T00:00:00Z', source_bucket: 'raw-records', s3Endpoint: s3.endpoint, brokers: kafka.brokers };
      // Triggered by an engineer, approved by two others: whoever starts a run may not approve it.
      const trigger = (dryRun?: boolean) => api.call('engineer', 'POST', '/runbooks/trigger', { json: { runbook: 'backfill-entity-resolver@1.0.0', inputs, ...(dryRun === undefined ? {} : { dryRun }) } });

      const plan = await trigger();
      expect(plan.status, JSON.stringify(plan.body)).toBe(200);
      expect(plan.body).toMatchObject({ dryRun: true, workflowRef: 'backfill-entity-resolver@1.0.0' });
      expect(plan.body.params).toEqual({ since: inputs.since, until: inputs.until, bucket: 'raw-records', key: 'backfill.json', s3Endpoint: s3.endpoint, brokers: kafka.brokers });

      const started = await trigger(false);
      expect(started.status, JSON.stringify(started.body)).toBe(201);
      const runId = started.body.runId as string;
      await waitForState(engine, runId, (state) => task(state, 'runbook-approval').status === 'WAITING');
      for (const approver of ['sre', 'lead'] as const) {
        const approved = await api.call(approver, 'POST', `/runs/${runId}/approvals`, { json: { taskId: 'runbook-approval', decision: 'approve' } });
        expect(approved.status, JSON.stringify(approved.body)).toBe(200);
      }
      const state = succeeded(await engine.wait(runId));
      expect((task(state, 'window').outputs as { rows: { id: string }[] }).rows.map((row) => row.id)).toEqual(['b-1', 'b-2']);
    } finally {
      await api.stop();
    }
    const rows = await sql.query("SELECT id, namespace, payload->>'normalized' AS normalized FROM entities WHERE id LIKE 'b-%' ORDER BY id");
    expect(rows.rows).toEqual([
      { id: 'b-1', namespace: 'backfill', normalized: 'katherine johnson' },
      { id: 'b-2', namespace: 'backfill', normalized: 'dorothy vaughan' },
    ]);
    expect(['b-0', 'b-1', 'b-2', 'b-3'].filter((id) => sig.items.has(id))).toEqual(['b-1', 'b-2']);
    expect(JSON.parse(await object('raw-records', 'curated/backfill/backfill.json')).map((row: { id: string }) => row.id)).toEqual(['b-1', 'b-2']);
  });

  it('chaos-drill waits for the on-call, injects the fault, sees recovery and records the drill', async () => {
    const runId = await triggerRunbook(engine, 'chaos-drill', { target: deployApi.url });
    const waiting = await waitForState(engine, runId, (s) => task(s, 'approve').status === 'WAITING');
    expect(deployApi.calls.filter((c) => c.path.startsWith('/chaos'))).toEqual([]);
    expect(task(waiting, 'inject').status).toBe('PENDING');
    const state = succeeded(await approveAndFinish(runId, 'approve', 'sre-oncall'));
    expect(deployApi.calls.filter((c) => c.path === '/chaos/error-burst')).toEqual([{ method: 'POST', path: '/chaos/error-burst', body: { approvedBy: 'sre-oncall-on-duty' } }]);
    expect(task(state, 'recover').attempts).toBe(3);
    const drills = await sql.query('SELECT target, fault, recovered FROM drills');
    expect(drills.rows).toEqual([{ target: deployApi.url, fault: 'error-burst', recovered: true }]);
    expect(slack.messages.at(-1)?.['text']).toMatch(/^Chaos drill on .* done: healthy again \(status 200\), drill #1$/);
    // The fault is removed in `finally`, once the drill is over.
    expect(task(state, 'restore')).toMatchObject({ status: 'SUCCEEDED', outputs: { body: { restored: true } } });
    expect(deployApi.calls.filter((c) => c.path === '/chaos').at(-1)).toEqual({ method: 'DELETE', path: '/chaos', body: { reason: 'drill ended SUCCEEDED' } });
  });

  it('chaos-drill still removes the fault when the on-call rejects it: finally runs, the run fails', async () => {
    const before = deployApi.calls.length;
    const runId = await triggerRunbook(engine, 'chaos-drill', { target: deployApi.url, fault: 'latency' });
    await waitForState(engine, runId, (s) => task(s, 'approve').status === 'WAITING');
    await engine.approve(runId, { taskId: 'approve', decision: 'reject', approver: 'oncall', roles: ['sre-oncall'], comment: 'not now' });
    const state = await engine.wait(runId);
    expect(state.status).toBe('FAILED');
    expect(task(state, 'inject').status).toBe('SKIPPED');
    expect(task(state, 'restore').status).toBe('SUCCEEDED');
    expect(deployApi.calls.slice(before).filter((c) => c.path.startsWith('/chaos'))).toEqual([{ method: 'DELETE', path: '/chaos', body: { reason: 'drill ended FAILED' } }]);
  });

  it('disclosure-packager zips the case files with a manifest and records the bundle', async () => {
    await mkdir(join(files, 'cases', 'c-7'), { recursive: true });
    await writeFile(join(files, 'cases', 'c-7', 'report.txt'), 'findings');
    await writeFile(join(files, 'cases', 'c-7', 'evidence.json'), '{"exhibit":1}');
    const state = succeeded(
      await engine.wait(await triggerRunbook(engine, 'disclosure-packager', { caseId: 'c-7', files: ['cases/c-7/report.txt', 'cases/c-7/evidence.json'] })),
    );
    const output = task(state, 'package').outputs as { bundle: string; sha256: string; manifest: { path: string }[] };
    expect(output.bundle).toBe(join(files, 'bundles', 'c-7.zip'));
    expect((await readFile(output.bundle)).subarray(0, 2).toString()).toBe('PK');
    expect(output.manifest.map((m) => m.path)).toEqual(['files/cases/c-7/evidence.json', 'files/cases/c-7/report.txt']);
    const recorded = await sql.query("SELECT bundle_sha256, jsonb_array_length(files->'manifest') AS n FROM disclosures WHERE case_id = 'c-7'");
    expect(recorded.rows).toEqual([{ bundle_sha256: output.sha256, n: 2 }]);
  });

  it('deploy-promote promotes only after the release manager approves, then records and announces', async () => {
    const runId = await triggerRunbook(engine, 'deploy-promote', { service: 'api', from: 'staging', to: 'prod', deployApi: deployApi.url, brokers: kafka.brokers });
    await waitForState(engine, runId, (s) => task(s, 'gate').status === 'WAITING');
    expect(deployApi.calls.filter((c) => c.path === '/promote')).toEqual([]);
    const state = succeeded(await approveAndFinish(runId, 'gate', 'release-manager'));
    expect(task(state, 'gate').outputs).toMatchObject({ approved: true, approvals: [{ approver: 'release-manager-on-duty' }] });
    expect(deployApi.calls.filter((c) => c.path === '/promote')).toEqual([{ method: 'POST', path: '/promote', body: { service: 'api', from: 'staging', to: 'prod' } }]);
    const rows = await sql.query("SELECT service, from_env, to_env, action FROM deployments WHERE action = 'promote'");
    expect(rows.rows).toEqual([{ service: 'api', from_env: 'staging', to_env: 'prod', action: 'promote' }]);
    const [event] = await readKafkaTopic(kafka.brokers, 'deployments', 1);
    expect(JSON.parse(event?.value ?? '{}')).toEqual({ action: 'promote', service: 'api', from: 'staging', to: 'prod' });
    expect(slack.messages.map((m) => m['text'])).toContain('Promoted api from staging to prod');
    expect(task(state, 'promote.compensate')).toMatchObject({ status: 'SKIPPED', error: { code: 'NOT_COMPENSATED' } });
    expect(deployApi.calls.filter((c) => c.path === '/rollback')).toEqual([]);
  });

  it('deploy-promote rolls back when the promoted service never comes up healthy', async () => {
    const runId = await triggerRunbook(engine, 'deploy-promote', { service: 'db', from: 'staging', to: 'prod', deployApi: deployApi.url, brokers: kafka.brokers });
    await waitForState(engine, runId, (s) => task(s, 'gate').status === 'WAITING');
    deployApi.unhealthyFor(5);
    const state = await approveAndFinish(runId, 'gate', 'release-manager');
    expect(state.status).toBe('FAILED');
    expect(task(state, 'health')).toMatchObject({ status: 'FAILED', attempts: 5 });
    expect(task(state, 'record').status).toBe('SKIPPED');
    expect(task(state, 'promote.compensate').status).toBe('SUCCEEDED');
    const promoted = (task(state, 'promote').outputs as { body: { deploymentId: string } }).body.deploymentId;
    expect(deployApi.calls.filter((c) => c.path === '/rollback' && (c.body as { service?: string }).service === 'db')).toEqual([
      { method: 'POST', path: '/rollback', body: { service: 'db', to: 'staging', deploymentId: promoted } },
    ]);
    const rows = await sql.query("SELECT service FROM deployments WHERE service = 'db'");
    expect(rows.rows).toEqual([]);
  });

  it('deploy-promote does not promote when the release manager rejects', async () => {
    const runId = await triggerRunbook(engine, 'deploy-promote', { service: 'web', from: 'staging', to: 'prod', deployApi: deployApi.url, brokers: kafka.brokers });
    await waitForState(engine, runId, (s) => task(s, 'gate').status === 'WAITING');
    await engine.approve(runId, { taskId: 'gate', decision: 'reject', approver: 'rm', roles: ['release-manager'], comment: 'not today' });
    const state = await engine.wait(runId);
    expect(state.status).toBe('FAILED');
    expect(task(state, 'promote').status).toBe('SKIPPED');
    expect(deployApi.calls.filter((c) => c.path === '/promote' && (c.body as { service?: string }).service === 'web')).toEqual([]);
  });

  it('rollback calls the deploy API, records the rollback and publishes the event', async () => {
    const events = await listen('deployments.rollback');
    succeeded(await engine.wait(await triggerRunbook(engine, 'rollback', { service: 'api', to: '1.4.2', deployApi: deployApi.url, natsUrl: nats.url })));
    expect(deployApi.calls.filter((c) => c.path === '/rollback' && (c.body as { service?: string }).service === 'api')).toEqual([{ method: 'POST', path: '/rollback', body: { service: 'api', to: '1.4.2' } }]);
    const rows = await sql.query("SELECT service, to_env FROM deployments WHERE action = 'rollback'");
    expect(rows.rows).toEqual([{ service: 'api', to_env: '1.4.2' }]);
    expect(await events.received()).toEqual([{ service: 'api', to: '1.4.2' }]);
    expect(slack.messages.map((m) => m['text'])).toContain('Rolling back api to 1.4.2');
  });

  it('rollback goes on when Slack refuses the notice: the run succeeds with the notice FAILED', async () => {
    const events = await listen('deployments.rollback');
    slack.failNext(1, 404);
    const state = await engine.wait(await triggerRunbook(engine, 'rollback', { service: 'web', to: '2.0.1', deployApi: deployApi.url, natsUrl: nats.url }));
    expect(state.status).toBe('SUCCEEDED');
    expect(task(state, 'notify')).toMatchObject({ status: 'FAILED', error: { message: expect.stringContaining('404') } });
    expect(['rollback', 'record', 'event'].map((id) => task(state, id).status)).toEqual(['SUCCEEDED', 'SUCCEEDED', 'SUCCEEDED']);
    expect(deployApi.calls.filter((c) => c.path === '/rollback' && (c.body as { service?: string }).service === 'web')).toEqual([{ method: 'POST', path: '/rollback', body: { service: 'web', to: '2.0.1' } }]);
    const rows = await sql.query("SELECT to_env FROM deployments WHERE action = 'rollback' AND service = 'web'");
    expect(rows.rows).toEqual([{ to_env: '2.0.1' }]);
    expect(await events.received()).toEqual([{ service: 'web', to: '2.0.1' }]);
    expect(slack.messages.map((m) => m['text'])).not.toContain('Rolling back web to 2.0.1');
  });
});
