/**
 * Replay: run a finished run again from its own IR and params, with the task cache bypassed, and
 * compare every task's output hash with the original receipt. Hash-equal replay shows the run is
 * reproducible; a task reported `different` is not deterministic (or depends on the outside world).
 */
import { randomUUID } from 'node:crypto';
import type { KeyObject } from 'node:crypto';
import { status as grpcStatus } from '@grpc/grpc-js';
import { isGrpcServiceError, type Client } from '@temporalio/client';
import { firstHistoryValue, startRun, waitForRun, type StartRunOptions } from '../client/index.js';
import { MaestroError, NotFoundError } from '../errors/index.js';
import type { InterpreterInput, Principal, RunState, RunStatus } from '../ir/index.js';
import { taskOutputDigests } from './receipt.js';
import type { ReceiptStore } from './receipts.js';
import { isRecord, type ProvenanceStatement } from './statement.js';
import { verifyReceipt } from './verify.js';

/** Options of {@link replayRun}. */
export interface ReplayOptions {
  /** Where the original run's receipt is. */
  receipts: ReceiptStore;
  /** Keys the original receipt must verify against before it is trusted for the comparison. */
  publicKeys: readonly (string | Buffer | KeyObject)[];
  /** Id of the replay run. @default `<runId>-replay-<8 hex>` */
  replayRunId?: string;
  /** Task queue of the replay. @default the original run's */
  taskQueue?: string;
  /** The principal the replay acts for (the policy decides each task for it). @default the original run's */
  principal?: Principal;
  /** Who asked for the replay. @default the original run's `startedBy` */
  startedBy?: string;
}

/** How one task (or forEach item) compares. */
export type ReplayVerdict = 'equal' | 'different' | 'missing';

/** One task's comparison. */
export interface TaskReplay {
  /** Task id, or `task[i]` for a forEach item. */
  taskId: string;
  verdict: ReplayVerdict;
  /** `sha256:<hex>` of the original outputs, from the receipt; undefined when it had none. */
  original?: string;
  /** `sha256:<hex>` of the replay's outputs; undefined when it had none. */
  replay?: string;
}

/** Result of {@link replayRun}. */
export interface ReplayReport {
  runId: string;
  replayRunId: string;
  replayStatus: RunStatus;
  /** True when every task's outputs hash the same in both runs. */
  equal: boolean;
  tasks: TaskReplay[];
}

/**
 * Replays a finished run and compares output hashes task by task with its (verified) receipt:
 * {@link startReplay}, then {@link replayReport} once the replay has finished.
 *
 * @throws NotFoundError when the run or its receipt does not exist; MaestroError `BAD_REQUEST`
 * when the receipt does not verify.
 */
export async function replayRun(client: Client, runId: string, options: ReplayOptions): Promise<ReplayReport> {
  const { replayRunId } = await startReplay(client, runId, options);
  return replayReport(client, runId, replayRunId, options);
}

/**
 * Starts the replay of a finished run (what `POST /runs/{runId}/replay` does before answering 202
 * with the replay's run id). The receipt is verified first: a replay is only worth comparing
 * against a receipt that verifies.
 *
 * The IR, digest, params and namespace come from the run's start event in Temporal, the system of
 * record. Approval tasks are carried over with their original decisions (a human decision is an
 * input, not a computation), so the replay does not wait for people again. The replay starts with
 * `cache: 'bypass'`, so every task really executes, and acts for the original run's principal
 * unless `options.principal` says otherwise (with the policy on, a run without one may do nothing).
 *
 * @throws NotFoundError when the run or its receipt does not exist; MaestroError `BAD_REQUEST`
 * when the receipt does not verify.
 */
