/**
 * The operations view (`GET /operations`): for a namespace and a window (last hour, day, week, or
 * custom), the headline figures (success rate, MTTR, backlog, queue and run durations), runs and
 * success rate over time, queue time over time, duration p50/p95 and MTTR per workflow, and the
 * most failing tasks with their error codes — charts with the tables beside them. The namespace and
 * window live in the URL.
 */
import { useId, useMemo, useState, type FormEvent } from 'react';
import { withQuery, type OperationsReport } from '../api/index.js';
import { ItemBars, TimeBars, TimeLines } from '../components/Charts.js';
import { ProblemNotice } from '../components/ProblemNotice.js';
import { formatDuration, isoToLocalInput, localInputToIso } from '../format.js';
import { useResource } from '../hooks.js';
import { navigate } from '../router.js';

/** The windows offered, by their URL value, with their length. */
const WINDOWS = { '1h': { label: 'Last hour', ms: 3_600_000 }, '24h': { label: 'Last 24 hours', ms: 86_400_000 }, '7d': { label: 'Last 7 days', ms: 7 * 86_400_000 } } as const;
type WindowKey = keyof typeof WINDOWS | 'custom';

/** The URL's choice: namespace, window, and the custom window's bounds. */
interface Choice {
  namespace: string;
  window: WindowKey;
  from: string;
  to: string;
}

function choiceOf(query: URLSearchParams): Choice {
  const window = query.get('window') ?? '24h';
  return {
    namespace: query.get('namespace') ?? '',
    window: window in WINDOWS || window === 'custom' ? (window as WindowKey) : '24h',
    from: query.get('from') ?? '',
    to: query.get('to') ?? '',
  };
}

/** The API path of a choice; a relative window ends now (read when the choice changes or on refresh). */
function apiPath(choice: Choice, now: number): string {
  const namespace = choice.namespace || undefined;
  if (choice.window === 'custom') return withQuery('/operations', { namespace, from: choice.from || undefined, to: choice.to || undefined });
  return withQuery('/operations', { namespace, from: new Date(now - WINDOWS[choice.window].ms).toISOString(), to: new Date(now).toISOString() });
}

/** `97.5 %`; an en dash when unknown. */
function formatShare(share: number | null | undefined): string {
  return share === null || share === undefined ? '–' : `${(share * 100).toFixed(share === 1 || share === 0 ? 0 : 1)} %`;
}

function formatMs(ms: number | null | undefined): string {
  return formatDuration(ms ?? undefined);
}

/** A bucket start as the x axis writes it: the time within a day, the date beyond. */
function startFormatter(bucketSeconds: number): (iso: string) => string {
  const format = new Intl.DateTimeFormat(undefined, bucketSeconds >= 86_400 ? { month: 'short', day: 'numeric' } : bucketSeconds >= 3 * 3600 ? { month: 'short', day: 'numeric', hour: '2-digit' } : { hour: '2-digit', minute: '2-digit' });
  return (iso) => format.format(new Date(iso));
}

/** The window form; edits stay local until applied. */
function WindowForm({ initial, onApply, onRefresh }: { initial: Choice; onApply: (choice: Choice) => void; onRefresh: () => void }) {
  const [form, setForm] = useState(initial);
  const ids = { namespace: useId(), window: useId(), from: useId(), to: useId() };
  return (
    <form
      className="filters"
      aria-label="Operations window"
      onSubmit={(event: FormEvent) => {
        event.preventDefault();
        onApply(form);
      }}
    >
      <div>
        <label htmlFor={ids.namespace}>Namespace</label>
        <input id={ids.namespace} placeholder="default" value={form.namespace} onChange={(event) => setForm({ ...form, namespace: event.target.value })} />
      </div>
      <div>
        <label htmlFor={ids.window}>Window</label>
        <select id={ids.window} value={form.window} onChange={(event) => setForm({ ...form, window: event.target.value as WindowKey })}>
          {Object.entries(WINDOWS).map(([key, { label }]) => (
            <option key={key} value={key}>
              {label}
            </option>
          ))}
          <option value="custom">Custom</option>
        </select>
      </div>
      {form.window === 'custom' ? (
        <>
          <div>
            <label htmlFor={ids.from}>From</label>
            <input id={ids.from} type="datetime-local" value={isoToLocalInput(form.from)} onChange={(event) => setForm({ ...form, from: localInputToIso(event.target.value) ?? '' })} />
          </div>
          <div>
            <label htmlFor={ids.to}>To</label>
            <input id={ids.to} type="datetime-local" value={isoToLocalInput(form.to)} onChange={(event) => setForm({ ...form, to: localInputToIso(event.target.value) ?? '' })} />
          </div>
        </>
      ) : null}
      <div className="filter-actions">
        <button type="submit" className="primary">
          Show
        </button>
        <button type="button" onClick={onRefresh}>
          Refresh
        </button>
      </div>
    </form>
  );
}

