/**
 * The runs list: filters (status, workflow, namespace, time range) and the page token in the URL,
 * sortable columns, and live updates (the page is re-read every few seconds and the live runs on it
 * follow their event streams).
 */
import { useCallback, useEffect, useId, useMemo, useRef, useState, type FormEvent } from 'react';
import { RUN_STATUSES, withQuery, type RunEvent, type RunList, type RunStatus, type RunSummary, type WorkflowSummary } from '../api/index.js';
import { ProblemNotice } from '../components/ProblemNotice.js';
import { StatusBadge } from '../components/StatusBadge.js';
import { useRowKeys, useRowWindow } from '../components/virtual-rows.js';
import { durationMs, formatDuration, formatTime, isoToLocalInput, localInputToIso } from '../format.js';
import { useResource, useRunEvents } from '../hooks.js';
import { Link, navigate } from '../router.js';
import { workflowLink } from './Workflows.js';

/** Filters the URL carries; the names are the API's query parameters. */
const FILTERS = ['status', 'workflowRef', 'namespace', 'since', 'until', 'limit'] as const;
type Filter = (typeof FILTERS)[number];

/** Columns the list sorts by, with how to compare two runs. */
const SORTS = {
  run: (a: RunSummary, b: RunSummary) => a.runId.localeCompare(b.runId),
  workflow: (a: RunSummary, b: RunSummary) => a.workflowRef.localeCompare(b.workflowRef),
  namespace: (a: RunSummary, b: RunSummary) => a.namespace.localeCompare(b.namespace),
  status: (a: RunSummary, b: RunSummary) => a.status.localeCompare(b.status),
  started: (a: RunSummary, b: RunSummary) => a.startedAt.localeCompare(b.startedAt),
  duration: (a: RunSummary, b: RunSummary) => (durationMs(a.startedAt, a.endedAt) ?? 0) - (durationMs(b.startedAt, b.endedAt) ?? 0),
} as const;
type SortKey = keyof typeof SORTS;

const LIVE: ReadonlySet<RunStatus> = new Set(['QUEUED', 'RUNNING', 'WAITING', 'PAUSED']);
/** How often the page is read again while live updates are on. */
const REFRESH_MS = 3000;
/** Event streams held open at most (browsers allow six connections per host). */
const MAX_STREAMS = 3;
const PAGE_SIZES = [25, 50, 100, 250, 1000];
/** Height of a row of the table in pixels (`.runs-table tbody tr` in styles.css): the window of rows rendered depends on it. */
const ROW_HEIGHT = 37;

/** Follows one live run's stream, reporting its run events; renders nothing. */
function LiveRun({ runId, onRun }: { runId: string; onRun: (event: RunEvent) => void }) {
  const onEvent = useCallback((event: string, data: unknown) => event === 'run' && onRun(data as RunEvent), [onRun]);
  useRunEvents(runId, onEvent);
  return null;
}

function queryOf(search: URLSearchParams, extra: Record<string, string | undefined>): string {
  const values: Record<string, string | undefined> = {};
  for (const key of [...FILTERS, 'sort', 'order', 'pageToken']) values[key] = search.get(key) ?? undefined;
  return withQuery('/', { ...values, ...extra });
}

/** Props of {@link FiltersForm}. */
interface FiltersFormProps {
  initial: Record<Filter, string>;
  workflows: WorkflowSummary[];
  onApply: (values: Record<Filter, string>) => void;
  live: boolean;
  onLive: (live: boolean) => void;
}

