/**
 * Webhook triggers against the real API, worker and Temporal: `/triggers` (namespaces, roles,
 * create-or-replace, YAML) and `POST /hooks/{namespace}/{name}` the way a sender — or an attacker
 * without the secret — would call it.
 */
import { randomUUID } from 'node:crypto';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runInput } from '../../src/runs/index.js';
import { hmacSha256Hex, standardWebhookSignature } from '../../src/triggers/index.js';
import { inNamespace, manifest, startHarness, type ApiResponse, type Harness } from './harness.js';

const SECRET = `hook-secret-${randomUUID()}`;
const AM_TOKEN = `am-token-${randomUUID()}`;
/** Operator and allow-listed for the runbook: the principal the triggers act for. */
const SRE_OPERATOR = { name: 'sre-operator', token: 'sre-operator-token-0123456789', roles: ['operator', 'sre'], namespaces: ['*'] };

let h: Harness;
let runbook: string;

const runbookYaml = (name: string, version: string, workflowRef: string, roles: string[]) => `apiVersion: maestro/v1
kind: Runbook
metadata:
  name: ${name}
  namespace: ${h.namespace}
  version: ${version}
  allowList: { roles: [${roles.join(', ')}] }
spec:
  inputs:
    - { name: service, type: string, required: true }
  workflowRef: ${workflowRef}
`;

/** Sends `body` (JSON text) to a hook, signed with `secret` unless `signature` says otherwise. */
async function deliver(name: string, body: string, options: { secret?: string; signature?: string | null; headers?: Record<string, string> } = {}): Promise<ApiResponse> {
  const signature = options.signature === undefined ? `sha256=${hmacSha256Hex(options.secret ?? SECRET, Buffer.from(body))}` : options.signature;
  const res = await fetch(`${h.api.url}/hooks/${h.namespace}/${name}`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', ...(signature === null ? {} : { 'x-hub-signature-256': signature, 'x-maestro-signature': signature }), ...options.headers },
    body,
  });
  const text = await res.text();
  const type = (res.headers.get('content-type') ?? '').split(';')[0] ?? '';
  return { status: res.status, type, headers: res.headers, text, body: type.endsWith('json') ? JSON.parse(text) : text };
}

const createTrigger = (json: Record<string, unknown>, as: { bearer: string } | { token: 'admin' | 'operator' | 'outsider' | 'viewer' } = { bearer: SRE_OPERATOR.token }) =>
  h.call('POST', '/triggers', { ...as, json: { namespace: h.namespace, runbook, ...json } });

/** The trigger records of the audit log for one trigger, oldest first. */
async function auditOf(name: string): Promise<{ result: string; runId?: string; reasons: string[]; details: Record<string, unknown> }[]> {
  const records = await h.auditLog.list({ kind: 'trigger', limit: 1000 });
  return records.filter((r) => r.namespace === h.namespace && r.details?.trigger === name) as never;
}

beforeAll(async () => {
  process.env.MAESTRO_SECRET_HOOK_KEY = SECRET;
  process.env.MAESTRO_SECRET_AM_TOKEN = AM_TOKEN;
  process.env.MAESTRO_SECRET_ALERTMANAGER_TOKEN = AM_TOKEN;
  h = await startHarness({
    tokens: [SRE_OPERATOR],
    config: (namespace) => ({ secrets: { 'hook-key': { namespaces: [namespace] }, 'am-token': { namespaces: [namespace] }, 'alertmanager-token': { namespaces: [namespace] } } }),
  });
  const target = await h.register(
    manifest('    - { id: nap, uses: tasks/wait.sleep@0.1.0, with: { duration: 1ms } }', { name: `hooked-${h.namespace}`, parameters: '    - { name: service, type: string, required: true }' }),
  );
  runbook = `rb-${h.namespace}`;
  expect((await h.call('POST', '/runbooks', { yaml: runbookYaml(runbook, '1.0.0', `${target.name}@${target.version}`, ['sre']) })).status).toBe(201);
});
afterAll(async () => {
  await h.close();
  delete process.env.MAESTRO_SECRET_HOOK_KEY;
  delete process.env.MAESTRO_SECRET_AM_TOKEN;
  delete process.env.MAESTRO_SECRET_ALERTMANAGER_TOKEN;
});

