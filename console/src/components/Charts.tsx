/**
 * Small SVG charts of the operations view, drawn here (no chart library): bars over time, lines
 * over time, and horizontal bars per item. Each chart is an image with a title and a description
 * (`role="img"`, `aria-labelledby`), labelled axes, and every bar and point carries its value in a
 * `<title>` (a tooltip on hover, read by screen readers); colours always come with a legend.
 */
import { useId, type ReactNode } from 'react';

/** A series: its name (legend, tooltips) and the CSS class that colours it. */
export interface ChartSeries {
  name: string;
  className: string;
}

/** The plot area inside the SVG's view box. */
const WIDTH = 640;
const HEIGHT = 220;
const MARGIN = { top: 12, right: 12, bottom: 42, left: 64 };
const PLOT_W = WIDTH - MARGIN.left - MARGIN.right;
const PLOT_H = HEIGHT - MARGIN.top - MARGIN.bottom;

/** A "nice" upper bound of an axis (1, 2 or 5 × 10ⁿ) at or above `max`. */
function niceMax(max: number): number {
  if (!(max > 0)) return 1;
  const power = 10 ** Math.floor(Math.log10(max));
  return ([1, 2, 5, 10].find((step) => step * power >= max) ?? 10) * power;
}

/** Which of `count` x positions get a tick label: at most about 6, evenly spaced. */
function tickEvery(count: number): number {
  return Math.max(1, Math.ceil(count / 6));
}

/** The visible caption: the title and, with several series, the legend (colour swatch and name). */
function Caption({ title, series }: { title: string; series: readonly ChartSeries[] }) {
  return (
    <figcaption>
      <strong>{title}</strong>
      {series.length > 1 ? (
        <span className="chart-legend">
          {series.map((entry) => (
            <span key={entry.name}>
              <span className={`swatch ${entry.className}`} aria-hidden="true" /> {entry.name}
            </span>
          ))}
        </span>
      ) : null}
    </figcaption>
  );
}

/** The chart's frame: title and description for assistive technology, axes, and axis labels. */
function Frame({ title, description, xLabel, yLabel, yMax, format, children, testId, legend }: {
  title: string;
  description: string;
  xLabel: string;
  yLabel: string;
  yMax: number;
  format: (value: number) => string;
  children: ReactNode;
  testId: string;
  legend: readonly ChartSeries[];
}) {
  const id = useId();
  const ticks = [0, 0.5, 1].map((share) => share * yMax);
  return (
    <figure className="chart">
      <svg viewBox={`0 0 ${WIDTH} ${HEIGHT}`} role="img" aria-labelledby={`${id}-title ${id}-desc`} data-testid={testId}>
        <title id={`${id}-title`}>{title}</title>
        <desc id={`${id}-desc`}>{description}</desc>
        <g transform={`translate(${MARGIN.left},${MARGIN.top})`}>
          {ticks.map((tick) => (
            <g key={tick} className="chart-grid">
              <line x1={0} x2={PLOT_W} y1={PLOT_H - (tick / yMax) * PLOT_H} y2={PLOT_H - (tick / yMax) * PLOT_H} />
              <text x={-6} y={PLOT_H - (tick / yMax) * PLOT_H} dy="0.32em" textAnchor="end">
                {format(tick)}
              </text>
            </g>
          ))}
          <line className="chart-axis" x1={0} x2={PLOT_W} y1={PLOT_H} y2={PLOT_H} />
          {children}
          <text className="chart-label" x={PLOT_W / 2} y={PLOT_H + 36} textAnchor="middle">
            {xLabel}
          </text>
          <text className="chart-label" transform={`translate(${-52},${PLOT_H / 2}) rotate(-90)`} textAnchor="middle">
            {yLabel}
          </text>
        </g>
      </svg>
      <Caption title={title} series={legend} />
    </figure>
  );
}

/** Options shared by the time charts. */
interface TimeChartProps {
  title: string;
  description: string;
  yLabel: string;
  /** Bucket starts (ISO 8601), oldest first. */
  starts: readonly string[];
  /** How a bucket start is labelled on the x axis. */
  formatStart: (iso: string) => string;
  /** How a value is written (axis and tooltips). */
  format: (value: number) => string;
  series: readonly ChartSeries[];
  testId: string;
}

/** Stacked bars over time: one bar per bucket and series with a value above zero. */
export function TimeBars({ values, ...props }: TimeChartProps & { values: readonly (readonly number[])[] }) {
  const { starts, series, format, formatStart } = props;
  const yMax = niceMax(Math.max(0, ...values.map((bucket) => bucket.reduce((sum, value) => sum + value, 0))));
  const slot = PLOT_W / Math.max(1, starts.length);
  const every = tickEvery(starts.length);
  return (
    <Frame {...props} xLabel="Time" yMax={yMax} legend={series}>
      {starts.map((start, index) => {
        let base = 0;
        return (
          <g key={start}>
            {series.map((entry, which) => {
              const value = values[index]?.[which] ?? 0;
              if (value <= 0) return null;
              const y = PLOT_H - ((base + value) / yMax) * PLOT_H;
              const height = (value / yMax) * PLOT_H;
              base += value;
              return (
                <rect key={entry.name} className={`bar ${entry.className}`} x={index * slot + slot * 0.12} width={Math.max(1, slot * 0.76)} y={y} height={height}>
                  <title>{`${formatStart(start)}: ${format(value)} ${entry.name}`}</title>
                </rect>
              );
            })}
            {index % every === 0 ? (
              <text className="chart-tick" x={index * slot + slot / 2} y={PLOT_H + 16} textAnchor="middle">
                {formatStart(start)}
              </text>
            ) : null}
          </g>
        );
      })}
    </Frame>
  );
}

