/**
 * Runs: the one run-start path every way of starting a run goes through (API, CLI, retries,
 * replays, runbook starts for triggers and schedules) — idempotency, the policy's run-start decision, audit,
 * admission and metrics — the reads of runs from Temporal and the admission queue, replay
 * reports, and the Temporal setting run priorities need.
 */
export { authorizeRunStart, launchRun, newRunId, startOnTemporal, type LaunchContext, type LaunchRequest, type LaunchResult } from './launch.js';
export { recordBeforeActing } from './record.js';
export { acquireConcurrencyKey, concurrencyView, lockIdOf, type ConcurrencyView } from './concurrency.js';
export { startAdmissionLoop, type AdmissionLoop, type AdmissionLoopOptions } from './admission.js';
export { openLaunchContext, type LaunchContextSettings, type OpenLaunchContext } from './open.js';
export { replayRun, startReplay, type ReplayOptions } from './replay.js';
export { compareOutputs, replayReport, type ReplayReport, type ReplayVerdict, type TaskReplay } from './replay-report.js';
export { describeRun, executionStatusName, runInput, runState, runStatusOf, type ApiRunStatus, type RunExecution } from './temporal.js';
export { instantOf, listFromTemporal, visibilityQuery, type RunFilter, type RunPage, type RunSummary } from './list.js';
export { awaitRunEnd, locateRun, openState, namespaceOf, runDetail, type RunDetail, type RunDetailOptions, type RunLocation, type RunReader } from './detail.js';
export { cachedRunInput, rememberStartedRun, startedExecution } from './run-inputs.js';
export { PRIORITY_DYNAMIC_CONFIG } from './priority.js';
export { decisionView, planDecisions, runPolicyView, type DecisionView, type RunPolicyView } from './policy.js';
export {
  OVERLAP_POLICIES,
  SCHEDULE_MAX_ENTRIES,
  SCHEDULE_MIN_INTERVAL_MS,
  SCHEDULE_NOTE_MAX_BYTES,
  scheduleDefinition,
  scheduledRunId,
  scheduledRunIdPrefix,
  type OverlapPolicy,
  type ScheduleBody,
  type ScheduleDefinition,
  type StoredSchedule,
} from './schedule-definition.js';
export {
  SCHEDULED_RUN_WORKFLOW,
  createScheduleActivities,
  createTemporalSchedule,
  getSchedule,
  listSchedules,
  planScheduledStart,
  readSchedule,
  recentScheduleRuns,
  recordScheduleEvent,
  replaceTemporalSchedule,
  scheduleAuditId,
  setSchedulePaused,
  scheduleStarter,
  temporalScheduleId,
  type FireOutcome,
  type LiveSchedule,
  type ScheduleActivities,
  type ScheduleFireContext,
  type ScheduledRunInput,
  type ScheduleRunView,
  type ScheduleSummaryView,
} from './schedules.js';
export { namespaceCatalog, remoteDefinition } from './task-catalog.js';
export { launchRunbook, planRunbook, startRunbook, type RunbookPlan, type RunbookStartContext, type RunbookStartRequest } from './runbook-start.js';
export { RUNBOOK_APPROVAL_TASK, RUNBOOK_PARAMS_TIMEOUT_MS, inputSpecs, runbookParams, runbookWorkflow } from './runbook-plan.js';
