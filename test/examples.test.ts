/**
 * The samples in examples/: every manifest compiles against the catalog a worker serving the
 * example tasks would have, the hello task and the connector skeleton behave as their comments say,
 * and the end-to-end example runs on the real Temporal dev server.
 */
import { readdirSync } from 'node:fs';
import { createServer, type IncomingHttpHeaders, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { loadCatalog } from '../src/tasks/index.js';
import { compileWorkflow } from '../src/compiler/index.js';
import { loadManifestFile } from '../src/manifest/index.js';
import { createTestContext, validateTaskInput, type TaskError } from '../src/sdk/index.js';
import acmeSend from '../examples/connectors/skeleton.js';
import { runHelloTask } from '../examples/hello-task/run.js';
import hello from '../examples/tasks/hello.js';

const ROOT = join(import.meta.dirname, '..');

function filesUnder(folder: string, pattern: RegExp): string[] {
  return readdirSync(join(ROOT, folder), { recursive: true, encoding: 'utf8' })
    .filter((name) => pattern.test(name))
    .map((name) => join(ROOT, folder, name));
}

describe('example manifests', () => {
  const taskModules = [...filesUnder('examples/tasks', /\.ts$/), ...filesUnder('examples/connectors', /\.ts$/)];

  // examples/gitops holds several kinds, several documents per file: test/api/apply.test.ts applies it.
  // examples/python's workflow uses a Python task, which the catalog knows only once a worker
  // registered it (POST /tasks): test/api/python-tasks.test.ts runs it end to end with the real
  // worker's registration; the sample's pytest tests run the task itself.
  const workflowFiles = filesUnder('examples', /\.ya?ml$/).filter((file) => !file.startsWith(join(ROOT, 'examples', 'gitops')) && !file.startsWith(join(ROOT, 'examples', 'python')));
  it.each(workflowFiles.map((file) => [file.slice(ROOT.length + 1), file]))('%s compiles', async (_, file) => {
    const catalog = await loadCatalog({ taskModules });
    const manifest = await loadManifestFile(file, { catalog });
    if (manifest.kind !== 'Workflow') throw new Error(`${file} is a ${manifest.kind}`);
    expect(compileWorkflow(manifest, { catalog }).digest).toMatch(/^sha256:[0-9a-f]{64}$/);
  });

  it("examples/runbooks/backfill-entity-resolver.json (the seed's) is a Runbook pinning a workflow runbooks/ ships", async () => {
    const catalog = await loadCatalog();
    const runbook = await loadManifestFile(join(ROOT, 'examples', 'runbooks', 'backfill-entity-resolver.json'), { catalog });
    if (runbook.kind !== 'Runbook') throw new Error(`the seed's runbook is a ${runbook.kind}`);
    const workflow = await loadManifestFile(join(ROOT, 'runbooks', 'workflows', 'ingest-enrich-handoff.yaml'), { catalog });
    if (workflow.kind !== 'Workflow') throw new Error(`the pinned workflow is a ${workflow.kind}`);
    expect(runbook.spec.workflowRef).toBe(`${workflow.metadata.name}@${workflow.metadata.version}`);
  });
});

describe('examples/tasks/hello.ts', () => {
  it('greets in the language asked for, logging the language only', async () => {
    const ctx = createTestContext();
    expect(await hello.execute({ name: ' Ada ', language: 'fr' }, ctx)).toEqual({ greeting: 'Bonjour, Ada!' });
    expect(ctx.logs).toEqual([{ level: 'info', message: 'greeting', fields: { language: 'fr' } }]);
  });

  it('refuses an unknown language or a blank name before running', () => {
    expect(() => validateTaskInput(hello, { name: 'Ada', language: 'it' })).toThrow(expect.objectContaining({ code: 'TASK_INPUT_INVALID', retryable: false }));
    expect(() => hello.validate?.({ name: '  ' })).toThrow(expect.objectContaining({ code: 'TASK_INPUT_INVALID', retryable: false }));
  });
});

/** The service the skeleton connector talks to: answers each request with the next queued status. */
interface AcmeService {
  url: string;
  requests: { headers: IncomingHttpHeaders; body: { records: { id: string }[] } }[];
  /** Statuses for the coming requests; 200 once empty; 0 = never answer. */
  statuses: number[];
  close(): Promise<void>;
}

async function startAcmeService(): Promise<AcmeService> {
  const service: Omit<AcmeService, 'url' | 'close'> = { requests: [], statuses: [] };
  const server: Server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (chunk: Buffer) => chunks.push(chunk));
    req.on('end', () => {
      service.requests.push({ headers: req.headers, body: JSON.parse(Buffer.concat(chunks).toString('utf8')) as AcmeService['requests'][number]['body'] });
      const status = service.statuses.shift() ?? 200;
      if (status !== 0) res.writeHead(status, { 'content-type': 'application/json' }).end('{}');
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    ...service,
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/api`,
    close: () =>
      new Promise((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

describe('examples/connectors/skeleton.ts', () => {
  let acme: AcmeService;
  const records = (n: number) => Array.from({ length: n }, (_, i) => ({ id: `r${i}` }));
  const context = () => createTestContext({ secrets: { 'acme.url': acme.url, 'acme.token': 's3cr3t-token' } });

  beforeAll(async () => {
    acme = await startAcmeService();
  });
  afterAll(() => acme.close());

  it('sends the records in batches with the secret token, heartbeating progress and never logging the token', async () => {
    const ctx = context();
    expect(await acmeSend.execute({ records: records(5), batchSize: 2 }, ctx)).toEqual({ sent: 5, batches: 3 });
    const sent = acme.requests.splice(0);
    expect(sent.map((request) => request.body.records.length)).toEqual([2, 2, 1]);
    expect(sent.every((request) => request.headers.authorization === 'Bearer s3cr3t-token')).toBe(true);
    expect(ctx.heartbeats).toEqual([{ sent: 2 }, { sent: 4 }, { sent: 5 }]);
    expect(JSON.stringify([ctx.logs, ctx.events, ctx.heartbeats])).not.toContain('s3cr3t');
  });

  it('refuses a record without an id before sending anything', () => {
    expect(() => acmeSend.validate?.({ records: [{ id: 'a' }, { name: 'no id' }] })).toThrow(
      expect.objectContaining({ code: 'TASK_INPUT_INVALID', retryable: false, message: 'records[1].id must be a string' }),
    );
    expect(() => validateTaskInput(acmeSend, { records: 'not a list' })).toThrow(expect.objectContaining({ code: 'TASK_INPUT_INVALID' }));
    expect(acme.requests).toEqual([]);
  });

  it('fails retryably on 503 and for good on 401', async () => {
    acme.statuses.push(503, 401);
    const unavailable = (await acmeSend.execute({ records: records(1) }, context()).catch((error: unknown) => error)) as TaskError;
    expect(unavailable).toMatchObject({ code: 'PEER_UNAVAILABLE', retryable: true, details: { status: 503 } });
    const refused = (await acmeSend.execute({ records: records(1) }, context()).catch((error: unknown) => error)) as TaskError;
    expect(refused).toMatchObject({ code: 'TASK_FAILED', retryable: false, details: { status: 401 } });
    acme.requests.splice(0);
  });

  it('fails retryably when the service is down', async () => {
    const ctx = createTestContext({ secrets: { 'acme.url': 'http://127.0.0.1:9/api', 'acme.token': 't' } });
    await expect(acmeSend.execute({ records: records(1) }, ctx)).rejects.toMatchObject({ code: 'PEER_UNAVAILABLE', retryable: true });
  });

  it('stops mid-call when the run is cancelled, reporting the cancellation', async () => {
    acme.statuses.push(0);
    const ctx = context();
    const sending = acmeSend.execute({ records: records(1) }, ctx);
    await expect.poll(() => acme.requests.length).toBe(1);
    const reason = new Error('run cancelled');
    ctx.abort(reason);
    await expect(sending).rejects.toBe(reason);
  });
});

describe('examples/hello-task', () => {
  it('runs the manifest with the hello task on a worker that serves it', async () => {
    const state = await runHelloTask({ address: inject('temporalAddress'), name: 'Ada', language: 'de' });
    expect(state.status).toBe('SUCCEEDED');
    expect(state.tasks.map((task) => [task.id, task.status, task.outputs])).toEqual([
      ['greet', 'SUCCEEDED', { greeting: 'Hallo, Ada!' }],
      ['shout', 'SUCCEEDED', { rows: ['HALLO, ADA!'] }],
    ]);
  });
});
