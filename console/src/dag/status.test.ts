import { describe, expect, it } from 'vitest';
import { CRITICAL_COLOUR } from './layout.js';
import { displayStatus, DISPLAY_STATUSES, STATUS_LOOKS } from './status.js';

/** WCAG 2 relative luminance of `#rrggbb`. */
function luminance(hex: string): number {
  const [r = 0, g = 0, b = 0] = [1, 3, 5].map((at) => {
    const channel = parseInt(hex.slice(at, at + 2), 16) / 255;
    return channel <= 0.03928 ? channel / 12.92 : ((channel + 0.055) / 1.055) ** 2.4;
  });
  return 0.2126 * r + 0.7152 * g + 0.0722 * b;
}

/** WCAG 2 contrast ratio of two colours. */
function contrast(a: string, b: string): number {
  const [light, dark] = [luminance(a), luminance(b)].sort((x, y) => y - x) as [number, number];
  return (light + 0.05) / (dark + 0.05);
}

describe('status looks', () => {
  it('tell every status apart without colour, by icon and by word', () => {
    expect(new Set(DISPLAY_STATUSES.map((status) => STATUS_LOOKS[status].icon)).size).toBe(DISPLAY_STATUSES.length);
    expect(new Set(DISPLAY_STATUSES.map((status) => STATUS_LOOKS[status].label)).size).toBe(DISPLAY_STATUSES.length);
  });

  it.each(DISPLAY_STATUSES)('keep %s text and the critical mark readable (4.5:1) on its node', (status) => {
    const { colour, tint } = STATUS_LOOKS[status];
    expect(contrast(colour, tint)).toBeGreaterThanOrEqual(4.5);
    expect(contrast(colour, '#ffffff')).toBeGreaterThanOrEqual(4.5);
    expect(contrast(CRITICAL_COLOUR, tint)).toBeGreaterThanOrEqual(4.5);
  });
});

describe('displayStatus', () => {
  it('shows a task without a status as pending and a succeeded cached task as cached', () => {
    expect(displayStatus({ id: 'a', needs: [] })).toBe('PENDING');
    expect(displayStatus({ id: 'a', needs: [], status: 'SUCCEEDED', cached: true })).toBe('CACHED');
    expect(displayStatus({ id: 'a', needs: [], status: 'SUCCEEDED' })).toBe('SUCCEEDED');
    expect(displayStatus({ id: 'a', needs: [], status: 'FAILED', cached: true })).toBe('FAILED');
  });
});
