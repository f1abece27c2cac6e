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
import { approveTask, cancelOnTemporal, getRunState, startRun, waitForRun } from '../src/client/index.js';
import { compileWorkflow } from '../src/compiler/index.js';
import type { ApprovalRequest } from '../src/ir/index.js';
import { resolveTemporalBin, startDevServer } from '../src/devserver/index.js';
import { checkParams, parseManifest } from '../src/manifest/index.js';
import { loadApprovalKey, signApproval } from '../src/provenance/index.js';
import { createWorker } from '../src/worker/index.js';

const FIXTURES = fileURLToPath(new URL('../test/fixtures/histories/', import.meta.url));

/** What the recorder does to a run after starting it, before it ends. */
type Interaction = 'none' | 'approve' | 'cancel';

const INTERACTIONS: Record<string, Interaction> = { approval: 'approve', cancel: 'cancel', 'cancel-foreach': 'cancel', 'format-2-approval': 'approve', 'format-2-cancel': 'cancel' };

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
    const manifest = parseManifest(await readFile(join(FIXTURES, file), 'utf8'), file, { catalog: builtinCatalog });
    if (manifest.kind !== 'Workflow') throw new Error(`${file} is not a Workflow`);
    const compiled = compileWorkflow(manifest, { catalog: builtinCatalog });
    const runId = await startRun(client, { compiled, params: checkParams(compiled.ir.parameters, {}), taskQueue, runId: `record-${name}` });
    await interact(INTERACTIONS[name] ?? 'none', runId);
    const state = await waitForRun(client, runId);
    // The Temporal CLI's JSON export is the format the Web UI downloads and the replayer reads.
    const { stdout } = await run(temporal, ['workflow', 'show', '--address', server.address, '--workflow-id', runId, '--output', 'json']);
    await writeFile(join(FIXTURES, `${name}.history.json`), stdout);
    console.log(`${name}: ${state.status}, ${(JSON.parse(stdout) as { events: unknown[] }).events.length} events`);
  }
});

await connection.close();
await nativeConnection.close();
await server.stop();
await rm(artifactDir, { recursive: true, force: true });

async function interact(interaction: Interaction, runId: string): Promise<void> {
  if (interaction === 'none') return;
  for (let state = await getRunState(client, runId); ; state = await getRunState(client, runId)) {
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
