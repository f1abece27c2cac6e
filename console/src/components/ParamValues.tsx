/**
 * A run's (or a plan's) params as name/value facts; secret values arrive from the API redacted.
 */
import { formatValue } from '../format.js';

/** The params, or "None." when there are none. */
export function ParamValues({ params }: { params: Record<string, unknown> }) {
  if (Object.keys(params).length === 0) return <p>None.</p>;
  return (
    <dl className="facts params">
      {Object.entries(params).map(([key, value]) => (
        <div key={key}>
          <dt className="mono">{key}</dt>
          <dd className="mono">{formatValue(value)}</dd>
        </div>
      ))}
    </dl>
  );
}
