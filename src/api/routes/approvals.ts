/**
 * `GET /approvals`: the approval gates waiting across runs that the caller may decide — an inbox.
 * Filtered here by what `POST /runs/{runId}/approvals` (and the run itself) would accept: a run of
 * a namespace the caller may touch, a gate listing one of the caller's roles, not the caller's own
 * run unless the gate allows self-approval, and not a gate the caller has decided already.
 *
 * Every open console polls it, so one request costs one visibility list (the WAITING runs of the
 * caller's namespaces) and one store read of those runs' published states (`run_progress`, which
 * their interpreters write after every change); each run's start input (its gates' definitions and
 * starter) is read from its history once and then kept (`cachedRunInput`). Only a run that never
 * published (an older worker's) is read from Temporal: described, and its state queried.
 */
import { MaestroError } from '../../errors/index.js';
import type { InterpreterInput, Principal, TaskState, WorkflowIR } from '../../ir/index.js';
import type { RunProgress } from '../../store/index.js';
import { cachedRunInput, describeRun, listFromTemporal, openState, runInput, runState, type RunSummary } from '../../runs/index.js';
import { caller, type RouteContext, type RouteHandler } from '../context.js';
import { visibleNamespaces } from './access.js';

/** How many waiting runs one request reads. */
const MAX_WAITING_RUNS = 200;
/** How many runs are read at once (those that need Temporal reads). */
const READ_PARALLELISM = 8;

/** One gate in the inbox. */
export interface PendingApproval {
  runId: string;
  namespace: string;
  workflowRef: string;
  taskId: string;
  startedBy?: string;
  /** When the gate started waiting. */
  waitingSince?: string;
  /** What the approvers are asked (the gate's `message`, when it is literal text). */
  message?: string;
  /** The roles that may decide; absent when the gate computes them at run time (`${...}`), so only the run can tell. */
  approvers?: string[];
  minApprovals?: number;
  /** The decisions so far. */
  approvals: NonNullable<TaskState['approvals']>;
}

/** A literal (expression-free) value of a gate's input, else undefined. */
function literal(value: unknown): unknown {
  return JSON.stringify(value ?? null).includes('${') ? undefined : value;
}

/**
 * The gates of one run that `principal` may decide now: WAITING approval tasks whose approver roles
 * (when literal) include one of the principal's, excluding the run's starter unless the gate sets
 * `allowSelfApproval: true`, and gates the principal has decided already.
 */
export function decidableGates(ir: WorkflowIR, tasks: readonly TaskState[], startedBy: string | undefined, principal: Pick<Principal, 'subject' | 'roles'>): Omit<PendingApproval, 'runId' | 'namespace' | 'workflowRef' | 'startedBy'>[] {
  const states = new Map(tasks.map((task) => [task.id, task]));
  return ir.tasks.flatMap((node) => {
    const state = states.get(node.id);
    if (node.execution !== 'approval' || state?.status !== 'WAITING') return [];
    const approvers = literal(node.with.approvers);
    const roles = Array.isArray(approvers) && approvers.every((role) => typeof role === 'string') ? (approvers as string[]) : undefined;
    if (roles !== undefined && !principal.roles.some((role) => roles.includes(role))) return [];
    if (startedBy === principal.subject && literal(node.with.allowSelfApproval) !== true) return [];
    const approvals = state.approvals ?? [];
    if (approvals.some((approval) => approval.approver === principal.subject)) return [];
    const message = literal(node.with.message);
    const minApprovals = literal(node.with.minApprovals);
    return [
      {
        taskId: node.id,
        ...(state.startedAt === undefined ? {} : { waitingSince: state.startedAt }),
        ...(typeof message === 'string' ? { message } : {}),
        ...(roles === undefined ? {} : { approvers: roles }),
        minApprovals: typeof minApprovals === 'number' ? minApprovals : 1,
        approvals,
      },
    ];
  });
}

/** What deciding a run's gates needs: its start input and its tasks' live states; none once it has closed. */
async function liveRun(context: RouteContext, runId: string, progress: RunProgress | undefined): Promise<{ input: Pick<InterpreterInput, 'ir' | 'startedBy'>; tasks: readonly TaskState[] } | undefined> {
  if (progress !== undefined) {
    const { tasks } = openState(progress.state, context.deps.payloadCodec);
    return { input: await cachedRunInput(context.deps.client, runId), tasks };
  }
  // A run whose interpreter never published (an older worker's): its live state is Temporal's.
  const execution = await describeRun(context.deps.client, runId);
  if (!execution || execution.closed) return undefined;
  const [input, state] = await Promise.all([runInput(context.deps.client, runId), runState(context.deps.client, execution)]);
  return { input, tasks: state.tasks };
}

/** The decidable gates of one waiting run (its published state, when it has one); none when it stopped waiting meanwhile. */
async function gatesOf(context: RouteContext, run: RunSummary, principal: Principal, progress: RunProgress | undefined): Promise<PendingApproval[]> {
  const live = await liveRun(context, run.runId, progress);
  if (live === undefined) return [];
  const { input, tasks } = live;
  return decidableGates(input.ir, tasks, input.startedBy, principal).map((gate) => ({
    runId: run.runId,
    namespace: run.namespace,
    workflowRef: run.workflowRef,
    ...(input.startedBy === undefined ? {} : { startedBy: input.startedBy }),
    ...gate,
  }));
}

/**
 * {@link gatesOf}, except that a run this API cannot read — its payloads sealed with a key it does
 * not hold (another deployment's, or one rotated out) — is left out and logged instead of failing
 * the whole inbox: nobody could decide its gates through this API anyway.
 */
async function readableGatesOf(context: RouteContext, run: RunSummary, principal: Principal, progress: RunProgress | undefined): Promise<PendingApproval[]> {
  try {
    return await gatesOf(context, run, principal, progress);
  } catch (error) {
    if (!(error instanceof MaestroError) || error.code !== 'PAYLOAD_UNDECRYPTABLE') throw error;
    console.error(`maestro api: GET /approvals left out run ${run.runId}: ${error.message}`);
    return [];
  }
}

/** `GET /approvals[?namespace=]`: the gates the caller may decide, oldest waiting first. */
export const listApprovals: RouteHandler = async (context) => {
  const principal = caller(context);
  const namespaces = visibleNamespaces(principal, (context.query as { namespace?: string }).namespace);
  if (namespaces?.length === 0) return { status: 200, body: { items: [] } };
  const page = await listFromTemporal(context.deps.client, { status: 'WAITING', ...(namespaces === undefined ? {} : { namespaces }) }, { limit: MAX_WAITING_RUNS });
  const published = new Map((await context.deps.store.listRunProgress(page.items.map((run) => run.runId))).map((progress) => [progress.runId, progress]));
  const items: PendingApproval[] = [];
  for (let start = 0; start < page.items.length; start += READ_PARALLELISM) {
    const batch = await Promise.all(page.items.slice(start, start + READ_PARALLELISM).map((run) => readableGatesOf(context, run, principal, published.get(run.runId))));
    items.push(...batch.flat());
  }
  items.sort((a, b) => (a.waitingSince ?? '').localeCompare(b.waitingSince ?? ''));
  return { status: 200, body: { items, ...(page.nextPageToken === undefined ? {} : { truncated: true }) } };
};
