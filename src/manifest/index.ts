/**
 * Manifests: parsing YAML/JSON keeping positions, validating against `contracts/`, semantic
 * checks, and checking run parameters. Every manifest problem is a {@link ManifestError} issue
 * with file, line, column and JSON path.
 */
export { MAX_MANIFEST_BYTES, parseManifest, type ParseManifestOptions } from './parse.js';
export { loadManifestFile } from './load.js';
export { checkParams, parseParamText } from './param-values.js';
export { parseScheduleManifest, scheduleSchema, type ParsedSchedule, type ScheduleManifest } from './schedule.js';
export { irSchema, runbookSchema, triggerSchema, workflowSchema } from './schemas.js';
export {
  MAX_EMBEDDED_IR_BYTES,
  SUB_WORKFLOW_GROUP,
  isSubWorkflowUses,
  parseSubWorkflowUses,
  subWorkflowUses,
  type SubWorkflowResolution,
  type SubWorkflows,
} from './sub-workflows.js';
export type * from './types.js';
