/**
 * `maestro triggers create|list|get|delete|pause|unpause`: webhook and message triggers through
 * the API (MAESTRO_URL, MAESTRO_TOKEN), as `/triggers` serves them.
 */
import { readFile } from 'node:fs/promises';
import type { Command } from 'commander';
import { parse as parseYaml } from 'yaml';
import { loadConfig } from '../config/index.js';
import { createApiClient } from './api-client.js';

/** A trigger as `GET /triggers` shows it (the fields printed here). */
interface TriggerRow {
  namespace: string;
  name: string;
  runbook: string;
  kind: string;
  paused: boolean;
  hookPath?: string;
  lastFiredAt?: string;
  actsAs: { subject: string };
  recentRuns: { runId: string; firedAt: string }[];
}

function row(trigger: TriggerRow): string {
  return `${trigger.namespace}/${trigger.name}  ${trigger.kind.padEnd(7)} ${trigger.runbook}  ${trigger.paused ? 'paused' : 'enabled'}  last fired ${trigger.lastFiredAt ?? 'never'}`;
}

function namespaceQuery(namespace: string | undefined): string {
  return namespace === undefined ? '' : `?namespace=${encodeURIComponent(namespace)}`;
}

/** Adds the `triggers` commands to `program`. */
export function registerTriggerCommands(program: Command): void {
  const api = () => createApiClient(loadConfig());
  const triggers = program.command('triggers').description('webhook and message triggers through the API (MAESTRO_URL, MAESTRO_TOKEN)');

  triggers
    .command('create')
    .description('register a trigger from a kind: Trigger manifest (YAML) or a JSON body; --replace creates or replaces it (PUT)')
    .requiredOption('-f, --file <file>', 'the manifest (.yaml, .yml) or JSON body (.json)')
    .option('--namespace <namespace>', "the trigger's namespace when the file names none")
    .option('--replace', 'create or replace (idempotent): prints created, updated or unchanged')
    .option('--json', 'print JSON')
    .action(async (options: { file: string; namespace?: string; replace?: boolean; json?: boolean }) => {
      const text = await readFile(options.file, 'utf8');
      const yaml = !options.file.endsWith('.json');
      const body: unknown = yaml ? text : JSON.parse(text);
      // Only the name, for PUT's path: the API checks the rest (and that the names agree).
      const named = (yaml ? (parseYaml(text) as { metadata?: { name?: unknown } } | null)?.metadata : body) as { name?: unknown } | undefined;
      const name = typeof named?.name === 'string' ? named.name : '';
      const path = options.replace ? `/triggers/${encodeURIComponent(name)}${namespaceQuery(options.namespace)}` : `/triggers${namespaceQuery(options.namespace)}`;
      const saved = await api().request<{ namespace: string; name: string; outcome: string; trigger: TriggerRow }>(options.replace ? 'PUT' : 'POST', path, body, { yaml });
      if (options.json) console.log(JSON.stringify(saved, null, 2));
      else console.log(`${saved.outcome} ${saved.namespace}/${saved.name}${saved.trigger.hookPath === undefined ? '' : ` (deliveries to ${saved.trigger.hookPath})`}`);
    });

  triggers
    .command('list')
    .description("triggers of the token's namespaces")
    .option('--namespace <namespace>')
    .option('--json', 'print JSON')
    .action(async (options: { namespace?: string; json?: boolean }) => {
      const page = await api().request<{ items: TriggerRow[] }>('GET', `/triggers${namespaceQuery(options.namespace)}`);
      console.log(options.json ? JSON.stringify(page, null, 2) : page.items.map(row).join('\n'));
    });

  triggers
    .command('get')
    .description('one trigger and its recent runs')
    .argument('<name>')
    .option('--namespace <namespace>')
    .option('--json', 'print JSON')
    .action(async (name: string, options: { namespace?: string; json?: boolean }) => {
      const trigger = await api().request<TriggerRow>('GET', `/triggers/${encodeURIComponent(name)}${namespaceQuery(options.namespace)}`);
      console.log(
        options.json
          ? JSON.stringify(trigger, null, 2)
          : [row(trigger), `  acts for ${trigger.actsAs.subject}${trigger.hookPath === undefined ? '' : `; deliveries to ${trigger.hookPath}`}`, ...trigger.recentRuns.map((r) => `  ${r.firedAt} ${r.runId}`)].join('\n'),
      );
    });

  triggers
    .command('delete')
    .argument('<name>')
    .option('--namespace <namespace>')
    .action(async (name: string, options: { namespace?: string }) => {
      const deleted = await api().request<{ namespace: string; name: string }>('DELETE', `/triggers/${encodeURIComponent(name)}${namespaceQuery(options.namespace)}`);
      console.log(`deleted ${deleted.namespace}/${deleted.name}`);
    });

  for (const action of ['pause', 'unpause'] as const) {
    triggers
      .command(action)
      .description(action === 'pause' ? 'pause a trigger: every event is answered ignored' : 'unpause a trigger')
      .argument('<name>')
      .option('--namespace <namespace>')
      .action(async (name: string, options: { namespace?: string }) => {
        const trigger = await api().request<TriggerRow>('POST', `/triggers/${encodeURIComponent(name)}/${action}${namespaceQuery(options.namespace)}`);
        console.log(`${trigger.namespace}/${trigger.name} ${trigger.paused ? 'paused' : 'enabled'}`);
      });
  }
}
