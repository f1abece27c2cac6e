/**
 * `GET /operations`: the operations view of one of the caller's namespaces over a window (success
 * rate, MTTR, backlog and queue time, durations, failing tasks, runs over time), computed by the
 * store's SQL aggregates over the usage ledger.
 */
import { resolveOperationsWindow } from '../../store/index.js';
import { instantOf } from '../../runs/index.js';
import { caller, type RouteHandler } from '../context.js';
import { requestNamespace } from './access.js';

/** `GET /operations?namespace=&from=&to=&bucket=`. */
export const getOperations: RouteHandler = async (context) => {
  const { deps, query } = context;
  const { namespace, from, to, bucket } = query as { namespace?: string; from?: string; to?: string; bucket?: number };
  const resolved = requestNamespace(caller(context), namespace);
  const now = deps.clock();
  const window = resolveOperationsWindow(
    {
      ...(from === undefined ? {} : { from: new Date(instantOf('from', from)) }),
      ...(to === undefined ? {} : { to: new Date(instantOf('to', to)) }),
      ...(bucket === undefined ? {} : { bucketSeconds: bucket }),
    },
    now,
  );
  return { status: 200, body: await deps.store.readOperations({ namespace: resolved, ...window, now }) };
};
