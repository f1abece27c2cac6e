/**
 * Triggers benchmark (issue 22), on a dev server of its own with the worker and the API each in
 * its own process (as bench/api-load.ts), and a real `nats-server`:
 * - **latency**: event sent → the run's first task started, for a signed webhook
 *   (`POST /hooks/{namespace}/{name}`), a NATS JetStream message (consumed by the worker's message
 *   trigger) and `POST /runs` of the same workflow, interleaved in rotating order in the same run
 *   (so load drifts hit all alike), one at a time, each sample's run ended before the next is
 *   sent; then a schedule fire against `POST /runs` (the schedule helper's
 *   `bench/schedule-fire.ts`, same API and worker). Both ends of each sample are
 *   read on this machine's clock to a microsecond: the send from this process's monotonic clock
 *   tied to the wall clock at the tick of a millisecond (see {@link wallClock}), the first task's
 *   start from its run's history — the start time of the workflow task that started it, which the
 *   run's `startedAt` shows rounded to the millisecond — as the Temporal server recorded it. At
 *   ~10 ms a sample, a millisecond is a tenth of it: whole milliseconds at both ends could move a
 *   ratio by 0.1 on their own. Besides the ratio of medians, the report gives the median of the
 *   per-round ratios (each round's kinds ran back to back) with its 95% bootstrap interval: how
 *   much of the difference is noise.
 * - **flood**: 1,000 NATS messages published open-loop at `BENCH_TRIGGER_NATS_RATE`/s (default 10),
 *   the worker SIGKILLed at the 500th and restarted (messages it was handling are redelivered):
 *   runs started, duplicates (runs beyond one per message: must be 0), the consumer lag (the
 *   worker's `/metrics`, sampled every second) at its peak and once drained.
 *
 * Environment: `BENCH_TRIGGER_SAMPLES` latency samples per kind (default 60),
 * `BENCH_TRIGGER_QUIET_MS` how long after its send a sample's run is first read (default 0: as soon
 * as its id is known),
 * `BENCH_TRIGGER_MESSAGES` (default 1000), `BENCH_TRIGGER_NATS_RATE` (default 10).
 */
import { createHmac } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { ChildProcess } from 'node:child_process';
import { connect, type NatsConnection } from 'nats';
import { Client, Connection } from '@temporalio/client';
import proto from '@temporalio/proto';
import { maestroDataConverter, payloadCodec } from '../src/codec/index.js';
import { runInput } from '../src/runs/index.js';
import { freePort, startNats } from '../test/peers/index.js';
import { child, startBenchTemporal, stopChild } from './api-load.js';
import { benchScheduleFire, scheduleFireReport, type ScheduleFireResult } from './schedule-fire.js';
import { ms, pairedMedianRatio, positiveInt, ratio, summarize, type Summary } from './stats.js';

const TOKEN = 'bench-triggers-token-0123456789abcdef';
const HOOK_SECRET = 'bench-hook-secret-0123456789';
const NAMESPACE = 'default';

/** One task first (a durable timer), as bench/api-load.ts: what "first task started" times. */
const WORKFLOW = `apiVersion: maestro/v1
kind: Workflow
metadata: { name: trigger-bench, version: 1.0.0 }
spec:
  policy: { purpose: benchmark, authority: maestro-bench, license: internal }
  parameters:
    - { name: n, type: integer, default: 0 }
  tasks:
    - { id: first, uses: tasks/wait.sleep@0.1.0, with: { duration: 1ms } }
`;
const RUNBOOK = `apiVersion: maestro/v1
kind: Runbook
metadata: { name: trigger-bench, version: 1.0.0, allowList: { roles: [admin] } }
spec:
  inputs: [{ name: n, type: integer }]
  workflowRef: trigger-bench@1.0.0
  params: { n: "\${inputs.n}" }
`;

