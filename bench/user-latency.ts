/**
 * User-visible latency (issue 24, deliverable 6): `POST /runs` of a 3-step pure workflow, then
 * `GET /runs/{runId}?wait=30s` until the client sees SUCCEEDED — and the same in one call,
 * `POST /runs?wait=30s` —, through the API and the worker in
 * processes of their own (./read-latency.ts's stack), against the raw Temporal client starting a
 * hand-written workflow of 3 local activities (`sequentialLocal` of ./baseline-workflows.ts, the
 * same `runTask` on the same task) on the same dev server and awaiting its result — interleaved in
 * the same run, so load drifts hit both alike.
 *
 * Each Maestro sample is split where its time goes: the `POST /runs` answer (authentication,
 * policy decision, store writes, admission, the workflow start), the run itself on the worker (its
 * `startedAt` → `endedAt`, the workflow's clock), and the rest until the client has the answer (the
 * long-poll seeing the close event, the final read).
 *
 * Environment: `BENCH_USER_SAMPLES` measured samples per side (default 30, after 3 discarded).
 */
import { randomUUID } from 'node:crypto';
import { NativeConnection } from '@temporalio/worker';
import { BASELINE_QUEUE, bundleBaselineWorkflows, createBaselineWorker } from './engine.js';
import { startBenchStack } from './read-latency.js';
import { BENCH_TASK } from './shapes.js';
import { positiveInt, summarize, type Summary } from './stats.js';

/** Three pure steps in a row; `n` keeps each run's input apart from the task cache's entries. */
const WORKFLOW = `apiVersion: maestro/v1
kind: Workflow
metadata: { name: user-latency, version: 1.0.0 }
spec:
  policy: { purpose: benchmark, authority: maestro-bench, license: internal }
  parameters:
    - { name: n, type: integer, required: true }
  tasks:
    - { id: step1, uses: ${BENCH_TASK}, with: { rows: ["\${params.n}"], expression: "$ + 1" } }
    - { id: step2, uses: ${BENCH_TASK}, needs: [step1], with: { rows: "\${tasks.step1.outputs.rows}", expression: "$ + 1" } }
    - { id: step3, uses: ${BENCH_TASK}, needs: [step2], with: { rows: "\${tasks.step2.outputs.rows}", expression: "$ + 1" } }
`;
const WARMUP = 3;
/** The target: Maestro's median at most this many times the raw floor's. */
const RATIO_TARGET = 1.3;

/** What the suite measured (milliseconds). */
export interface UserLatencyResult {
  maestro: { total: Summary; post: Summary; run: Summary; seen: Summary };
  /** `POST /runs?wait=30s`: start and wait in one call. */
  oneCall: Summary;
  raw: { total: Summary; start: Summary; result: Summary };
  ratio: number;
  targets: { name: string; value: number; limit: number; pass: boolean }[];
}

interface RunDetailView {
  status: string;
  startedAt: string;
  endedAt?: string;
}

