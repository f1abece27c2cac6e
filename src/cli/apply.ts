/**
 * `maestro apply -f PATH`: registers the workflows, runbooks, schedules and triggers of YAML files
 * (directories read recursively, several documents per file) through the API, idempotently, and
 * reports what changed. Every document is validated before the first request, so an invalid one
 * changes nothing; the requests then go in dependency order (see `planApply`).
 */
import { readdir, readFile, realpath, stat } from 'node:fs/promises';
import { extname, join } from 'node:path';
import type { Command } from 'commander';
import { loadConfig } from '../config/index.js';
import { MaestroError, ManifestError, ParamsError, type ManifestIssue } from '../errors/index.js';
import { DEFAULT_NAMESPACE, MAX_MANIFEST_BYTES, parseManifestDocuments, type ParseDocumentsOptions } from '../manifest/index.js';
import { createApiClient, type ApiClient, type ProblemIssue } from './api-client.js';
import { collect } from './api-commands.js';
import { itemLabel, planApply, type ApplyDocument, type ApplyItem } from './apply-plan.js';
import type { ManifestCatalogs } from './manifest-files.js';

/** Most files one apply reads (each is validated before anything is sent). */
export const MAX_APPLY_FILES = 500;
/** Most documents one apply sends. */
export const MAX_APPLY_DOCUMENTS = 1000;
/** Most bytes of YAML one apply reads, over all its files (each file is at most `MAX_MANIFEST_BYTES`). */
export const MAX_APPLY_BYTES = 32 * 1024 * 1024;

const MANIFEST_EXTENSIONS: ReadonlySet<string> = new Set(['.yaml', '.yml']);

/** What applying one document did. */
export type ApplyOutcome = 'created' | 'updated' | 'unchanged' | 'failed';

/** One line of the report. */
export interface ApplyResult {
  kind: string;
  namespace: string;
  name: string;
  version?: string;
  file: string;
  line: number;
  /** Absent in a dry run: nothing was sent. */
  outcome?: ApplyOutcome;
  /** Why it failed. */
  error?: string;
  /** The request that applies it (shown by a dry run). */
  request: { method: 'POST' | 'PUT'; path: string; contentType: string; body?: string };
}

const CONTENT_TYPE = 'application/yaml';

function tooLarge(message: string): MaestroError {
  return new MaestroError('PAYLOAD_TOO_LARGE', message);
}

/**
 * The manifest files named by `paths`, in order: a file as named (whatever its extension), a
 * directory's `*.yaml` / `*.yml` files at any depth, sorted by name. Hidden entries (`.git`) are
 * skipped, symbolic links followed, each file and directory read once.
 */
export async function manifestFiles(paths: readonly string[]): Promise<string[]> {
  const files: string[] = [];
  const seen = new Set<string>();
  const add = async (path: string): Promise<void> => {
    const real = await realpath(path);
    if (seen.has(real)) return;
    seen.add(real);
    if (files.length >= MAX_APPLY_FILES) throw tooLarge(`more than ${MAX_APPLY_FILES} manifest files to apply: apply fewer at a time`);
    files.push(path);
  };
  const walk = async (directory: string): Promise<void> => {
    const real = await realpath(directory);
    if (seen.has(real)) return;
    seen.add(real);
    const entries = (await readdir(directory, { withFileTypes: true })).filter((entry) => !entry.name.startsWith('.')).sort((a, b) => a.name.localeCompare(b.name));
    for (const entry of entries) {
      const path = join(directory, entry.name);
      const isDirectory = entry.isDirectory() || (entry.isSymbolicLink() && (await stat(path)).isDirectory());
      if (isDirectory) await walk(path);
      else if (MANIFEST_EXTENSIONS.has(extname(entry.name).toLowerCase())) await add(path);
    }
  };
  for (const path of paths) {
    if ((await stat(path)).isDirectory()) await walk(path);
    else await add(path);
  }
  return files;
}

