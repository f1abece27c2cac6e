/**
 * `GET /operations`: the operations view of one of the caller's namespaces over a window (success
 * rate, MTTR, backlog and queue time, durations, failing tasks, runs over time), computed by the
 * store's SQL aggregates over the usage ledger. A report of a month of a busy namespace costs the
 * database seconds, so one API computes at most {@link REPORTS_AT_ONCE} at a time: a flood of
 * requests is answered `429 RATE_LIMITED` instead of queueing work.
 */
import { MaestroError } from '../../errors/index.js';
import { resolveOperationsWindow, type Store } from '../../store/index.js';
import { instantOf } from '../../runs/index.js';
import { caller, type RouteHandler } from '../context.js';
import { requestNamespace } from './access.js';

/** Reports one API computes at once. */
const REPORTS_AT_ONCE = 2;
/** Reports being computed, per store (one per API). */
const computing = new WeakMap<Store, number>();

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
  const busy = computing.get(deps.store) ?? 0;
  if (busy >= REPORTS_AT_ONCE) throw new MaestroError('RATE_LIMITED', `the API is computing ${busy} operations reports; retry in 1 s`, { details: { retryAfterSeconds: 1 } });
  computing.set(deps.store, busy + 1);
  try {
    return { status: 200, body: await deps.store.readOperations({ namespace: resolved, ...window, now }) };
  } finally {
    computing.set(deps.store, (computing.get(deps.store) ?? 1) - 1);
  }
};
