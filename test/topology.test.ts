/**
 * The production topology on a real Temporal cluster (issue 24, deliverable 2): Temporal's
 * frontend, history, matching and worker services as separate processes on PostgreSQL, two Maestro
 * workers and two APIs as separate processes sharing one PostgreSQL store. Runs sent through both
 * APIs complete, with tasks on both workers; a SIGKILL of a worker and of an API mid-load loses no
 * run, starts none twice, and repeats no side effect of a task that had completed (an HTTP peer
 * counts each task's requests); a rolling restart of the workers onto a new build finishes every
 * run, whose histories the new build replays.
 */
import { randomUUID } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { Client, Connection } from '@temporalio/client';
import type proto from '@temporalio/proto';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { startHttpPeer, type HttpPeer } from './helpers/http-peer.js';
import { copyBuild, registerWorkflow, startApiProcess, startRunVia, startWorkerProcess, topologySettings, type TopologyProcess, type TopologySettings } from './helpers/topology.js';
import { startTemporalCluster, type TemporalClusterPeer } from './peers/temporal-cluster.js';

type HistoryEvent = proto.temporal.api.history.v1.IHistoryEvent;
/** `PENDING_ACTIVITY_STATE_STARTED`: a worker took the attempt. */
const STARTED = 2;

const WORKFLOW = `topology-${randomUUID().slice(0, 8)}`;
/** Three effects on the peer, a slow one (attempts in flight when a worker dies) and a durable timer (runs in flight across a restart). */
const MANIFEST = (peerUrl: string): string => `apiVersion: maestro/v1
kind: Workflow
metadata: { name: ${WORKFLOW}, version: 1.0.0, namespace: default }
spec:
  policy: { purpose: demo, authority: maestro-examples, license: internal }
  parameters:
    - { name: key, type: string }
  tasks:
    - { id: first, uses: tasks/http.request@0.1.0, with: { url: "${peerUrl}/ok/\${params.key}-first" } }
    - { id: slow, uses: tasks/http.request@0.1.0, needs: [first], with: { url: "${peerUrl}/slow/\${params.key}-slow?ms=1000" } }
    - { id: pause, uses: tasks/wait.sleep@0.1.0, needs: [slow], with: { duration: 3s } }
    - { id: last, uses: tasks/http.request@0.1.0, needs: [pause], with: { url: "${peerUrl}/ok/\${params.key}-last" } }
`;
/** The peer paths a run's tasks call, each once per execution of the task. */
const effectsOf = (key: string): string[] => [`/ok/${key}-first`, `/slow/${key}-slow`, `/ok/${key}-last`];

let cluster: TemporalClusterPeer;
let peer: HttpPeer;
let dataDir: string;
let newBuild: string;
let connection: Connection;
let client: Client;
let settings: TopologySettings;
const processes: TopologyProcess[] = [];
const workers: TopologyProcess[] = [];
const apis: TopologyProcess[] = [];

beforeAll(async () => {
  [cluster, peer, dataDir, newBuild] = await Promise.all([
    startTemporalCluster(),
    startHttpPeer(),
    mkdtemp(join(tmpdir(), 'maestro-topology-')),
    copyBuild(`rolling restart onto build ${randomUUID()}`),
  ]);
  connection = await Connection.connect({ address: cluster.address });
  client = new Client({ connection, namespace: cluster.namespace });
  settings = topologySettings({ temporalAddress: cluster.address, databaseUrl: cluster.postgres.url, dataDir });
  // One first: it migrates the store and creates the keys in the shared data directory that the others then read.
  workers.push(await startWorkerProcess(settings));
  const [worker, ...both] = await Promise.all([startWorkerProcess(settings), startApiProcess(settings), startApiProcess(settings)]);
  workers.push(worker);
  apis.push(...both);
  processes.push(...workers, ...apis);
  await registerWorkflow(apis[0]!, settings, MANIFEST(peer.url));
}, 900_000);

afterAll(async () => {
  await Promise.all(processes.map((process) => process.kill()));
  await connection?.close();
  await Promise.all([cluster?.stop(), peer?.close()]);
  await Promise.all([dataDir, newBuild].filter(Boolean).map((dir) => rm(dir, { recursive: true, force: true })));
});

function auth(): Record<string, string> {
  return { authorization: `Bearer ${settings.token}` };
}

/**
 * Offers runs at `perSecond`, open loop, alternating between the APIs, until `enough()` says so;
 * each run goes into `started` (key → run id) as soon as an API answers. Resolves once every run
 * offered has started, with how many went to the other API because theirs did not answer.
 */
