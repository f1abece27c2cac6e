/**
 * Replay reports: compare every task's output hash of a replay (started through `src/runs`, the
 * one run-start path) with the original run's verified receipt. Hash-equal replay shows the run is
 * reproducible; a task reported `different` is not deterministic (or depends on the outside world).
 */
import type { KeyObject } from 'node:crypto';
import type { Client } from '@temporalio/client';
import { waitForRun } from '../client/index.js';
import { MaestroError } from '../errors/index.js';
import { isRecord, type RunState, type RunStatus } from '../ir/index.js';
import { taskOutputDigests } from './receipt.js';
import type { ReceiptStore } from './receipts.js';
import type { ProvenanceStatement } from './statement.js';
import { verifyReceipt } from './verify.js';

/** Where a run's receipt is, and the keys it must verify against before it is trusted for a comparison. */
export interface ReceiptTrust {
  receipts: ReceiptStore;
  publicKeys: readonly (string | Buffer | KeyObject)[];
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

/** A replay compared with the original run's receipt. */
export interface ReplayReport {
  runId: string;
  replayRunId: string;
  replayStatus: RunStatus;
  /** True when every task's outputs hash the same in both runs. */
  equal: boolean;
  tasks: TaskReplay[];
}

/** Waits for a replay to finish and compares its outputs with the original run's receipt. */
export async function replayReport(client: Client, runId: string, replayRunId: string, options: ReceiptTrust): Promise<ReplayReport> {
  const receipt = await verifiedReceipt(runId, options);
  const replayed = await waitForRun(client, replayRunId);
  const tasks = compareOutputs(receipt, replayed);
  return { runId, replayRunId, replayStatus: replayed.status, equal: tasks.every((task) => task.verdict === 'equal'), tasks };
}

/**
 * The statement of a run's receipt, once it verifies: a replay is only worth comparing against a
 * receipt that verifies.
 * @throws NotFoundError when the run has no receipt; MaestroError `BAD_REQUEST` when it does not verify.
 */
export async function verifiedReceipt(runId: string, options: ReceiptTrust): Promise<ProvenanceStatement> {
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
