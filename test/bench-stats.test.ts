import { describe, expect, it } from 'vitest';
import { bootstrapMedianRatio, pairedMedianRatio } from '../bench/stats.js';

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

describe('pairedMedianRatio (d/a iteration by iteration)', () => {
  it('sees through a drift both variants share, which widens the unpaired interval', () => {
    // The machine slows by half over the run; d costs 4% more than a at every moment, give or take 1%.
    const a = Array.from({ length: 100 }, (_, i) => 80 * (1 + i / 200));
    const d = a.map((x, i) => x * (1.04 + ((i % 5) - 2) * 0.005));
    const paired = pairedMedianRatio(d, a);
    expect(paired.median).toBeCloseTo(1.04, 3);
    expect(paired.interval[0]).toBeGreaterThan(1.03);
    expect(paired.interval[1]).toBeLessThan(1.05);
    const [low, high] = bootstrapMedianRatio(d, a);
    expect(high - low).toBeGreaterThan(5 * (paired.interval[1] - paired.interval[0]));
  });

  it('pairs only what both sides have, and is NaN for no pairs', () => {
    expect(pairedMedianRatio([2, 4, 6], [1, 2])).toEqual({ median: 2, interval: [2, 2] });
    expect(Number.isNaN(pairedMedianRatio([], [1]).median)).toBe(true);
  });
});
