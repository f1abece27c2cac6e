/**
 * One run: its header (workflow, digest, params, who started it, timings), the actions an operator
 * may take (cancel, retry, approve or reject), the DAG and the tasks (each with its logs), kept
 * live by the run's event stream.
 */
import { useCallback, useDeferredValue, useEffect, useMemo, useState } from 'react';
import { FINAL_STATUSES, request, requestJson, type RunCreated, type RunDetail as Run, type RunEvent, type TaskNode, type TaskState, type WorkflowDetail } from '../api/index.js';
import { ConfirmDialog } from '../components/ConfirmDialog.js';
import { SignalDialog } from '../components/SignalDialog.js';
import { Dag, preloadDag, useDagSettled } from '../components/Dag.js';
import { ParamValues } from '../components/ParamValues.js';
import { ProblemNotice } from '../components/ProblemNotice.js';
import { ReceiptPanel } from '../components/ReceiptPanel.js';
import { StatusBadge } from '../components/StatusBadge.js';
import { TaskRows } from '../components/TaskRows.js';
import { dagTasks } from '../dag-tasks.js';
import { durationMs, formatDuration, formatTime } from '../format.js';
import { useConsoleConfig, useResource, useRunEvents } from '../hooks.js';
import { Link, navigate } from '../router.js';
import { workflowLink, workflowPath } from './Workflows.js';

/** An action waiting for the user's confirmation. */
type Pending = { kind: 'cancel' } | { kind: 'pause' } | { kind: 'resume' } | { kind: 'retry'; from: 'start' | 'failed' } | { kind: 'approval'; taskId: string; decision: 'approve' | 'reject' };

/** What the last action did, for the status line. */
interface Outcome {
  message: string;
  /** A new run to open (retries). */
  runId?: string;
}

/** The current time, ticking every second while `active` (durations of running tasks grow). */
function useNow(active: boolean): number {
  const [now, setNow] = useState(Date.now());
  useEffect(() => {
    if (!active) return undefined;
    const timer = setInterval(() => setNow(Date.now()), 1000);
    return () => clearInterval(timer);
  }, [active]);
  return now;
}

/** No task ids (one array, so the deferred task table sees no change while it waits). */
const NO_IDS: readonly string[] = [];

/** The API path of a run. */
export function runPath(runId: string): string {
  return `/runs/${encodeURIComponent(runId)}`;
}

