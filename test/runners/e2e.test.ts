/**
 * End to end on the real Temporal dev server: one workflow whose tasks run in the worker
 * (`local`), in a podman container (`container`) and as a function (`serverless`), with outputs
 * flowing between them. The worker is built here with the runners a production worker gets from
 * `createRunners(config)`.
 */
import { randomUUID } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Client, Connection } from '@temporalio/client';
import { NativeConnection, type Worker } from '@temporalio/worker';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { inject } from 'vitest';
import { builtinCatalog, createBuiltinCatalog } from '../../src/tasks/index.js';
import { cancelOnTemporal, startRun, waitForRun } from '../../src/client/index.js';
import { compileWorkflow } from '../../src/compiler/index.js';
import { checkParams, parseManifest, type WorkflowManifest } from '../../src/manifest/index.js';
import { createContainerRunner, createServerlessRunner, localRunner } from '../../src/runners/index.js';
import { FsArtifactStore } from '../../src/store/index.js';
import { createWorker } from '../../src/worker/index.js';
import { interpreterBundle } from '../helpers/interpreter-bundle.js';
import { TEST_EGRESS_ALLOW } from '../helpers/egress.js';
import { task, workflow } from '../helpers/engine.js';
import { startFunctionServer, type FunctionServer } from '../peers/functions.js';
import { startPodman, type PodmanPeer } from '../peers/podman.js';

let podman: PodmanPeer;
let functions: FunctionServer;
let connection: Connection;
let client: Client;
let nativeConnection: NativeConnection;
let worker: Worker;
let running: Promise<void>;
let artifactDir: string;
const taskQueue = `runners-e2e-${randomUUID()}`;
const recorded: unknown[] = [];

beforeAll(async () => {
  [podman, functions] = await Promise.all([startPodman(), startFunctionServer()]);
  functions.register('record', async (payload) => {
    recorded.push(payload);
    return { body: { recorded: recorded.length } };
  });
  artifactDir = await mkdtemp(join(tmpdir(), 'maestro-runners-e2e-'));
  const address = inject('temporalAddress');
  connection = await Connection.connect({ address });
  client = new Client({ connection });
  nativeConnection = await NativeConnection.connect({ address });
  worker = await createWorker({
    connection: nativeConnection,
    taskQueue,
    artifactDir,
    workflowBundle: await interpreterBundle(),
    // The function listens on loopback: allow-listed for the tests' namespace, as a user would.
    catalog: createBuiltinCatalog({ egressAllow: TEST_EGRESS_ALLOW, temporalAddress: address }),
    runners: {
      local: localRunner,
      container: createContainerRunner({ dockerHost: podman.dockerHost, artifacts: new FsArtifactStore({ root: artifactDir }) }),
      serverless: createServerlessRunner({ functions: { record: functions.functionUrl('record') } }),
    },
  });
  running = worker.run();
});

afterAll(async () => {
  if (worker) {
    worker.shutdown();
    await running;
  }
  await nativeConnection?.close();
  await connection?.close();
  await Promise.all([podman?.stop(), functions?.close()]);
  if (artifactDir) await rm(artifactDir, { recursive: true, force: true });
});

function start(yaml: string): Promise<string> {
  const manifest = parseManifest(yaml, 'inline.yaml', { catalog: builtinCatalog }) as WorkflowManifest;
  const compiled = compileWorkflow(manifest, { catalog: builtinCatalog });
  return startRun(client, { compiled, params: checkParams(compiled.ir.parameters, {}), taskQueue });
}

async function run(yaml: string) {
  return waitForRun(client, await start(yaml));
}

/** The run's containers, as podman lists them (any state). */
async function containersOf(runId: string): Promise<string[]> {
  const out = await podman.podman(['ps', '-a', '--filter', `label=dev.maestro.run-id=${runId}`, '--format', '{{.ID}}']);
  return out.split('\n').filter((line) => line.trim() !== '');
}

describe('a workflow mixing local, container and serverless tasks', () => {
  it('runs end to end: outputs of each runner feed the next task', async () => {
    const image = podman.image;
    const state = await run(
      workflow(
        [
          '    - id: prepare',
          '      uses: tasks/transform.map@0.1.0',
          '      with: { rows: [1, 2, 3], expression: "$ * 2" }',
          '    - id: build',
          '      uses: tasks/container.run@0.1.0',
          '      runsOn: container',
          '      needs: [prepare]',
          '      with:',
          `        image: ${image}`,
          '        command: [sh, -c]',
          `        args: ["echo building \${string(size(tasks.prepare.outputs.rows))} rows; printf dist > /out/app.tar; echo '{\\"sum\\": 12}' > $MAESTRO_OUTPUTS"]`,
          '        artifacts: /out',
          '    - id: publish',
          '      uses: tasks/function.invoke@0.1.0',
          '      runsOn: serverless',
          '      needs: [build]',
          '      with:',
          '        function: record',
          '        payload: { sum: "${tasks.build.outputs.outputs.sum}", artifact: "${tasks.build.outputs.artifacts[0].sha256}" }',
        ].join('\n'),
        { name: 'mixed-runners' },
      ),
    );
    expect(state.status).toBe('SUCCEEDED');
    expect(task(state, 'prepare').outputs).toEqual({ rows: [2, 4, 6] });
    expect(task(state, 'build').outputs).toMatchObject({
      exitCode: 0,
      logs: 'building 3 rows',
      outputs: { sum: 12 },
      artifacts: [{ path: 'app.tar', size: 4, sha256: expect.stringMatching(/^[0-9a-f]{64}$/), uri: expect.stringMatching(/^artifact:\/\/sha256\//) }],
    });
    expect(task(state, 'publish').outputs).toEqual({ status: 200, result: { recorded: 1 } });
    const sha = (task(state, 'build').outputs as { artifacts: { sha256: string }[] }).artifacts[0]?.sha256;
    expect(recorded).toEqual([{ sum: 12, artifact: sha }]);
  });

  it("fails the run when a container exits non-zero, with the container's last lines in the task error", async () => {
    const state = await run(
      workflow(
        [
          '    - id: check',
          '      uses: tasks/container.run@0.1.0',
          '      runsOn: container',
          `      with: { image: ${podman.image}, command: [sh, -c, "echo checking; echo 'FAIL: 2 problems' >&2; exit 4"] }`,
        ].join('\n'),
        { name: 'failing-container' },
      ),
    );
    expect(state.status).toBe('FAILED');
    expect(task(state, 'check')).toMatchObject({
      status: 'FAILED',
      error: { code: 'TASK_FAILED', message: expect.stringContaining('container exited with code 4; last log lines:\nchecking\nFAIL: 2 problems') },
    });
  });

  it('cancelling the run kills and removes its running container', async () => {
    const runId = await start(
      workflow(
        [
          '    - id: serve',
          '      uses: tasks/container.run@0.1.0',
          '      runsOn: container',
          `      with: { image: ${podman.image}, command: [sleep, "300"] }`,
        ].join('\n'),
        { name: 'cancelled-container' },
      ),
    );
    const deadline = Date.now() + 30_000;
    while ((await containersOf(runId)).length === 0) {
      if (Date.now() > deadline) throw new Error('the container never started');
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
    await cancelOnTemporal(client, runId);
    const state = await waitForRun(client, runId);
    expect(state.status).toBe('CANCELLED');
    // The activity sees the cancellation at its next heartbeat and removes the container.
    const gone = Date.now() + 15_000;
    while ((await containersOf(runId)).length > 0) {
      if (Date.now() > gone) throw new Error('the container outlived the cancelled run');
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
  });
});
