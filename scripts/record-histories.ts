/**
 * Records interpreter histories into test/fixtures/histories/ for the replay test, which guards
 * that every change to the interpreter still replays runs already in flight.
 *
 *   npx tsx scripts/record-histories.ts            # every scenario
 *   npx tsx scripts/record-histories.ts NAME...    # only these (test/fixtures/histories/NAME.yaml)
 *
 * Re-record only on purpose (a new scenario); never to make a failing replay pass: a replay failure
 * means the change needs `patched()`.
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
import { builtinCatalog } from '../src/catalog/index.js';
import { approveTask, cancelRun, getRunState, startRun, waitForRun } from '../src/client/index.js';
import { compileWorkflow } from '../src/compiler/index.js';
import { resolveTemporalBin, startDevServer } from '../src/devserver/index.js';
import { checkParams, parseManifest } from '../src/manifest/index.js';
import { createWorker } from '../workers/worker.js';

const FIXTURES = fileURLToPath(new URL('../test/fixtures/histories/', import.meta.url));

/** What the recorder does to a run after starting it, before it ends. */
type Interaction = 'none' | 'approve' | 'cancel';

const INTERACTIONS: Record<string, Interaction> = { approval: 'approve', cancel: 'cancel', 'cancel-foreach': 'cancel' };

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

/** Scenarios named on the command line, or all: a new scenario is recorded without re-recording the old ones. */
const only = new Set(process.argv.slice(2));

await worker.runUntil(async () => {
  for (const file of (await readdir(FIXTURES)).filter((name) => name.endsWith('.yaml') && (only.size === 0 || only.has(basename(name, '.yaml')))).sort()) {
    const name = basename(file, '.yaml');
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
      await approveTask(client, runId, { taskId: waiting.id, decision: 'approve', approver: 'recorder', roles: ['sre'] });
      return;
    }
    if (interaction === 'cancel' && running) {
      await cancelRun(client, runId);
      return;
    }
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}