/** Measures both sides, interleaved. */
export async function benchUserLatency(): Promise<UserLatencyResult> {
  const samples = positiveInt('BENCH_USER_SAMPLES', 30);
  const stack = await startBenchStack('maestro-bench-user-');
  const connection = await NativeConnection.connect({ address: stack.address });
  const worker = await createBaselineWorker({
    connection,
    taskQueue: BASELINE_QUEUE,
    workflowBundle: await bundleBaselineWorkflows(),
    artifactDir: stack.dataDir,
    writeReceipt: () => Promise.resolve({ receiptUri: '', digest: '', statementDigest: '' }),
  });
  const running = worker.run();
  try {
    await stack.call('POST', '/workflows', WORKFLOW);
    const maestro = { total: [] as number[], post: [] as number[], run: [] as number[], seen: [] as number[] };
    const raw = { total: [] as number[], start: [] as number[], result: [] as number[] };
    const oneCall: number[] = [];
    for (let i = 0; i < samples + WARMUP; i += 1) {
      const keep = i >= WARMUP;
      // Maestro: what a user's client does.
      const t0 = performance.now();
      const { runId } = await stack.call<{ runId: string }>('POST', '/runs', { workflowRef: 'user-latency@1.0.0', params: { n: i } });
      const t1 = performance.now();
      const detail = await stack.call<RunDetailView>('GET', `/runs/${runId}?wait=30s`);
      const t2 = performance.now();
      if (detail.status !== 'SUCCEEDED') throw new Error(`run ${runId} is ${detail.status} after its wait`);
      // Maestro, in one call.
      const w0 = performance.now();
      const waited = await stack.call<{ runId: string; status: string }>('POST', '/runs?wait=30s', { workflowRef: 'user-latency@1.0.0', params: { n: -1 - i } });
      const w1 = performance.now();
      if (waited.status !== 'SUCCEEDED') throw new Error(`run ${waited.runId} is ${waited.status} after its wait`);
      // The raw floor.
      const r0 = performance.now();
      const handle = await stack.rawClient.workflow.start('sequentialLocal', { workflowId: `raw-${randomUUID()}`, taskQueue: BASELINE_QUEUE, args: [{ n: 3, uses: BENCH_TASK, namespace: 'default' }] });
      const r1 = performance.now();
      await handle.result();
      const r2 = performance.now();
      if (!keep) continue;
      maestro.total.push(t2 - t0);
      maestro.post.push(t1 - t0);
      maestro.run.push(Date.parse(detail.endedAt ?? detail.startedAt) - Date.parse(detail.startedAt));
      maestro.seen.push(t2 - t1);
      oneCall.push(w1 - w0);
      raw.total.push(r2 - r0);
      raw.start.push(r1 - r0);
      raw.result.push(r2 - r1);
    }
    const total = summarize(maestro.total);
    const rawTotal = summarize(raw.total);
    const ratio = total.median / rawTotal.median;
    const waited = summarize(oneCall);
    const oneCallRatio = waited.median / rawTotal.median;
    return {
      maestro: { total, post: summarize(maestro.post), run: summarize(maestro.run), seen: summarize(maestro.seen) },
      oneCall: waited,
      raw: { total: rawTotal, start: summarize(raw.start), result: summarize(raw.result) },
      ratio,
      targets: [
        { name: 'POST /runs, then GET ?wait → SUCCEEDED seen, Maestro p50 / raw p50', value: ratio, limit: RATIO_TARGET, pass: ratio <= RATIO_TARGET },
        { name: 'POST /runs?wait → SUCCEEDED seen (one call), Maestro p50 / raw p50', value: oneCallRatio, limit: RATIO_TARGET, pass: oneCallRatio <= RATIO_TARGET },
      ],
    };
  } finally {
    worker.shutdown();
    await running;
    await connection.close();
    await stack.close();
  }
}

const ms = (value: number): string => value.toFixed(1);

/** The suite's markdown section. */
export function userLatencyReport({ maestro, oneCall, raw, targets }: UserLatencyResult): string {
  return [
    '## User-visible latency: start → SUCCEEDED seen by the client',
    '',
    'A 3-step pure workflow through the API (`POST /runs`, then `GET /runs/{runId}?wait=30s`; and `POST /runs?wait=30s`, one call) against the raw client starting a hand-written workflow of 3 local activities and awaiting its result, interleaved, same dev server.',
    '',
    '| | p50 | p95 |',
    '|---|---|---|',
    `| Maestro: POST /runs → SUCCEEDED seen | ${ms(maestro.total.median)} | ${ms(maestro.total.p95)} |`,
    `| … of which POST /runs answered | ${ms(maestro.post.median)} | ${ms(maestro.post.p95)} |`,
    `| … of which the long-poll until SUCCEEDED | ${ms(maestro.seen.median)} | ${ms(maestro.seen.p95)} |`,
    `| … the run on the worker (startedAt → endedAt) | ${ms(maestro.run.median)} | ${ms(maestro.run.p95)} |`,
    `| Maestro: POST /runs?wait → SUCCEEDED seen (one call) | ${ms(oneCall.median)} | ${ms(oneCall.p95)} |`,
    `| raw: start → result | ${ms(raw.total.median)} | ${ms(raw.total.p95)} |`,
    `| … of which start | ${ms(raw.start.median)} | ${ms(raw.start.p95)} |`,
    `| … of which result | ${ms(raw.result.median)} | ${ms(raw.result.p95)} |`,
    '',
    ...targets.map((t) => `- ${t.name}: ${t.value.toFixed(2)} (target ≤ ${t.limit}): **${t.pass ? 'PASS' : 'FAIL'}**`),
  ].join('\n');
}