/** The run page for `runId`; `selectedTask` comes from the address (`?task=`). */
export function RunDetail({ runId, selectedTask }: { runId: string; selectedTask: string | undefined }) {
  const run = useResource<Run>(runPath(runId));
  const [name, version] = run.data?.workflowRef.split('@') ?? [];
  const workflow = useResource<WorkflowDetail>(name && version && run.data ? workflowPath(name, version, run.data.namespace) : undefined);
  useEffect(preloadDag, []);
  const config = useConsoleConfig();
  const [pending, setPending] = useState<Pending>();
  const [signalling, setSignalling] = useState<string>();
  const [outcome, setOutcome] = useState<Outcome>();
  const [actionError, setActionError] = useState<unknown>();
  const [busy, setBusy] = useState(false);
  const finished = run.data !== undefined && FINAL_STATUSES.includes(run.data.status);
  const now = useNow(run.data !== undefined && !finished);

  const { setData, reload } = run;
  const onEvent = useCallback(
    (event: string, data: unknown) => {
      if (event === 'run') setData((current) => current && { ...current, ...(data as RunEvent) });
      else if (event === 'task') {
        const task = data as TaskState;
        setData((current) => current && { ...current, tasks: current.tasks.some((t) => t.id === task.id) ? current.tasks.map((t) => (t.id === task.id ? task : t)) : [...current.tasks, task] });
      } else if (event === 'end') reload();
    },
    [setData, reload],
  );
  useRunEvents(run.data && !finished ? runId : undefined, onEvent);

  // Memoised: the page re-renders every second while the run is live, the DAG only when tasks change.
  const graph = useMemo(() => (workflow.data ? dagTasks(workflow.data.ir, run.data?.tasks) : undefined), [workflow.data, run.data?.tasks]);
  const select = useCallback((taskId: string) => navigate(`/runs/${encodeURIComponent(runId)}?task=${encodeURIComponent(taskId)}`, { replace: true }), [runId]);
  // The task table fills in a render of its own once the DAG's code is there, as on the workflow
  // page: its rows would otherwise hold back the DAG's first drawing.
  const order = useMemo(() => (workflow.data ? workflow.data.ir.tasks.map((task) => task.id) : (run.data?.tasks.map((task) => task.id) ?? NO_IDS)), [workflow.data, run.data?.tasks]);
  const dagSettled = useDagSettled();
  const rows = useDeferredValue(dagSettled ? order : NO_IDS, NO_IDS);
  useEffect(() => {
    if (selectedTask) document.getElementById(`task-${selectedTask}`)?.scrollIntoView({ block: 'nearest' });
  }, [selectedTask, rows]);

  const perform = async (action: Pending, comment: string): Promise<void> => {
    setPending(undefined);
    setBusy(true);
    setActionError(undefined);
    setOutcome(undefined);
    const base = runPath(runId);
    try {
      if (action.kind === 'cancel') {
        await request('POST', `${base}/cancel`, { json: comment ? { reason: comment } : {} });
        setOutcome({ message: 'Cancellation requested: running tasks are being cancelled.' });
      } else if (action.kind === 'pause' || action.kind === 'resume') {
        const answer = await requestJson<{ status: string }>('POST', `${base}/${action.kind}`, { json: comment ? { reason: comment } : {} });
        setOutcome({ message: `${action.kind === 'pause' ? 'Paused' : 'Resumed'}: the run is ${answer.status}.` });
      } else if (action.kind === 'retry') {
        const created = await requestJson<RunCreated>('POST', `${base}/retry`, { json: { from: action.from, ...(comment ? { reason: comment } : {}) } });
        setOutcome({ message: `Retry from ${action.from} started as run ${created.runId} (${created.status}).`, runId: created.runId });
      } else {
        const answer = await requestJson<{ task: TaskState }>('POST', `${base}/approvals`, { json: { taskId: action.taskId, decision: action.decision, ...(comment ? { comment } : {}) } });
        const decided = answer.task.approvals?.filter((approval) => approval.decision === 'approve').length ?? 0;
        setOutcome({ message: `${action.decision === 'approve' ? 'Approved' : 'Rejected'} ${action.taskId} (${decided} approval${decided === 1 ? '' : 's'} recorded).` });
        onEvent('task', answer.task);
      }
      reload();
    } catch (error) {
      setActionError(error);
    } finally {
      setBusy(false);
    }
  };

  if (!run.data) {
    return (
      <section>
        <h1>Run {runId}</h1>
        {run.error ? <ProblemNotice error={run.error} /> : <p aria-live="polite">Loading…</p>}
      </section>
    );
  }
  const detail = run.data;
  const nodes = new Map<string, TaskNode>((workflow.data?.ir.tasks ?? []).map((task) => [task.id, task]));
  const states = new Map(detail.tasks.map((task) => [task.id, task]));
  const uiUrl = config.temporalUiUrl ? `${config.temporalUiUrl.replace(/\/$/, '')}/namespaces/${encodeURIComponent(config.temporalNamespace)}/workflows/${encodeURIComponent(runId)}` : undefined;
  const canRetryFailed = detail.status === 'FAILED' || detail.status === 'CANCELLED';
  // The signals the run waits for now, each with the tasks (or forEach items) waiting and its schema.
  const signals = new Map<string, { schema: Record<string, unknown> | undefined; taskIds: string[] }>();
  for (const task of detail.tasks.flatMap((state) => [state, ...(state.items ?? [])])) {
    if (task.status !== 'WAITING' || !task.signal) continue;
    const entry = signals.get(task.signal.name) ?? { schema: task.signal.schema as Record<string, unknown> | undefined, taskIds: [] };
    entry.taskIds.push(task.id);
    signals.set(task.signal.name, entry);
  }
  const signalled = signalling === undefined ? undefined : signals.get(signalling);
  // Who decided what, across the run's gates, in the order the decisions arrived.
  const decisions = detail.tasks.flatMap((task) => (task.approvals ?? []).map((approval) => ({ taskId: task.id, ...approval }))).sort((a, b) => a.at.localeCompare(b.at));

  return (
    <section aria-labelledby="run-title" data-testid="run-detail" data-status={detail.status}>
      <header className="run-header">
        <h1 id="run-title">
          Run <span className="mono">{detail.runId}</span> <StatusBadge status={detail.status} />
        </h1>
        <dl className="facts">
          <dt>Workflow</dt>
          <dd>{name && version ? <Link to={workflowLink(name, version, detail.namespace)}>{detail.workflowRef}</Link> : detail.workflowRef}</dd>
          <dt>Digest</dt>
          <dd className="mono digest" title={detail.digest}>
            {detail.digest}
          </dd>
          <dt>Namespace</dt>
          <dd>{detail.namespace}</dd>
          {detail.parent ? (
            <>
              <dt>Parent run</dt>
              <dd>
                <Link to={`/runs/${encodeURIComponent(detail.parent.runId)}`}>{detail.parent.runId}</Link> (task {detail.parent.taskId})
              </dd>
            </>
          ) : null}
          <dt>Started by</dt>
          <dd>{detail.startedBy ?? detail.policy?.principal?.subject ?? '–'}</dd>
          <dt>Started</dt>
          <dd>{formatTime(detail.startedAt)}</dd>
          <dt>Ended</dt>
          <dd>{formatTime(detail.endedAt)}</dd>
          <dt>Duration</dt>
          <dd>{formatDuration(durationMs(detail.startedAt, detail.endedAt, now))}</dd>
          {detail.traceId !== undefined ? (
            <>
              <dt>Trace</dt>
              <dd data-testid="run-trace" className="mono">
                {detail.traceUrl !== undefined && /^https?:\/\//.test(detail.traceUrl) ? (
                  <a href={detail.traceUrl} target="_blank" rel="noreferrer noopener">
                    {detail.traceId}
                  </a>
                ) : (
                  detail.traceId
                )}
              </dd>
            </>
          ) : null}
          {detail.priority !== undefined ? (
            <>
              <dt>Priority</dt>
              <dd>{detail.priority}</dd>
            </>
          ) : null}
          {detail.concurrency ? (
            <>
              <dt>Concurrency key</dt>
              <dd data-testid="run-concurrency">
                <span className="mono">{detail.concurrency.key}</span>
                {detail.status === 'QUEUED' && detail.concurrency.holders?.length ? (
                  <>
                    {' '}
                    — waiting{detail.concurrency.position === undefined ? '' : ` (#${detail.concurrency.position})`} for{' '}
                    {detail.concurrency.holders.map((holder, i) => (
                      <span key={holder}>
                        {i > 0 ? ', ' : ''}
                        <Link to={`/runs/${encodeURIComponent(holder)}`} className="mono">
                          {holder}
                        </Link>
                      </span>
                    ))}
                  </>
                ) : null}
              </dd>
            </>
          ) : null}
          {detail.policy ? (
            <>
              <dt>Policy</dt>
              <dd>
                purpose {detail.policy.purpose}, authority {detail.policy.authority}, license {detail.policy.license}
              </dd>
            </>
          ) : null}
        </dl>
        {detail.error ? (
          <p className="notice notice-error" role="status">
            <code className="code">{detail.error.code}</code> {detail.error.message}
          </p>
        ) : null}
        <p className="links">
          {uiUrl ? (
            <a href={uiUrl} target="_blank" rel="noreferrer">
              Open in Temporal Web UI
            </a>
          ) : (
            <span>Temporal Web UI: set its address in Settings</span>
          )}
        </p>
      </header>

      <div className="actions" role="group" aria-label="Run actions">
        <button type="button" className="danger" disabled={finished || busy} onClick={() => setPending({ kind: 'cancel' })}>
          Cancel run
        </button>
        <button type="button" disabled={!finished || busy} onClick={() => setPending({ kind: 'retry', from: 'start' })}>
          Retry from start
        </button>
        <button type="button" disabled={!canRetryFailed || busy} onClick={() => setPending({ kind: 'retry', from: 'failed' })}>
          Retry failed tasks
        </button>
        {detail.status === 'PAUSED' ? (
          <button type="button" disabled={busy} onClick={() => setPending({ kind: 'resume' })}>
            Resume run
          </button>
        ) : (
          <button type="button" disabled={finished || detail.status === 'QUEUED' || busy} onClick={() => setPending({ kind: 'pause' })}>
            Pause run
          </button>
        )}
        {[...signals.keys()].map((signal) => (
          <button key={signal} type="button" disabled={busy} onClick={() => setSignalling(signal)}>
            Send signal {signal}
          </button>
        ))}
      </div>
      <div aria-live="polite" data-testid="action-result">
        {outcome ? (
          <p className="notice notice-ok">
            {outcome.message} {outcome.runId ? <Link to={`/runs/${encodeURIComponent(outcome.runId)}`}>Open run {outcome.runId}</Link> : null}
          </p>
        ) : null}
      </div>
      <ProblemNotice error={actionError} onDismiss={() => setActionError(undefined)} />

      <h2>Parameters</h2>
      <ParamValues params={detail.params} />

      {decisions.length > 0 ? (
        <>
          <h2>Approvals</h2>
          <table className="table" data-testid="run-approvals">
            <thead>
              <tr>
                <th scope="col">Gate</th>
                <th scope="col">Who</th>
                <th scope="col">Decision</th>
                <th scope="col">Comment</th>
                <th scope="col">When</th>
              </tr>
            </thead>
            <tbody>
              {decisions.map((decision) => (
                <tr key={`${decision.taskId}/${decision.approver}/${decision.at}`}>
                  <td className="mono">{decision.taskId}</td>
                  <td>{decision.approver}</td>
                  <td>{decision.decision === 'approve' ? 'approved' : 'rejected'}</td>
                  <td>{decision.comment ?? '–'}</td>
                  <td>{formatTime(decision.at)}</td>
                </tr>
              ))}
            </tbody>
          </table>
        </>
      ) : null}

      <h2>DAG</h2>
      <ProblemNotice error={workflow.error} />
      {graph ? <Dag tasks={graph} onSelectTask={select} height={420} /> : null}

      <h2>Tasks</h2>
      <table className="table tasks" data-testid="tasks-table">
        <thead>
          <tr>
            <th scope="col">Task</th>
            <th scope="col">Uses</th>
            <th scope="col">Status</th>
            <th scope="col">Attempts</th>
            <th scope="col">Started</th>
            <th scope="col">Duration</th>
            <th scope="col">Actions</th>
          </tr>
        </thead>
        <tbody>
          {rows.map((id) => {
            const state = states.get(id) ?? { id, status: 'PENDING' as const, attempts: 0 };
            const node = nodes.get(id);
            const isGate = node ? node.execution === 'approval' : state.status === 'WAITING';
            return (
              <TaskRows
                key={id}
                runId={runId}
                state={state}
                uses={node?.uses}
                now={now}
                selected={selectedTask === id}
                onSelect={() => select(id)}
                approvable={isGate && state.status === 'WAITING' && !busy}
                onDecide={(decision) => setPending({ kind: 'approval', taskId: id, decision })}
              />
            );
          })}
        </tbody>
      </table>

      <ReceiptPanel key={String(finished)} runId={runId} finished={finished} />

      {signalling !== undefined && signalled ? (
        <SignalDialog
          runId={runId}
          name={signalling}
          schema={signalled.schema}
          taskIds={signalled.taskIds}
          onCancel={() => setSignalling(undefined)}
          onSent={(message) => {
            setSignalling(undefined);
            setOutcome({ message });
            reload();
          }}
        />
      ) : null}
      {pending ? (
        <ConfirmDialog
          title={
            pending.kind === 'cancel'
              ? `Cancel run ${runId}?`
              : pending.kind === 'pause' || pending.kind === 'resume'
                ? `${pending.kind === 'pause' ? 'Pause' : 'Resume'} run ${runId}?`
                : pending.kind === 'retry'
                ? `Retry run ${runId} ${pending.from === 'start' ? 'from the start' : 'from its failed tasks'}?`
                : `${pending.decision === 'approve' ? 'Approve' : 'Reject'} ${pending.taskId}?`
          }
          confirmLabel={pending.kind === 'cancel' ? 'Cancel run' : pending.kind === 'pause' ? 'Pause run' : pending.kind === 'resume' ? 'Resume run' : pending.kind === 'retry' ? 'Start retry' : pending.decision === 'approve' ? 'Approve' : 'Reject'}
          commentLabel={pending.kind === 'approval' ? 'Comment' : 'Reason (optional)'}
          danger={pending.kind === 'cancel' || (pending.kind === 'approval' && pending.decision === 'reject')}
          onConfirm={(comment) => void perform(pending, comment)}
          onCancel={() => setPending(undefined)}
        >
          <p>
            {pending.kind === 'cancel'
              ? 'Running tasks are cancelled and the run ends CANCELLED.'
              : pending.kind === 'pause'
                ? 'No new task starts until the run is resumed; tasks already running finish. Recorded in the audit log with your name.'
                : pending.kind === 'resume'
                  ? 'The run goes on: the tasks that are ready start again. Recorded in the audit log with your name.'
                  : pending.kind === 'retry'
                ? pending.from === 'start'
                  ? 'A new run executes every task again with the same workflow and parameters.'
                  : 'A new run keeps the outputs of the tasks that succeeded and runs the rest.'
                : 'Your decision is recorded in the run and the audit log with your name.'}
          </p>
        </ConfirmDialog>
      ) : null}
    </section>
  );
}