/** The headline figures. */
function Headline({ report }: { report: OperationsReport }) {
  const { runs, queue } = report;
  const figures: [string, string, string][] = [
    ['success-rate', 'Success rate', formatShare(runs.successRate)],
    ['runs', 'Runs ended', `${runs.runs} (${runs.succeeded} succeeded, ${runs.failed} failed, ${runs.cancelled} cancelled)`],
    ['mttr', 'MTTR', runs.mttrMs === null ? '–' : `${formatMs(runs.mttrMs)} (${runs.recovered} of ${runs.incidents} incidents recovered)`],
    ['backlog', 'Backlog now', queue.backlog === 0 ? '0 queued' : `${queue.backlog} queued, oldest ${formatMs(queue.oldestWaitMs)}`],
    ['queue-time', 'Queue time p50 / p95', `${formatMs(queue.p50Ms)} / ${formatMs(queue.p95Ms)}`],
    ['duration', 'Run duration p50 / p95', `${formatMs(runs.p50Ms)} / ${formatMs(runs.p95Ms)}`],
  ];
  return (
    <dl className="figures" data-testid="ops-figures">
      {figures.map(([key, label, value]) => (
        <div key={key} data-testid={`ops-${key}`}>
          <dt>{label}</dt>
          <dd>{value}</dd>
        </div>
      ))}
    </dl>
  );
}

const OUTCOMES = [
  { name: 'succeeded', className: 'series-ok' },
  { name: 'failed', className: 'series-bad' },
  { name: 'cancelled', className: 'series-other' },
];
const PERCENTILES = [
  { name: 'p50', className: 'series-p50' },
  { name: 'p95', className: 'series-p95' },
];