/** Lines over time: one point per bucket and series with a value (gaps where there is none). */
export function TimeLines({ values, yMax: fixedMax, ...props }: TimeChartProps & { values: readonly (readonly (number | null)[])[]; yMax?: number }) {
  const { starts, series, format, formatStart } = props;
  const yMax = fixedMax ?? niceMax(Math.max(0, ...values.flat().map((value) => value ?? 0)));
  const slot = PLOT_W / Math.max(1, starts.length);
  const every = tickEvery(starts.length);
  const x = (index: number): number => index * slot + slot / 2;
  const y = (value: number): number => PLOT_H - (value / yMax) * PLOT_H;
  return (
    <Frame {...props} xLabel="Time" yMax={yMax} legend={series}>
      {series.map((entry, which) => {
        // Segments between consecutive buckets that both have a value.
        const path = starts
          .map((_, index) => {
            const value = values[index]?.[which];
            if (value === null || value === undefined) return '';
            const previous = values[index - 1]?.[which];
            return `${previous === null || previous === undefined ? 'M' : 'L'}${x(index).toFixed(1)},${y(value).toFixed(1)}`;
          })
          .join('');
        return (
          <g key={entry.name} className={entry.className}>
            {path ? <path className="line" d={path} /> : null}
            {starts.map((start, index) => {
              const value = values[index]?.[which];
              if (value === null || value === undefined) return null;
              return (
                <circle key={start} className="point" cx={x(index)} cy={y(value)} r={3.5}>
                  <title>{`${formatStart(start)}: ${entry.name} ${format(value)}`}</title>
                </circle>
              );
            })}
          </g>
        );
      })}
      {starts.map((start, index) =>
        index % every === 0 ? (
          <text key={start} className="chart-tick" x={x(index)} y={PLOT_H + 16} textAnchor="middle">
            {formatStart(start)}
          </text>
        ) : null,
      )}
    </Frame>
  );
}

/** Horizontal bars per item (a workflow, a task), one bar per series, grouped. */
export function ItemBars({ items, values, series, format, title, description, xLabel, testId }: {
  title: string;
  description: string;
  xLabel: string;
  /** The items' labels, top to bottom. */
  items: readonly string[];
  /** `values[item][series]`; null draws no bar. */
  values: readonly (readonly (number | null)[])[];
  series: readonly ChartSeries[];
  format: (value: number) => string;
  testId: string;
}) {
  const id = useId();
  const labelW = 180;
  const rowH = series.length * 14 + 10;
  const height = items.length * rowH + 44;
  const plotW = WIDTH - labelW - 60;
  const xMax = niceMax(Math.max(0, ...values.flat().map((value) => value ?? 0)));
  return (
    <figure className="chart">
      <svg viewBox={`0 0 ${WIDTH} ${height}`} role="img" aria-labelledby={`${id}-title ${id}-desc`} data-testid={testId}>
        <title id={`${id}-title`}>{title}</title>
        <desc id={`${id}-desc`}>{description}</desc>
        <g transform={`translate(${labelW},8)`}>
          {items.map((item, index) => (
            <g key={item} transform={`translate(0,${index * rowH})`}>
              <text className="chart-tick" x={-8} y={rowH / 2} dy="0.32em" textAnchor="end">
                {item.length > 28 ? `${item.slice(0, 27)}…` : item}
              </text>
              {series.map((entry, which) => {
                const value = values[index]?.[which];
                if (value === null || value === undefined) return null;
                const width = Math.max(1, (value / xMax) * plotW);
                return (
                  <g key={entry.name}>
                    <rect className={`bar ${entry.className}`} x={0} y={5 + which * 14} width={width} height={12}>
                      <title>{`${item}: ${entry.name} ${format(value)}`}</title>
                    </rect>
                    <text className="chart-value" x={width + 4} y={11 + which * 14} dy="0.32em">
                      {format(value)}
                    </text>
                  </g>
                );
              })}
            </g>
          ))}
          <line className="chart-axis" x1={0} x2={plotW} y1={items.length * rowH} y2={items.length * rowH} />
          <text className="chart-tick" x={0} y={items.length * rowH + 14} textAnchor="start">
            {format(0)}
          </text>
          <text className="chart-tick" x={plotW} y={items.length * rowH + 14} textAnchor="end">
            {format(xMax)}
          </text>
          <text className="chart-label" x={plotW / 2} y={items.length * rowH + 30} textAnchor="middle">
            {xLabel}
          </text>
        </g>
      </svg>
      <Caption title={title} series={series} />
    </figure>
  );
}