async function offerLoad(prefix: string, perSecond: number, enough: () => boolean, started: Map<string, string>): Promise<{ runIds: Map<string, string>; failedOver: number }> {
  const answers: Promise<boolean>[] = [];
  for (let i = 0; !enough(); i += 1) {
    const key = `${prefix}-${i}`;
    answers.push(
      startRunVia(apis, settings, { workflowRef: `${WORKFLOW}@1.0.0`, key, params: { key } }, i).then(({ runId, api }) => {
        started.set(key, runId);
        return api !== apis[i % apis.length];
      }),
    );
    await sleep(1000 / perSecond);
  }
  return { runIds: started, failedOver: (await Promise.all(answers)).filter(Boolean).length };
}

/** The status of a run as a live API reports it. */
async function statusOf(runId: string): Promise<string> {
  const api = apis.find((candidate) => candidate.child.exitCode === null && candidate.child.signalCode === null)!;
  const response = await fetch(`${api.url}/runs/${runId}`, { headers: auth() });
  return String(((await response.json()) as { status?: string }).status);
}

async function waitSucceeded(runIds: Iterable<string>): Promise<void> {
  await Promise.all([...runIds].map((runId) => expect.poll(() => statusOf(runId), { timeout: 120_000, interval: 500 }).toBe('SUCCEEDED')));
}

async function history(runId: string): Promise<HistoryEvent[]> {
  return (await client.workflow.getHandle(runId).fetchHistory()).events ?? [];
}

/** What a run's history says about who ran it: task attempts (Temporal's own attempt numbers) and workflow tasks. */
function factsOf(events: HistoryEvent[]): { attemptsBy: string[]; retries: number; workflowTasksBy: string[]; buildIds: string[]; workflowTaskFailures: number } {
  const runTask = new Set(events.filter((e) => e.activityTaskScheduledEventAttributes?.activityType?.name === 'runTask').map((e) => Number(e.eventId)));
  const started = events.map((e) => e.activityTaskStartedEventAttributes).filter((a) => a != null && runTask.has(Number(a.scheduledEventId)));
  return {
    attemptsBy: started.map((a) => a!.identity ?? ''),
    // An attempt Temporal retried (after its worker died): its effect may have happened twice.
    retries: started.reduce((sum, a) => sum + (a!.attempt ?? 1) - 1, 0),
    workflowTasksBy: events.map((e) => e.workflowTaskCompletedEventAttributes?.identity).filter((identity): identity is string => identity != null),
    buildIds: events.map((e) => e.workflowTaskCompletedEventAttributes?.workerVersion?.buildId).filter((id): id is string => !!id),
    workflowTaskFailures: events.filter((e) => e.workflowTaskFailedEventAttributes != null).length,
  };
}

/**
 * Whether one of `runIds` has a task attempt in progress on the worker `identity` that began less
 * than half of the slow task's second ago (Temporal's pending activities, as `describe` shows them).
 */
async function midAttemptOn(identity: string, runIds: string[]): Promise<boolean> {
  const descriptions = await Promise.all(runIds.map((runId) => client.workflow.getHandle(runId).describe()));
  const now = Date.now();
  return descriptions.some(({ raw }) =>
    (raw.pendingActivities ?? []).some((activity) => {
      const startedMs = Number(activity.lastStartedTime?.seconds ?? 0) * 1000 + (activity.lastStartedTime?.nanos ?? 0) / 1e6;
      return activity.activityType?.name === 'runTask' && activity.lastWorkerIdentity === identity && activity.state === STARTED && now - startedMs < 500;
    }),
  );
}

/** The runs Temporal's visibility holds for the test's workflow (each key must have started one). */
async function runsInVisibility(): Promise<number> {
  return (await client.workflow.count(`MaestroWorkflow = '${WORKFLOW}'`)).count;
}