describe('POST /hooks/{namespace}/{name} (GitHub-style X-Hub-Signature-256 push)', () => {
  const push = (ref: string, delivery: string) => ({ body: JSON.stringify({ ref, repository: { name: 'api' }, head_commit: { id: delivery } }), headers: { 'x-github-delivery': delivery } });

  beforeAll(async () => {
    const res = await createTrigger({
      name: 'github-push',
      auth: { secret: 'hook-key', header: 'X-Hub-Signature-256' },
      filter: "body.ref == 'refs/heads/main'",
      inputs: { service: 'body.repository.name' },
      dedupKey: "headers['x-github-delivery']",
    });
    expect(res.status, res.text).toBe(201);
    expect(res.body).toMatchObject({ outcome: 'created', trigger: { kind: 'webhook', hookPath: `/hooks/${h.namespace}/github-push`, actsAs: { subject: 'sre-operator' } } });
  });

  it('a good signature starts one run; a replay of the same delivery starts none and returns the first run', async () => {
    const delivery = push('refs/heads/main', randomUUID());
    const first = await deliver('github-push', delivery.body, { headers: delivery.headers });
    expect(first.status, first.text).toBe(202);
    expect(first.body).toMatchObject({ outcome: 'started', runIds: [expect.any(String)] });
    const [runId] = first.body.runIds as string[];
    const run = await h.waitRun(runId as string, (r) => r.status === 'SUCCEEDED');
    expect(run.startedBy).toBe(`trigger:${h.namespace}/github-push`);
    expect(run.params).toEqual({ service: 'api' });
    const replay = await deliver('github-push', delivery.body, { headers: delivery.headers });
    expect(replay.status).toBe(202);
    expect(replay.body).toMatchObject({ outcome: 'duplicate', runIds: [runId] });
    const trigger = await h.call('GET', `/triggers/github-push?namespace=${h.namespace}`);
    expect(trigger.body.recentRuns.filter((r: { runId: string }) => r.runId === runId).length).toBeGreaterThanOrEqual(1);
    expect((await auditOf('github-push')).filter((r) => r.result === 'fire' && r.runId === runId)).toHaveLength(1);
  });

  it('a caller\'s traceparent parents the runs it starts, even when the API itself does not trace', async () => {
    const traceparent = '00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01';
    const delivery = push('refs/heads/main', randomUUID());
    const fired = await deliver('github-push', delivery.body, { headers: { ...delivery.headers, traceparent } });
    const [runId] = fired.body.runIds as string[];
    // The run carries the caller's trace, and its span (emitted by the worker) is the caller's span's child.
    const input = await runInput(h.client, runId as string);
    expect([input.traceId, input.traceParent]).toEqual(['4bf92f3577b34da6a3ce929d0e0e4736', traceparent]);
  });

  it('a bad or missing signature is 401 problem+json, audited without the body, and starts nothing', async () => {
    const delivery = push('refs/heads/main', randomUUID());
    const before = (await h.call('GET', `/triggers/github-push?namespace=${h.namespace}`)).body.recentRuns.length;
    const forged = await deliver('github-push', delivery.body, { secret: 'guessed', headers: delivery.headers });
    const missing = await deliver('github-push', delivery.body, { signature: null, headers: delivery.headers });
    const tampered = await deliver('github-push', delivery.body.replace('api', 'evil'), { signature: `sha256=${hmacSha256Hex(SECRET, Buffer.from(delivery.body))}` });
    const unknown = await fetch(`${h.api.url}/hooks/${h.namespace}/no-such-trigger`, { method: 'POST', body: '{}' });
    for (const res of [forged, missing, tampered]) {
      expect(res.status).toBe(401);
      expect(res.type).toBe('application/problem+json');
      expect(res.body.code).toBe('SIGNATURE_INVALID');
    }
    expect(unknown.status).toBe(401);
    expect((await h.call('GET', `/triggers/github-push?namespace=${h.namespace}`)).body.recentRuns).toHaveLength(before);
    const refused = (await auditOf('github-push')).filter((r) => r.result === 'refused' && r.details.code === 'SIGNATURE_INVALID');
    expect(refused.length).toBeGreaterThanOrEqual(3);
    expect(JSON.stringify(refused)).not.toContain('refs/heads/main');
  });

  it('a payload the filter refuses is 202 ignored and starts nothing', async () => {
    const delivery = push('refs/heads/feature', randomUUID());
    const res = await deliver('github-push', delivery.body, { headers: delivery.headers });
    expect(res.status).toBe(202);
    expect(res.body).toMatchObject({ outcome: 'ignored', runIds: [] });
  });

  it('concurrent identical deliveries start one run', async () => {
    const delivery = push('refs/heads/main', randomUUID());
    const answers = await Promise.all(Array.from({ length: 8 }, () => deliver('github-push', delivery.body, { headers: delivery.headers })));
    expect(answers.map((a) => a.status)).toEqual(Array(8).fill(202));
    const runIds = new Set(answers.flatMap((a) => a.body.runIds as string[]));
    expect(runIds.size).toBe(1);
    expect(answers.filter((a) => a.body.outcome === 'started')).toHaveLength(1);
  });

  it('a delivery whose key a crashed delivery claimed (no run started) starts that run under the claimed id, once', async () => {
    const delivery = push('refs/heads/main', randomUUID());
    // What a process killed between claiming the key and starting the run leaves behind.
    const orphan = `run-${randomUUID()}`;
    const now = new Date();
    await h.store.claimTriggerKey({ namespace: h.namespace, trigger: 'github-push', key: delivery.headers['x-github-delivery'], runId: orphan, now: now.toISOString(), expiresAt: new Date(now.getTime() + 60_000).toISOString() });
    const redelivered = await deliver('github-push', delivery.body, { headers: delivery.headers });
    expect(redelivered.status, redelivered.text).toBe(202);
    expect(redelivered.body.runIds).toEqual([orphan]);
    await h.waitRun(orphan, (r) => r.status === 'SUCCEEDED');
    expect((await deliver('github-push', delivery.body, { headers: delivery.headers })).body).toMatchObject({ outcome: 'duplicate', runIds: [orphan] });
  });

  it('refuses a 10 MB body with 413 and a deeply nested one with 400 before starting anything', async () => {
    const big = JSON.stringify({ ref: 'refs/heads/main', pad: 'x'.repeat(10 * 1024 * 1024) });
    const tooLarge = await deliver('github-push', big);
    expect(tooLarge.status).toBe(413);
    expect(tooLarge.body.code).toBe('PAYLOAD_TOO_LARGE');
    const deep = `${'['.repeat(100)}${']'.repeat(100)}`;
    const tooDeep = await deliver('github-push', deep);
    expect(tooDeep.status).toBe(400);
  });
});