/**
 * Reads and validates every document of `files`, each against `catalog` or, given a function,
 * against the catalog of the namespace it declares.
 * @throws ManifestError with the issues of every invalid document of every file.
 * @throws MaestroError `PAYLOAD_TOO_LARGE` past a file's, a file's documents' or the apply's limits.
 */
export async function readDocuments(files: readonly string[], catalog: ParseDocumentsOptions['catalog']): Promise<ApplyDocument[]> {
  const documents: ApplyDocument[] = [];
  const issues: ManifestIssue[] = [];
  let bytes = 0;
  for (const file of files) {
    const { size } = await stat(file);
    if (size > MAX_MANIFEST_BYTES) throw tooLarge(`${file}: the file takes ${size} bytes, more than the limit of ${MAX_MANIFEST_BYTES}`);
    bytes += size;
    if (bytes > MAX_APPLY_BYTES) throw tooLarge(`the files to apply take more than ${MAX_APPLY_BYTES} bytes: apply fewer at a time`);
    try {
      for (const document of parseManifestDocuments(await readFile(file, 'utf8'), file, { catalog })) documents.push({ file, ...document });
    } catch (error) {
      if (!(error instanceof ManifestError)) throw error;
      issues.push(...error.issues);
    }
    if (documents.length > MAX_APPLY_DOCUMENTS) throw tooLarge(`more than ${MAX_APPLY_DOCUMENTS} documents to apply: apply fewer at a time`);
  }
  if (issues.length > 0) throw new ManifestError(issues);
  return documents;
}

/** The located problems of a refused request, at their lines in the document's file. */
function located(error: MaestroError, item: ApplyItem): string {
  const errors = error.details?.errors as ProblemIssue[] | undefined;
  if (!errors) return error.message;
  const detail = error.message.split('\n')[0] ?? '';
  const at = (e: ProblemIssue): string => (e.line === undefined ? item.file : `${item.file}:${e.line + item.line - 1}:${e.column ?? 1}`);
  return [detail, ...errors.map((e) => `  ${at(e)}: ${e.path}: ${e.message}`)].join('\n');
}

/** Sends one document's request; what it did, or why it failed. */
async function applyItem(client: ApiClient, item: ApplyItem): Promise<{ outcome: ApplyOutcome; namespace?: string; error?: string }> {
  try {
    const { status, body } = await client.send<{ namespace?: unknown; outcome?: unknown }>(item.method, item.path, item.text, CONTENT_TYPE);
    const namespace = typeof body?.namespace === 'string' ? { namespace: body.namespace } : {};
    if (item.method === 'POST') return { outcome: status === 201 ? 'created' : 'unchanged', ...namespace };
    const outcome = body?.outcome;
    if (outcome === 'created' || outcome === 'updated' || outcome === 'unchanged') return { outcome, ...namespace };
    return { outcome: 'failed', error: `the API answered ${status} without an outcome` };
  } catch (error) {
    if (!(error instanceof MaestroError)) throw error;
    if (error.code === 'CONFLICT' && item.method === 'POST') {
      return { outcome: 'failed', error: `${item.name}@${item.version} is registered with another content: bump metadata.version` };
    }
    return { outcome: 'failed', error: `${error.code}: ${located(error, item)}` };
  }
}

function resultOf(item: ApplyItem): ApplyResult {
  return {
    kind: item.kind,
    namespace: item.namespace,
    name: item.name,
    ...(item.version === undefined ? {} : { version: item.version }),
    file: item.file,
    line: item.line,
    request: { method: item.method, path: item.path, contentType: CONTENT_TYPE },
  };
}

/**
 * Applies the plan in order, calling `report` after each document. A document naming one of the
 * set that failed (a sub-workflow, a runbook's workflow, ...) is not sent: it would resolve to
 * what was registered before.
 */
