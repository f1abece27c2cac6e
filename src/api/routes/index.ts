/**
 * The handler of every operation of `contracts/openapi.yaml`, by `operationId`.
 */
import { listApprovals } from './approvals.js';
import { listAudit, verifyAuditChain } from './audit.js';
import { codecDecode, codecEncode } from './codec.js';
import { streamRunEvents } from './events.js';
import { getRunLogs } from './logs.js';
import { health, metrics, readiness } from './operations.js';
import { getOperations } from './operations-report.js';
import { getRunReceipt, getRunReplay, startRunReplay, verifyRunReceipt } from './provenance.js';
import { listRunbooks, registerRunbook, triggerRunbook } from './runbooks.js';
import { backfillSchedule, createSchedule, deleteSchedule, getScheduleRoute, listSchedules, pauseSchedule, putSchedule, triggerSchedule, unpauseSchedule, updateSchedule } from './schedules.js';
import { approveRunTask, cancelRun, getRun, listRuns, pauseRun, resumeRun, retryRun, signalRun, startRun } from './runs.js';
import { resolveTaskSecret } from './task-secrets.js';
import { listTasks, registerTask } from './tasks.js';
import { createTrigger, deleteTrigger, getTrigger, listTriggers, pauseTrigger, putTrigger, unpauseTrigger } from './triggers.js';
import { deliverWebhook } from './hooks.js';
import { getUsage } from './usage.js';
import { getWorkflow, listWorkflows, registerWorkflow } from './workflows.js';

/** Handlers by operationId; `createApp` checks the set equals the document's operations. */
export const ROUTE_HANDLERS = {
  registerWorkflow,
  listWorkflows,
  getWorkflow,
  startRun,
  listRuns,
  getRun,
  streamRunEvents,
  getRunLogs,
  cancelRun,
  retryRun,
  approveRunTask,
  listApprovals,
  signalRun,
  pauseRun,
  resumeRun,
  getRunReceipt,
  verifyRunReceipt,
  startRunReplay,
  getRunReplay,
  registerRunbook,
  listRunbooks,
  triggerRunbook,
  createSchedule,
  listSchedules,
  getSchedule: getScheduleRoute,
  putSchedule,
  updateSchedule,
  deleteSchedule,
  pauseSchedule,
  unpauseSchedule,
  triggerSchedule,
  backfillSchedule,
  createTrigger,
  listTriggers,
  getTrigger,
  putTrigger,
  deleteTrigger,
  pauseTrigger,
  unpauseTrigger,
  deliverWebhook,
  listAudit,
  verifyAuditChain,
  getOperations,
  getUsage,
  listTasks,
  registerTask,
  resolveTaskSecret,
  health,
  readiness,
  metrics,
  codecDecode,
  codecEncode,
};