describe('POST /hooks/{namespace}/{name} (Standard Webhooks: id and time signed with the body)', () => {
  /** A Standard Webhooks delivery signed at `seconds` (default now). */
  const signed = (body: string, id: string, seconds = Math.floor(Date.now() / 1000)) => ({
    signature: null,
    headers: { 'webhook-id': id, 'webhook-timestamp': String(seconds), 'webhook-signature': standardWebhookSignature(SECRET, id, seconds, Buffer.from(body)) },
  });

  beforeAll(async () => {
    const res = await createTrigger({ name: 'std-hooks', auth: { secret: 'hook-key', scheme: 'standard-webhooks' }, inputs: { service: 'body.service' } });
    expect(res.status, res.text).toBe(201);
    expect(res.body.trigger.auth).toEqual({ secret: 'hook-key', scheme: 'standard-webhooks', header: 'webhook-signature', prefix: '' });
  });

  it('starts one run; the same delivery sent again (within the 5 minutes) is a duplicate without any dedupKey', async () => {
    const body = JSON.stringify({ service: 'api' });
    const delivery = signed(body, `msg_${randomUUID()}`);
    const first = await deliver('std-hooks', body, delivery);
    expect(first.status, first.text).toBe(202);
    expect(first.body).toMatchObject({ outcome: 'started', runIds: [expect.any(String)] });
    const replay = await deliver('std-hooks', body, delivery);
    expect(replay.body).toMatchObject({ outcome: 'duplicate', runIds: first.body.runIds });
  });

  it('a captured delivery sent again after the tolerance is 401 and audited; a re-signed id or body is 401', async () => {
    const body = JSON.stringify({ service: 'api' });
    const id = `msg_${randomUUID()}`;
    const stale = await deliver('std-hooks', body, signed(body, id, Math.floor(Date.now() / 1000) - 600));
    expect(stale.status).toBe(401);
    expect(stale.type).toBe('application/problem+json');
    const moved = signed(body, id);
    const tampered = await deliver('std-hooks', body.replace('api', 'evil'), moved);
    const otherId = await deliver('std-hooks', body, { ...moved, headers: { ...moved.headers, 'webhook-id': `msg_${randomUUID()}` } });
    expect([tampered.status, otherId.status]).toEqual([401, 401]);
    const refusals = (await auditOf('std-hooks')).filter((r) => r.result === 'refused');
    expect(refusals.map((r) => r.reasons[0])).toEqual(expect.arrayContaining([expect.stringContaining("from the server's clock"), 'missing or invalid signature']));
    expect((await h.call('GET', `/triggers/std-hooks?namespace=${h.namespace}`)).body.recentRuns.every((r: { params?: unknown }) => JSON.stringify(r).indexOf('evil') < 0)).toBe(true);
  });

  it('refuses header or prefix beside standard-webhooks at registration', async () => {
    const res = await createTrigger({ name: 'std-hooks-bad', auth: { secret: 'hook-key', scheme: 'standard-webhooks', header: 'X-Signature' } });
    expect(res.status).toBe(400);
    expect(res.text).toContain('header and prefix do not apply to standard-webhooks');
  });
});

