/**
 * A namespace's usage (`GET /usage`): the totals of its budget's current period (or the month),
 * the budget bar (a meter: amber from 80%, red when spent), and what each workflow and resource
 * class cost. The namespace is in the URL (`/usage?namespace=`), so a view can be shared.
 */
import { useId, useState, type FormEvent } from 'react';
import type { Usage as UsageReport } from '../api/index.js';
import { ProblemNotice } from '../components/ProblemNotice.js';
import { formatTime } from '../format.js';
import { useResource } from '../hooks.js';
import { navigate } from '../router.js';

/** Costs with up to 6 decimals, trailing zeros dropped. */
function cost(value: number): string {
  return String(Number(value.toFixed(6)));
}

/** The budget's use as a `meter` (assistive technology reads the figure). */
function BudgetBar({ budget }: { budget: NonNullable<UsageReport['budget']> }) {
  const percent = Math.round(budget.usedRatio * 100);
  return (
    <div className="budget">
      <meter min={0} max={1} low={0.8} high={0.99} optimum={0} value={Math.min(budget.usedRatio, 1)} aria-label="Budget used">
        {percent}%
      </meter>
      <span>
        {cost(budget.usage)} of {cost(budget.limit)} this {budget.period} ({percent}%); on exceeding: {budget.onExceed}
      </span>
    </div>
  );
}

/** `/usage?namespace=`: the namespace's usage and budget. */
export function Usage({ namespace }: { namespace: string | undefined }) {
  const [field, setField] = useState(namespace ?? '');
  const id = useId();
  const usage = useResource<UsageReport>(`/usage${namespace ? `?namespace=${encodeURIComponent(namespace)}` : ''}`);
  const data = usage.data;
  return (
    <section aria-labelledby="usage-title">
      <h1 id="usage-title">Usage</h1>
      <form
        className="filters"
        aria-label="Usage of a namespace"
        onSubmit={(event: FormEvent) => {
          event.preventDefault();
          navigate(field.trim() ? `/usage?namespace=${encodeURIComponent(field.trim())}` : '/usage');
        }}
      >
        <div>
          <label htmlFor={id}>Namespace</label>
          <input id={id} placeholder="default" value={field} onChange={(event) => setField(event.target.value)} />
        </div>
        <div className="filter-actions">
          <button type="submit" className="primary">
            Show
          </button>
        </div>
      </form>
      <ProblemNotice error={usage.error} />
      {data && (
        <>
          <dl className="facts">
            <dt>Namespace</dt>
            <dd>{data.namespace}</dd>
            <dt>Window</dt>
            <dd>
              {formatTime(data.from)} – {formatTime(data.to)}
            </dd>
            <dt>Total</dt>
            <dd data-testid="usage-total">{cost(data.total)}</dd>
            <dt>Task attempts</dt>
            <dd>
              {data.attempts.attempts} ({cost(data.attempts.cost)})
            </dd>
            <dt>Runs</dt>
            <dd>
              {data.runs.count} ({cost(data.runs.cost)})
            </dd>
            <dt>Budget</dt>
            <dd>{data.budget ? <BudgetBar budget={data.budget} /> : 'none'}</dd>
          </dl>
          <h2>By workflow</h2>
          <table className="table">
            <thead>
              <tr>
                <th scope="col">Workflow</th>
                <th scope="col">Cost</th>
                <th scope="col">Attempts</th>
                <th scope="col">Runs</th>
              </tr>
            </thead>
            <tbody>
              {data.byWorkflow.map((row) => (
                <tr key={row.workflow}>
                  <td>{row.workflow}</td>
                  <td>{cost(row.cost + row.runCost)}</td>
                  <td>{row.attempts}</td>
                  <td>{row.runs}</td>
                </tr>
              ))}
            </tbody>
          </table>
          <h2>By resource class</h2>
          <table className="table">
            <thead>
              <tr>
                <th scope="col">Resource class</th>
                <th scope="col">Cost</th>
                <th scope="col">Attempts</th>
                <th scope="col">Seconds</th>
              </tr>
            </thead>
            <tbody>
              {data.byResourceClass.map((row) => (
                <tr key={row.resourceClass}>
                  <td>{row.resourceClass}</td>
                  <td>{cost(row.cost)}</td>
                  <td>{row.attempts}</td>
                  <td>{cost(row.durationMs / 1000)}</td>
                </tr>
              ))}
            </tbody>
          </table>
        </>
      )}
    </section>
  );
}
