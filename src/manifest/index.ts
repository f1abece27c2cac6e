/**
 * Manifests: parsing YAML/JSON keeping positions, validating against `contracts/`, semantic
 * checks, and checking run parameters. Every manifest problem is a {@link ManifestError} issue
 * with file, line, column and JSON path.
 */
export { DEFAULT_NAMESPACE, MAX_MANIFEST_BYTES, declaredNamespace, parseManifest, parseWith, type ParseManifestOptions } from './parse.js';
export { loadManifestFile, readManifestText } from './load.js';
export { MAX_DOCUMENTS_PER_FILE, parseManifestDocuments, splitDocuments, type ManifestDocument, type ParseDocumentsOptions, type ManifestDocumentText } from './documents.js';
export { checkParams, parseParamText } from './param-values.js';
export { parseScheduleManifest, scheduleBody, type ParsedSchedule } from './schedule.js';
export { irSchema, runbookSchema, scheduleSchema, triggerSchema, workflowSchema } from './schemas.js';
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
