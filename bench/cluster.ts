/**
 * Cluster benchmark (issue 24): run throughput with one Maestro worker against two, on the
 * production topology — a real Temporal cluster on PostgreSQL (frontend, history, matching and
 * worker services as separate processes, test/peers/temporal-cluster.ts), two APIs and the workers
 * as separate processes sharing one PostgreSQL store — at the same fixed offered load, in the same
 * run: the 1-worker round first, then the 2-worker round, each with fresh worker processes and
 * after a few seconds of unmeasured load.
 *
 * Each run is three tasks: an HTTP call to a local peer (an activity), a JSONata map (a local
 * activity), another HTTP call. Load is open-loop: `POST /runs` at `BENCH_CLUSTER_RATE`/s for
 * `BENCH_CLUSTER_SECONDS`, alternating between the two APIs. A run's latency is from just before
 * its `POST /runs` to its close time in Temporal (both clocks are this machine's); throughput is
 * runs completed per second from the first request to the last close.
 *
 * Everything shares this machine's cores (two, here, with whatever else runs): the ratio between
 * the rounds is the figure to read, not the absolute rates.
 *
 * Environment: `BENCH_CLUSTER_RATE` (default 5), `BENCH_CLUSTER_SECONDS` (default 20).
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { Client, Connection } from '@temporalio/client';
import { startHttpPeer } from '../test/helpers/http-peer.js';
import { registerWorkflow, startApiProcess, startRunVia, startWorkerProcess, topologySettings, type TopologyProcess } from '../test/helpers/topology.js';
import { startTemporalCluster } from '../test/peers/temporal-cluster.js';
import { positiveInt, summarize, type Summary } from './stats.js';

const WORKFLOW = 'cluster-bench';
/** Seconds of load, unmeasured, before each round. */
const WARM_UP_SECONDS = 3;
const manifest = (peerUrl: string): string => `apiVersion: maestro/v1
kind: Workflow
metadata: { name: ${WORKFLOW}, version: 1.0.0, namespace: default }
spec:
  policy: { purpose: benchmark, authority: maestro-examples, license: internal }
  parameters:
    - { name: key, type: string }
  tasks:
    - { id: fetch, uses: tasks/http.request@0.1.0, with: { url: "${peerUrl}/ok/\${params.key}-fetch" } }
    - { id: map, uses: tasks/transform.map@0.1.0, needs: [fetch], with: { rows: [1, 2, 3], expression: "$ * 2" } }
    - { id: send, uses: tasks/http.request@0.1.0, needs: [map], with: { url: "${peerUrl}/ok/\${params.key}-send" } }
`;

/** One round: `workers` worker processes at the offered load. */
export interface ClusterRound {
  workers: number;
  offered: number;
  completed: number;
  failed: number;
  /** Runs completed per second, first request to last close. */
  throughput: number;
  /** `POST /runs` sent → run closed, ms. */
  latency: Summary;
  /** This machine's 1-minute load average as the round began and ended (others' work included). */
  loadAverage: [number, number];
}

/** What the suite measured. */
export interface ClusterBenchResult {
  rate: number;
  seconds: number;
  rounds: ClusterRound[];
  /** 2 workers / 1 worker. */
  throughputRatio: number;
  p50Ratio: number;
  p95Ratio: number;
}

/** Waits until every run is closed; returns each one's close time (ms since the epoch) and whether it completed. */
async function closes(client: Client, runIds: string[]): Promise<Map<string, { closedAt: number; completed: boolean }>> {
  const closed = new Map<string, { closedAt: number; completed: boolean }>();
  const deadline = Date.now() + 300_000;
  while (closed.size < runIds.length) {
    if (Date.now() > deadline) throw new Error(`${runIds.length - closed.size} run(s) still open after 5 minutes`);
    for (const runId of runIds.filter((id) => !closed.has(id))) {
      const description = await client.workflow.getHandle(runId).describe();
      if (description.closeTime !== undefined) closed.set(runId, { closedAt: description.closeTime.getTime(), completed: description.status.name === 'COMPLETED' });
    }
    if (closed.size < runIds.length) await sleep(1000);
  }
  return closed;
}