describe('an Alertmanager webhook (token auth, one run per firing alert)', () => {
  const alert = (status: string, fingerprint: string, service: string) => ({ status, labels: { alertname: 'HighErrorRate', service }, fingerprint });

  beforeAll(async () => {
    const res = await createTrigger({
      name: 'alertmanager',
      auth: { secret: 'am-token', scheme: 'token' },
      items: 'body.alerts',
      filter: "item.status == 'firing'",
      inputs: { service: 'item.labels.service' },
      dedupKey: 'item.fingerprint',
    });
    expect(res.status, res.text).toBe(201);
  });

  it('starts two runs for two firing alerts and ignores the resolved one; the same alerts again start none', async () => {
    const payload = JSON.stringify({
      version: '4',
      status: 'firing',
      receiver: 'maestro',
      alerts: [alert('firing', `fp-${randomUUID()}`, 'api'), alert('resolved', `fp-${randomUUID()}`, 'db'), alert('firing', `fp-${randomUUID()}`, 'web')],
    });
    const res = await deliver('alertmanager', payload, { signature: null, headers: { authorization: `Bearer ${AM_TOKEN}` } });
    expect(res.status, res.text).toBe(202);
    expect(res.body.outcome).toBe('started');
    expect(res.body.items.map((i: { outcome: string }) => i.outcome)).toEqual(['started', 'ignored', 'started']);
    expect(res.body.runIds).toHaveLength(2);
    const runs = await Promise.all((res.body.runIds as string[]).map((runId) => h.waitRun(runId, (r) => r.status === 'SUCCEEDED')));
    expect(runs.map((r) => r.params.service)).toEqual(['api', 'web']);
    const again = await deliver('alertmanager', payload, { signature: null, headers: { authorization: `Bearer ${AM_TOKEN}` } });
    expect(again.body).toMatchObject({ outcome: 'duplicate', runIds: res.body.runIds });
    const wrong = await deliver('alertmanager', payload, { signature: null, headers: { authorization: 'Bearer not-the-token' } });
    expect(wrong.status).toBe(401);
  });
});