/** The filter form; edits stay local until applied (re-mounted when the URL's filters change). */
function FiltersForm({ initial, workflows, onApply, live, onLive }: FiltersFormProps) {
  const [form, setForm] = useState(initial);
  const ids = { status: useId(), workflow: useId(), namespace: useId(), since: useId(), until: useId(), limit: useId(), workflows: useId() };
  const field = (key: Filter) => ({ value: form[key], onChange: (event: { target: { value: string } }) => setForm({ ...form, [key]: event.target.value }) });
  return (
    <form className="filters" onSubmit={(event: FormEvent) => {
      event.preventDefault();
      onApply(form);
    }} aria-label="Filter runs">
      <div>
        <label htmlFor={ids.status}>Status</label>
        <select id={ids.status} {...field('status')}>
          <option value="">Any</option>
          {RUN_STATUSES.map((status) => (
            <option key={status}>{status}</option>
          ))}
        </select>
      </div>
      <div>
        <label htmlFor={ids.workflow}>Workflow</label>
        <input id={ids.workflow} list={ids.workflows} placeholder="name or name@version" {...field('workflowRef')} />
        <datalist id={ids.workflows}>
          {[...new Set(workflows.map((item) => item.name))].map((name) => (
            <option key={name} value={name} />
          ))}
        </datalist>
      </div>
      <div>
        <label htmlFor={ids.namespace}>Namespace</label>
        <input id={ids.namespace} {...field('namespace')} />
      </div>
      <div>
        <label htmlFor={ids.since}>Started from</label>
        <input id={ids.since} type="datetime-local" value={isoToLocalInput(form.since)} onChange={(event) => setForm({ ...form, since: localInputToIso(event.target.value) ?? '' })} />
      </div>
      <div>
        <label htmlFor={ids.until}>Started before</label>
        <input id={ids.until} type="datetime-local" value={isoToLocalInput(form.until)} onChange={(event) => setForm({ ...form, until: localInputToIso(event.target.value) ?? '' })} />
      </div>
      <div>
        <label htmlFor={ids.limit}>Per page</label>
        <select id={ids.limit} value={form.limit || '50'} onChange={(event) => setForm({ ...form, limit: event.target.value })}>
          {PAGE_SIZES.map((size) => (
            <option key={size}>{size}</option>
          ))}
        </select>
      </div>
      <div className="filter-actions">
        <button type="submit" className="primary">
          Apply
        </button>
        <button type="button" onClick={() => onApply(Object.fromEntries(FILTERS.map((key) => [key, ''])) as Record<Filter, string>)}>
          Clear
        </button>
        <label className="toggle">
          <input type="checkbox" checked={live} onChange={(event) => onLive(event.target.checked)} /> Live updates
        </label>
      </div>
    </form>
  );
}

function filtersOf(query: URLSearchParams): Record<Filter, string> {
  return Object.fromEntries(FILTERS.map((key) => [key, query.get(key) ?? ''])) as Record<Filter, string>;
}

/** The API path of the runs the list shows for the address's query string `query`. */
export function runsPath(query: URLSearchParams): string {
  const filters = filtersOf(query);
  return withQuery('/runs', { ...filters, limit: filters.limit || 50, pageToken: query.get('pageToken') ?? undefined });
}

