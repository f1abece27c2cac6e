/**
 * Provenance over the HTTP API, driven by the engine: a finished run's signed receipt is a
 * download that verifies with `maestro receipt verify` (and stops verifying when one byte
 * changes); `POST /runs/{runId}/replay` re-executes the run with the cache bypassed, and
 * `GET /runs/{runId}/replays/{replayRunId}` compares every task's output hash with the receipt.
 * The worker keeps its provenance where the API's config says (signing key, receipts), as
 * `maestro dev` does.
 */
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { main } from '../../src/cli/main.js';
import { sha256Hex } from '../../src/canonical/index.js';
import { defaultSigningKeyFile, publicKeyFileOf, receiptStoreFromConfig } from '../../src/provenance/index.js';
import { manifest, startHarness, type ApiResponse, type Harness } from '../api/harness.js';
import { TEST_EGRESS_ALLOW } from '../helpers/engine.js';
import { startHttpPeer, type HttpPeer } from '../helpers/http-peer.js';
import { tempDir } from './fixtures.js';

let h: Harness;
let peer: HttpPeer;
let files: { dir: string; cleanup: () => Promise<void> };

beforeAll(async () => {
  [h, peer, files] = await Promise.all([
    startHarness({ config: (namespace) => ({ egressAllow: { [namespace]: TEST_EGRESS_ALLOW.default } }) }),
    startHttpPeer(),
    tempDir('maestro-api-receipts-'),
  ]);
});
afterAll(async () => {
  await Promise.all([h?.close(), peer?.close(), files?.cleanup()]);
});

/** Registers the tasks as a workflow, runs it through the API and waits until it has ended. */
async function finishedRun(tasks: string): Promise<string> {
  const { name, version } = await h.register(manifest(tasks));
  const started = await h.call('POST', '/runs', { token: 'operator', json: { workflowRef: `${name}@${version}`, namespace: h.namespace } });
  expect(started.status).toBe(201);
  const runId = started.body.runId as string;
  await h.waitRun(runId, (run) => run.status === 'SUCCEEDED');
  return runId;
}

/** The receipt download, once the run's receipt is written. */
async function receipt(runId: string): Promise<ApiResponse> {
  let res: ApiResponse | undefined;
  await expect.poll(async () => (res = await h.call('GET', `/runs/${runId}/receipt`)).status, { timeout: 10_000 }).toBe(200);
  return res as ApiResponse;
}

/** Replays a run through the API and returns the comparison once the replay has finished. */
async function replay(runId: string): Promise<{ replayRunId: string; report: ApiResponse['body'] }> {
  const started = await h.call('POST', `/runs/${runId}/replay`, { token: 'operator' });
  expect(started.status, started.text).toBe(202);
  const replayRunId = started.body.replayRunId as string;
  expect(started.body).toEqual({ runId, replayRunId, status: 'RUNNING' });
  expect(replayRunId).toMatch(new RegExp(`^${runId}-replay-[0-9a-f]{8}$`));
  const location = started.headers.get('location');
  expect(location).toBe(`/runs/${runId}/replays/${replayRunId}`);
  let res: ApiResponse | undefined;
  await expect.poll(async () => (res = await h.call('GET', location ?? '')).status, { timeout: 30_000, interval: 200 }).toBe(200);
  return { replayRunId, report: res?.body };
}

/** `maestro receipt verify FILE --key PUB --json`: its exit code and JSON result. */
async function verifyWithCli(file: string): Promise<{ code: number; result: { ok: boolean; code?: string } }> {
  const lines: string[] = [];
  const log = vi.spyOn(console, 'log').mockImplementation((line: string) => void lines.push(line));
  try {
    const code = await main(['receipt', 'verify', file, '--key', publicKeyFileOf(defaultSigningKeyFile(h.config)), '--json']);
    return { code, result: JSON.parse(lines.join('\n')) };
  } finally {
    log.mockRestore();
  }
}