/** What the suite measured. */
export interface TriggersBenchResult {
  latency: {
    webhook: Summary;
    nats: Summary;
    api: Summary;
    ratios: { webhook: number; nats: number };
    p95Ratios: { webhook: number; nats: number };
    /** The median of each round's own ratio to its `POST /runs` sample, with its 95% bootstrap interval. */
    paired: { webhook: { median: number; interval: [number, number] }; nats: { median: number; interval: [number, number] } };
    /**
     * Each kind's samples split where the Temporal server recorded the run's start (its first
     * event's time): `recorded`, send → recorded (the caller's and Maestro's path, and the start
     * request's); `dispatched`, recorded → first task started (the server's persistence and matching).
     */
    split: Record<'api' | 'webhook' | 'nats', { recorded: Summary; dispatched: Summary }>;
    /** How long after its send a sample's run is first read (`BENCH_TRIGGER_QUIET_MS`). */
    quietMs: number;
  };
  schedule?: ScheduleFireResult;
  scheduleError?: string;
  flood: {
    messages: number;
    rate: number;
    runsStarted: number;
    distinctMessages: number;
    duplicates: number;
    lagPeak: number;
    lagAfterDrain: number;
    /** Seconds from the first publish until every message had its run (or the wait gave up). */
    drainSeconds: number;
    workerKilledAt: number;
  };
  targets: { name: string; value: number; limit: number; pass: boolean }[];
}