/** The runs list page; `query` is the address's query string. */
export function RunsList({ query }: { query: URLSearchParams }) {
  const filters = filtersOf(query);
  const pageToken = query.get('pageToken') ?? undefined;
  const sort = (query.get('sort') ?? 'started') as SortKey;
  const order = query.get('order') === 'asc' ? 'asc' : 'desc';
  const runs = useResource<RunList>(runsPath(query));
  const workflows = useResource<{ items: WorkflowSummary[] }>('/workflows');
  const [live, setLive] = useState(true);
  const [previous, setPrevious] = useState<(string | undefined)[]>([]);

  const { reload, setData } = runs;
  useEffect(() => {
    if (!live) return undefined;
    const timer = setInterval(() => document.visibilityState === 'visible' && reload(), REFRESH_MS);
    return () => clearInterval(timer);
  }, [live, reload]);
  const onRun = useCallback(
    (event: RunEvent) =>
      setData((current) => current && { ...current, items: current.items.map((run) => (run.runId === event.runId ? { ...run, status: event.status, ...(event.endedAt ? { endedAt: event.endedAt } : {}) } : run)) }),
    [setData],
  );

  const items = useMemo(() => {
    const sorted = [...(runs.data?.items ?? [])].sort(SORTS[sort] ?? SORTS.started);
    return order === 'asc' ? sorted : sorted.reverse();
  }, [runs.data, sort, order]);
  const streamed = live ? items.filter((run) => LIVE.has(run.status)).slice(0, MAX_STREAMS) : [];
  // Only the rows in view are rendered (a page holds up to 1,000 runs).
  const scroller = useRef<HTMLDivElement>(null);
  const rowWindow = useRowWindow(scroller, items.length, ROW_HEIGHT);
  const scrollToRow = useCallback((index: number) => scroller.current?.scrollTo({ top: index * ROW_HEIGHT }), []);
  const onRowKey = useRowKeys(items.length, scrollToRow);

  const sortBy = (key: SortKey): void => navigate(queryOf(query, { sort: key, order: sort === key && order === 'desc' ? 'asc' : 'desc' }), { replace: true });
  const apply = (values: Record<Filter, string>): void => {
    setPrevious([]);
    navigate(queryOf(new URLSearchParams(), { ...values, sort: query.get('sort') ?? undefined, order: query.get('order') ?? undefined }), { replace: true });
  };

  return (
    <section aria-labelledby="runs-title">
      <h1 id="runs-title">Runs</h1>
      <FiltersForm key={FILTERS.map((key) => filters[key]).join('\n')} initial={filters} workflows={workflows.data?.items ?? []} onApply={apply} live={live} onLive={setLive} />
      {streamed.map((run) => (
        <LiveRun key={run.runId} runId={run.runId} onRun={onRun} />
      ))}
      <ProblemNotice error={runs.error} />
      <div className="table-scroll" ref={scroller}>
      <table className="table runs-table" data-testid="runs-table" aria-busy={runs.loading && !runs.data} aria-rowcount={items.length + 1}>
        <caption className="visually-hidden">Runs{pageToken ? ', a later page' : ''}, sorted by {sort} {order === 'asc' ? 'ascending' : 'descending'}</caption>
        <thead>
          <tr aria-rowindex={1}>
            {(
              [
                ['run', 'Run'],
                ['workflow', 'Workflow'],
                ['namespace', 'Namespace'],
                ['status', 'Status'],
                ['started', 'Started'],
                ['duration', 'Duration'],
              ] as const
            ).map(([key, label]) => (
              <th key={key} scope="col" aria-sort={sort === key ? (order === 'asc' ? 'ascending' : 'descending') : 'none'}>
                <button type="button" className="sort" onClick={() => sortBy(key)}>
                  {label}
                  <span aria-hidden="true">{sort === key ? (order === 'asc' ? ' ▲' : ' ▼') : ''}</span>
                </button>
              </th>
            ))}
          </tr>
        </thead>
        <tbody onKeyDown={onRowKey}>
          {rowWindow.before > 0 ? <tr aria-hidden="true" style={{ height: rowWindow.before }} /> : null}
          {items.slice(rowWindow.start, rowWindow.end).map((run, offset) => {
            const [name, version] = run.workflowRef.split('@');
            const index = rowWindow.start + offset;
            return (
              <tr key={run.runId} data-run-id={run.runId} data-status={run.status} data-row-index={index} aria-rowindex={index + 2}>
                <td>
                  <Link to={`/runs/${encodeURIComponent(run.runId)}`} className="mono">
                    {run.runId}
                  </Link>
                </td>
                <td>{name && version ? <Link to={workflowLink(name, version, run.namespace)}>{run.workflowRef}</Link> : run.workflowRef}</td>
                <td>{run.namespace}</td>
                <td>
                  <StatusBadge status={run.status} />
                </td>
                <td>{formatTime(run.startedAt)}</td>
                <td>{formatDuration(durationMs(run.startedAt, run.endedAt))}</td>
              </tr>
            );
          })}
          {rowWindow.after > 0 ? <tr aria-hidden="true" style={{ height: rowWindow.after }} /> : null}
          {runs.data && items.length === 0 ? (
            <tr>
              <td colSpan={6}>No runs match these filters.</td>
            </tr>
          ) : null}
        </tbody>
      </table>
      </div>
      <nav className="pager" aria-label="Pages">
        <button
          type="button"
          disabled={!pageToken}
          onClick={() => {
            const back = previous.at(-1);
            setPrevious(previous.slice(0, -1));
            navigate(queryOf(query, { pageToken: back }));
          }}
        >
          Previous page
        </button>
        <span aria-live="polite">{runs.data ? `${items.length} run${items.length === 1 ? '' : 's'} on this page` : runs.loading ? 'Loading…' : ''}</span>
        <button
          type="button"
          disabled={!runs.data?.nextPageToken}
          onClick={() => {
            setPrevious([...previous, pageToken]);
            navigate(queryOf(query, { pageToken: runs.data?.nextPageToken }));
          }}
        >
          Next page
        </button>
      </nav>
    </section>
  );
}
