/**
 * Starting runs for the API: idempotency keys, the per-namespace admission queue, and the
 * Temporal start itself (run id = workflow id, so a start is idempotent by construction).
 */
import { randomUUID } from 'node:crypto';
import { WorkflowExecutionAlreadyStartedError, type Client } from '@temporalio/client';
import { startRun } from '../../client/index.js';
import type { CompiledWorkflow, Principal, TaskState } from '../../ir/index.js';
import type { Store } from '../../store/index.js';
import { describeRun, type ApiRunStatus } from './temporal.js';

/** Everything needed to start a run; stored as is while the run waits in the admission queue. */
export interface LaunchRequest {
  runId: string;
  compiled: CompiledWorkflow;
  /** Checked params. */
  params: Record<string, unknown>;
  namespace: string;
  /** 1 (highest) to 5; undefined: Temporal's default. */
  priority?: number;
  /** The name of the principal starting the run. */
  startedBy: string;
  /** The principal the run acts for: the worker's policy gate decides each task for it. */
  principal: Principal;
  /** Tasks carried from an earlier run (retry from the failed step). */
  carried?: TaskState[];
  /** Correlates the run's policy decisions and task attempts with the request that started it. */
  traceId?: string;
}

/** What the caller learns about the run. */
export interface LaunchResult {
  runId: string;
  status: ApiRunStatus;
  /** False when an idempotency key named a run that existed already. */
  created: boolean;
}

/** What {@link launchRun} needs. */
export interface LaunchContext {
  client: Client;
  store: Store;
  taskQueue: string;
  /** Concurrent-run limit of each namespace that has one. */
  runLimits: Readonly<Record<string, number>>;
  /** Called with each run started on Temporal (metrics). */
  onStarted?: (request: LaunchRequest) => void;
  /**
   * Called once the run id is known and before the run is queued or started (the policy's
   * run-start check); throwing refuses the run and nothing starts.
   * @default undefined — every run may start
   */
  authorize?: (request: LaunchRequest) => Promise<void>;
}

/** A fresh run id. */
export function newRunId(): string {
  return `run-${randomUUID()}`;
}

/**
 * Starts the run on Temporal unless a run with its id exists already.
 * @returns true when this call started it.
 */
export async function startOnTemporal(context: LaunchContext, request: LaunchRequest): Promise<boolean> {
  try {
    await startRun(context.client, {
      compiled: request.compiled,
      params: request.params,
      runId: request.runId,
      namespace: request.namespace,
      taskQueue: context.taskQueue,
      startedBy: request.startedBy,
      principal: request.principal,
      ...(request.priority === undefined ? {} : { priority: request.priority }),
      ...(request.carried === undefined ? {} : { carried: request.carried }),
      ...(request.traceId === undefined ? {} : { traceId: request.traceId }),
    });
  } catch (error) {
    if (error instanceof WorkflowExecutionAlreadyStartedError) return false;
    throw error;
  }
  context.onStarted?.(request);
  return true;
}

/**
 * Starts (or queues) a run. With an idempotency key, the first request binds the key to its run id
 * and every later one gets that run back (`created: false`); a request that died between binding
 * the key and starting is completed by the next one, because the start is idempotent by run id.
 * `context.authorize` decides every request, a repeated one too: an idempotency key bound by a
 * refused request starts its run once a later request with that key is allowed.
 * In a namespace with a run limit, the run takes a slot or waits in the store's admission queue,
 * which the admission loop drains as runs finish.
 */
export async function launchRun(context: LaunchContext, request: Omit<LaunchRequest, 'runId'>, idempotencyKey?: string): Promise<LaunchResult> {
  const fresh = newRunId();
  const runId = idempotencyKey === undefined ? fresh : await context.store.claimIdempotencyKey(request.namespace, idempotencyKey, fresh);
  const full: LaunchRequest = { ...request, runId };
  await context.authorize?.(full);
  const limit = context.runLimits[request.namespace];
  if (limit !== undefined) {
    const state = await context.store.enqueueRun({ runId, namespace: request.namespace, enqueuedAt: new Date().toISOString(), request: full }, limit);
    if (state === 'queued') return { runId, status: 'QUEUED', created: runId === fresh };
  }
  const started = await startOnTemporal(context, full);
  if (started || runId === fresh) return { runId, status: 'RUNNING', created: runId === fresh };
  const existing = await describeRun(context.client, runId);
  return { runId, status: existing?.status ?? 'RUNNING', created: false };
}
