/**
 * The legend of the DAG view: every status with its icon, word and colour, the critical path's
 * marking, and the critical path itself in words.
 */
import { DISPLAY_STATUSES, STATUS_LOOKS } from './status.js';

/** At most this many task ids are spelled out in the critical path's summary. */
const SPELLED_OUT = 6;

/** `a → b → c`, eliding the middle of long paths. */
function describePath(path: readonly string[]): string {
  if (path.length <= SPELLED_OUT) return path.join(' → ');
  return [...path.slice(0, SPELLED_OUT - 2), '…', ...path.slice(-2)].join(' → ');
}

/** Props of {@link DagLegend}. */
export interface DagLegendProps {
  /** The critical path, first task first. */
  critical: readonly string[];
}

/** The legend of statuses and of the critical path, with the path spelled out. */
export function DagLegend({ critical }: DagLegendProps) {
  return (
    <div className="dag-legend">
      <ul className="dag-legend__items" aria-label="Legend">
        {DISPLAY_STATUSES.map((status) => {
          const look = STATUS_LOOKS[status];
          return (
            <li key={status} className="dag-legend__item">
              <span className="dag-legend__swatch" style={{ background: look.tint, borderColor: look.colour, color: look.colour }} aria-hidden="true">
                {look.icon}
              </span>
              {look.label}
            </li>
          );
        })}
        <li className="dag-legend__item">
          <span className="dag-legend__swatch dag-legend__swatch--critical" aria-hidden="true" />
          Critical path
        </li>
      </ul>
      <p className="dag-legend__path" data-testid="dag-critical-path">
        {critical.length === 0
          ? 'No critical path yet.'
          : `Critical path (${critical.length} ${critical.length === 1 ? 'task' : 'tasks'}): ${describePath(critical)}`}
      </p>
    </div>
  );
}
