/**
 * Schedules: the list (state, next fire time) and one schedule — its definition, next fire times
 * and recent runs, with pause/unpause, trigger now and a backfill form. Every action goes through
 * the API, which checks the caller's role; a refusal is shown as the API's problem.
 */
import { useEffect, useState, type FormEvent } from 'react';
import { requestJson, withQuery, type ScheduleDetail, type ScheduleSummary } from '../api/index.js';
import { ProblemNotice } from '../components/ProblemNotice.js';
import { useRowKeys } from '../components/virtual-rows.js';
import { StatusBadge } from '../components/StatusBadge.js';
import { formatTime } from '../format.js';
import { useResource } from '../hooks.js';
import { Link } from '../router.js';

/** Console path of a schedule. */
export function scheduleLink(id: string, namespace: string): string {
  return `/schedules/${id}?${new URLSearchParams({ namespace }).toString()}`;
}

/** API path of a schedule (and of its actions, with `suffix`). */
export function schedulePath(id: string, namespace: string | undefined, suffix = ''): string {
  return withQuery(`/schedules/${encodeURIComponent(id)}${suffix}`, { namespace });
}

/** The schedules of the caller's namespaces (`GET /schedules`). */
export function ScheduleList() {
  const schedules = useResource<{ items: ScheduleSummary[] }>('/schedules');
  const items = schedules.data?.items ?? [];
  const onRowKey = useRowKeys(items.length);
  return (
    <section aria-labelledby="schedules-title">
      <h1 id="schedules-title">Schedules</h1>
      <ProblemNotice error={schedules.error} />
      <table className="table" data-testid="schedules">
        <thead>
          <tr>
            <th scope="col">Schedule</th>
            <th scope="col">Namespace</th>
            <th scope="col">State</th>
            <th scope="col">Next fire</th>
            <th scope="col">Note</th>
          </tr>
        </thead>
        <tbody onKeyDown={onRowKey}>
          {items.map((item, index) => (
            <tr key={`${item.namespace}/${item.id}`} data-row-index={index}>
              <td>
                <Link to={scheduleLink(item.id, item.namespace)}>{item.id}</Link>
              </td>
              <td>{item.namespace}</td>
              <td>{item.paused ? 'paused' : 'active'}</td>
              <td>{item.nextFireTime ? formatTime(item.nextFireTime) : '–'}</td>
              <td>{item.note}</td>
            </tr>
          ))}
        </tbody>
      </table>
      {schedules.data?.items.length === 0 ? <p>No schedules in your namespaces.</p> : null}
    </section>
  );
}

/** A `datetime-local` value as RFC 3339 (read in the browser's time zone). */
const instant = (local: string): string => new Date(local).toISOString();

/** How often a schedule's page asks again: its fires and their runs change on their own. */
const REFRESH_MS = 3_000;

/** One schedule (`GET /schedules/{id}?namespace=`), with its actions. */
export function ScheduleView({ id, namespace }: { id: string; namespace: string | undefined }) {
  const schedule = useResource<ScheduleDetail>(schedulePath(id, namespace));
  const { reload } = schedule;
  useEffect(() => {
    const timer = setInterval(reload, REFRESH_MS);
    return () => clearInterval(timer);
  }, [reload]);
  const [actionError, setActionError] = useState<unknown>();
  const [message, setMessage] = useState<string>();
  const [from, setFrom] = useState('');
  const [to, setTo] = useState('');
  const act = async (suffix: string, json: unknown, done: string): Promise<void> => {
    setActionError(undefined);
    setMessage(undefined);
    try {
      await requestJson('POST', schedulePath(id, namespace, suffix), { json });
      setMessage(done);
      schedule.reload();
    } catch (error) {
      setActionError(error);
    }
  };
  const backfill = (event: FormEvent): void => {
    event.preventDefault();
    void act('/backfill', { from: instant(from), to: instant(to) }, `Backfill of ${from} to ${to} asked`);
  };
  const detail = schedule.data;
  return (
    <section aria-labelledby="schedule-title" data-testid="schedule">
      <h1 id="schedule-title">Schedule {id}</h1>
      <ProblemNotice error={schedule.error} />
      <ProblemNotice error={actionError} />
      {message ? (
        <p role="status" className="hint">
          {message}
        </p>
      ) : null}
      {detail ? (
        <>
          <dl className="facts">
            <dt>Namespace</dt>
            <dd>{detail.namespace}</dd>
            <dt>Starts</dt>
            <dd className="mono">{detail.workflowRef ?? `runbook ${detail.runbook ?? ''}`}</dd>
            <dt>State</dt>
            <dd data-testid="schedule-state">{detail.paused ? 'paused' : 'active'}</dd>
            <dt>When</dt>
            <dd className="mono">{JSON.stringify(detail.spec)}</dd>
            <dt>Overlap</dt>
            <dd>{detail.overlap}</dd>
            <dt>Acts for</dt>
            <dd>{detail.actsFor}</dd>
            {detail.note ? (
              <>
                <dt>Note</dt>
                <dd>{detail.note}</dd>
              </>
            ) : null}
          </dl>
          <p className="links">
            <button type="button" onClick={() => void act(detail.paused ? '/unpause' : '/pause', {}, detail.paused ? 'Unpaused' : 'Paused')}>
              {detail.paused ? 'Resume' : 'Pause'}
            </button>{' '}
            <button type="button" onClick={() => void act('/trigger', {}, 'Fired')}>
              Trigger now
            </button>
          </p>
          <form onSubmit={backfill} aria-label="Backfill" className="backfill">
            <label>
              From <input type="datetime-local" required value={from} onChange={(event) => setFrom(event.target.value)} />
            </label>{' '}
            <label>
              To <input type="datetime-local" required value={to} onChange={(event) => setTo(event.target.value)} />
            </label>{' '}
            <button type="submit">Backfill</button>
          </form>
          <h2>Next fire times</h2>
          <ul data-testid="next-fires">
            {detail.nextFireTimes.map((time) => (
              <li key={time}>{formatTime(time)}</li>
            ))}
          </ul>
          <h2>Recent runs</h2>
          <table className="table" data-testid="schedule-runs">
            <thead>
              <tr>
                <th scope="col">Scheduled for</th>
                <th scope="col">Run</th>
                <th scope="col">Status</th>
              </tr>
            </thead>
            <tbody>
              {detail.recentRuns.map((run) => (
                <tr key={run.runId}>
                  <td>{formatTime(run.scheduledTime)}</td>
                  <td className="mono">{run.status === 'NOT_STARTED' ? run.runId : <Link to={`/runs/${run.runId}`}>{run.runId}</Link>}</td>
                  <td>{run.status === 'NOT_STARTED' ? 'not started' : <StatusBadge status={run.status} />}</td>
                </tr>
              ))}
            </tbody>
          </table>
        </>
      ) : schedule.loading ? (
        <p aria-live="polite">Loading…</p>
      ) : null}
    </section>
  );
}
