/**
 * A `kind: Schedule` manifest (`contracts/schedule.schema.json`): parsed with positions and
 * validated, as workflow and runbook manifests are, into the JSON body of `POST /schedules` it
 * stands for. What needs the registry or Temporal is checked where the schedule is created.
 */
import { isRecord } from '../ir/index.js';
import { parseWith } from './parse.js';
import { reportSchemaErrors } from './schema-issues.js';
import { getValidators, scheduleSchema } from './schemas.js';
import type { ScheduleManifest } from './types.js';

export { scheduleSchema };

/** What a schedule manifest defines: its id, its namespace (if it names one), and the JSON body. */
export interface ParsedSchedule {
  id: string;
  namespace?: string;
  /** The JSON body of `POST /schedules` without `id` and `namespace` (`spec.schedule` as `spec`). */
  body: Record<string, unknown>;
}

/**
 * Parses and validates a Schedule manifest (YAML, or JSON), as `parseManifest` does any kind.
 * @throws ManifestError with every issue, each with file, line, column and JSON path; a manifest of
 *   another kind is one.
 * @throws MaestroError `PAYLOAD_TOO_LARGE` for a text over `MAX_MANIFEST_BYTES`.
 */
export function parseScheduleManifest(source: string, file: string): ParsedSchedule {
  const manifest = parseWith(source, file, (data, reporter): ScheduleManifest | undefined => {
    if (data === undefined || data === null) reporter.report([], 'the file is empty: a manifest has apiVersion, kind, metadata and spec');
    else if (isRecord(data) && data.kind !== 'Schedule') reporter.report(['kind'], `a schedule's kind is "Schedule", not ${JSON.stringify(data.kind)}`);
    else if (getValidators().schedule(data)) return data as ScheduleManifest;
    else reportSchemaErrors(getValidators().schedule.errors ?? [], data, reporter);
    return undefined;
  });
  return scheduleBody(manifest);
}

/** The JSON body of `POST /schedules` a validated schedule manifest stands for. */
export function scheduleBody(manifest: ScheduleManifest): ParsedSchedule {
  const { schedule, ...rest } = manifest.spec;
  return { id: manifest.metadata.name, ...(manifest.metadata.namespace === undefined ? {} : { namespace: manifest.metadata.namespace }), body: { ...rest, spec: schedule } };
}
