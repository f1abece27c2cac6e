/**
 * The approvals inbox: the gates waiting across runs that the signed-in principal may decide
 * (`GET /approvals`, filtered by the API), each approved or rejected here with a comment; and the
 * count of them the header shows.
 */
import { useEffect, useState } from 'react';
import { requestJson, type PendingApproval } from '../api/index.js';
import { ConfirmDialog } from '../components/ConfirmDialog.js';
import { ProblemNotice } from '../components/ProblemNotice.js';
import { useRowKeys } from '../components/virtual-rows.js';
import { formatTime } from '../format.js';
import { useResource } from '../hooks.js';
import { Link } from '../router.js';

/** Dispatched on `window` after a decision, so every view of the inbox reads it again. */
const DECIDED_EVENT = 'maestro:approvals';
/** How often the header's count is read again. */
const COUNT_REFRESH_MS = 30_000;

/** How long the header waits before its first read, so that the page's own data comes first. */
const COUNT_DELAY_MS = 1500;

/** The inbox (read once `active`), read again after each decision made in this tab. */
function useInbox(active = true) {
  const inbox = useResource<{ items: PendingApproval[]; truncated?: boolean }>(active ? '/approvals' : undefined);
  const { reload } = inbox;
  useEffect(() => {
    window.addEventListener(DECIDED_EVENT, reload);
    return () => window.removeEventListener(DECIDED_EVENT, reload);
  }, [reload]);
  return inbox;
}

/** The header's link to the inbox, with how many gates wait for the caller. */
export function ApprovalsLink() {
  const [active, setActive] = useState(false);
  const inbox = useInbox(active);
  const { reload } = inbox;
  useEffect(() => {
    const start = setTimeout(() => setActive(true), COUNT_DELAY_MS);
    const timer = setInterval(reload, COUNT_REFRESH_MS);
    return () => {
      clearTimeout(start);
      clearInterval(timer);
    };
  }, [reload]);
  const count = inbox.data?.items.length ?? 0;
  return (
    <Link to="/approvals" aria-label={`Approvals, ${count} waiting for you`}>
      Approvals
      {count > 0 ? (
        <span className="count" data-testid="approvals-count">
          {count}
        </span>
      ) : null}
    </Link>
  );
}

/** A decision waiting for the user's confirmation. */
interface Pending {
  gate: PendingApproval;
  decision: 'approve' | 'reject';
}

/** The inbox page. */
export function Approvals() {
  const inbox = useInbox();
  const [pending, setPending] = useState<Pending>();
  const [failure, setFailure] = useState<unknown>();
  const [done, setDone] = useState<string>();
  const decide = async ({ gate, decision }: Pending, comment: string): Promise<void> => {
    setPending(undefined);
    setFailure(undefined);
    setDone(undefined);
    try {
      await requestJson('POST', `/runs/${encodeURIComponent(gate.runId)}/approvals`, { json: { taskId: gate.taskId, decision, ...(comment ? { comment } : {}) } });
      setDone(`${decision === 'approve' ? 'Approved' : 'Rejected'} ${gate.taskId} of run ${gate.runId}.`);
    } catch (error) {
      setFailure(error);
    }
    window.dispatchEvent(new Event(DECIDED_EVENT));
  };
  const items = inbox.data?.items ?? [];
  const onRowKey = useRowKeys(items.length);
  return (
    <section aria-labelledby="approvals-title">
      <h1 id="approvals-title">Approvals</h1>
      <p className="hint">Gates waiting in runs of your namespaces that list one of your roles; not your own runs unless the gate allows it.</p>
      <ProblemNotice error={inbox.error} />
      <div aria-live="polite" data-testid="approval-result">
        {done ? <p className="notice notice-ok">{done}</p> : null}
      </div>
      <ProblemNotice error={failure} onDismiss={() => setFailure(undefined)} />
      {inbox.data?.truncated ? <p className="hint">More runs wait than one page reads: only the oldest are shown.</p> : null}
      {inbox.data && items.length === 0 ? <p data-testid="approvals-empty">Nothing waits for your decision.</p> : null}
      {items.length > 0 ? (
        <table className="table" data-testid="approvals">
          <thead>
            <tr>
              <th scope="col">Run</th>
              <th scope="col">Gate</th>
              <th scope="col">Approvers</th>
              <th scope="col">Started by</th>
              <th scope="col">Waiting since</th>
              <th scope="col">Decisions</th>
              <th scope="col">Decide</th>
            </tr>
          </thead>
          <tbody onKeyDown={onRowKey}>
            {items.map((gate, index) => {
              const approved = gate.approvals.filter((approval) => approval.decision === 'approve').length;
              return (
                <tr key={`${gate.runId}/${gate.taskId}`} data-run-id={gate.runId} data-row-index={index}>
                  <td>
                    <Link to={`/runs/${encodeURIComponent(gate.runId)}?task=${encodeURIComponent(gate.taskId)}`} className="mono">
                      {gate.runId}
                    </Link>
                    <div className="hint">
                      {gate.workflowRef} in {gate.namespace}
                    </div>
                  </td>
                  <td>
                    <span className="mono">{gate.taskId}</span>
                    {gate.message ? <div>{gate.message}</div> : null}
                  </td>
                  <td>{gate.approvers?.join(', ') ?? 'computed by the run'}</td>
                  <td>{gate.startedBy ?? '–'}</td>
                  <td>{formatTime(gate.waitingSince)}</td>
                  <td>
                    {approved} of {gate.minApprovals} approvals
                  </td>
                  <td>
                    <div className="row-actions">
                      <button type="button" className="primary" onClick={() => setPending({ gate, decision: 'approve' })} aria-label={`Approve ${gate.taskId} of run ${gate.runId}`}>
                        Approve
                      </button>
                      <button type="button" className="danger" onClick={() => setPending({ gate, decision: 'reject' })} aria-label={`Reject ${gate.taskId} of run ${gate.runId}`}>
                        Reject
                      </button>
                    </div>
                  </td>
                </tr>
              );
            })}
          </tbody>
        </table>
      ) : null}
      {pending ? (
        <ConfirmDialog
          title={`${pending.decision === 'approve' ? 'Approve' : 'Reject'} ${pending.gate.taskId} of run ${pending.gate.runId}?`}
          confirmLabel={pending.decision === 'approve' ? 'Approve' : 'Reject'}
          commentLabel="Comment"
          danger={pending.decision === 'reject'}
          onConfirm={(comment) => void decide(pending, comment)}
          onCancel={() => setPending(undefined)}
        >
          <p>
            {pending.decision === 'approve'
              ? `The gate passes once ${pending.gate.minApprovals} approver${pending.gate.minApprovals === 1 ? '' : 's'} approved; then the run goes on.`
              : 'The gate fails and the run fails with it.'}{' '}
            Your decision is recorded in the run and the audit log with your name.
          </p>
        </ConfirmDialog>
      ) : null}
    </section>
  );
}
