/**
 * Webhook latency: a signed `POST /hooks/{namespace}/{name}` delivery → the runbook's first task
 * scheduled, against `POST /runs` of the same workflow → its first task scheduled, measured in the
 * same run, alternating one of each (so drift in the machine's load hits both alike), on a dev
 * server of its own with the worker and the API each in its own process (as bench/api-load.ts).
 * "First task scheduled" is the run's first TimerStarted event (its first task is a durable timer),
 * read from history; the clock is the server's, the send time the load generator's (same machine).
 *
 * Run alone: `tsx bench/webhook-latency.ts` (env `BENCH_WEBHOOK_PAIRS`, default 100).
 */
import { type ChildProcess } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { Agent } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Client, Connection } from '@temporalio/client';
import { loadConfig } from '../src/config/index.js';
import { resolveTemporalBin, startDevServer } from '../src/devserver/index.js';
import { PRIORITY_DYNAMIC_CONFIG } from '../src/runs/index.js';
import { hmacSha256Hex } from '../src/triggers/index.js';
import { child, firstTaskScheduled, LOAD_MANIFEST, post, stopChild } from './api-load.js';
import { TUNED_DYNAMIC_CONFIG } from './engine.js';
import { ms, pairedMedianRatio, ratio, summarize, type Summary } from './stats.js';

const TOKEN = 'bench-webhook-token-0123456789abcdef';
const SECRET = 'bench-webhook-secret-0123456789';
const TASK_QUEUE = 'bench-webhook';

const RUNBOOK = `apiVersion: maestro/v1
kind: Runbook
metadata: { name: api-load-hook, version: 1.0.0, allowList: { roles: [admin] } }
spec: { inputs: [], workflowRef: api-load@1.0.0 }
`;

/** What {@link benchWebhookLatency} measured, in ms. */
export interface WebhookLatencyResult {
  pairs: number;
  /** Delivery sent → first task scheduled. */
  webhook: Summary;
  /** `POST /runs` sent → first task scheduled. */
  runs: Summary;
  /** The HTTP call alone: delivery answered (202) and `POST /runs` answered (201). */
  answer: { webhook: Summary; runs: Summary };
  /** Median of the paired ratios webhook / POST /runs, with its 95% bootstrap interval. */
  ratio: { median: number; interval: [number, number] };
}

