/**
 * The interpreter's messages, shared by the workflow and its clients (API, CLI, tests).
 */
import { defineQuery, defineUpdate } from '@temporalio/workflow';
import type { ApprovalRequest, RunState, RunStatus, SignalDelivery, SignalRequest, TaskState } from './types.js';

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

/**
 * Deliver a signal's payload to the tasks waiting for its name (`ops/wait.signal`). The validator
 * rejects (without touching history) a payload too large or deep, an expired proof, or a name no
 * task waits for (`SIGNAL_NOT_AWAITED`); the handler then has the worker check the API's proof and
 * the payload against each waiting task's schema before any task takes it.
 */
export const signalUpdate = defineUpdate<SignalDelivery, [SignalRequest]>('signal');

/**
 * Pause a run: nothing new starts (no task, retry attempt or forEach item) until it is resumed;
 * what runs finishes, timers keep running. Idempotent; returns the run's status.
 */
export const pauseUpdate = defineUpdate<RunStatus>('pause');

/** Resume a paused run: what became ready meanwhile starts. Idempotent; returns the run's status. */
export const resumeUpdate = defineUpdate<RunStatus>('resume');
