/**
 * Storage: the artifact store that keeps large outputs out of workflow history, and the control
 * plane's store (registry, idempotency keys, admission queue, usage ledger), audit log and task log on SQLite or
 * PostgreSQL.
 */
export {
  FsArtifactStore,
  isArtifactRef,
  offloadLargeFields,
  resolveArtifactRefs,
  type ArtifactStore,
  type FsArtifactStoreOptions,
} from './artifact-store.js';
export { FsBlobStore, S3BlobStore, checkBlobKey, type BlobStore, type S3BlobStoreOptions } from './blob-store.js';
export { openDatabase, openStore, type OpenStoreOptions } from './open-store.js';
export { MIGRATIONS, migrate, type Migration } from './sql/migrations.js';
export type { SqlDriver } from './sql/driver.js';
export type * from './types.js';
export { TRIGGER_RECENT_RUNS } from './types.js';
export { resolveSubWorkflows } from './sub-workflows.js';
export {
  BUDGET_AUDIT_KIND,
  BUDGET_WARNINGS,
  attemptCost,
  amountText,
  budgetFigures,
  budgetUsedText,
  budgetPeriod,
  noteBudgetUsage,
  runPrice,
  type AttemptUsage,
  type BudgetStatus,
  type PeriodWindow,
} from './budget.js';
export type { RegisteredTask, RegisteredTaskStore } from './registered-tasks.js';
export { RUN_PROGRESS_CHANNEL, createRunProgressStore, type RunProgress, type RunProgressStore } from './run-progress.js';
export {
  createUsageLedger,
  type AttemptOutcome,
  type BudgetWindow,
  type RunCharge,
  type RunEndRecord,
  type RunEndRecorded,
  type RunRecord,
  type RunStartRecord,
  type TaskAttemptRecord,
  type UsageLedger,
  type UsageReport,
  type UsageSums,
} from './usage-ledger.js';
export {
  bucketStarts,
  resolveOperationsWindow,
  successRate,
  type FailingTask,
  type OperationsQuery,
  type OperationsReport,
  type OperationsWindow,
  type Percentiles,
  type Recovery,
  type RunCounts,
  type SeriesBucket,
  type TaskFigures,
  type WorkflowFigures,
} from './operations.js';
export {
  GENESIS_HASH,
  auditRecordHash,
  auditRecordId,
  DECISION_REUSE_KIND,
  canonicalMembers,
  createAuditLog,
  openAuditLog,
  type AuditEntry,
  type AuditLog,
  type AuditQuery,
  type AuditRecord,
  type ChainReport,
  type OpenAuditLogOptions,
} from './audit-log.js';
export { AUDIT_LOG_MIGRATION_BASE, auditLogMigrations } from './migrations/policy-audit-log.js';
export {
  TASK_LOG_PAGE,
  createTaskLog,
  openTaskLog,
  type OpenTaskLogOptions,
  type TaskLog,
  type TaskLogEntry,
  type TaskLogLevel,
  type TaskLogLine,
  type TaskLogQuery,
} from './task-log.js';
