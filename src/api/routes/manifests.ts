/**
 * Manifests in request bodies: parsed and validated with positions, and checked to be of the kind
 * the route registers.
 */
import { ManifestError, MaestroError } from '../../errors/index.js';
import { parseManifest, parseScheduleManifest, type Manifest, type ParsedSchedule, type RunbookManifest, type SubWorkflows, type TriggerManifest, type WorkflowManifest } from '../../manifest/index.js';
import type { RouteContext } from '../context.js';

/** Name issues are reported under (the API has no file). */
const SOURCE_NAME = 'request body';

function parseBody(context: Pick<RouteContext, 'rawBody' | 'deps'>, workflows?: SubWorkflows): { manifest: Manifest; text: string } {
  const text = context.rawBody;
  if (text === undefined) throw new MaestroError('BAD_REQUEST', 'the manifest must be sent as application/yaml or application/json text');
  return { manifest: parseManifest(text, SOURCE_NAME, { catalog: context.deps.catalog, ...(workflows === undefined ? {} : { workflows }) }), text };
}

function wrongKind(manifest: Manifest, expected: string): ManifestError {
  return new ManifestError([
    { file: SOURCE_NAME, line: 1, column: 1, path: 'kind', message: `this route registers ${expected} manifests, not ${manifest.kind}` },
  ]);
}

/**
 * The request's workflow manifest and its text. @throws ManifestError (400) listing every issue.
 * @param workflows what its `workflow/…` references resolved to; absent: they are not checked
 */
export function workflowFromBody(context: RouteContext, workflows?: SubWorkflows): { manifest: WorkflowManifest; text: string } {
  const { manifest, text } = parseBody(context, workflows);
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
export function scheduleFromManifest(context: RouteContext): ParsedSchedule {
  const text = context.rawBody;
  if (text === undefined) throw new MaestroError('BAD_REQUEST', 'the manifest must be sent as application/yaml text');
  return parseScheduleManifest(text, SOURCE_NAME);
}

/** The request's trigger manifest. @throws ManifestError (400) listing every issue. */
export function triggerFromBody(context: Pick<RouteContext, 'rawBody' | 'deps'>): TriggerManifest {
  const { manifest } = parseBody(context);
  if (manifest.kind !== 'Trigger') throw wrongKind(manifest, 'Trigger');
  return manifest;
}