export async function startReplay(client: Client, runId: string, options: ReplayOptions): Promise<{ replayRunId: string }> {
  await verifiedReceipt(runId, options);
  const original = await startInput(client, runId);
  const originalState = await waitForRun(client, runId);
  const approvalIds = new Set(original.input.ir.tasks.filter((node) => node.execution === 'approval').map((node) => node.id));
  const approvals = originalState.tasks.filter((task) => approvalIds.has(task.id));
  const replayRunId = options.replayRunId ?? `${runId}-replay-${randomUUID().slice(0, 8)}`;
  const principal = options.principal ?? original.input.principal;
  const startedBy = options.startedBy ?? original.input.startedBy;
  const start: StartRunOptions = {
    compiled: { ir: original.input.ir, digest: original.input.digest },
    params: original.input.params,
    runId: replayRunId,
    taskQueue: options.taskQueue ?? original.taskQueue,
    ...(original.input.namespace === undefined ? {} : { namespace: original.input.namespace }),
    ...(principal === undefined ? {} : { principal }),
    ...(startedBy === undefined ? {} : { startedBy }),
    ...(approvals.length === 0 ? {} : { carried: approvals }),
    cache: 'bypass',
  };
  await startRun(client, start);
  return { replayRunId };
}

/** Waits for a replay to finish and compares its outputs with the original run's receipt. */
export async function replayReport(client: Client, runId: string, replayRunId: string, options: Pick<ReplayOptions, 'receipts' | 'publicKeys'>): Promise<ReplayReport> {
  const receipt = await verifiedReceipt(runId, options);
  const replayed = await waitForRun(client, replayRunId);
  const tasks = compareOutputs(receipt, replayed);
  return { runId, replayRunId, replayStatus: replayed.status, equal: tasks.every((task) => task.verdict === 'equal'), tasks };
}

async function verifiedReceipt(runId: string, options: Pick<ReplayOptions, 'receipts' | 'publicKeys'>): Promise<ProvenanceStatement> {
  const stored = await options.receipts.read(runId);
  const verified = verifyReceipt(stored.bundle, { publicKeys: options.publicKeys });
  if (!verified.ok) throw new MaestroError('BAD_REQUEST', `the receipt of run "${runId}" does not verify (${verified.code}): ${verified.reason}`);
  return verified.statement;
}

/**
 * Compares a receipt's per-task output digests with a run's outputs, for every task or forEach
 * item that has outputs in either.
 */
export function compareOutputs(receipt: ProvenanceStatement, run: RunState): TaskReplay[] {
  const original = receiptOutputDigests(receipt);
  const replayed = new Map([...taskOutputDigests(run)].map(([id, hex]) => [id, `sha256:${hex}`]));
  const ids = [...original.keys(), ...[...replayed.keys()].filter((id) => !original.has(id))];
  return ids.map((taskId) => {
    const before = original.get(taskId);
    const after = replayed.get(taskId);
    const verdict: ReplayVerdict = before === undefined || after === undefined ? 'missing' : before === after ? 'equal' : 'different';
    return { taskId, verdict, ...(before === undefined ? {} : { original: before }), ...(after === undefined ? {} : { replay: after }) };
  });
}

/** `outputDigest` of every task and item byproduct of a receipt, by id, in receipt order. */
export function receiptOutputDigests(receipt: ProvenanceStatement): Map<string, string> {
  const digests = new Map<string, string>();
  const visit = (annotations: unknown): void => {
    if (!isRecord(annotations)) return;
    if (typeof annotations['id'] === 'string' && typeof annotations['outputDigest'] === 'string') {
      digests.set(annotations['id'], annotations['outputDigest']);
    }
    if (Array.isArray(annotations['items'])) for (const item of annotations['items']) visit(item);
  };
  for (const byproduct of receipt.predicate.runDetails.byproducts ?? []) {
    if (byproduct.name?.startsWith('task/')) visit(byproduct.annotations);
  }
  return digests;
}

/** The interpreter input and task queue a run was started with, from its first history event. */
async function startInput(client: Client, runId: string): Promise<{ input: InterpreterInput; taskQueue: string }> {
  let history;
  try {
    history = await client.workflow.getHandle(runId).fetchHistory();
  } catch (error) {
    if (isGrpcServiceError(error) && error.code === grpcStatus.NOT_FOUND) throw new NotFoundError(`run "${runId}" not found`, { cause: error });
    throw error;
  }
  const started = history.events?.[0]?.workflowExecutionStartedEventAttributes;
  const payloads = started?.input?.payloads;
  if (!started || !payloads?.[0]) throw new MaestroError('INTERNAL', `run "${runId}" has no start input in its history`);
  const input = await firstHistoryValue<InterpreterInput>(client, payloads);
  return { input, taskQueue: started.taskQueue?.name ?? 'maestro' };
}