export async function applyPlan(client: ApiClient, plan: readonly ApplyItem[], report: (result: ApplyResult) => void): Promise<ApplyResult[]> {
  const results: ApplyResult[] = [];
  for (const item of plan) {
    const failed = item.needs.map((at) => results[at]).find((result) => result?.outcome === 'failed');
    const done = failed
      ? { outcome: 'failed' as const, error: `not sent: ${itemLabel(failed)}, which it names, failed` }
      : await applyItem(client, item);
    const result: ApplyResult = { ...resultOf(item), ...done };
    results.push(result);
    report(result);
  }
  return results;
}

function resultLine(result: ApplyResult): string {
  const label = itemLabel(result);
  if (result.outcome === undefined) return `${label}: ${result.request.method} ${result.request.path} (${result.file}:${result.line})`;
  return `${label}: ${result.outcome}${result.error === undefined ? '' : `: ${result.error}`}`;
}

function summaryOf(results: readonly ApplyResult[]): Record<ApplyOutcome, number> {
  const summary: Record<ApplyOutcome, number> = { created: 0, updated: 0, unchanged: 0, failed: 0 };
  for (const { outcome } of results) if (outcome) summary[outcome] += 1;
  return summary;
}

/**
 * Adds `maestro apply` to `program`.
 * @param catalogs what each document is checked against: the catalog of its namespace, as the API checks it
 */
export function registerApplyCommand(program: Command, catalogs: () => Promise<ManifestCatalogs>, setExitCode: (code: number) => void): void {
  program
    .command('apply')
    .description(
      'register the workflows, runbooks, schedules and triggers of YAML files through the API (MAESTRO_URL, MAESTRO_TOKEN), idempotently: validates every document first, applies in dependency order, prints created | updated | unchanged | failed per document',
    )
    .summary('register workflows, runbooks, schedules and triggers from YAML files and directories, idempotently')
    .addHelpText('after', '\nExit codes: 0 every document applied, 1 one failed, 2 invalid input (nothing sent).\nExample: maestro apply -f runbooks/ -f examples/gitops/\n')
    .option('-f, --filename <path>', 'a manifest file, or a directory read recursively for *.yaml and *.yml (repeatable; files may hold several documents)', collect, [])
    .option('--dry-run', 'validate and order only; print the request each document would be sent as')
    .option('-o, --output <format>', 'text | json', 'text')
    .action(async (options: { filename: string[]; dryRun?: boolean; output: string }) => {
      if (options.filename.length === 0) throw new ParamsError([{ name: 'filename', message: 'give the manifests to apply with -f FILE_OR_DIRECTORY' }]);
      if (options.output !== 'text' && options.output !== 'json') throw new ParamsError([{ name: 'output', message: 'must be text or json' }]);
      const json = options.output === 'json';
      let plan: ApplyItem[];
      try {
        const files = await manifestFiles(options.filename);
        const catalogOf = await (await catalogs()).byNamespace();
        plan = planApply(await readDocuments(files, (declared) => catalogOf(declared ?? DEFAULT_NAMESPACE)));
      } catch (error) {
        if (!(json && error instanceof ManifestError)) throw error;
        // A CI job reading JSON gets the refusal as JSON too; nothing was sent.
        console.log(JSON.stringify({ valid: false, errors: error.issues }, null, 2));
        setExitCode(error.exitCode);
        return;
      }
      if (options.dryRun) {
        const results = plan.map((item) => ({ ...resultOf(item), request: { ...resultOf(item).request, body: item.text } }));
        if (json) console.log(JSON.stringify({ dryRun: true, items: results }, null, 2));
        else console.log([...results.map(resultLine), `dry run: ${results.length} documents valid, nothing sent`].join('\n'));
        return;
      }
      const results = await applyPlan(createApiClient(loadConfig()), plan, (result) => {
        if (!json) console.log(resultLine(result));
      });
      const summary = summaryOf(results);
      if (json) console.log(JSON.stringify({ items: results, summary }, null, 2));
      else console.log(`${results.length} documents: ${summary.created} created, ${summary.updated} updated, ${summary.unchanged} unchanged, ${summary.failed} failed`);
      setExitCode(summary.failed === 0 ? 0 : 1);
    });
}
