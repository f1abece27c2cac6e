/** The nearest-rank percentile the operations view reports: the value ranked ⌈p·n/100⌉; null for no values. */
export function nearestRank(values: readonly number[], p: number): number | null {
  if (values.length === 0) return null;
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.ceil((p * sorted.length) / 100) - 1] ?? null;
}
