/**
 * The interpreter's messages, shared by the workflow and its clients (API, CLI, tests).
 */
import { defineQuery, defineUpdate } from '@temporalio/workflow';
import type { ApprovalRequest, RunState, TaskState } from './types.js';

/** Name of the one workflow type Maestro runs. */
export const INTERPRETER_WORKFLOW = 'dagInterpreter';

/** Live state of a run: status per task, attempts, times, errors, outputs. */
export const stateQuery = defineQuery<RunState>('state');

/**
 * Approve or reject a WAITING approval task. The validator rejects (without touching history) a
 * task that is not waiting, an approver without one of the gate's roles, or a second decision by
 * the same approver. Returns the task's state after the decision.
 */
export const approveUpdate = defineUpdate<TaskState, [ApprovalRequest]>('approve');