it('completes runs sent through both APIs on both workers; a SIGKILL of a worker and an API mid-load loses no run and repeats no completed task', async () => {
  const [doomedWorker, survivor] = workers as [TopologyProcess, TopologyProcess];
  const doomedApi = apis[0]!;
  const started = new Map<string, string>();
  // Load goes on until 2 s after the kill: requests keep reaching the dead API's address.
  let killedAt = Number.POSITIVE_INFINITY;
  const load = offerLoad('kill', 5, () => Date.now() > killedAt + 2_000, started);
  // Kill once the doomed worker has completed task attempts of its own, with runs in flight.
  const completedOnDoomed = async (): Promise<boolean> => {
    const histories = await Promise.all([...started.values()].map(history));
    return histories.some((events) => factsOf(events).attemptsBy.includes(doomedWorker.identity));
  };
  await expect.poll(completedOnDoomed, { timeout: 60_000, interval: 250 }).toBe(true);
  // … and at a moment when it has a slow attempt started, far from its end: Temporal must retry it.
  await expect.poll(() => midAttemptOn(doomedWorker.identity, [...started.values()].slice(-15)), { timeout: 60_000, interval: 50 }).toBe(true);
  await Promise.all([doomedWorker.kill(), doomedApi.kill()]);
  killedAt = Date.now();
  const { runIds, failedOver } = await load;

  // Every key started one run, and only one, though requests for the killed API went to the other.
  expect(failedOver).toBeGreaterThan(0);
  expect(new Set(runIds.values()).size).toBe(runIds.size);
  await waitSucceeded(runIds.values());
  await expect.poll(runsInVisibility, { timeout: 30_000 }).toBe(runIds.size);

  const facts = await Promise.all([...runIds].map(async ([key, runId]) => ({ key, ...factsOf(await history(runId)) })));
  const ranOn = new Set(facts.flatMap((fact) => fact.attemptsBy));
  expect(ranOn).toContain(doomedWorker.identity);
  expect(ranOn).toContain(survivor.identity);
  // The kill landed mid-attempt: Temporal retried attempts the dead worker had started.
  const retried = facts.reduce((sum, fact) => sum + fact.retries, 0);
  expect(retried).toBeGreaterThan(0);
  console.info(`topology: ${failedOver} of ${runIds.size} starts failed over to the other API; ${retried} attempt(s) retried after the SIGKILL`);
  for (const { key, retries } of facts) {
    const hits = effectsOf(key).map((path) => peer.hits.get(path) ?? 0);
    // Each task's effect happened, and a second time only for an attempt Temporal retried because
    // its worker died mid-attempt: never for a task whose completion Temporal had recorded.
    expect(hits.every((n) => n >= 1), `${key}: ${hits.join(',')}`).toBe(true);
    expect(hits.reduce((sum, n) => sum + n - 1, 0), `${key}: ${hits.join(',')}, ${retries} retried`).toBeLessThanOrEqual(retries);
  }
}, 300_000);

it('finishes every run across a rolling restart of the workers onto a new build, which replays their histories', async () => {
  const [, oldWorker] = workers as [TopologyProcess, TopologyProcess];
  // Back to two workers on the old build, then replace each in turn with the new build.
  const otherOld = await startWorkerProcess(settings);
  processes.push(otherOld);
  const old = [oldWorker, otherOld];
  const fresh: TopologyProcess[] = [];
  let restarted = Number.POSITIVE_INFINITY;
  const load = offerLoad('roll', 1, () => Date.now() > restarted + 2_000, new Map());
  for (const previous of old) {
    const next = await startWorkerProcess(settings, { root: newBuild });
    processes.push(next);
    fresh.push(next);
    await previous.drain();
  }
  restarted = Date.now();
  const { runIds } = await load;

  await waitSucceeded(runIds.values());
  const facts = await Promise.all([...runIds.values()].map(async (runId) => factsOf(await history(runId))));
  const oldIds = new Set(old.map((w) => w.identity));
  const newIds = new Set(fresh.map((w) => w.identity));
  // Runs the old build began and the new build finished: the new build replayed what the old one
  // recorded, without a single failed workflow task (a non-determinism error would be one).
  const crossed = facts.filter((f) => f.workflowTasksBy.some((id) => oldIds.has(id)) && f.workflowTasksBy.some((id) => newIds.has(id)));
  expect(crossed.length).toBeGreaterThan(0);
  // Temporal recorded the two builds' ids (the SDK's hash of each workflow bundle) in those histories.
  expect(new Set(crossed.flatMap((f) => f.buildIds)).size).toBe(2);
  console.info(`topology: ${crossed.length} of ${facts.length} runs began on the old build and ended on the new one`);
  expect(facts.map((f) => f.workflowTaskFailures)).toEqual(facts.map(() => 0));
  expect(new Set(facts.flatMap((f) => f.workflowTasksBy).filter((id) => !oldIds.has(id) && !newIds.has(id)))).toEqual(new Set());
}, 300_000);
