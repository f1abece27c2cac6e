/**
 * Records interpreter histories into test/fixtures/histories/ for the replay test, which guards
 * that every change to the interpreter still replays runs already in flight.
 *
 *   npx tsx scripts/record-histories.ts [NAME...]
 *
 * Records the scenarios named (`<NAME>.yaml` in that folder), or, when none is named, every one
 * that has no history yet: some histories can only be made by older code (for example
 * `failfast-retry-before-shared-scope`), so none is overwritten unless named.
 * Record only on purpose (a new scenario, or a new command order kept beside the old history);
 * never re-record an existing history to make a failing replay pass: a replay failure means the
 * change needs `patched()`.
 */
import { execFile } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { mkdtemp, readFile, readdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { basename, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { Client, Connection } from '@temporalio/client';
import { DefaultLogger, NativeConnection, Runtime } from '@temporalio/worker';
import { builtinCatalog } from '../src/tasks/index.js';
import { approveTask, cancelOnTemporal, getRunState, pauseOnTemporal, sendSignal, startRun, waitForRun } from '../src/client/index.js';
import { compileWorkflow } from '../src/compiler/index.js';
import { lockQuery, releaseSignal, type ApprovalRequest } from '../src/ir/index.js';
import { resolveTemporalBin, startDevServer } from '../src/devserver/index.js';
import { checkParams, parseManifest, parseSubWorkflowUses, subWorkflowUses, type SubWorkflowResolution, type SubWorkflows } from '../src/manifest/index.js';
import { parse } from 'yaml';
import { loadApprovalKey, signApproval, signSignal } from '../src/provenance/index.js';
import { acquireConcurrencyKey } from '../src/runs/index.js';
import { createWorker } from '../src/worker/index.js';

const FIXTURES = fileURLToPath(new URL('../test/fixtures/histories/', import.meta.url));

/** What the recorder does to a run after starting it, before it ends. */
type Interaction = 'none' | 'approve' | 'cancel' | 'signal-pause' | 'queue';

const INTERACTIONS: Record<string, Interaction> = {
  approval: 'approve',
  cancel: 'cancel',
  'cancel-foreach': 'cancel',
  'signal-pause': 'signal-pause',
  'concurrency-key': 'queue',
  'finally-cancel': 'cancel',
  'format-2-approval': 'approve',
  'format-2-cancel': 'cancel',
};

/** The scenarios named on the command line; none: those without a history yet. */
const wanted = process.argv.slice(2);
const files = await readdir(FIXTURES);
const scenarios = files.filter((name) => name.endsWith('.yaml')).map((file) => basename(file, '.yaml'));
const unknown = wanted.filter((name) => !scenarios.includes(name));
if (unknown.length > 0) throw new Error(`no scenario ${unknown.join(', ')} in ${FIXTURES} (known: ${scenarios.join(', ')})`);
const toRecord = wanted.length > 0 ? wanted : scenarios.filter((name) => !files.includes(`${name}.history.json`));

Runtime.install({ logger: new DefaultLogger('WARN') });
const run = promisify(execFile);
const temporal = resolveTemporalBin();
const server = await startDevServer({ port: 0, ui: false });
const artifactDir = await mkdtemp(join(tmpdir(), 'maestro-record-'));
const nativeConnection = await NativeConnection.connect({ address: server.address });
const taskQueue = `record-${randomUUID()}`;
const worker = await createWorker({ connection: nativeConnection, taskQueue, artifactDir });
const connection = await Connection.connect({ address: server.address });
const client = new Client({ connection });

await worker.runUntil(async () => {
  for (const name of [...toRecord].sort()) {
    const file = `${name}.yaml`;
    const text = await readFile(join(FIXTURES, file), 'utf8');
    const workflows = await subWorkflows(text);
    const manifest = parseManifest(text, file, { catalog: builtinCatalog, workflows });
    if (manifest.kind !== 'Workflow') throw new Error(`${file} is not a Workflow`);
    const compiled = compileWorkflow(manifest, { catalog: builtinCatalog, workflows });
    const params = checkParams(compiled.ir.parameters, {});
    const runId = `record-${name}`;
    const interaction = INTERACTIONS[name] ?? 'none';
    // `queue`: another run holds the key first, so this one starts QUEUED (as the run-start path starts it).
    const holder = { runId: `${runId}-holder`, compiled, params, namespace: 'default' };
    if (interaction === 'queue') await acquireConcurrencyKey(client, taskQueue, holder);
    const acquired = await acquireConcurrencyKey(client, taskQueue, { runId, compiled, params, namespace: 'default' });
    const concurrency = acquired && { key: acquired.key, lockId: acquired.lockId, granted: acquired.granted };
    await startRun(client, { compiled, params, taskQueue, runId, ...(concurrency === undefined ? {} : { concurrency }) });
    await interact(interaction, runId, concurrency?.lockId === undefined ? undefined : { lockId: concurrency.lockId, holder: holder.runId });
    const state = await waitForRun(client, runId);
    // The Temporal CLI's JSON export is the format the Web UI downloads and the replayer reads.
    const { stdout } = await run(temporal, ['workflow', 'show', '--address', server.address, '--workflow-id', runId, '--output', 'json']);
    await writeFile(join(FIXTURES, `${name}.history.json`), stdout);
    console.log(`${name}: ${state.status}, ${(JSON.parse(stdout) as { events: unknown[] }).events.length} events`);
    const child = state.tasks.find((task) => task.subWorkflow !== undefined)?.subWorkflow;
    if (child) {
      // The first child's run too: a sub-workflow's run records its own history (its receipt at the end).
      const shown = await run(temporal, ['workflow', 'show', '--address', server.address, '--workflow-id', child.runId, '--output', 'json']);
      await writeFile(join(FIXTURES, `${name}-child.history.json`), shown.stdout);
      console.log(`${name}-child: ${(JSON.parse(shown.stdout) as { events: unknown[] }).events.length} events`);
    }
    if (concurrency) {
      // The key's lock too (still running, idle): its history replays like the run's.
      await waitUntilIdle(concurrency.lockId);
      const lock = await run(temporal, ['workflow', 'show', '--address', server.address, '--workflow-id', concurrency.lockId, '--output', 'json']);
      await writeFile(join(FIXTURES, `${name}-lock.history.json`), lock.stdout);
      console.log(`${name}-lock: ${(JSON.parse(lock.stdout) as { events: unknown[] }).events.length} events`);
    }
  }
});

await connection.close();
await nativeConnection.close();
await server.stop();
await rm(artifactDir, { recursive: true, force: true });

/** Polls the run's state until `predicate` holds. */
async function until(runId: string, predicate: (state: Awaited<ReturnType<typeof getRunState>>) => boolean): Promise<void> {
  while (!predicate(await getRunState(client, runId))) await new Promise((resolve) => setTimeout(resolve, 50));
}

/**
 * Pauses the run while its first task runs, resumes it once that task has ended, then sends the
 * wait's signal: first a payload its schema refuses (the worker's check, recorded), then a good one.
 */
async function pauseThenSignal(runId: string): Promise<void> {
  const status = (id: string) => (state: Awaited<ReturnType<typeof getRunState>>) => state.tasks.find((task) => task.id === id)?.status;
  await until(runId, (state) => status('first')(state) === 'RUNNING');
  await pauseOnTemporal(client, runId, true);
  await until(runId, (state) => status('first')(state) === 'SUCCEEDED');
  await new Promise((resolve) => setTimeout(resolve, 300));
  await pauseOnTemporal(client, runId, false);
  await until(runId, (state) => status('wait')(state) === 'WAITING');
  const key = await loadApprovalKey({ dataDir: artifactDir });
  await sendSignal(client, runId, signSignal(key, runId, { name: 'go', payload: { m: 1 }, sender: 'recorder' })).then(
    () => {
      throw new Error('the run took a payload its schema refuses');
    },
    (error: unknown) => console.log(`signal-pause: refused as expected: ${String(error)}`),
  );
  await sendSignal(client, runId, signSignal(key, runId, { name: 'go', payload: { n: 2 }, sender: 'recorder' }));
}

/**
 * What a scenario's `uses: workflow/<name>@…` resolve to: `workflows/<name>.yaml` beside the
 * scenarios, compiled as if registered in namespace `default` (the recorder's runs' namespace).
 */
async function subWorkflows(text: string): Promise<SubWorkflows> {
  const resolved = new Map<string, SubWorkflowResolution>();
  for (const uses of subWorkflowUses((parse(text) as { spec?: { tasks?: unknown } }).spec?.tasks)) {
    const { name } = parseSubWorkflowUses(uses) ?? { name: '' };
    const file = join(FIXTURES, 'workflows', `${name}.yaml`);
    const child = parseManifest(await readFile(file, 'utf8'), file, { catalog: builtinCatalog });
    if (child.kind !== 'Workflow') throw new Error(`${file} is not a Workflow`);
    const { ir, digest } = compileWorkflow(child, { catalog: builtinCatalog });
    resolved.set(uses, { ok: true, ref: { namespace: 'default', name: ir.name, version: ir.version, digest }, ir });
  }
  return resolved;
}

/** Waits until the lock holds and queues nobody (the run's release has reached it). */
async function waitUntilIdle(lockId: string): Promise<void> {
  for (;;) {
    const view = await client.workflow.getHandle(lockId).query(lockQuery);
    if (view.holders.length === 0 && view.queue.length === 0) return;
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}

async function interact(interaction: Interaction, runId: string, key?: { lockId: string; holder: string }): Promise<void> {
  if (interaction === 'none') return;
  if (interaction === 'signal-pause') return pauseThenSignal(runId);
  for (let state = await getRunState(client, runId); ; state = await getRunState(client, runId)) {
    if (interaction === 'queue' && key && state.status === 'QUEUED') {
      // Long enough for the lock to look at its holder on Temporal once; then the holder ends and
      // the lock grants the key to the queued run.
      await new Promise((resolve) => setTimeout(resolve, 3_000));
      await client.workflow.getHandle(key.lockId).signal(releaseSignal, { runId: key.holder });
      return;
    }
    const waiting = state.tasks.find((task) => task.status === 'WAITING');
    const running = state.tasks.find((task) => task.status === 'RUNNING');
    if (interaction === 'approve' && waiting) {
      // Signed like the API signs, with the worker's default key (beside its artifacts): the
      // interpreter counts only approvals that carry the API's proof.
      const request: ApprovalRequest = { taskId: waiting.id, decision: 'approve', approver: 'recorder', roles: ['sre'] };
      await approveTask(client, runId, signApproval(await loadApprovalKey({ dataDir: artifactDir }), runId, request));
      return;
    }
    if (interaction === 'cancel' && running) {
      await cancelOnTemporal(client, runId);
      return;
    }
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}