async function scheduledAfter(client: Client, runId: string, sentAt: number): Promise<number> {
  const deadline = Date.now() + 60_000;
  for (;;) {
    const time = await firstTaskScheduled(client, runId);
    if (time !== undefined) return time - sentAt;
    if (Date.now() > deadline) throw new Error(`run ${runId} scheduled no task in 60 s`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

/** Measures `pairs` webhook deliveries and as many `POST /runs`, one after the other. */
export async function benchWebhookLatency({ pairs = 100 }: { pairs?: number } = {}): Promise<WebhookLatencyResult> {
  const dir = await mkdtemp(join(tmpdir(), 'maestro-webhook-bench-'));
  const server = await startDevServer({
    bin: resolveTemporalBin(loadConfig().temporalBin),
    port: 0,
    ui: false,
    dbFile: join(dir, 'temporal.db'),
    dynamicConfig: { ...TUNED_DYNAMIC_CONFIG, ...PRIORITY_DYNAMIC_CONFIG },
    logLevel: 'error',
  });
  const env = {
    TEMPORAL_ADDRESS: server.address,
    MAESTRO_TASK_QUEUE: TASK_QUEUE,
    MAESTRO_DATA_DIR: dir,
    MAESTRO_LOG_LEVEL: 'error',
    MAESTRO_DEV_TOKEN: TOKEN,
    MAESTRO_PORT: '0',
    MAESTRO_SECRET_BENCH_HOOK: SECRET,
  };
  const children: ChildProcess[] = [];
  const connection = await Connection.connect({ address: server.address });
  const agent = new Agent({ keepAlive: true });
  try {
    children.push((await child('workers/worker.ts', [], { ...env, MAESTRO_LOG_LEVEL: 'info' }, "state: 'RUNNING'")).process);
    const api = await child('src/cli/main.ts', ['api'], env, 'Maestro API on ');
    children.push(api.process);
    const url = /Maestro API on (http:\/\/\S+)/.exec(api.output())?.[1];
    if (!url) throw new Error(`maestro api printed no URL:\n${api.output()}`);
    const client = new Client({ connection });
    const headers = { authorization: `Bearer ${TOKEN}`, 'content-type': 'application/json' };
    for (const [path, body] of [['/workflows', LOAD_MANIFEST], ['/runbooks', RUNBOOK]] as const) {
      const res = await post(agent, `${url}${path}`, { ...headers, 'content-type': 'application/yaml' }, body);
      if (res.status !== 201) throw new Error(`POST ${path}: ${res.status} ${res.text}`);
    }
    // The rate limit is set past what the benchmark sends: it measures the path, not the limit.
    const trigger = JSON.stringify({ name: 'bench', runbook: 'api-load-hook', auth: { secret: 'bench-hook' }, rateLimit: { perMinute: 10_000 } });
    const created = await post(agent, `${url}/triggers`, headers, trigger);
    if (created.status !== 201) throw new Error(`POST /triggers: ${created.status} ${created.text}`);
    const viaHook = async (index: number): Promise<{ runId: string; took: number }> => {
      const body = JSON.stringify({ delivery: index });
      const t0 = performance.now();
      const res = await post(agent, `${url}/hooks/default/bench`, { 'content-type': 'application/json', 'x-maestro-signature': `sha256=${hmacSha256Hex(SECRET, Buffer.from(body))}` }, body);
      const took = performance.now() - t0;
      if (res.status !== 202) throw new Error(`delivery: ${res.status} ${res.text}`);
      return { runId: (JSON.parse(res.text) as { runIds: string[] }).runIds[0] ?? '', took };
    };
    const viaRuns = async (): Promise<{ runId: string; took: number }> => {
      const t0 = performance.now();
      const res = await post(agent, `${url}/runs`, headers, JSON.stringify({ workflowRef: 'api-load@1.0.0', params: {} }));
      const took = performance.now() - t0;
      if (res.status !== 201) throw new Error(`POST /runs: ${res.status} ${res.text}`);
      return { runId: (JSON.parse(res.text) as { runId: string }).runId, took };
    };
    const measure = async (send: () => Promise<{ runId: string; took: number }>): Promise<{ latency: number; took: number }> => {
      const sentAt = Date.now();
      const { runId, took } = await send();
      return { latency: await scheduledAfter(client, runId, sentAt), took };
    };
    // Warm both paths (connections, JIT, the CEL threads, the worker's cache) outside the measurement.
    for (let i = 0; i < 10; i += 1) {
      await measure(() => viaHook(-i - 1));
      await measure(viaRuns);
    }
    const hook: { latency: number; took: number }[] = [];
    const runs: { latency: number; took: number }[] = [];
    for (let i = 0; i < pairs; i += 1) {
      // Alternate which goes first, so neither always meets the other's tail.
      if (i % 2 === 0) {
        hook.push(await measure(() => viaHook(i)));
        runs.push(await measure(viaRuns));
      } else {
        runs.push(await measure(viaRuns));
        hook.push(await measure(() => viaHook(i)));
      }
    }
    const webhookLatencies = hook.map((s) => s.latency);
    const runsLatencies = runs.map((s) => s.latency);
    return {
      pairs,
      webhook: summarize(webhookLatencies),
      runs: summarize(runsLatencies),
      answer: { webhook: summarize(hook.map((s) => s.took)), runs: summarize(runs.map((s) => s.took)) },
      ratio: pairedMedianRatio(webhookLatencies, runsLatencies),
    };
  } finally {
    agent.destroy();
    for (const process_ of children.reverse()) await stopChild(process_);
    await connection.close();
    await server.stop();
    await rm(dir, { recursive: true, force: true });
  }
}

/** The result as a markdown section. */
export function webhookLatencyMarkdown(result: WebhookLatencyResult): string {
  const row = (name: string, s: Summary) => `| ${name} | ${ms(s.median)} | ${ms(s.p95)} |`;
  return [
    `## Webhook → first task scheduled (${result.pairs} pairs, alternating)`,
    '',
    '| path | p50 (ms) | p95 (ms) |',
    '| --- | --- | --- |',
    row('signed POST /hooks → first task', result.webhook),
    row('POST /runs → first task', result.runs),
    row('POST /hooks answered (202)', result.answer.webhook),
    row('POST /runs answered (201)', result.answer.runs),
    '',
    `Paired median ratio webhook / POST /runs: ${ratio(result.ratio.median)} (95% CI ${ratio(result.ratio.interval[0])}–${ratio(result.ratio.interval[1])}); target ≤ 1.10.`,
  ].join('\n');
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const pairs = Number(process.env.BENCH_WEBHOOK_PAIRS ?? 100);
  console.log(webhookLatencyMarkdown(await benchWebhookLatency({ pairs })));
}
