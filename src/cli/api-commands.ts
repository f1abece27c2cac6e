/**
 * CLI commands that drive a running Maestro through its HTTP API: `runs list|get|logs|cancel|retry`,
 * `runs signal RUN NAME --payload JSON`, `runs pause|resume RUN`, `approve RUN TASK`, `runbooks trigger NAME -i key=value`,
 * `usage [--namespace] [--from] [--to]`, `ops [--namespace] [--since 24h]`, and `api` (the API alone).
 */
import { readFile } from 'node:fs/promises';
import type { Command } from 'commander';
import { loadConfig } from '../config/index.js';
import { MaestroError, ParamsError } from '../errors/index.js';
import { parseDuration } from '../ir/index.js';
import type { OperationsReport } from '../store/index.js';
import { createApiClient } from './api-client.js';

interface RunRow {
  runId: string;
  workflowRef: string;
  namespace: string;
  status: string;
  startedAt: string;
  endedAt?: string;
}

interface LogLine {
  seq: number;
  taskId: string;
  attempt: number;
  time: string;
  level: string;
  message: string;
  fields?: Record<string, unknown>;
}

interface UsageReport {
  namespace: string;
  from: string;
  to: string;
  total: number;
  runs: { count: number; cost: number };
  attempts: { cost: number; attempts: number };
  byWorkflow: { workflow: string; cost: number; attempts: number; runs: number; runCost: number }[];
  byResourceClass: { resourceClass: string; cost: number; attempts: number }[];
  budget?: { period: string; limit: number; onExceed: string; usage: number; usedRatio: number };
}

/** Costs with up to 6 decimals, trailing zeros dropped. */
function cost(value: number): string {
  return String(Number(value.toFixed(6)));
}

/** `maestro usage` as text: totals, the budget line, then by workflow and by resource class. */
function usageText(usage: UsageReport): string {
  const { budget } = usage;
  return [
    `${usage.namespace} from ${usage.from} to ${usage.to}: total ${cost(usage.total)} (${usage.attempts.attempts} attempts ${cost(usage.attempts.cost)}, ${usage.runs.count} runs ${cost(usage.runs.cost)})`,
    ...(budget ? [`budget: ${cost(budget.usage)} of ${cost(budget.limit)} this ${budget.period} (${Math.round(budget.usedRatio * 100)}%), on exceeding: ${budget.onExceed}`] : []),
    ...usage.byWorkflow.map((w) => `  workflow ${w.workflow}: ${cost(w.cost + w.runCost)} (${w.attempts} attempts, ${w.runs} runs)`),
    ...usage.byResourceClass.map((r) => `  ${r.resourceClass}: ${cost(r.cost)} (${r.attempts} attempts)`),
  ].join('\n');
}

/** `850 ms`, `12.3 s`; `–` when unknown. */
function millis(ms: number | null): string {
  if (ms === null) return '–';
  return ms < 1000 ? `${ms} ms` : `${(ms / 1000).toFixed(1)} s`;
}

/** `maestro ops` as text: the headline figures, then the most failing tasks. */
function operationsText(report: OperationsReport, since: string): string {
  const { runs, queue } = report;
  return [
    `${report.namespace}, last ${since} (${report.from} to ${report.to}): ${runs.runs} runs ended, ${runs.succeeded} succeeded, ${runs.failed} failed, ${runs.cancelled} cancelled`,
    `success rate ${runs.successRate === null ? '–' : `${(runs.successRate * 100).toFixed(1)}%`}; MTTR ${millis(runs.mttrMs)} (${runs.recovered} of ${runs.incidents} incidents recovered)`,
    `backlog ${queue.backlog} queued${queue.oldestWaitMs === null ? '' : `, oldest ${millis(queue.oldestWaitMs)}`}; queue time p50 ${millis(queue.p50Ms)}, p95 ${millis(queue.p95Ms)}; run duration p50 ${millis(runs.p50Ms)}, p95 ${millis(runs.p95Ms)}`,
    ...(report.failingTasks.length > 0 ? ['most failing tasks:'] : []),
    ...report.failingTasks.map((task) => `  ${task.workflow}/${task.taskId}: ${task.failures} of ${task.attempts} attempts failed (${task.codes.map((code) => `${code.code} × ${code.count}`).join(', ')})`),
  ].join('\n');
}