/** One latency sample, in milliseconds from the send: to the first task, and to the server's record of the run's start; and the time between the two. */
interface Sample {
  total: number;
  recorded: number;
  dispatched: number;
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/**
 * This machine's wall clock in milliseconds to a microsecond: `Date.now()` ticks in whole
 * milliseconds, so the monotonic clock is tied to it at the moment it ticks (a spin of at most a
 * millisecond), and `tie()` ties it again, so that a slew of the wall clock during the run does
 * not build up.
 */
export function wallClock(): { now: () => number; tie: () => void } {
  let offset = 0;
  const tie = () => {
    const before = Date.now();
    let tick = before;
    let at = performance.now();
    while (tick === before) {
      at = performance.now();
      tick = Date.now();
    }
    offset = tick - at;
  };
  tie();
  return { now: () => offset + performance.now(), tie };
}

/** A protobuf timestamp in milliseconds since the epoch, to the nanosecond it holds. */
function timestampMs(time: { seconds?: { toString(): string } | number | null; nanos?: number | null } | null | undefined): number {
  return Number(time?.seconds ?? 0) * 1000 + (time?.nanos ?? 0) / 1e6;
}

/** Runs the suite: starts and stops everything it uses. */
export async function benchTriggers(): Promise<TriggersBenchResult> {
  const samples = positiveInt('BENCH_TRIGGER_SAMPLES', 60);
  const messages = positiveInt('BENCH_TRIGGER_MESSAGES', 1000);
  const rate = positiveInt('BENCH_TRIGGER_NATS_RATE', 10);
  const quietMs = positiveInt('BENCH_TRIGGER_QUIET_MS', 0, 0);
  const dir = await mkdtemp(join(tmpdir(), 'maestro-bench-triggers-'));
  const server = await startBenchTemporal(dir);
  const nats = await startNats();
  const metricsPort = await freePort();
  const env = {
    TEMPORAL_ADDRESS: server.address,
    MAESTRO_TASK_QUEUE: 'bench-triggers',
    MAESTRO_DATA_DIR: dir,
    MAESTRO_LOG_LEVEL: 'error',
    MAESTRO_DEV_TOKEN: TOKEN,
    MAESTRO_PORT: '0',
    MAESTRO_EGRESS_ALLOW: JSON.stringify({ [NAMESPACE]: ['127.0.0.0/8'] }),
    MAESTRO_SECRET_BENCH_HOOK: HOOK_SECRET,
    MAESTRO_WORKER_METRICS_PORT: String(metricsPort),
    MAESTRO_TRIGGER_POLL_MS: '500',
    MAESTRO_TRIGGER_ACK_WAIT_MS: '5000',
    MAESTRO_TRIGGER_MAX_IN_FLIGHT: '16',
  };
  const startWorker = async (): Promise<ChildProcess> => (await child('workers/worker.ts', [], { ...env, MAESTRO_LOG_LEVEL: 'info' }, "state: 'RUNNING'")).process;
  const children: ChildProcess[] = [];
  let nc: NatsConnection | undefined;
  let worker: ChildProcess | undefined;
  // Reads the runs' histories: the first task's start to the microsecond, the flood's params.
  const client = new Client({ connection: await Connection.connect({ address: server.address }), dataConverter: maestroDataConverter(payloadCodec({ dataDir: dir })) });
  try {
    worker = await startWorker();
    const api = await child('src/cli/main.ts', ['api'], env, 'Maestro API on ');
    children.push(api.process);
    const url = /Maestro API on (http:\/\/\S+)/.exec(api.output())?.[1];
    if (!url) throw new Error(`maestro api printed no URL:\n${api.output()}`);
    const call = async <T>(method: string, path: string, body?: unknown, headers: Record<string, string> = {}): Promise<T> => {
      const yaml = typeof body === 'string';
      const res = await fetch(`${url}${path}`, {
        method,
        headers: { authorization: `Bearer ${TOKEN}`, 'content-type': yaml ? 'application/yaml' : 'application/json', ...headers },
        ...(body === undefined ? {} : { body: yaml ? body : JSON.stringify(body) }),
      });
      const text = await res.text();
      if (!res.ok) throw new Error(`${method} ${path}: HTTP ${res.status} ${text}`);
      return (text === '' ? undefined : JSON.parse(text)) as T;
    };
    await call('POST', '/workflows', WORKFLOW);
    await call('POST', '/runbooks', RUNBOOK);
    nc = await connect({ servers: nats.url });
    const jsm = await nc.jetstreamManager();
    await jsm.streams.add({ name: 'BENCH', subjects: ['bench.>'] });
    const rateLimit = { perMinute: 10_000 };
    await call('PUT', `/triggers/hook?namespace=${NAMESPACE}`, { runbook: 'trigger-bench', auth: { secret: 'bench-hook' }, inputs: { n: 'body.n' }, rateLimit });
    await call('PUT', `/triggers/latency?namespace=${NAMESPACE}`, { runbook: 'trigger-bench', inputs: { n: 'body.n' }, rateLimit, source: { nats: { url: nats.url, stream: 'BENCH', subject: 'bench.latency', durable: 'latency' } } });
    const js = nc.jetstream();

    const { EventType } = proto.temporal.api.enums.v1;
    /**
     * When the run's first task started — its workflow task's start in the history, else the run's
     * `startedAt` (whole milliseconds) — and when the Temporal server recorded the run's start
     * (its first event): the sample split at the server's door.
     */
    const firstTaskStarted = async (runId: string): Promise<{ task: number; recorded: number }> => {
      for (;;) {
        const run = await call<{ tasks: { startedAt?: string }[] }>('GET', `/runs/${runId}`);
        const started = run.tasks[0]?.startedAt;
        if (started !== undefined) {
          const rounded = Date.parse(started);
          const { events } = await client.workflow.getHandle(runId).fetchHistory();
          const starts = (events ?? []).filter((event) => event.eventType === EventType.EVENT_TYPE_WORKFLOW_TASK_STARTED).map((event) => timestampMs(event.eventTime));
          const nearest = starts.reduce((best, at) => (Math.abs(at - rounded) < Math.abs(best - rounded) ? at : best), Number.POSITIVE_INFINITY);
          const task = Math.abs(nearest - rounded) < 1 ? nearest : rounded;
          return { task, recorded: timestampMs(events?.[0]?.eventTime) };
        }
        await sleep(20);
      }
    };
    const seen = new Set<string>();
    const nextTriggerRun = async (name: string): Promise<string> => {
      for (;;) {
        const { recentRuns } = await call<{ recentRuns: { runId: string }[] }>('GET', `/triggers/${name}?namespace=${NAMESPACE}`);
        const fresh = recentRuns.find((r) => !seen.has(r.runId));
        if (fresh) {
          seen.add(fresh.runId);
          return fresh.runId;
        }
        await sleep(20);
      }
    };
    // The consumer starts within a poll of the trigger's creation; the first message also warms it.
    const clock = wallClock();
    /** A sample: sent → first task, split where the server recorded the run's start. */
    const sample = async (sent: number, runId: Promise<string>): Promise<Sample> => {
      const id = await runId;
      // Nothing asks how the run goes before the quiet time is over: the readers' requests would
      // take the cores the sample is being timed on.
      const quiet = sent + quietMs - clock.now();
      if (quiet > 0) await sleep(quiet);
      const { task, recorded } = await firstTaskStarted(id);
      // The next sample starts once this run has ended: the rest of this one (its timer, its end,
      // its receipt) is the worker's work, which a message trigger's fire, run by the same worker,
      // would otherwise share its event loop with, and the API's fires would not.
      await client.workflow.getHandle(id).result();
      return { total: task - sent, recorded: recorded - sent, dispatched: task - recorded };
    };
    const kinds = {
      api: async (n: number) => {
        const sent = clock.now();
        return sample(sent, call<{ runId: string }>('POST', '/runs', { workflowRef: 'trigger-bench@1.0.0', namespace: NAMESPACE, params: { n } }).then((r) => r.runId));
      },
      webhook: async (n: number) => {
        const body = JSON.stringify({ n });
        const signature = `sha256=${createHmac('sha256', HOOK_SECRET).update(body).digest('hex')}`;
        const sent = clock.now();
        const res = await fetch(`${url}/hooks/${NAMESPACE}/hook`, { method: 'POST', headers: { 'content-type': 'application/json', 'x-maestro-signature': signature }, body });
        const answer = (await res.json()) as { runIds?: string[]; detail?: string };
        const runId = answer.runIds?.[0];
        if (res.status !== 202 || runId === undefined) throw new Error(`webhook: HTTP ${res.status} ${JSON.stringify(answer)}`);
        return sample(sent, Promise.resolve(runId));
      },
      nats: async (n: number) => {
        const sent = clock.now();
        await js.publish('bench.latency', JSON.stringify({ n }));
        const quiet = sent + quietMs - clock.now();
        if (quiet > 0) await sleep(quiet);
        return sample(sent, nextTriggerRun('latency'));
      },
    } as const;
    const order = ['api', 'webhook', 'nats'] as const;
    const measured = { api: [] as Sample[], webhook: [] as Sample[], nats: [] as Sample[] };
    const warmup = 3;
    for (let i = 0; i < warmup + samples; i += 1) {
      clock.tie();
      for (let k = 0; k < order.length; k += 1) {
        const kind = order[(i + k) % order.length] as (typeof order)[number];
        const ms = await kinds[kind](i);
        if (i >= warmup) measured[kind].push(ms);
      }
      if ((i + 1) % 10 === 0) console.error(`triggers latency: ${i + 1}/${warmup + samples}`);
    }
    const totals = (kind: keyof typeof measured) => measured[kind].map((s) => s.total);
    const latency = { webhook: summarize(totals('webhook')), nats: summarize(totals('nats')), api: summarize(totals('api')) };
    const splitOf = (kind: keyof typeof measured) => ({ recorded: summarize(measured[kind].map((s) => s.recorded)), dispatched: summarize(measured[kind].map((s) => s.dispatched)) });
    const split = { api: splitOf('api'), webhook: splitOf('webhook'), nats: splitOf('nats') };

    let schedule: ScheduleFireResult | undefined;
    let scheduleError: string | undefined;
    try {
      schedule = await benchScheduleFire({ url, token: TOKEN, namespace: NAMESPACE, workflowRef: 'trigger-bench@1.0.0', fires: Math.min(samples, 20) });
    } catch (error) {
      scheduleError = error instanceof Error ? error.message : String(error);
    }

    // The flood: its own trigger and subject, so the latency trigger's runs do not count.
    await call('PUT', `/triggers/flood?namespace=${NAMESPACE}`, { runbook: 'trigger-bench', inputs: { n: 'body.n' }, rateLimit, source: { nats: { url: nats.url, stream: 'BENCH', subject: 'bench.flood', durable: 'flood' } } });
    await sleep(1_500);
    let lagPeak = 0;
    let lastLag = Number.NaN;
    const readLag = async (): Promise<number | undefined> => {
      try {
        const text = await (await fetch(`http://127.0.0.1:${metricsPort}/metrics`)).text();
        const match = /maestro_trigger_consumer_lag\{[^}]*trigger="default\/flood"[^}]*\} (\d+)/.exec(text);
        return match ? Number(match[1]) : undefined;
      } catch {
        return undefined; // the worker is being restarted
      }
    };
    let sampling = true;
    const sampler = (async () => {
      while (sampling) {
        const lag = await readLag();
        if (lag !== undefined) {
          lagPeak = Math.max(lagPeak, lag);
          lastLag = lag;
        }
        await sleep(1_000);
      }
    })();
    const killAt = Math.floor(messages / 2);
    const began = Date.now();
    for (let i = 0; i < messages; i += 1) {
      const wait = began + (i * 1000) / rate - Date.now();
      if (wait > 0) await sleep(wait);
      await js.publish('bench.flood', JSON.stringify({ n: i }), { msgID: `flood-${i}` });
      if (i === killAt) {
        // A crash between starting runs and acknowledging their messages: those are redelivered.
        worker?.kill('SIGKILL');
        worker = await startWorker();
      }
    }
    // Drained: the consumer has nothing pending and every message has its run.
    const flood = new Map<number, string[]>();
    const drainDeadline = Date.now() + 300_000;
    for (;;) {
      const lag = await readLag();
      if (lag === 0) break;
      if (Date.now() > drainDeadline) break;
      await sleep(1_000);
    }
    const drainSeconds = (Date.now() - began) / 1000;
    sampling = false;
    await sampler;
    const lagAfterDrain = (await readLag()) ?? lastLag;
    let pageToken: string | undefined;
    const runIds: string[] = [];
    do {
      const page = await call<{ items: { runId: string }[]; nextPageToken?: string }>(
        'GET',
        `/runs?namespace=${NAMESPACE}&workflowRef=trigger-bench@1.0.0&limit=500${pageToken ? `&pageToken=${encodeURIComponent(pageToken)}` : ''}`,
      );
      runIds.push(...page.items.map((r) => r.runId));
      pageToken = page.nextPageToken;
    } while (pageToken);
    // Each run's params and starter from its history's start event: no worker query, so a busy
    // worker (or 1,000 replays of finished runs) does not time the reads out.
    for (let i = 0; i < runIds.length; i += 8) {
      const inputs = await Promise.all(runIds.slice(i, i + 8).map(async (id) => ({ id, input: await runInput(client, id) })));
      for (const { id, input } of inputs) {
        if (input.startedBy !== `trigger:${NAMESPACE}/flood`) continue;
        const n = Number(input.params.n);
        flood.set(n, [...(flood.get(n) ?? []), id]);
      }
    }
    const runsStarted = [...flood.values()].reduce((sum, ids) => sum + ids.length, 0);
    const ratios = { webhook: latency.webhook.median / latency.api.median, nats: latency.nats.median / latency.api.median };
    const p95Ratios = { webhook: latency.webhook.p95 / latency.api.p95, nats: latency.nats.p95 / latency.api.p95 };
    const paired = { webhook: pairedMedianRatio(totals('webhook'), totals('api')), nats: pairedMedianRatio(totals('nats'), totals('api')) };
    const duplicates = runsStarted - flood.size;
    return {
      latency: { ...latency, ratios, p95Ratios, paired, split, quietMs },
      ...(schedule ? { schedule } : {}),
      ...(scheduleError ? { scheduleError } : {}),
      flood: { messages, rate, runsStarted, distinctMessages: flood.size, duplicates, lagPeak, lagAfterDrain, drainSeconds, workerKilledAt: killAt },
      targets: [
        { name: 'webhook / POST /runs, median first-task latency', value: ratios.webhook, limit: 1.1, pass: ratios.webhook <= 1.1 },
        { name: 'NATS / POST /runs, median first-task latency', value: ratios.nats, limit: 1.1, pass: ratios.nats <= 1.1 },
        { name: `flood: runs for ${messages} messages`, value: flood.size, limit: messages, pass: flood.size === messages },
        { name: 'flood: duplicate runs', value: duplicates, limit: 0, pass: duplicates === 0 },
      ],
    };
  } finally {
    await client.connection.close();
    await nc?.close();
    for (const process_ of children.reverse()) await stopChild(process_);
    if (worker) await stopChild(worker);
    await nats.stop();
    await server.stop();
    await rm(dir, { recursive: true, force: true });
  }
}

