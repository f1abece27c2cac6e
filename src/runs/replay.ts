/**
 * Replay: run a finished run again from its own IR and params, with the task cache bypassed,
 * through the one run-start path like any other start — the policy decides it for whoever asks,
 * it is recorded in the audit log as a replay of the original, it takes an admission slot and it
 * counts as a started run. Approvals are not carried over: every approval gate asks again, since
 * a person's decision was about the original run, not about running its side effects twice.
 */
import { randomUUID } from 'node:crypto';
import type { Principal } from '../ir/index.js';
import { verifiedReceipt, type ReceiptTrust } from '../provenance/index.js';
import { launchRun, type LaunchContext, type LaunchResult } from './launch.js';
import { replayReport, type ReplayReport } from './replay-report.js';
import { runInput } from './temporal.js';

/** Options of {@link startReplay}. */
export interface ReplayOptions extends ReceiptTrust {
  /** Who asks for the replay: the policy decides it for them, and the replay acts for them. */
  principal: Principal;
  /** The name of who asks, as the run's `startedBy` and the audit record's actor. */
  startedBy: string;
  /** Correlates the replay's decisions and attempts with the request. @default undefined */
  traceId?: string;
  /** Id of the replay run. @default `<runId>-replay-<8 hex>` */
  replayRunId?: string;
}

/**
 * Starts the replay of a finished run (what `POST /runs/{runId}/replay` does before answering 202
 * with the replay's run id). The original receipt is verified first: a replay is only worth
 * comparing against a receipt that verifies. The IR, digest, params and namespace come from the
 * run's start event in Temporal, the system of record.
 *
 * @throws NotFoundError when the run or its receipt does not exist; MaestroError `BAD_REQUEST`
 * when the receipt does not verify; `PolicyDeniedError` when the policy refuses the start.
 */
export async function startReplay(context: LaunchContext, runId: string, options: ReplayOptions): Promise<{ replayRunId: string; status: LaunchResult['status'] }> {
  await verifiedReceipt(runId, options);
  const original = await runInput(context.client, runId);
  const replayRunId = options.replayRunId ?? `${runId}-replay-${randomUUID().slice(0, 8)}`;
  const { status } = await launchRun(context, {
    runId: replayRunId,
    compiled: { ir: original.ir, digest: original.digest },
    params: original.params,
    namespace: original.namespace ?? 'default',
    principal: options.principal,
    startedBy: options.startedBy,
    ...(options.traceId === undefined ? {} : { traceId: options.traceId }),
    cache: 'bypass',
    origin: { kind: 'replay', runId },
  });
  return { replayRunId, status };
}

/**
 * Replays a finished run and compares output hashes task by task with its (verified) receipt:
 * {@link startReplay}, then `replayReport` once the replay has finished (after anyone its
 * approval gates wait for has decided).
 */
export async function replayRun(context: LaunchContext, runId: string, options: ReplayOptions): Promise<ReplayReport> {
  const { replayRunId } = await startReplay(context, runId, options);
  return replayReport(context.client, runId, replayRunId, options);
}
