import { describe, expect, it } from 'vitest';
import { bootstrapMedianRatio } from '../bench/stats.js';

describe('bootstrapMedianRatio (the benchmark report’s interval around d/a)', () => {
  const base = Array.from({ length: 60 }, (_, i) => 80 + ((i * 37) % 40));

  it('brackets the true ratio of two samples that differ by a known factor', () => {
    const [low, high] = bootstrapMedianRatio(base.map((x) => x * 1.1), base);
    expect(low).toBeLessThan(1.1);
    expect(high).toBeGreaterThan(1.1);
    expect(high - low).toBeLessThan(0.4);
  });

  it('is reproducible for the same samples and narrows to a point for constant ones', () => {
    expect(bootstrapMedianRatio(base, base)).toEqual(bootstrapMedianRatio(base, base));
    expect(bootstrapMedianRatio([5, 5, 5], [4, 4])).toEqual([1.25, 1.25]);
    expect(bootstrapMedianRatio([], [1]).every(Number.isNaN)).toBe(true);
  });
});