/** The charts and tables of a report. */
function Report({ report }: { report: OperationsReport }) {
  const starts = report.series.map((bucket) => bucket.start);
  const formatStart = startFormatter(report.bucketSeconds);
  // An axis's middle tick may fall between whole numbers (2.5 of 5).
  const formatCount = (value: number): string => (Number.isInteger(value) ? String(value) : value.toFixed(1));
  const bucket = formatDuration(report.bucketSeconds * 1000);
  const recovered = report.workflows.filter((workflow) => workflow.mttrMs !== null);
  return (
    <>
      <Headline report={report} />
      <div className="charts">
        <TimeBars
          testId="chart-runs"
          title="Runs over time"
          description={`Runs that ended per ${bucket}, by outcome.`}
          yLabel="Runs"
          starts={starts}
          formatStart={formatStart}
          format={formatCount}
          series={OUTCOMES}
          values={report.series.map((item) => [item.succeeded, item.failed, item.cancelled])}
        />
        <TimeLines
          testId="chart-success"
          title="Success rate over time"
          description={`Share of the runs that succeeded among those that succeeded or failed, per ${bucket}.`}
          yLabel="Success rate"
          starts={starts}
          formatStart={formatStart}
          format={formatShare}
          yMax={1}
          series={[{ name: 'success rate', className: 'series-ok' }]}
          values={report.series.map((item) => [item.succeeded + item.failed === 0 ? null : item.succeeded / (item.succeeded + item.failed)])}
        />
        <TimeLines
          testId="chart-queue"
          title="Queue time over time"
          description={`p50 and p95 of the time runs waited for admission and concurrency keys, per ${bucket}.`}
          yLabel="Queue time"
          starts={starts}
          formatStart={formatStart}
          format={formatMs}
          series={PERCENTILES}
          values={report.series.map((item) => [item.queueP50Ms, item.queueP95Ms])}
        />
        {report.workflows.length > 0 ? (
          <ItemBars
            testId="chart-workflow-durations"
            title="Run duration per workflow"
            description="p50 and p95 of the durations of each workflow's runs."
            xLabel="Duration"
            items={report.workflows.map((workflow) => workflow.workflow)}
            values={report.workflows.map((workflow) => [workflow.p50Ms, workflow.p95Ms])}
            series={PERCENTILES}
            format={formatMs}
          />
        ) : null}
        {recovered.length > 0 ? (
          <ItemBars
            testId="chart-mttr"
            title="MTTR per workflow"
            description="Mean time from a workflow's failed run to its next successful run."
            xLabel="Time to recovery"
            items={recovered.map((workflow) => workflow.workflow)}
            values={recovered.map((workflow) => [workflow.mttrMs])}
            series={[{ name: 'MTTR', className: 'series-bad' }]}
            format={formatMs}
          />
        ) : null}
        {report.failingTasks.length > 0 ? (
          <ItemBars
            testId="chart-failing-tasks"
            title="Most failing tasks"
            description="Failed attempts of the tasks that failed most."
            xLabel="Failed attempts"
            items={report.failingTasks.map((task) => `${task.workflow}/${task.taskId}`)}
            values={report.failingTasks.map((task) => [task.failures])}
            series={[{ name: 'failed attempts', className: 'series-bad' }]}
            format={formatCount}
          />
        ) : null}
      </div>
      <h2>Workflows</h2>
      <table className="table" data-testid="ops-workflows">
        <thead>
          <tr>
            <th scope="col">Workflow</th>
            <th scope="col">Runs</th>
            <th scope="col">Success rate</th>
            <th scope="col">p50</th>
            <th scope="col">p95</th>
            <th scope="col">MTTR</th>
            <th scope="col">Incidents (recovered)</th>
          </tr>
        </thead>
        <tbody>
          {report.workflows.map((workflow) => (
            <tr key={workflow.workflow}>
              <td className="mono">{workflow.workflow}</td>
              <td>{workflow.runs}</td>
              <td>{formatShare(workflow.successRate)}</td>
              <td>{formatMs(workflow.p50Ms)}</td>
              <td>{formatMs(workflow.p95Ms)}</td>
              <td>{formatMs(workflow.mttrMs)}</td>
              <td>
                {workflow.incidents} ({workflow.recovered})
              </td>
            </tr>
          ))}
        </tbody>
      </table>
      <h2>Most failing tasks</h2>
      <table className="table" data-testid="ops-failing-tasks">
        <thead>
          <tr>
            <th scope="col">Task</th>
            <th scope="col">Failed attempts</th>
            <th scope="col">Attempts</th>
            <th scope="col">Error codes</th>
          </tr>
        </thead>
        <tbody>
          {report.failingTasks.map((task) => (
            <tr key={`${task.workflow}/${task.taskId}`}>
              <td className="mono">
                {task.workflow}/{task.taskId}
              </td>
              <td>{task.failures}</td>
              <td>{task.attempts}</td>
              <td className="mono">{task.codes.map((code) => `${code.code} × ${code.count}`).join(', ')}</td>
            </tr>
          ))}
          {report.failingTasks.length === 0 ? (
            <tr>
              <td colSpan={4}>No task attempt failed in this window.</td>
            </tr>
          ) : null}
        </tbody>
      </table>
      <h2>Tasks</h2>
      <table className="table" data-testid="ops-tasks">
        <thead>
          <tr>
            <th scope="col">Task</th>
            <th scope="col">Attempts</th>
            <th scope="col">Failed</th>
            <th scope="col">p50</th>
            <th scope="col">p95</th>
          </tr>
        </thead>
        <tbody>
          {report.tasks.map((task) => (
            <tr key={`${task.workflow}/${task.taskId}`}>
              <td className="mono">
                {task.workflow}/{task.taskId}
              </td>
              <td>{task.attempts}</td>
              <td>{task.failures}</td>
              <td>{formatMs(task.p50Ms)}</td>
              <td>{formatMs(task.p95Ms)}</td>
            </tr>
          ))}
        </tbody>
      </table>
    </>
  );
}

/** The operations page. */
export function Operations({ query }: { query: URLSearchParams }) {
  const choice = choiceOf(query);
  const [refreshed, setRefreshed] = useState(() => Date.now());
  const { namespace, window, from, to } = choice;
  const key = `${namespace}\n${window}\n${from}\n${to}`;
  const path = useMemo(() => apiPath({ namespace, window, from, to }, refreshed), [namespace, window, from, to, refreshed]);
  const report = useResource<OperationsReport>(path);
  const apply = (next: Choice): void => {
    setRefreshed(Date.now());
    navigate(withQuery('/operations', { namespace: next.namespace || undefined, window: next.window, ...(next.window === 'custom' ? { from: next.from || undefined, to: next.to || undefined } : {}) }), { replace: true });
  };
  return (
    <section aria-labelledby="ops-title">
      <h1 id="ops-title">Operations</h1>
      <WindowForm key={key} initial={choice} onApply={apply} onRefresh={() => setRefreshed(Date.now())} />
      <ProblemNotice error={report.error} />
      {report.data ? <Report report={report.data} /> : report.loading ? <p className="hint">Loading…</p> : null}
    </section>
  );
}