const FINAL_STATUSES: ReadonlySet<string> = new Set(['SUCCEEDED', 'FAILED', 'CANCELLED']);
/** How often `runs logs --follow` asks for new lines. */
const FOLLOW_MS = 1000;

function logLineText(line: LogLine): string {
  return `${line.time} ${line.taskId}#${line.attempt} ${line.level.toUpperCase().padEnd(5)} ${line.message}${line.fields ? ` ${JSON.stringify(line.fields)}` : ''}`;
}

function print(value: unknown, json: boolean, text: () => string): void {
  console.log(json ? JSON.stringify(value, null, 2) : text());
}

/** `key=value` pairs into an object; values that parse as JSON (numbers, booleans, lists) keep that type. */
function pairs(values: readonly string[]): Record<string, unknown> {
  const result: Record<string, unknown> = {};
  for (const pair of values) {
    const eq = pair.indexOf('=');
    if (eq <= 0) throw new ParamsError([{ name: pair, message: 'expected key=value' }]);
    const raw = pair.slice(eq + 1);
    let value: unknown = raw;
    if (/^(-?\d+(\.\d+)?|true|false|null|\[.*\]|\{.*\})$/s.test(raw.trim())) value = JSON.parse(raw) as unknown;
    result[pair.slice(0, eq)] = value;
  }
  return result;
}

/** The body field `reason`, when one was given. */
function reasonOf(options: { reason?: string }): { reason?: string } {
  return options.reason === undefined ? {} : { reason: options.reason };
}

/** A `--payload`: JSON text, or `@file` for a file's JSON. */
async function payloadOf(text: string): Promise<unknown> {
  const json = text.startsWith('@') ? await readFile(text.slice(1), 'utf8') : text;
  try {
    return JSON.parse(json) as unknown;
  } catch (error) {
    throw new ParamsError([{ name: 'payload', message: `is not JSON: ${(error as Error).message}` }]);
  }
}

/** Commander's accumulator of a repeatable option (`-i a=1 -i b=2`). */
export function collect(value: string, previous: string[]): string[] {
  return [...previous, value];
}