/** Runs the suite: a cluster, two APIs, then a round with one worker and a round with two. */
export async function benchCluster(): Promise<ClusterBenchResult> {
  const rate = positiveInt('BENCH_CLUSTER_RATE', 5);
  const seconds = positiveInt('BENCH_CLUSTER_SECONDS', 20);
  const [cluster, peer, dataDir] = await Promise.all([startTemporalCluster(), startHttpPeer(), mkdtemp(join(tmpdir(), 'maestro-bench-cluster-'))]);
  const connection = await Connection.connect({ address: cluster.address });
  const client = new Client({ connection, namespace: cluster.namespace });
  const settings = topologySettings({ temporalAddress: cluster.address, databaseUrl: cluster.postgres.url, dataDir });
  const processes: TopologyProcess[] = [];
  try {
    // One process first: it migrates the store and creates the shared keys.
    const first = await startApiProcess(settings);
    const apis = [first, await startApiProcess(settings)];
    processes.push(...apis);
    await registerWorkflow(first, settings, manifest(peer.url));
    /** Offers `total` runs at `rate`, open loop, through both APIs; resolves once all are closed. */
    const offer = async (prefix: string, total: number): Promise<{ runId: string; sentAt: number; closedAt: number; completed: boolean }[]> => {
      const began = Date.now();
      const sent = await Promise.all(
        Array.from({ length: total }, async (_, i) => {
          await sleep(Math.max(0, began + (i * 1000) / rate - Date.now()));
          const sentAt = Date.now();
          const { runId } = await startRunVia(apis, settings, { workflowRef: `${WORKFLOW}@1.0.0`, key: `${prefix}-${i}`, params: { key: `${prefix}-${i}` } }, i);
          return { runId, sentAt };
        }),
      );
      const closed = await closes(client, sent.map((s) => s.runId));
      return sent.map((s) => ({ ...s, ...closed.get(s.runId)! }));
    };
    const rounds: ClusterRound[] = [];
    for (const count of [1, 2]) {
      const workers: TopologyProcess[] = [];
      for (let i = 0; i < count; i += 1) workers.push(await startWorkerProcess(settings));
      processes.push(...workers);
      // Unmeasured: new processes compile and warm their caches on their first runs.
      console.error(`cluster: ${count} worker(s), warm-up…`);
      await offer(`warm${count}`, rate * WARM_UP_SECONDS);
      console.error(`cluster: ${count} worker(s), ${rate} runs/s for ${seconds} s…`);
      const load = loadavg()[0] ?? Number.NaN;
      const began = Date.now();
      const done = await offer(`w${count}`, rate * seconds);
      const completed = done.filter((d) => d.completed);
      const lastClose = Math.max(...done.map((d) => d.closedAt));
      rounds.push({
        workers: count,
        offered: done.length,
        completed: completed.length,
        failed: done.length - completed.length,
        throughput: completed.length / ((lastClose - began) / 1000),
        latency: summarize(completed.map((d) => d.closedAt - d.sentAt)),
        loadAverage: [load, loadavg()[0] ?? Number.NaN],
      });
      await Promise.all(workers.map((worker) => worker.drain()));
    }
    const [one, two] = rounds as [ClusterRound, ClusterRound];
    return {
      rate,
      seconds,
      rounds,
      throughputRatio: two.throughput / one.throughput,
      p50Ratio: two.latency.median / one.latency.median,
      p95Ratio: two.latency.p95 / one.latency.p95,
    };
  } catch (error) {
    // What the processes said is the diagnosis: an API's 500 names its cause only in its log.
    const said = processes.map((process) => `--- ${process.kind} ${process.pid}\n${process.output().trimEnd().split('\n').slice(-20).join('\n')}`);
    if (error instanceof Error) error.message += `\n${said.join('\n')}`;
    throw error;
  } finally {
    await Promise.all(processes.map((process) => process.kill()));
    await connection.close();
    await Promise.all([cluster.stop(), peer.close()]);
    await rm(dataDir, { recursive: true, force: true });
  }
}

/** The suite's markdown section. */
export function clusterReport(result: ClusterBenchResult): string {
  const f = (n: number, digits = 0): string => (Number.isFinite(n) ? n.toFixed(digits) : '–');
  return [
    `## Cluster topology: 1 worker vs 2 workers at ${result.rate} runs/s offered for ${result.seconds} s`,
    '',
    'Temporal cluster on PostgreSQL (4 service processes), 2 APIs, the workers as separate processes, one PostgreSQL store; runs of 3 tasks (HTTP, JSONata map, HTTP); same run, 1-worker round first, each after a 3 s unmeasured warm-up. The machine\'s cores are shared with everything else running: read the ratio, and the load average beside it.',
    '',
    '| workers | offered | completed | failed | runs/s completed | p50 ms | p95 ms | max ms | load average |',
    '| --- | --- | --- | --- | --- | --- | --- | --- | --- |',
    ...result.rounds.map(
      (r) =>
        `| ${r.workers} | ${r.offered} | ${r.completed} | ${r.failed} | ${f(r.throughput, 2)} | ${f(r.latency.median)} | ${f(r.latency.p95)} | ${f(r.latency.max)} | ${f(r.loadAverage[0], 1)} → ${f(r.loadAverage[1], 1)} |`,
    ),
    '',
    `2 workers / 1 worker: throughput ${f(result.throughputRatio, 2)}, p50 latency ${f(result.p50Ratio, 2)}, p95 latency ${f(result.p95Ratio, 2)}.`,
  ].join('\n');
}