describe('runbooks/triggers/rollback-on-alert.yaml (the documented Alertmanager adapter)', () => {
  it('registered as shipped, starts the rollback runbook once per firing alert and ignores the resolved one', async () => {
    await h.register(await readFile('runbooks/workflows/rollback.yaml', 'utf8'));
    expect([200, 201]).toContain((await h.call('POST', '/runbooks', { yaml: inNamespace(await readFile('runbooks/rollback.yaml', 'utf8'), h.namespace) })).status);
    const trigger = await h.call('PUT', '/triggers/rollback-on-alert', { bearer: SRE_OPERATOR.token, yaml: inNamespace(await readFile('runbooks/triggers/rollback-on-alert.yaml', 'utf8'), h.namespace) });
    expect(trigger.status, trigger.text).toBe(201);
    const startsAt = new Date().toISOString();
    const alert = (status: string, service: string, to: string) => ({
      status,
      labels: { alertname: 'ApiErrorBudgetBurn', service, severity: 'page' },
      annotations: { rollback_to: to },
      startsAt,
      endsAt: '0001-01-01T00:00:00Z',
      fingerprint: randomUUID().slice(0, 16),
    });
    // Alertmanager's webhook payload (version 4), as its receiver sends it.
    const payload = JSON.stringify({
      version: '4',
      groupKey: '{}:{alertname="ApiErrorBudgetBurn"}',
      status: 'firing',
      receiver: 'maestro-rollback',
      groupLabels: { alertname: 'ApiErrorBudgetBurn' },
      commonLabels: { alertname: 'ApiErrorBudgetBurn' },
      externalURL: 'http://alertmanager:9093',
      alerts: [alert('firing', 'api', '1.4.2'), alert('resolved', 'db', '2.0.0'), alert('firing', 'web', '3.1.0')],
    });
    const res = await deliver('rollback-on-alert', payload, { signature: null, headers: { authorization: `Bearer ${AM_TOKEN}` } });
    expect(res.status, res.text).toBe(202);
    expect(res.body.items.map((i: { outcome: string }) => i.outcome)).toEqual(['started', 'ignored', 'started']);
    for (const [index, runId] of (res.body.runIds as string[]).entries()) {
      const run = await h.waitRun(runId, () => true);
      expect(run.startedBy).toBe(`trigger:${h.namespace}/rollback-on-alert`);
      expect(run.params).toEqual({ service: ['api', 'web'][index], to: ['1.4.2', '3.1.0'][index], deployApi: 'http://deploy-api.internal:8080', natsUrl: 'nats://nats.internal:4222' });
      // The deploy API of the example does not exist here: what the adapter starts is what is checked.
      await h.call('POST', `/runs/${runId}/cancel`, { json: { reason: 'test over' } });
    }
  });
});