const DETERMINISTIC = [
  '    - id: shape',
  '      uses: tasks/transform.map@0.1.0',
  '      with: { rows: [1, 2, 3], expression: \'{ "v": $ * 2 }\' }',
  '    - id: each',
  '      uses: tasks/transform.map@0.1.0',
  '      needs: [shape]',
  '      forEach: { items: "${tasks.shape.outputs.rows}" }',
  '      with: { rows: ["${item}"], expression: "v + 1" }',
  '    - id: pause',
  '      uses: tasks/wait.sleep@0.1.0',
  '      needs: [each]',
  '      with: { duration: 1ms }',
].join('\n');

describe('GET /runs/{runId}/receipt', () => {
  it('downloads the signed receipt, which `maestro receipt verify` accepts, and rejects once one byte changes', async () => {
    const runId = await finishedRun(DETERMINISTIC);
    const res = await receipt(runId);
    expect(res.type).toBe('application/json');
    expect(res.headers.get('content-disposition')).toBe(`attachment; filename="${runId}.sigstore.json"`);
    expect(res.headers.get('etag')).toBe(`"sha256:${sha256Hex(Buffer.from(res.text))}"`);
    expect(res.body).toMatchObject({ mediaType: expect.stringContaining('sigstore.bundle'), dsseEnvelope: { payloadType: 'application/vnd.in-toto+json' } });

    const file = join(files.dir, `${runId}.sigstore.json`);
    await writeFile(file, res.text);
    expect(await verifyWithCli(file)).toMatchObject({ code: 0, result: { ok: true } });

    const payloadAt = res.text.indexOf('"payload": "') + '"payload": "'.length + 40;
    const flipped = res.text[payloadAt] === 'A' ? 'B' : 'A';
    await writeFile(file, `${res.text.slice(0, payloadAt)}${flipped}${res.text.slice(payloadAt + 1)}`);
    const tampered = await verifyWithCli(file);
    expect(tampered.code).toBe(1);
    expect(tampered.result).toMatchObject({ ok: false, code: 'BAD_SIGNATURE' });
  });

  it('answers 404 while the run has no receipt, and 403 outside the caller\'s namespaces', async () => {
    const { name, version } = await h.register(manifest('    - { id: nap, uses: tasks/wait.sleep@0.1.0, with: { duration: 1h } }'));
    const started = await h.call('POST', '/runs', { token: 'operator', json: { workflowRef: `${name}@${version}`, namespace: h.namespace } });
    const runId = started.body.runId as string;
    await h.waitRun(runId, (run) => run.tasks[0]?.status === 'RUNNING');
    const pending = await h.call('GET', `/runs/${runId}/receipt`);
    expect(pending.status).toBe(404);
    expect(pending.type).toBe('application/problem+json');
    expect(pending.body).toMatchObject({ code: 'NOT_FOUND', detail: expect.stringContaining('no receipt yet') });
    expect((await h.call('POST', `/runs/${runId}/replay`, { token: 'operator' })).body).toMatchObject({ status: 409, code: 'CONFLICT' });
    expect((await h.call('GET', `/runs/${runId}/receipt`, { token: 'outsider' })).status).toBe(403);
    expect((await h.call('GET', '/runs/run-that-never-was/receipt')).status).toBe(404);
    expect((await h.call('POST', `/runs/${runId}/cancel`, { token: 'operator' })).status).toBe(202);
  });
});

