/**
 * A `kind: Schedule` manifest (`contracts/schedule.schema.json`): parsed with positions and
 * validated, as workflow and runbook manifests are, into the JSON body of `POST /schedules` it
 * stands for. What needs the registry or Temporal is checked where the schedule is created.
 */
import { Ajv2020, type ValidateFunction } from 'ajv/dist/2020.js';
import addFormats from 'ajv-formats';
import scheduleSchema from '../../contracts/schedule.schema.json' with { type: 'json' };
import { MaestroError, ManifestError } from '../errors/index.js';
import { createIssueCollector } from './issues.js';
import { MAX_MANIFEST_BYTES } from './parse.js';
import { reportSchemaErrors } from './schema-issues.js';
import { readSource } from './source.js';

export { scheduleSchema };

/** A schedule manifest as validated. */
export interface ScheduleManifest {
  apiVersion: 'maestro/v1';
  kind: 'Schedule';
  metadata: { name: string; namespace?: string };
  spec: Record<string, unknown> & { schedule: Record<string, unknown> };
}

/** What a schedule manifest defines: its id, its namespace (if it names one), and the JSON body. */
export interface ParsedSchedule {
  id: string;
  namespace?: string;
  /** The JSON body of `POST /schedules` without `id` and `namespace` (`spec.schedule` as `spec`). */
  body: Record<string, unknown>;
}

let validator: ValidateFunction<ScheduleManifest> | undefined;

/**
 * Parses and validates a Schedule manifest (YAML, or JSON).
 * @throws ManifestError with every issue, each with file, line, column and JSON path.
 * @throws MaestroError `PAYLOAD_TOO_LARGE` for a text over `MAX_MANIFEST_BYTES`.
 */
export function parseScheduleManifest(source: string, file: string): ParsedSchedule {
  const bytes = Buffer.byteLength(source);
  if (bytes > MAX_MANIFEST_BYTES) throw new MaestroError('PAYLOAD_TOO_LARGE', `${file}: the manifest takes ${bytes} bytes, more than the limit of ${MAX_MANIFEST_BYTES}`);
  const document = readSource(source, file);
  if (document.syntaxIssues.length > 0) throw new ManifestError(document.syntaxIssues);
  const reporter = createIssueCollector(document);
  if (validator === undefined) {
    const ajv = new Ajv2020({ allErrors: true, strict: true, verbose: true });
    addFormats.default(ajv);
    validator = ajv.compile<ScheduleManifest>(scheduleSchema);
  }
  const data = document.data;
  if (data === undefined || data === null) reporter.report([], 'the file is empty: a manifest has apiVersion, kind, metadata and spec');
  else if (!validator(data)) reportSchemaErrors(validator.errors ?? [], data, reporter);
  const issues = reporter.issues();
  if (issues.length > 0 || !validator(data)) throw new ManifestError(issues);
  const { schedule, ...rest } = data.spec;
  return { id: data.metadata.name, ...(data.metadata.namespace === undefined ? {} : { namespace: data.metadata.namespace }), body: { ...rest, spec: schedule } };
}