/** A markdown report of a result. */
export function triggersReport(result: TriggersBenchResult): string {
  const row = (name: string, s: Summary) => `| ${name} | ${s.n} | ${ms(s.median)} | ${ms(s.p95)} | ${ms(s.max)} |`;
  const { latency, flood } = result;
  return [
    '## Triggers: event sent → first task started (same workflow, same run, interleaved)',
    '',
    '| start | n | p50 ms | p95 ms | max ms |',
    '| --- | --- | --- | --- | --- |',
    row('POST /runs (baseline)', latency.api),
    row('webhook POST /hooks (HMAC)', latency.webhook),
    row('NATS JetStream message', latency.nats),
    '',
    `Ratios to POST /runs: webhook ${ratio(latency.ratios.webhook)} (p50), ${ratio(latency.p95Ratios.webhook)} (p95); NATS ${ratio(latency.ratios.nats)} (p50), ${ratio(latency.p95Ratios.nats)} (p95).`,
    `Median of the rounds' own ratios (95% bootstrap interval): webhook ${ratio(latency.paired.webhook.median)} (${latency.paired.webhook.interval.map(ratio).join('–')}), NATS ${ratio(latency.paired.nats.median)} (${latency.paired.nats.interval.map(ratio).join('–')}).`,
    '',
    `Split where the Temporal server recorded the run's start (its first event); runs first read ${latency.quietMs} ms after their send:`,
    '',
    '| start | send → start recorded p50 | p95 | start recorded → first task p50 | p95 |',
    '| --- | --- | --- | --- | --- |',
    ...(['api', 'webhook', 'nats'] as const).map((kind) => {
      const { recorded, dispatched } = latency.split[kind];
      return `| ${kind} | ${ms(recorded.median)} | ${ms(recorded.p95)} | ${ms(dispatched.median)} | ${ms(dispatched.p95)} |`;
    }),
    '',
    result.schedule ? `Schedule fires (bench/schedule-fire.ts, against its own POST /runs in the same run):\n\n${scheduleFireReport(result.schedule)}` : `Schedule fires: not measured (${result.scheduleError ?? 'no schedules'}).`,
    '',
    `### ${flood.messages} NATS messages at ${flood.rate}/s, the worker SIGKILLed at message ${flood.workerKilledAt} and restarted`,
    '',
    `Runs started ${flood.runsStarted} for ${flood.distinctMessages} distinct messages: duplicates ${flood.duplicates}. Consumer lag: peak ${flood.lagPeak}, after drain ${flood.lagAfterDrain}; drained ${flood.drainSeconds.toFixed(0)} s after the first publish.`,
    '',
    '| target | value | limit | |',
    '| --- | --- | --- | --- |',
    ...result.targets.map((t) => `| ${t.name} | ${t.value.toFixed(2)} | ${t.limit} | **${t.pass ? 'PASS' : 'FAIL'}** |`),
  ].join('\n');
}