describe('/triggers', () => {
  it('creates once (409 TRIGGER_EXISTS after), and PUT creates, replaces or reports unchanged, from JSON or YAML', async () => {
    const body = { name: 'gitops', auth: { secret: 'hook-key' }, inputs: { service: 'body.service' } };
    expect((await createTrigger(body)).status).toBe(201);
    const again = await createTrigger(body);
    expect(again.status).toBe(409);
    expect(again.body.code).toBe('TRIGGER_EXISTS');
    const put = (json: Record<string, unknown>) => h.call('PUT', `/triggers/gitops?namespace=${h.namespace}`, { bearer: SRE_OPERATOR.token, json: { runbook, ...json } });
    expect((await put({ auth: { secret: 'hook-key' }, inputs: { service: 'body.service' } })).body.outcome).toBe('unchanged');
    // Defaults written out are the same definition.
    expect((await put({ auth: { secret: 'hook-key', scheme: 'hmac-sha256' }, inputs: { service: 'body.service' }, dedupWindow: '24h' })).body.outcome).toBe('unchanged');
    const changed = await put({ auth: { secret: 'hook-key' }, inputs: { service: "'fixed'" } });
    expect([changed.status, changed.body.outcome]).toEqual([200, 'updated']);
    const yaml = `apiVersion: maestro/v1
kind: Trigger
metadata: { name: from-yaml, namespace: ${h.namespace} }
spec:
  runbook: ${runbook}
  auth: { secret: hook-key }
  inputs: { service: "body.service" }
`;
    const created = await h.call('PUT', '/triggers/from-yaml', { bearer: SRE_OPERATOR.token, yaml });
    expect([created.status, created.body.outcome]).toEqual([201, 'created']);
    expect((await h.call('PUT', '/triggers/from-yaml', { bearer: SRE_OPERATOR.token, yaml })).body.outcome).toBe('unchanged');
    const bad = await h.call('PUT', '/triggers/from-yaml', { bearer: SRE_OPERATOR.token, yaml: yaml.replace('hook-key }', 'hook-key, shceme: token }') });
    expect(bad.status).toBe(400);
    expect(bad.body.errors[0]).toMatchObject({ line: 6, path: expect.stringContaining('spec.auth') });
    const badCel = await put({ auth: { secret: 'hook-key' }, filter: 'body.ref ==' });
    expect(badCel.status).toBe(400);
    expect(badCel.body.errors[0].path).toBe('filter');
    const actions = (await auditOf('gitops')).map((r) => r.result);
    expect(actions).toEqual(['create', 'update']);
  });

  it('refuses a message source whose durable or group id another trigger consumes, without naming another namespace\'s', async () => {
    const nats = (durable: string, url = 'nats://nats.example:4222') => ({ nats: { url, stream: 'ORDERS', subject: 'orders.created', durable } });
    const kafka = (groupId: string, brokers: string[]) => ({ kafka: { brokers, topic: 'orders', groupId } });
    // Paused: no consumer connects to these made-up brokers.
    expect((await createTrigger({ name: 'orders-nats', source: nats('fulfil'), paused: true })).status).toBe(201);
    expect((await createTrigger({ name: 'orders-kafka', source: kafka('fulfil', ['kafka-a.example:9092', 'kafka-b.example:9092']), paused: true })).status).toBe(201);
    const other = `${h.namespace}-other`;
    const inOther = (name: string, source: Record<string, unknown>) =>
      h.call('PUT', `/triggers/${name}?namespace=${other}`, { bearer: SRE_OPERATOR.token, json: { runbook, source, paused: true } });
    // The same durable on the same server, spelt differently: taken.
    const taken = await inOther('steal', nats('fulfil', 'nats://NATS.example,nats-3.example:4222'));
    expect([taken.status, taken.body.code]).toEqual([409, 'CONFLICT']);
    expect(taken.body.detail).toContain('a trigger of another namespace');
    expect(taken.body.detail).not.toContain('orders-nats');
    // One broker in common is enough to share a Kafka group.
    expect((await inOther('steal', kafka('fulfil', ['KAFKA-B.example:9092']))).status).toBe(409);
    // Within the namespace the holder is named; replacing the holder itself is not a conflict.
    expect((await createTrigger({ name: 'orders-nats-2', source: nats('fulfil'), paused: true })).body.detail).toContain('trigger orders-nats');
    const replaced = await h.call('PUT', `/triggers/orders-nats?namespace=${h.namespace}`, { bearer: SRE_OPERATOR.token, json: { runbook, source: nats('fulfil'), paused: true, note: 'same durable' } });
    expect(replaced.body.outcome).toBe('updated');
    // Another durable, another server or another group id is free.
    expect((await inOther('own', nats('fulfil-other'))).status).toBe(201);
    expect((await inOther('own-server', nats('fulfil', 'nats://nats-2.example:4222'))).status).toBe(201);
    expect((await inOther('own-group', kafka('fulfil-other', ['kafka-a.example:9092']))).status).toBe(201);
  });

  it('an operator of another namespace can neither read, list, change, pause nor delete the namespace\'s triggers', async () => {
    expect((await createTrigger({ name: 'guarded', auth: { secret: 'hook-key' } })).status).toBe(201);
    const path = `/triggers/guarded?namespace=${h.namespace}`;
    expect((await h.call('GET', path, { token: 'outsider' })).status).toBe(403);
    expect((await h.call('PUT', path, { token: 'outsider', json: { runbook, auth: { secret: 'hook-key' } } })).status).toBe(403);
    expect((await h.call('DELETE', path, { token: 'outsider' })).status).toBe(403);
    expect((await h.call('POST', `/triggers/guarded/pause?namespace=${h.namespace}`, { token: 'outsider' })).status).toBe(403);
    expect((await h.call('POST', '/triggers', { token: 'outsider', json: { name: 'planted', namespace: h.namespace, runbook, auth: { secret: 'hook-key' } } })).status).toBe(403);
    const listed = await h.call('GET', '/triggers', { token: 'outsider' });
    expect(listed.body.items.filter((t: { namespace: string }) => t.namespace === h.namespace)).toEqual([]);
    // A viewer of the namespace reads it, without changing it.
    expect((await h.call('GET', path, { token: 'viewer' })).body).toMatchObject({ name: 'guarded', auth: { secret: 'hook-key' } });
    expect((await h.call('DELETE', path, { token: 'viewer' })).status).toBe(403);
    expect((await h.call('GET', path)).status).toBe(200);
  });

  it('pauses (events ignored), unpauses and deletes, each audited', async () => {
    expect((await createTrigger({ name: 'pausable', auth: { secret: 'hook-key' }, inputs: { service: "'api'" } })).status).toBe(201);
    const paused = await h.call('POST', `/triggers/pausable/pause?namespace=${h.namespace}`, { token: 'operator' });
    expect(paused.body.paused).toBe(true);
    expect((await deliver('pausable', '{}')).body).toMatchObject({ outcome: 'ignored' });
    expect((await h.call('POST', `/triggers/pausable/unpause?namespace=${h.namespace}`, { token: 'operator' })).body.paused).toBe(false);
    expect((await h.call('DELETE', `/triggers/pausable?namespace=${h.namespace}`, { token: 'operator' })).status).toBe(200);
    expect((await h.call('GET', `/triggers/pausable?namespace=${h.namespace}`)).status).toBe(404);
    expect((await deliver('pausable', '{}')).status).toBe(401);
    expect((await auditOf('pausable')).map((r) => r.result)).toEqual(['create', 'pause', 'unpause', 'delete']);
  });

  it('a trigger whose principal lost the runbook\'s allow-list role is refused (403) and audited, and starts nothing', async () => {
    const name = `refusable-${randomUUID().slice(0, 6)}`;
    const target = await h.register(manifest('    - { id: nap, uses: tasks/wait.sleep@0.1.0, with: { duration: 1ms } }', { name: `lost-${h.namespace}`, parameters: '    - { name: service, type: string, required: true }' }));
    const lost = `lost-rb-${h.namespace}`;
    expect((await h.call('POST', '/runbooks', { yaml: runbookYaml(lost, '1.0.0', `${target.name}@${target.version}`, ['sre']) })).status).toBe(201);
    expect((await createTrigger({ name, runbook: lost, auth: { secret: 'hook-key' }, inputs: { service: "'api'" } })).status).toBe(201);
    expect((await deliver(name, '{"n":1}')).body.outcome).toBe('started');
    // The runbook's newest version no longer lists a role the trigger's principal holds.
    expect((await h.call('POST', '/runbooks', { yaml: runbookYaml(lost, '2.0.0', `${target.name}@${target.version}`, ['platform']) })).status).toBe(201);
    const refused = await deliver(name, '{"n":2}');
    expect(refused.status).toBe(403);
    expect(refused.body.code).toBe('RUNBOOK_NOT_ALLOWED');
    const records = await auditOf(name);
    const refusal = records.find((r) => r.result === 'refused');
    expect(refusal).toMatchObject({ details: { code: 'RUNBOOK_NOT_ALLOWED' } });
    expect(await h.client.workflow.getHandle(refusal?.runId as string).describe().catch(() => 'not started')).toBe('not started');
  });

  it('answers 429 with Retry-After past the rate limit, and starts nothing', async () => {
    expect((await createTrigger({ name: 'limited', auth: { secret: 'hook-key' }, inputs: { service: "'api'" }, rateLimit: { perMinute: 2 } })).status).toBe(201);
    const answers = [];
    for (let index = 0; index < 3; index += 1) answers.push(await deliver('limited', JSON.stringify({ index })));
    // Two fit the window unless it turned over between them: then all three do.
    const limited = answers.filter((a) => a.status === 429);
    expect(limited.length).toBeLessThanOrEqual(1);
    const last = limited[0] ?? (await deliver('limited', '{"index":3}'));
    expect(last.status).toBe(429);
    expect(last.body.code).toBe('RATE_LIMITED');
    expect(Number(last.headers.get('retry-after'))).toBeGreaterThan(0);
  });
});

