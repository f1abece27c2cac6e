/**
 * Parsing a manifest: YAML with positions, schema validation, semantic checks; every issue of
 * the file reported at once.
 */
import type { Catalog } from '../catalog/index.js';
import { MaestroError, ManifestError } from '../errors/index.js';
import { isRecord } from '../ir/index.js';
import { createIssueCollector, type Reporter } from './issues.js';
import { checkRunbook } from './runbook.js';
import { reportSchemaErrors } from './schema-issues.js';
import { getValidators } from './schemas.js';
import { readSource } from './source.js';
import { didYouMean } from './suggest.js';
import type { SubWorkflows } from './sub-workflows.js';
import type { Manifest } from './types.js';
import { checkWorkflow } from './workflow.js';

/** Options of {@link parseManifest} and `loadManifestFile`. */
export interface ParseManifestOptions {
  /** Resolves each task's `uses` (`group/name@version-or-range`). */
  catalog: Catalog;
  /**
   * What each `uses: workflow/…` resolved to in the registry (see `resolveSubWorkflows`).
   * @default undefined — sub-workflow references are not checked (they are where workflows are registered)
   */
  workflows?: SubWorkflows;
}

const KINDS = ['Workflow', 'Runbook', 'Trigger', 'Schedule'];

/** Largest manifest read, in bytes (the API's body limit is the same): real ones take a few KB. */
export const MAX_MANIFEST_BYTES = 1024 * 1024;

/**
 * Parses and validates a manifest of any kind (YAML, or JSON).
 *
 * @param source the file's text.
 * @param file the name issues are reported under.
 * @throws ManifestError with every issue of the file — YAML syntax, schema, semantic — each with
 *   file, line, column, JSON path and message; nesting deeper than `MAX_MANIFEST_DEPTH` and alias
 *   expansion past `MAX_MANIFEST_ALIASES` are such issues, found before the parse.
 * @throws MaestroError `PAYLOAD_TOO_LARGE` for a text over {@link MAX_MANIFEST_BYTES}.
 * @example
 * const manifest = parseManifest(text, 'hello.yaml', { catalog: builtinCatalog });
 * if (manifest.kind === 'Workflow') compileWorkflow(manifest, { catalog: builtinCatalog });
 */
export function parseManifest(source: string, file: string, { catalog, workflows }: ParseManifestOptions): Manifest {
  return parseWith(source, file, (data, reporter) => validate(data, catalog, reporter, workflows));
}

/**
 * Reads a manifest's text (size, YAML with positions) and checks its data with `check`.
 * @throws as {@link parseManifest}
 */
export function parseWith<T>(source: string, file: string, check: (data: unknown, reporter: Reporter) => T | undefined): T {
  const bytes = Buffer.byteLength(source);
  if (bytes > MAX_MANIFEST_BYTES) throw new MaestroError('PAYLOAD_TOO_LARGE', `${file}: the manifest takes ${bytes} bytes, more than the limit of ${MAX_MANIFEST_BYTES}`);
  const document = readSource(source, file);
  if (document.syntaxIssues.length > 0) throw new ManifestError(document.syntaxIssues);
  const reporter = createIssueCollector(document);
  const manifest = check(document.data, reporter);
  const issues = reporter.issues();
  if (manifest !== undefined && issues.length === 0) return manifest;
  throw new ManifestError(issues);
}

/** The namespace a manifest belongs to when its `metadata.namespace` names none. */
export const DEFAULT_NAMESPACE = 'default';

/**
 * The `metadata.namespace` a manifest's text declares (`undefined` when it names none), read
 * before the manifest is checked: its tasks resolve against that namespace's registered tasks.
 * @throws ManifestError for text that is not YAML (or too large, deep, …), as the full parse would.
 */
export function declaredNamespace(source: string, file: string): string | undefined {
  return parseWith(source, file, (data) => {
    const metadata = isRecord(data) ? data.metadata : undefined;
    return { namespace: isRecord(metadata) && typeof metadata.namespace === 'string' ? metadata.namespace : undefined };
  }).namespace;
}

/** Validates the data against the schema of its kind and runs that kind's semantic checks. */
function validate(data: unknown, catalog: Catalog, reporter: Reporter, workflows: SubWorkflows | undefined): Manifest | undefined {
  if (data === undefined || data === null) {
    reporter.report([], 'the file is empty: a manifest has apiVersion, kind, metadata and spec');
    return undefined;
  }
  const kind = isRecord(data) ? data.kind : undefined;
  if (typeof kind === 'string' && !KINDS.includes(kind)) {
    reporter.report(['kind'], `unknown kind "${kind}": must be ${KINDS.slice(0, -1).map((name) => `"${name}"`).join(', ')} or "${KINDS.at(-1)}"${didYouMean(kind, KINDS)}`);
    return undefined;
  }
  const validators = getValidators();
  if (kind === 'Runbook') {
    checkRunbook(data, reporter);
    if (validators.runbook(data)) return data;
    reportSchemaErrors(validators.runbook.errors ?? [], data, reporter);
    return undefined;
  }
  if (kind === 'Trigger') {
    if (validators.trigger(data)) return data;
    reportSchemaErrors(validators.trigger.errors ?? [], data, reporter);
    return undefined;
  }
  if (kind === 'Schedule') {
    if (validators.schedule(data)) return data;
    reportSchemaErrors(validators.schedule.errors ?? [], data, reporter);
    return undefined;
  }
  checkWorkflow(data, catalog, reporter, workflows);
  if (validators.workflow(data)) return data;
  reportSchemaErrors(validators.workflow.errors ?? [], data, reporter);
  return undefined;
}
