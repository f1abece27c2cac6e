/**
 * Provenance of runs over the API: `GET /runs/{runId}/receipt` (the signed receipt, as a
 * download), `GET /runs/{runId}/receipt/verification` (its offline verification), `POST /runs/{runId}/replay` (re-execute with the cache bypassed) and
 * `GET /runs/{runId}/replays/{replayRunId}` (the per-task comparison once the replay finished).
 */
import { MaestroError, NotFoundError } from '../../errors/index.js';
import { checkReceipt, trustedKeysFromConfig, type ReceiptTrust } from '../../provenance/index.js';
import { describeRun, replayReport, startReplay, type RunExecution } from '../../runs/index.js';
import { caller, stringParam, type RouteContext, type RouteHandler } from '../context.js';
import { launchContext, startedByCaller } from './access.js';
import { ownRun } from './runs.js';

/** The configured receipt store and the keys a receipt must verify against before a comparison. */
async function receiptsAndKeys(context: RouteContext): Promise<ReceiptTrust> {
  const { config, receipts } = context.deps;
  return { receipts, publicKeys: await trustedKeysFromConfig(config) };
}

/** The request's run, which must have finished (a receipt is written when a run ends). */
async function finishedRun(context: RouteContext, doing: string): Promise<RunExecution> {
  const location = await ownRun(context);
  if (location.kind === 'queued') throw new MaestroError('CONFLICT', `run ${location.request.runId} is queued; ${doing} once it has finished`);
  if (!location.execution.closed) throw new MaestroError('CONFLICT', `run ${location.execution.runId} is ${location.execution.status}; ${doing} once it has finished`);
  return location.execution;
}

/**
 * `GET /runs/{runId}/receipt`: the Sigstore bundle exactly as stored, as an `application/json`
 * attachment named `<runId>.sigstore.json`, with its sha256 as the ETag; 404 while the run has none.
 */
export const getRunReceipt: RouteHandler = async (context) => {
  const location = await ownRun(context);
  const runId = location.kind === 'temporal' ? location.execution.runId : location.request.runId;
  const receipt = await context.deps.receipts.find(runId);
  if (!receipt) throw new NotFoundError(`run "${runId}" has no receipt yet: it is written when the run ends`);
  context.res
    .status(200)
    .type('application/json')
    .set('Content-Disposition', `attachment; filename="${runId}.sigstore.json"`)
    .set('ETag', `"${receipt.digest}"`)
    .send(Buffer.from(receipt.bytes));
  return undefined;
};

/**
 * `GET /runs/{runId}/receipt/verification`: the stored receipt verified here, offline, against the
 * configured keys — verified or why not, the signer's key id, subjects and policy decision ids.
 * 200 either way (a receipt that does not verify is an answer, not an error); 404 while it has none.
 */
export const verifyRunReceipt: RouteHandler = async (context) => {
  const location = await ownRun(context);
  const runId = location.kind === 'temporal' ? location.execution.runId : location.request.runId;
  return { status: 200, body: await checkReceipt(runId, await receiptsAndKeys(context)) };
};

/**
 * `POST /runs/{runId}/replay`: 202 with the replay's run id. The original receipt must verify;
 * the replay starts like any run (policy decision, audit record, admission, metrics), acts for
 * the caller, bypasses the task cache and asks every approval gate again.
 */
export const startRunReplay: RouteHandler = async (context) => {
  const principal = caller(context);
  const execution = await finishedRun(context, 'replay it');
  const { replayRunId, status } = await startReplay(launchContext(context.deps), execution.runId, {
    ...(await receiptsAndKeys(context)),
    ...startedByCaller(context, principal),
  });
  context.res.location(replayLocation(execution.runId, replayRunId));
  return { status: 202, body: { runId: execution.runId, replayRunId, status } };
};

/**
 * `GET /runs/{runId}/replays/{replayRunId}`: 202 with the replay's status while it runs, then 200
 * with the comparison of every task's output hash against the original receipt.
 */
export const getRunReplay: RouteHandler = async (context) => {
  const execution = await finishedRun(context, 'ask for its replays');
  const replayRunId = stringParam(context.path, 'replayRunId');
  // startReplay names every replay `<runId>-replay-<hex>`, and API run ids never look like that.
  const replay = replayRunId.startsWith(`${execution.runId}-replay-`) ? await describeRun(context.deps.client, replayRunId) : undefined;
  if (!replay) throw new NotFoundError(`run ${execution.runId} has no replay "${replayRunId}"`);
  if (!replay.closed) {
    context.res.set('Retry-After', '1');
    return { status: 202, body: { runId: execution.runId, replayRunId, status: replay.status } };
  }
  return { status: 200, body: await replayReport(context.deps.client, execution.runId, replayRunId, await receiptsAndKeys(context)) };
};

function replayLocation(runId: string, replayRunId: string): string {
  return `/runs/${encodeURIComponent(runId)}/replays/${encodeURIComponent(replayRunId)}`;
}