describe('maestro triggers', () => {
  it('creates from a manifest (then replaces: unchanged), lists, gets, pauses and deletes through the API', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'maestro-triggers-cli-'));
    try {
      const file = join(dir, 'cli-hook.yaml');
      await writeFile(file, `apiVersion: maestro/v1\nkind: Trigger\nmetadata: { name: cli-hook, namespace: ${h.namespace} }\nspec:\n  runbook: ${runbook}\n  auth: { secret: hook-key }\n`);
      const as = { bearer: SRE_OPERATOR.token };
      const created = await h.cli(as, 'triggers', 'create', '-f', file);
      expect(created, created.err).toMatchObject({ code: 0, out: `created ${h.namespace}/cli-hook (deliveries to /hooks/${h.namespace}/cli-hook)` });
      expect((await h.cli(as, 'triggers', 'create', '-f', file)).code).toBe(1);
      expect((await h.cli(as, 'triggers', 'create', '-f', file, '--replace')).out).toContain(`unchanged ${h.namespace}/cli-hook`);
      expect((await h.cli('viewer', 'triggers', 'list', '--namespace', h.namespace)).out).toContain(`${h.namespace}/cli-hook  webhook ${runbook}  enabled`);
      expect((await h.cli('viewer', 'triggers', 'get', 'cli-hook', '--namespace', h.namespace)).out).toContain('acts for sre-operator');
      expect((await h.cli('operator', 'triggers', 'pause', 'cli-hook', '--namespace', h.namespace)).out).toBe(`${h.namespace}/cli-hook paused`);
      expect((await h.cli('outsider', 'triggers', 'delete', 'cli-hook', '--namespace', h.namespace)).code).toBe(2);
      expect((await h.cli('operator', 'triggers', 'delete', 'cli-hook', '--namespace', h.namespace)).out).toBe(`deleted ${h.namespace}/cli-hook`);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});
