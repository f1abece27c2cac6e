import { describe, expect, it } from 'vitest';
import { rowWindow } from './virtual-rows.js';

describe('rowWindow', () => {
  it('renders the rows in view and 10 either side, with spacers for the rest', () => {
    expect(rowWindow(1000, 40, 4000, 800)).toEqual({ start: 90, end: 130, before: 3600, after: 870 * 40 });
  });

  it('stays inside the rows at both ends, and renders all of a short table', () => {
    expect(rowWindow(1000, 40, 0, 800)).toEqual({ start: 0, end: 30, before: 0, after: 970 * 40 });
    expect(rowWindow(1000, 40, 1e9, 800)).toEqual({ start: 1000, end: 1000, before: 40_000, after: 0 });
    expect(rowWindow(5, 40, 0, 800)).toEqual({ start: 0, end: 5, before: 0, after: 0 });
    expect(rowWindow(0, 40, -20, 800)).toEqual({ start: 0, end: 0, before: 0, after: 0 });
  });
});
