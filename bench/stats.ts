/** Summary statistics of latency samples, in milliseconds. */
export interface Summary {
  n: number;
  median: number;
  p95: number;
  min: number;
  max: number;
  mean: number;
}

/** The q-quantile (0..1) by the nearest-rank method over sorted samples: always an observed value. */
export function quantile(sorted: readonly number[], q: number): number {
  if (sorted.length === 0) return Number.NaN;
  const rank = Math.min(sorted.length, Math.max(1, Math.ceil(q * sorted.length)));
  return sorted[rank - 1] as number;
}

/** Median (the mean of the two middle values for an even count), p95 (nearest rank), min, max, mean. */
export function summarize(samples: readonly number[]): Summary {
  const sorted = [...samples].sort((a, b) => a - b);
  const n = sorted.length;
  const middle = Math.floor(n / 2);
  const median = n === 0 ? Number.NaN : n % 2 === 1 ? (sorted[middle] as number) : ((sorted[middle - 1] as number) + (sorted[middle] as number)) / 2;
  return {
    n,
    median,
    p95: quantile(sorted, 0.95),
    min: sorted[0] ?? Number.NaN,
    max: sorted[n - 1] ?? Number.NaN,
    mean: n === 0 ? Number.NaN : sorted.reduce((sum, x) => sum + x, 0) / n,
  };
}

/** mulberry32 over `seed`: small, fast and good enough to pick resample indices; seeded, so a report can be reproduced from its samples. */
function seededRandom(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** The 2.5th and 97.5th percentiles of `statistic` over `resamples` bootstrap draws (see {@link seededRandom}). */
function bootstrapInterval(statistic: (draw: (samples: readonly number[]) => number[]) => number, resamples: number, seed: number): [number, number] {
  const random = seededRandom(seed);
  const draw = (samples: readonly number[]): number[] => Array.from(samples, () => samples[Math.floor(random() * samples.length)] as number);
  const values = Array.from({ length: resamples }, () => statistic(draw)).sort((a, b) => a - b);
  return [quantile(values, 0.025), quantile(values, 0.975)];
}

/**
 * A 95% bootstrap interval of `median(numerator) / median(denominator)`: both sample sets are
 * resampled with replacement `resamples` times and the 2.5th and 97.5th percentiles of the
 * resampled ratios are returned. It says how far the ratio could move on another run of the same
 * length on the same machine.
 */
export function bootstrapMedianRatio(numerator: readonly number[], denominator: readonly number[], resamples = 2000, seed = 1): [number, number] {
  if (numerator.length === 0 || denominator.length === 0) return [Number.NaN, Number.NaN];
  return bootstrapInterval((draw) => summarize(draw(numerator)).median / summarize(draw(denominator)).median, resamples, seed);
}

/**
 * The median of `numerator[i] / denominator[i]` — samples taken side by side, e.g. the two variants
 * of one benchmark iteration — with its 95% bootstrap interval. Each pair shares the machine's
 * state at its moment, so a slow spell moves both sides and drops out of their ratio: the
 * interval is then usually narrower than {@link bootstrapMedianRatio}'s over the same samples.
 */
export function pairedMedianRatio(numerator: readonly number[], denominator: readonly number[], resamples = 2000, seed = 1): { median: number; interval: [number, number] } {
  const ratios = numerator.slice(0, denominator.length).map((value, i) => value / (denominator[i] as number));
  if (ratios.length === 0) return { median: Number.NaN, interval: [Number.NaN, Number.NaN] };
  return { median: summarize(ratios).median, interval: bootstrapInterval((draw) => summarize(draw(ratios)).median, resamples, seed) };
}

/** Milliseconds with one decimal. */
export const ms = (value: number): string => (Number.isFinite(value) ? value.toFixed(1) : '–');

/** A ratio with two decimals. */
export const ratio = (value: number): string => (Number.isFinite(value) ? value.toFixed(2) : '–');

/** The integer environment variable `name` (≥ `minimum`), or `fallback` when it is unset or empty. */
export function positiveInt(name: string, fallback: number, minimum = 1): number {
  const raw = process.env[name];
  if (raw === undefined || raw === '') return fallback;
  const value = Number(raw);
  if (!Number.isInteger(value) || value < minimum) throw new Error(`${name} must be an integer ≥ ${minimum}, got "${raw}"`);
  return value;
}
