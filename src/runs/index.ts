/**
 * Runs: the one run-start path every way of starting a run goes through (API, CLI, retries,
 * replays; later schedules and triggers) — idempotency, the policy's run-start decision, audit,
 * admission and metrics — and the reads of runs from Temporal and the admission queue.
 */
export { launchRun, newRunId, startOnTemporal, type LaunchContext, type LaunchRequest, type LaunchResult } from './launch.js';
export { recordBeforeActing } from './record.js';
export { startAdmissionLoop, type AdmissionLoop, type AdmissionLoopOptions } from './admission.js';
export { openLaunchContext, type LaunchContextSettings, type OpenLaunchContext } from './open.js';
export { replayRun, startReplay, type ReplayOptions } from './replay.js';
export { describeRun, executionStatusName, runInput, runState, runStatusOf, type ApiRunStatus, type RunExecution } from './temporal.js';
export { instantOf, listRuns, visibilityQuery, type RunFilter, type RunPage, type RunSummary } from './list.js';
export { locateRun, namespaceOf, redactParams, runDetail, type RunDetail, type RunLocation } from './detail.js';
export { decisionView, planDecisions, runPolicyView, type DecisionView, type RunPolicyView } from './policy.js';
