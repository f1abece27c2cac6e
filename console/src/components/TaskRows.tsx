/**
 * One task in a run's task table: its row (status, attempts, timings, approve / reject on a
 * waiting gate) and, when selected, its error, approvals, items, outputs and logs.
 */
import type { TaskState } from '../api/index.js';
import { durationMs, formatDuration, formatTime, formatValue } from '../format.js';
import { Link } from '../router.js';
import { StatusBadge } from './StatusBadge.js';
import { TaskLogs } from './TaskLogs.js';

/** Props of {@link TaskRows}. */
export interface TaskRowsProps {
  runId: string;
  state: TaskState;
  uses: string | undefined;
  now: number;
  selected: boolean;
  onSelect: () => void;
  approvable: boolean;
  onDecide: (decision: 'approve' | 'reject') => void;
}

/** A task's row, and below it, when selected, its error, outputs, approvals, items and logs. */
export function TaskRows({ runId, state, uses, now, selected, onSelect, approvable, onDecide }: TaskRowsProps) {
  return (
    <>
      <tr id={`task-${state.id}`} data-task-id={state.id} data-status={state.status} className={selected ? 'selected' : undefined}>
        <th scope="row">
          <button type="button" className="link-button mono" aria-expanded={selected} onClick={onSelect}>
            {state.id}
          </button>
        </th>
        <td className="mono">{uses ?? '–'}</td>
        <td>
          <StatusBadge status={state.status} />
          {state.cached ? <span className="tag">cached</span> : null}
        </td>
        <td>{state.attempts}</td>
        <td>{formatTime(state.startedAt)}</td>
        <td>{formatDuration(durationMs(state.startedAt, state.endedAt, now))}</td>
        <td>
          {approvable ? (
            <div className="row-actions">
              <button type="button" className="primary" onClick={() => onDecide('approve')}>
                Approve
              </button>
              <button type="button" className="danger" onClick={() => onDecide('reject')}>
                Reject
              </button>
            </div>
          ) : null}
        </td>
      </tr>
      {selected ? (
        <tr className="task-detail" data-testid="task-detail">
          <td colSpan={7}>
            {state.error ? (
              <p className="notice notice-error">
                <code className="code">{state.error.code}</code> {state.error.message}
              </p>
            ) : null}
            {state.subWorkflow ? (
              <p data-testid="sub-workflow">
                Sub-workflow {state.subWorkflow.workflowRef}:{' '}
                <Link to={`/runs/${encodeURIComponent(state.subWorkflow.runId)}`}>run {state.subWorkflow.runId}</Link>
              </p>
            ) : null}
            {state.approvals?.length ? (
              <ul aria-label="Approvals">
                {state.approvals.map((approval) => (
                  <li key={`${approval.approver}-${approval.at}`}>
                    {approval.approver} {approval.decision === 'approve' ? 'approved' : 'rejected'} at {formatTime(approval.at)}
                    {approval.comment ? `: “${approval.comment}”` : ''}
                  </li>
                ))}
              </ul>
            ) : null}
            {state.items?.length ? (
              <p>
                Items: {state.items.length} ({state.items.filter((item) => item.status === 'SUCCEEDED').length} succeeded, {state.items.filter((item) => item.status === 'FAILED').length} failed)
              </p>
            ) : null}
            {state.outputs !== undefined ? (
              <details open>
                <summary>Outputs</summary>
                <pre className="json">{formatValue(state.outputs)}</pre>
              </details>
            ) : (
              <p>No outputs.</p>
            )}
            {state.status === 'PENDING' ? null : <TaskLogs key={`${runId}/${state.id}`} runId={runId} taskId={state.id} />}
          </td>
        </tr>
      ) : null}
    </>
  );
}
