/**
 * The orphan sweep against real podman and the test run's Temporal dev server: a container whose
 * worker was SIGKILLed mid-task, and containers of runs that ended, are removed; live ones,
 * unlabelled ones and other namespaces' ones stay.
 */
import { spawn } from 'node:child_process';
import { hostname } from 'node:os';
import { fileURLToPath } from 'node:url';
import { Client, Connection } from '@temporalio/client';
import type Dockerode from 'dockerode';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { createContainerRunner, startOrphanSweep, sweepOrphans, temporalRunLiveness, type RunLiveness } from '../../src/runners/index.js';
import { startPodman, type PodmanPeer } from '../peers/podman.js';

const FIXTURE = fileURLToPath(new URL('./fixtures/hold-container.ts', import.meta.url));
/** A Temporal namespace label of this file's own: other test files' containers are never in scope. */
const NAMESPACE = `sweep-${process.pid}`;

let podman: PodmanPeer;
let docker: Dockerode;
let connection: Connection;
let client: Client;
let liveness: RunLiveness;
const quiet = { info: () => undefined, warn: () => undefined };

beforeAll(async () => {
  podman = await startPodman();
  docker = await createContainerRunner({ dockerHost: podman.dockerHost }).docker();
  connection = await Connection.connect({ address: inject('temporalAddress') });
  client = new Client({ connection });
  liveness = temporalRunLiveness(client.workflow);
});

afterAll(async () => {
  await connection?.close();
  await podman?.stop();
});

/** Starts a `sleep` container with the given labels (none: an unlabelled container); returns its id. */
async function sleeper(labels: Record<string, string>): Promise<string> {
  const args = ['run', '-d', '--network', 'none', ...Object.entries(labels).flatMap(([key, value]) => ['--label', `${key}=${value}`]), podman.image, 'sleep', '300'];
  return (await podman.podman(args)).trim();
}

function maestroLabels(runId: string, extra: Record<string, string> = {}): Record<string, string> {
  return { 'dev.maestro.managed-by': 'maestro', 'dev.maestro.temporal-namespace': NAMESPACE, 'dev.maestro.run-id': runId, 'dev.maestro.namespace': 'default', ...extra };
}

async function exists(id: string): Promise<boolean> {
  return (await podman.podman(['ps', '-a', '-q', '--no-trunc', '--filter', `id=${id}`])).trim() !== '';
}

async function remove(ids: string[]): Promise<void> {
  await podman.podman(['rm', '-f', '-t', '0', ...ids]);
}

describe('orphan sweep on podman', () => {
  it("removes the running container of a worker SIGKILLed mid-task, and leaves an unlabelled container alone", async () => {
    const unlabelled = await sleeper({});
    const runId = `killed-${process.pid}`;
    const worker = spawn(process.execPath, ['--import', 'tsx', FIXTURE, podman.dockerHost, podman.image, NAMESPACE, runId], { stdio: 'ignore' });
    const running = async (): Promise<string[]> =>
      (await podman.podman(['ps', '-q', '--no-trunc', '--filter', `label=dev.maestro.run-id=${runId}`, '--filter', 'status=running'])).split('\n').filter(Boolean);
    const deadline = Date.now() + 30_000;
    while ((await running()).length === 0) {
      if (Date.now() > deadline) throw new Error('the stand-in worker never started its container');
      await new Promise((resolve) => setTimeout(resolve, 200));
    }
    const [orphan = ''] = await running();
    const exited = new Promise((resolve) => worker.once('exit', resolve));
    worker.kill('SIGKILL');
    await exited;
    expect(await exists(orphan)).toBe(true);

    // What a restarting worker does first.
    const sweeper = startOrphanSweep(docker, { temporalNamespace: NAMESPACE, runLiveness: liveness, logger: quiet });
    const first = await sweeper.first;
    await sweeper.stop();

    expect(first.removed).toEqual([expect.objectContaining({ id: orphan, runId, reason: 'worker-gone' })]);
    expect(await exists(orphan)).toBe(false);
    expect(await exists(unlabelled)).toBe(true);
    await remove([unlabelled]);
  });

  it('removes containers whose run has ended or never existed in Temporal, and keeps those of a running run', async () => {
    // Started on a task queue no worker polls: the run stays RUNNING until terminated.
    const runId = `live-${process.pid}`;
    const handle = await client.workflow.start('dagInterpreter', { taskQueue: `unpolled-${process.pid}`, workflowId: runId, args: [] });
    // Workers elsewhere: their owner cannot be checked from here, only their run.
    const elsewhere = { 'dev.maestro.worker-host': 'another-host', 'dev.maestro.worker-pid': '1' };
    const live = await sleeper(maestroLabels(runId, elsewhere));
    const unknown = await sleeper(maestroLabels(`never-started-${process.pid}`, elsewhere));
    const otherNamespace = await sleeper({ ...maestroLabels(`never-started-${process.pid}`, elsewhere), 'dev.maestro.temporal-namespace': 'someone-else' });
    const unlabelled = await sleeper({});

    const first = await sweepOrphans(docker, { temporalNamespace: NAMESPACE, runLiveness: liveness, logger: quiet });
    expect(first.removed).toEqual([expect.objectContaining({ id: unknown, reason: 'run-ended' })]);
    expect(await exists(live)).toBe(true);

    await handle.terminate('test over');
    const second = await sweepOrphans(docker, { temporalNamespace: NAMESPACE, runLiveness: liveness, logger: quiet });
    expect(second.removed).toEqual([expect.objectContaining({ id: live, runId, reason: 'run-ended' })]);
    expect(await exists(live)).toBe(false);
    expect(await exists(otherNamespace)).toBe(true);
    expect(await exists(unlabelled)).toBe(true);
    await remove([otherNamespace, unlabelled]);
  });

  it('keeps a container when Temporal cannot tell, and one whose worker on this host is alive', async () => {
    const cannotTell: RunLiveness = () => Promise.reject(new Error('Temporal unreachable'));
    const orphanMaybe = await sleeper(maestroLabels(`unknown-${process.pid}`, { 'dev.maestro.worker-host': 'another-host', 'dev.maestro.worker-pid': '1' }));
    const aliveOwner = await sleeper(maestroLabels(`never-${process.pid}`, { 'dev.maestro.worker-host': hostname(), 'dev.maestro.worker-pid': String(process.ppid) }));
    const result = await sweepOrphans(docker, { temporalNamespace: NAMESPACE, runLiveness: cannotTell, logger: quiet });
    expect(result).toEqual({ removed: [], kept: 2 });
    await remove([orphanMaybe, aliveOwner]);
  });
});