describe('GET /runs/{runId}/receipt/verification', () => {
  it('verifies the stored receipt offline with its key id and subjects; a changed byte or another run\'s receipt is not verified', async () => {
    const runId = await finishedRun(DETERMINISTIC);
    const download = await receipt(runId);
    const res = await h.call('GET', `/runs/${runId}/receipt/verification`);
    expect(res.status, res.text).toBe(200);
    expect(res.body).toMatchObject({ runId, verified: true, digest: JSON.parse(download.headers.get('etag') ?? '""'), keyId: expect.any(String) });
    expect(res.body.subjects).toContainEqual({ name: `run/${runId}`, sha256: expect.stringMatching(/^[0-9a-f]{64}$/) });
    // This harness runs without a policy, so the receipt lists no decision (see receipt-statement.test.ts).
    expect(res.body.policyDecisionIds).toEqual([]);

    // A flipped byte of the signed payload, in the store itself.
    const store = receiptStoreFromConfig(h.config);
    const stored = await store.read(runId);
    const envelope = stored.bundle.dsseEnvelope;
    if (!envelope) throw new Error('the receipt holds no DSSE envelope');
    const { payload } = envelope;
    await store.write(runId, { ...stored.bundle, dsseEnvelope: { ...envelope, payload: `${payload.slice(0, 40)}${payload[40] === 'A' ? 'B' : 'A'}${payload.slice(41)}` } });
    const tampered = await h.call('GET', `/runs/${runId}/receipt/verification`);
    expect(tampered.body).toMatchObject({ verified: false, code: 'BAD_SIGNATURE', subjects: [], policyDecisionIds: [] });

    // Another run's genuine receipt put in its place verifies, but names the other run.
    const other = await finishedRun(DETERMINISTIC);
    await receipt(other);
    await store.write(runId, (await store.read(other)).bundle);
    expect((await h.call('GET', `/runs/${runId}/receipt/verification`)).body).toMatchObject({ verified: false, code: 'OTHER_RUN', reason: expect.stringContaining(other) });
    expect((await h.call('GET', `/runs/${runId}/receipt/verification`, { token: 'outsider' })).status).toBe(403);
  });
});

describe('replay through the API', () => {
  it('replays a deterministic run hash-equal for every task and forEach item', async () => {
    const runId = await finishedRun(DETERMINISTIC);
    await receipt(runId);
    const { replayRunId, report } = await replay(runId);
    expect(report).toMatchObject({ runId, replayRunId, replayStatus: 'SUCCEEDED', equal: true });
    expect(report.tasks.map((t: { taskId: string; verdict: string }) => [t.taskId, t.verdict])).toEqual([
      ['shape', 'equal'],
      ['each', 'equal'],
      ['each[0]', 'equal'],
      ['each[1]', 'equal'],
      ['each[2]', 'equal'],
      ['pause', 'equal'],
    ]);
    const replayed = await h.call('GET', `/runs/${replayRunId}`);
    expect(replayed.body).toMatchObject({ namespace: h.namespace, startedBy: 'operator' });
    expect(replayed.body.tasks.every((t: { cached?: boolean }) => t.cached === undefined)).toBe(true);
  });

  it('reports the task whose output comes from a changing source as different, and the others equal', async () => {
    const runId = await finishedRun(
      [
        '    - id: stable',
        '      uses: tasks/transform.map@0.1.0',
        '      with: { rows: [1], expression: "$" }',
        '    - id: counter',
        '      uses: tasks/http.request@0.1.0',
        `      with: { url: "${peer.url}/ok/api-replay-counter" }`,
      ].join('\n'),
    );
    await receipt(runId);
    const { report } = await replay(runId);
    expect(report.equal).toBe(false);
    const verdicts = Object.fromEntries(report.tasks.map((t: { taskId: string }) => [t.taskId, t]));
    expect(verdicts.stable).toMatchObject({ verdict: 'equal' });
    expect(verdicts.counter).toMatchObject({ verdict: 'different', original: expect.stringMatching(/^sha256:/), replay: expect.stringMatching(/^sha256:/) });
    expect(peer.hits.get('/ok/api-replay-counter')).toBe(2);
  });

  it('lets only operators replay, and knows only the replays of the run it is asked about', async () => {
    const runId = await finishedRun(DETERMINISTIC);
    await receipt(runId);
    expect((await h.call('POST', `/runs/${runId}/replay`, { token: 'viewer' })).body).toMatchObject({ status: 403, code: 'FORBIDDEN' });
    expect((await h.call('GET', `/runs/${runId}/replays/${runId}-replay-00000000`)).status).toBe(404);
    expect((await h.call('GET', `/runs/${runId}/replays/run-elsewhere-replay-00000000`)).status).toBe(404);
  });
});
