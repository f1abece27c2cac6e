/**
 * Manifests in request bodies: parsed and validated with positions, and checked to be of the kind
 * the route registers.
 */
import type { Catalog } from '../../catalog/index.js';
import { ManifestError, MaestroError } from '../../errors/index.js';
import { declaredNamespace, parseManifest, scheduleBody, type Manifest, type ParsedSchedule, type RunbookManifest, type SubWorkflows, type TriggerManifest, type WorkflowManifest } from '../../manifest/index.js';
import type { RouteContext } from '../context.js';

/** Name issues are reported under (the API has no file). */
const SOURCE_NAME = 'request body';

function bodyText(context: Pick<RouteContext, 'rawBody'>): string {
  const text = context.rawBody;
  if (text === undefined) throw new MaestroError('BAD_REQUEST', 'the manifest must be sent as application/yaml or application/json text');
  return text;
}

function parseBody(context: Pick<RouteContext, 'rawBody' | 'deps'>, workflows?: SubWorkflows, catalog: Catalog = context.deps.catalog): { manifest: Manifest; text: string } {
  const text = bodyText(context);
  return { manifest: parseManifest(text, SOURCE_NAME, { catalog, ...(workflows === undefined ? {} : { workflows }) }), text };
}

/**
 * The `metadata.namespace` the request's manifest declares (`undefined` when it names none), read
 * before the manifest is checked: its tasks resolve against that namespace's registered tasks.
 * @throws ManifestError for text that is not YAML (or too large, deep, …), as the full parse would.
 */
export function requestDeclaredNamespace(context: Pick<RouteContext, 'rawBody'>): string | undefined {
  return declaredNamespace(bodyText(context), SOURCE_NAME);
}

function wrongKind(manifest: Manifest, expected: string): ManifestError {
  return new ManifestError([
    { file: SOURCE_NAME, line: 1, column: 1, path: 'kind', message: `this route registers ${expected} manifests, not ${manifest.kind}` },
  ]);
}

/**
 * The request's workflow manifest and its text. @throws ManifestError (400) listing every issue.
 * @param workflows what its `workflow/…` references resolved to; absent: they are not checked
 * @param catalog what its tasks resolve to @default the API's (built-in tasks and task modules)
 */
export function workflowFromBody(context: RouteContext, workflows?: SubWorkflows, catalog?: Catalog): { manifest: WorkflowManifest; text: string } {
  const { manifest, text } = parseBody(context, workflows, catalog);
  if (manifest.kind !== 'Workflow') throw wrongKind(manifest, 'Workflow');
  return { manifest, text };
}

/** The request's runbook manifest and its text. @throws ManifestError (400) listing every issue. */
export function runbookFromBody(context: RouteContext): { manifest: RunbookManifest; text: string } {
  const { manifest, text } = parseBody(context);
  if (manifest.kind !== 'Runbook') throw wrongKind(manifest, 'Runbook');
  return { manifest, text };
}

/** The request's `kind: Schedule` manifest, as the JSON body it stands for. @throws ManifestError (400) listing every issue. */
export function scheduleFromManifest(context: Pick<RouteContext, 'rawBody' | 'deps'>): ParsedSchedule {
  const { manifest } = parseBody(context);
  if (manifest.kind !== 'Schedule') throw wrongKind(manifest, 'Schedule');
  return scheduleBody(manifest);
}

/** The request's trigger manifest. @throws ManifestError (400) listing every issue. */
export function triggerFromBody(context: Pick<RouteContext, 'rawBody' | 'deps'>): TriggerManifest {
  const { manifest } = parseBody(context);
  if (manifest.kind !== 'Trigger') throw wrongKind(manifest, 'Trigger');
  return manifest;
}
