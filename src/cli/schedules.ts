/**
 * `maestro schedules create|list|get|pause|unpause|trigger|backfill|delete`: schedules through the
 * HTTP API (`MAESTRO_URL`, `MAESTRO_TOKEN`), like `maestro runs …`. `create -f FILE` reads a
 * `kind: Schedule` manifest here (its issues reported with the file's line and column) and sends
 * the JSON body it stands for.
 */
import { readFile } from 'node:fs/promises';
import type { Command } from 'commander';
import { loadConfig } from '../config/index.js';
import { parseScheduleManifest } from '../manifest/index.js';
import { createApiClient } from './api-client.js';

interface ScheduleDetail {
  id: string;
  namespace: string;
  workflowRef?: string;
  runbook?: string;
  paused: boolean;
  note: string;
  actsFor: string;
  nextFireTimes: string[];
  recentRuns: { runId: string; scheduledTime: string; status: string }[];
}

function print(value: unknown, json: boolean, text: () => string): void {
  console.log(json ? JSON.stringify(value, null, 2) : text());
}

function detailText(schedule: ScheduleDetail): string {
  return [
    `${schedule.namespace}/${schedule.id}  ${schedule.paused ? 'PAUSED' : 'active'}  ${schedule.workflowRef ?? `runbook ${schedule.runbook ?? ''}`}  acts for ${schedule.actsFor}${schedule.note ? `  (${schedule.note})` : ''}`,
    `next: ${schedule.nextFireTimes.slice(0, 3).join(', ') || 'none'}`,
    ...schedule.recentRuns.map((run) => `  ${run.scheduledTime}  ${run.status.padEnd(11)} ${run.runId}`),
  ].join('\n');
}

/** The path of one schedule, in `namespace` when given. */
function schedulePath(id: string, namespace: string | undefined, suffix = ''): string {
  return `/schedules/${encodeURIComponent(id)}${suffix}${namespace === undefined ? '' : `?namespace=${encodeURIComponent(namespace)}`}`;
}

/** Adds `schedules …` to `program`. */
export function registerScheduleCommands(program: Command): void {
  const api = () => createApiClient(loadConfig());
  const schedules = program.command('schedules').description('schedules (Temporal Schedules) through the API (MAESTRO_URL, MAESTRO_TOKEN)');

  schedules
    .command('create')
    .description('create the schedule of a kind: Schedule manifest (409 SCHEDULE_EXISTS when its id is taken)')
    .requiredOption('-f, --file <file>', 'the manifest')
    .option('--json', 'print JSON')
    .action(async (options: { file: string; json?: boolean }) => {
      const { id, namespace, body } = parseScheduleManifest(await readFile(options.file, 'utf8'), options.file);
      const created = await api().request<ScheduleDetail>('POST', '/schedules', { id, ...(namespace === undefined ? {} : { namespace }), ...body });
      print(created, options.json ?? false, () => detailText(created));
    });

  schedules
    .command('list')
    .option('--namespace <namespace>')
    .option('--json', 'print JSON')
    .action(async (options: { namespace?: string; json?: boolean }) => {
      const query = options.namespace === undefined ? '' : `?namespace=${encodeURIComponent(options.namespace)}`;
      const page = await api().request<{ items: { id: string; namespace: string; paused: boolean; nextFireTime?: string }[] }>('GET', `/schedules${query}`);
      print(page, options.json ?? false, () => page.items.map((s) => `${s.namespace}/${s.id}  ${s.paused ? 'PAUSED' : 'active'}  next ${s.nextFireTime ?? 'none'}`).join('\n'));
    });

  schedules
    .command('get')
    .description('a schedule, its next fire times and its recent runs')
    .argument('<id>')
    .option('--namespace <namespace>')
    .option('--json', 'print JSON')
    .action(async (id: string, options: { namespace?: string; json?: boolean }) => {
      const schedule = await api().request<ScheduleDetail>('GET', schedulePath(id, options.namespace));
      print(schedule, options.json ?? false, () => detailText(schedule));
    });

  for (const action of ['pause', 'unpause'] as const) {
    schedules
      .command(action)
      .argument('<id>')
      .option('--namespace <namespace>')
      .option('--reason <text>', 'why (kept in the audit log)')
      .action(async (id: string, options: { namespace?: string; reason?: string }) => {
        const schedule = await api().request<ScheduleDetail>('POST', schedulePath(id, options.namespace, `/${action}`), options.reason === undefined ? {} : { reason: options.reason });
        console.log(`${schedule.namespace}/${schedule.id} ${schedule.paused ? 'paused' : 'active'}`);
      });
  }

  schedules
    .command('trigger')
    .description('fire now (its run shows in `schedules get`)')
    .argument('<id>')
    .option('--namespace <namespace>')
    .action(async (id: string, options: { namespace?: string }) => {
      await api().request('POST', schedulePath(id, options.namespace, '/trigger'), {});
      console.log(`${id} fired`);
    });

  schedules
    .command('backfill')
    .description('fire for every time of the schedule in [from, to), each run getting its past time as ${schedule.time}')
    .argument('<id>')
    .requiredOption('--from <datetime>', 'RFC 3339')
    .requiredOption('--to <datetime>', 'RFC 3339, not in the future')
    .option('--overlap <policy>', 'skip | buffer-one | buffer-all | cancel-other | allow-all', 'allow-all')
    .option('--namespace <namespace>')
    .action(async (id: string, options: { from: string; to: string; overlap: string; namespace?: string }) => {
      await api().request('POST', schedulePath(id, options.namespace, '/backfill'), { from: options.from, to: options.to, overlap: options.overlap });
      console.log(`${id} backfill of ${options.from} to ${options.to} requested`);
    });

  schedules
    .command('delete')
    .description('delete a schedule (the runs it started go on)')
    .argument('<id>')
    .option('--namespace <namespace>')
    .action(async (id: string, options: { namespace?: string }) => {
      await api().request('DELETE', schedulePath(id, options.namespace));
      console.log(`${id} deleted`);
    });
}
