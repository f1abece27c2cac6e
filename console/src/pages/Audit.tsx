/**
 * The audit log for auditors (`GET /audit`, role `auditor`): policy decisions and what people did
 * to runs, filtered by run, kind and time range, one server page at a time (the filters and the
 * page's `after` live in the URL); and the hash chain's verification (`GET /audit/verification`).
 */
import { useId, useState, type FormEvent } from 'react';
import { withQuery, type AuditChainReport, type AuditPage } from '../api/index.js';
import { ProblemNotice } from '../components/ProblemNotice.js';
import { useRowKeys } from '../components/virtual-rows.js';
import { formatTime, isoToLocalInput, localInputToIso } from '../format.js';
import { useResource } from '../hooks.js';
import { Link, navigate } from '../router.js';

/** The kinds `GET /audit` filters by (its `kind` enum). */
const KINDS = ['decision', 'decision-reuse', 'approval', 'cancellation', 'retry', 'replay', 'signal', 'pause', 'schedule', 'budget'] as const;

/** Filters the URL carries; the names are the API's query parameters. */
const FILTERS = ['runId', 'kind', 'from', 'to'] as const;
type Filter = (typeof FILTERS)[number];

/** Records per page. */
const PAGE_SIZE = 100;

function filtersOf(query: URLSearchParams): Record<Filter, string> {
  return Object.fromEntries(FILTERS.map((key) => [key, query.get(key) ?? ''])) as Record<Filter, string>;
}

/** The chain's verification, in words. */
function ChainStatus() {
  const chain = useResource<AuditChainReport>('/audit/verification');
  const report = chain.data;
  return (
    <div data-testid="audit-chain" data-ok={report === undefined ? undefined : String(report.ok)}>
      <ProblemNotice error={chain.error} />
      {report === undefined ? (
        chain.error ? null : <p aria-live="polite">Verifying the hash chain…</p>
      ) : (
        <p className={`notice ${report.ok ? 'notice-ok' : 'notice-error'}`} role="status">
          {report.firstBroken ? (
            <>
              <strong>Chain broken</strong> at record #{report.firstBroken.seq} ({report.firstBroken.problem}); the {report.records} record(s) before it are intact.
            </>
          ) : report.unguarded ? (
            <>
              <strong>Chain whole but unguarded</strong>: {report.unguarded.join('; ')}
            </>
          ) : (
            <>
              <strong>Chain verified</strong>: {report.records} record(s), every hash recomputed; head <code className="code">{report.head}</code>
            </>
          )}{' '}
          <button type="button" onClick={chain.reload}>
            Verify again
          </button>
        </p>
      )}
    </div>
  );
}

/** The filter form; edits stay local until applied (re-mounted when the URL's filters change). */
function AuditFilters({ initial, onApply }: { initial: Record<Filter, string>; onApply: (values: Record<Filter, string>) => void }) {
  const [form, setForm] = useState(initial);
  const ids = { runId: useId(), kind: useId(), from: useId(), to: useId() };
  const apply = onApply;
  return (
    <form
      className="filters"
      aria-label="Filter the audit log"
      onSubmit={(event: FormEvent) => {
        event.preventDefault();
        apply(form);
      }}
    >
      <div>
        <label htmlFor={ids.runId}>Run</label>
        <input id={ids.runId} value={form.runId} onChange={(event) => setForm({ ...form, runId: event.target.value.trim() })} />
      </div>
      <div>
        <label htmlFor={ids.kind}>Kind</label>
        <select id={ids.kind} value={form.kind} onChange={(event) => setForm({ ...form, kind: event.target.value })}>
          <option value="">Any</option>
          {KINDS.map((kind) => (
            <option key={kind}>{kind}</option>
          ))}
        </select>
      </div>
      <div>
        <label htmlFor={ids.from}>From</label>
        <input id={ids.from} type="datetime-local" value={isoToLocalInput(form.from)} onChange={(event) => setForm({ ...form, from: localInputToIso(event.target.value) ?? '' })} />
      </div>
      <div>
        <label htmlFor={ids.to}>Before</label>
        <input id={ids.to} type="datetime-local" value={isoToLocalInput(form.to)} onChange={(event) => setForm({ ...form, to: localInputToIso(event.target.value) ?? '' })} />
      </div>
      <div className="filter-actions">
        <button type="submit" className="primary">
          Apply
        </button>
        <button type="button" onClick={() => apply({ runId: '', kind: '', from: '', to: '' })}>
          Clear
        </button>
      </div>
    </form>
  );
}

/** `/audit?runId=&kind=&from=&to=&after=`: the audit log page. */
export function Audit({ query }: { query: URLSearchParams }) {
  const filters = filtersOf(query);
  const after = query.get('after') ?? undefined;
  const page = useResource<AuditPage>(withQuery('/audit', { ...filters, after, limit: PAGE_SIZE }));
  const apply = (values: Record<Filter, string>): void => navigate(withQuery('/audit', values), { replace: true });
  const items = page.data?.items ?? [];
  const onRowKey = useRowKeys(items.length);
  return (
    <section aria-labelledby="audit-title">
      <h1 id="audit-title">Audit log</h1>
      <ChainStatus />
      <AuditFilters key={FILTERS.map((key) => filters[key]).join('\n')} initial={filters} onApply={apply} />
      <ProblemNotice error={page.error} />
      <table className="table" data-testid="audit-table" aria-busy={page.loading && !page.data}>
        <caption className="visually-hidden">Audit records in chain order</caption>
        <thead>
          <tr>
            <th scope="col">#</th>
            <th scope="col">Time</th>
            <th scope="col">Kind</th>
            <th scope="col">Run</th>
            <th scope="col">Task</th>
            <th scope="col">Who</th>
            <th scope="col">Result</th>
            <th scope="col">Reasons</th>
          </tr>
        </thead>
        <tbody onKeyDown={onRowKey}>
          {items.map((record, index) => {
            // A schedule's records name it as their run: no run page to open.
            const runId = record.runId && !record.runId.startsWith('schedule:') ? record.runId : undefined;
            return (
              // A first row without a link is the table's Tab stop; the arrow keys go on from it.
              <tr key={record.seq} data-seq={record.seq} data-kind={record.kind} data-run-id={record.runId} data-row-index={index} tabIndex={index === 0 && runId === undefined ? 0 : undefined}>
                <td>{record.seq}</td>
                <td>{formatTime(record.time)}</td>
                <td>{record.kind}</td>
                <td>{runId !== undefined ? <Link to={`/runs/${encodeURIComponent(runId)}`} className="mono">{runId}</Link> : <span className="mono">{record.runId ?? '–'}</span>}</td>
                <td className="mono">{record.taskId ?? '–'}</td>
                <td>{record.actor ?? '–'}</td>
                <td>{record.result}</td>
                <td>{record.reasons.join('; ') || '–'}</td>
              </tr>
            );
          })}
          {page.data && items.length === 0 ? (
            <tr>
              <td colSpan={8}>No records match these filters.</td>
            </tr>
          ) : null}
        </tbody>
      </table>
      <nav className="pager" aria-label="Pages">
        <button type="button" disabled={after === undefined} onClick={() => navigate(withQuery('/audit', filters))}>
          First page
        </button>
        <span aria-live="polite">{page.data ? `${items.length} record${items.length === 1 ? '' : 's'} on this page` : page.loading ? 'Loading…' : ''}</span>
        <button type="button" disabled={page.data?.next === undefined} onClick={() => navigate(withQuery('/audit', { ...filters, after: page.data?.next }))}>
          Next page
        </button>
      </nav>
    </section>
  );
}
