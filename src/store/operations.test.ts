import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { MaestroError } from '../errors/index.js';
import { OPERATIONS_MAX_BUCKETS, bucketStarts, resolveOperationsWindow, successRate } from './operations.js';

const NOW = new Date('2026-12-06T12:34:56.789Z');
const HOUR = 3_600_000;

function badRequest(run: () => unknown): string {
  try {
    run();
  } catch (error) {
    expect(error).toBeInstanceOf(MaestroError);
    expect((error as MaestroError).code).toBe('BAD_REQUEST');
    return (error as MaestroError).message;
  }
  throw new Error('expected BAD_REQUEST');
}

describe('resolveOperationsWindow', () => {
  it('defaults to the 24 hours before now in 1-hour buckets', () => {
    expect(resolveOperationsWindow({}, NOW)).toEqual({ from: new Date(NOW.getTime() - 24 * HOUR), to: NOW, bucketMs: HOUR });
  });

  it('picks the smallest bucket giving at most 60 buckets', () => {
    const at = (spanMs: number): number => resolveOperationsWindow({ from: new Date(NOW.getTime() - spanMs), to: NOW }, NOW).bucketMs;
    expect(at(HOUR)).toBe(60_000);
    // `from` alone: `to` is the server's now, a little later than the caller's.
    expect(at(HOUR + 250)).toBe(60_000);
    expect(at(2 * HOUR)).toBe(300_000);
    expect(at(7 * 24 * HOUR)).toBe(3 * HOUR);
    expect(at(31 * 24 * HOUR)).toBe(24 * HOUR);
  });

  it('refuses from not before to, more than 31 days, and buckets under a minute or too many', () => {
    expect(badRequest(() => resolveOperationsWindow({ from: NOW, to: NOW }, NOW))).toContain('must be before');
    expect(badRequest(() => resolveOperationsWindow({ from: new Date(NOW.getTime() - 32 * 24 * HOUR) }, NOW))).toContain('at most 31');
    expect(badRequest(() => resolveOperationsWindow({ bucketSeconds: 30 }, NOW))).toContain('at least 60');
    expect(badRequest(() => resolveOperationsWindow({ bucketSeconds: 60.5 }, NOW))).toContain('whole number');
    expect(badRequest(() => resolveOperationsWindow({ from: new Date(NOW.getTime() - 24 * HOUR), bucketSeconds: 60 }, NOW))).toContain(`at most ${OPERATIONS_MAX_BUCKETS}`);
    expect(resolveOperationsWindow({ from: new Date(NOW.getTime() - 6 * HOUR), bucketSeconds: 60 }, NOW).bucketMs).toBe(60_000);
  });
});

describe('bucketStarts', () => {
  it('aligns buckets to multiples of their size since the epoch and covers [from, to)', () => {
    expect(bucketStarts(new Date('2026-12-06T10:20:00Z'), new Date('2026-12-06T12:00:00Z'), HOUR).map((start) => new Date(start).toISOString())).toEqual([
      '2026-12-06T10:00:00.000Z',
      '2026-12-06T11:00:00.000Z',
    ]);
  });

  it('puts every instant of the window in exactly one bucket', () => {
    fc.assert(
      fc.property(fc.integer({ min: 0, max: 10 ** 12 }), fc.integer({ min: 1, max: 10 ** 8 }), fc.integer({ min: 60, max: 86_400 }), fc.double({ min: 0, max: 1, maxExcluded: true, noNaN: true }), (from, span, seconds, at) => {
        const bucketMs = seconds * 1000;
        const starts = bucketStarts(new Date(from), new Date(from + span), bucketMs);
        const instant = from + Math.floor(at * span);
        expect(starts.filter((start) => start <= instant && instant < start + bucketMs)).toHaveLength(1);
        expect(starts[0]).toBeLessThanOrEqual(from);
        expect((starts.at(-1) ?? 0) + bucketMs).toBeGreaterThan(from + span - 1);
      }),
    );
  });
});

describe('successRate', () => {
  it('is the share of succeeded among succeeded and failed runs, null without any', () => {
    expect(successRate(3, 1)).toBe(0.75);
    expect(successRate(0, 0)).toBeNull();
    expect(successRate(0, 2)).toBe(0);
  });
});