/** Adds the API commands to `program`. */
export function addApiCommands(program: Command): void {
  const api = () => createApiClient(loadConfig());
  const runs = program.command('runs').description('list, inspect, cancel and retry runs through the API (MAESTRO_URL, MAESTRO_TOKEN)');

  runs
    .command('list')
    .description('runs, newest first')
    .option('--status <status>', 'QUEUED | RUNNING | WAITING | PAUSED | SUCCEEDED | FAILED | CANCELLED')
    .option('--workflow <ref>', 'name or name@version')
    .option('--namespace <namespace>')
    .option('--since <datetime>')
    .option('--until <datetime>')
    .option('--limit <n>', 'page size', '50')
    .option('--page-token <token>')
    .option('--json', 'print JSON')
    .action(async (options: { status?: string; workflow?: string; namespace?: string; since?: string; until?: string; limit: string; pageToken?: string; json?: boolean }) => {
      const query = new URLSearchParams({ limit: options.limit });
      for (const [key, value] of [['status', options.status], ['workflowRef', options.workflow], ['namespace', options.namespace], ['since', options.since], ['until', options.until], ['pageToken', options.pageToken]] as const) {
        if (value !== undefined) query.set(key, value);
      }
      const page = await api().request<{ items: RunRow[]; nextPageToken?: string }>('GET', `/runs?${query}`);
      print(page, options.json ?? false, () =>
        [...page.items.map((r) => `${r.runId}  ${r.status.padEnd(9)} ${r.workflowRef}  ${r.namespace}  ${r.startedAt}`), ...(page.nextPageToken ? [`next page: --page-token ${page.nextPageToken}`] : [])].join('\n'),
      );
    });

  runs
    .command('get')
    .description("a run's status, params, timings and tasks")
    .argument('<runId>')
    .option('--json', 'print JSON')
    .action(async (runId: string, options: { json?: boolean }) => {
      const run = await api().request<RunRow & { traceId?: string; traceUrl?: string; tasks: { id: string; status: string; attempts: number; error?: { code: string; message: string }; signal?: { name: string } }[] }>('GET', `/runs/${encodeURIComponent(runId)}`);
      const waitsFor = (t: (typeof run.tasks)[number]): string => (t.status === 'WAITING' && t.signal ? ` for signal ${t.signal.name}` : '');
      const trace = run.traceId === undefined ? [] : [`trace: ${run.traceId}${run.traceUrl === undefined ? '' : ` ${run.traceUrl}`}`];
      print(run, options.json ?? false, () =>
        [`${run.runId} ${run.status} (${run.workflowRef}, namespace ${run.namespace})`, ...trace, ...run.tasks.map((t) => `  ${t.id} ${t.status}${waitsFor(t)}${t.attempts > 1 ? ` (attempt ${t.attempts})` : ''}${t.error ? `: ${t.error.code}: ${t.error.message}` : ''}`)].join('\n'),
      );
    });

  runs
    .command('logs')
    .description("what a run's tasks logged, oldest first; --follow waits for new lines until the run ends")
    .argument('<runId>')
    .option('--task <taskId>', "only this task's lines (a forEach task's include its items')")
    .option('-f, --follow', 'keep printing new lines until the run has ended')
    .option('--json', 'print one JSON object per line')
    .action(async (runId: string, options: { task?: string; follow?: boolean; json?: boolean }) => {
      const client = api();
      const path = `/runs/${encodeURIComponent(runId)}`;
      let after = 0;
      const drain = async (): Promise<void> => {
        for (;;) {
          const query = new URLSearchParams({ after: String(after), limit: '1000', ...(options.task === undefined ? {} : { taskId: options.task }) });
          const page = await client.request<{ items: LogLine[]; next?: number }>('GET', `${path}/logs?${query}`);
          for (const line of page.items) console.log(options.json ? JSON.stringify(line) : logLineText(line));
          after = page.items.at(-1)?.seq ?? after;
          if (page.next === undefined) return;
        }
      };
      if (!options.follow) return drain();
      for (;;) {
        // The status first: workers write every line before a task ends, so what follows an ended run is the rest.
        const { status } = await client.request<{ status: string }>('GET', path);
        await drain();
        if (FINAL_STATUSES.has(status)) return;
        await new Promise((resolve) => setTimeout(resolve, FOLLOW_MS));
      }
    });

  runs
    .command('cancel')
    .argument('<runId>')
    .option('--reason <text>', 'why (kept in the audit log)')
    .action(async (runId: string, options: { reason?: string }) => {
      await api().request('POST', `/runs/${encodeURIComponent(runId)}/cancel`, reasonOf(options));
      console.log(`cancellation of ${runId} requested`);
    });

  runs
    .command('retry')
    .argument('<runId>')
    .option('--from <from>', 'start | failed (re-use the outputs of tasks that succeeded)', 'failed')
    .option('--reason <text>', 'why (kept in the audit log)')
    .action(async (runId: string, options: { from: string; reason?: string }) => {
      const run = await api().request<{ runId: string }>('POST', `/runs/${encodeURIComponent(runId)}/retry`, { from: options.from, ...reasonOf(options) });
      console.log(run.runId);
    });

  runs
    .command('signal')
    .description('send a signal to the tasks of a run waiting for NAME (ops/wait.signal); prints the tasks that took it')
    .argument('<runId>')
    .argument('<name>')
    .requiredOption('--payload <json>', 'the payload: JSON, or @file to read it from a file')
    .action(async (runId: string, name: string, options: { payload: string }) => {
      const payload = await payloadOf(options.payload);
      const result = await api().request<{ taskIds: string[] }>('POST', `/runs/${encodeURIComponent(runId)}/signals`, { name, payload });
      console.log(`signal ${name} taken by ${result.taskIds.join(', ')} of ${runId}`);
    });

  for (const action of ['pause', 'resume'] as const) {
    runs
      .command(action)
      .description(action === 'pause' ? 'pause a run: nothing new starts until it is resumed; what runs finishes' : 'resume a paused run')
      .argument('<runId>')
      .option('--reason <text>', 'why (kept in the audit log)')
      .action(async (runId: string, options: { reason?: string }) => {
        const result = await api().request<{ status: string }>('POST', `/runs/${encodeURIComponent(runId)}/${action}`, reasonOf(options));
        console.log(`${runId} ${result.status}`);
      });
  }

  program
    .command('approve')
    .description('approve (or --reject) an approval task as the token\'s principal')
    .argument('<runId>')
    .argument('<taskId>')
    .option('--reject', 'reject instead of approving')
    .option('-m, --comment <text>')
    .action(async (runId: string, taskId: string, options: { reject?: boolean; comment?: string }) => {
      const decision = options.reject ? 'reject' : 'approve';
      await api().request('POST', `/runs/${encodeURIComponent(runId)}/approvals`, { taskId, decision, ...(options.comment === undefined ? {} : { comment: options.comment }) });
      console.log(`${decision}d ${taskId} of ${runId}`);
    });

  program
    .command('runbooks')
    .description('runbooks through the API')
    .command('trigger')
    .description('trigger an allow-listed runbook; prints the run id (or the plan of a dry run)')
    .argument('<name>', 'name or name@version')
    .option('-i, --input <key=value>', 'an input (repeatable)', collect, [])
    .option('--namespace <namespace>')
    .option('--dry-run', 'compile and check only; print the plan')
    .option('--json', 'print JSON')
    .action(async (name: string, options: { input: string[]; namespace?: string; dryRun?: boolean; json?: boolean }) => {
      const result = await api().request<{ runId?: string; dryRun?: boolean }>('POST', '/runbooks/trigger', {
        runbook: name,
        inputs: pairs(options.input),
        ...(options.namespace === undefined ? {} : { namespace: options.namespace }),
        ...(options.dryRun ? { dryRun: true } : {}),
      });
      print(result, options.json ?? result.dryRun === true, () => result.runId ?? '');
    });

  program
    .command('usage')
    .description("a namespace's usage (totals, by workflow, task and resource class) and budget through the API; the window defaults to the budget's current period")
    .option('--namespace <namespace>', 'whose usage (default `default`)')
    .option('--from <datetime>', 'start of the window')
    .option('--to <datetime>', 'end of the window (with --from alone, now)')
    .option('--json', 'print JSON')
    .action(async (options: { namespace?: string; from?: string; to?: string; json?: boolean }) => {
      const query = new URLSearchParams();
      for (const key of ['namespace', 'from', 'to'] as const) {
        const value = options[key];
        if (value !== undefined) query.set(key, value);
      }
      const usage = await api().request<UsageReport>('GET', `/usage?${query}`);
      print(usage, options.json ?? false, () => usageText(usage));
    });

  program
    .command('ops')
    .description("a namespace's operations figures through the API: success rate, MTTR, backlog, queue time, durations, most failing tasks")
    .option('--namespace <namespace>', 'whose figures (default `default`)')
    .option('--since <duration>', 'the window: runs that ended this long ago until now, at most 31d', '24h')
    .option('--json', 'print JSON')
    .action(async (options: { namespace?: string; since: string; json?: boolean }) => {
      const spanMs = parseDuration(options.since);
      if (spanMs === undefined || spanMs <= 0) throw new MaestroError('BAD_REQUEST', `--since "${options.since}" is not a duration such as 1h, 24h or 7d`);
      const query = new URLSearchParams({ from: new Date(Date.now() - spanMs).toISOString() });
      if (options.namespace !== undefined) query.set('namespace', options.namespace);
      const report = await api().request<OperationsReport>('GET', `/operations?${query}`);
      print(report, options.json ?? false, () => operationsText(report, options.since));
    });

  program
    .command('api')
    .description('start the HTTP API alone, against TEMPORAL_ADDRESS (default localhost:7233)')
    .action(async () => {
      const { serveApi } = await import('../api/serve.js');
      await serveApi(loadConfig());
    });
}
