/**
 * An API refusal shown where the user acted: status, title, the problem's `detail`, its located
 * errors and policy reasons.
 */
import { ApiError } from '../api/index.js';

/** Renders `error` (an {@link ApiError} or anything thrown) as an alert; nothing when undefined. */
export function ProblemNotice({ error, onDismiss }: { error: unknown; onDismiss?: () => void }) {
  if (error === undefined) return null;
  const problem = error instanceof ApiError ? error.problem : undefined;
  return (
    <div className="notice notice-error" role="alert" data-testid="problem">
      <p>
        <strong>{problem ? `${problem.status ? `${problem.status} ` : ''}${problem.title}` : 'Something went wrong'}</strong>
        {problem ? <code className="code">{problem.code}</code> : null}
      </p>
      <p data-testid="problem-detail">{problem ? problem.detail : error instanceof Error ? error.message : String(error)}</p>
      {problem?.reasons?.length ? (
        <ul aria-label="Reasons">
          {problem.reasons.map((reason) => (
            <li key={reason}>{reason}</li>
          ))}
        </ul>
      ) : null}
      {problem?.errors?.length ? (
        <ul aria-label="Errors">
          {problem.errors.map((item) => (
            <li key={`${item.path}:${item.message}`}>
              <code>{item.path}</code>: {item.message}
            </li>
          ))}
        </ul>
      ) : null}
      {onDismiss ? (
        <button type="button" className="link-button" onClick={onDismiss}>
          Dismiss
        </button>
      ) : null}
    </div>
  );
}
