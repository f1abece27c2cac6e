import { describe, expect, it } from 'vitest';
import { amountText, attemptCost, budgetPeriod, budgetUsedText, runPrice } from './budget.js';

describe('budgetPeriod', () => {
  it('gives the UTC day, ISO week (from Monday) and month holding a time', () => {
    const now = new Date('2026-12-06T16:44:49.123Z'); // a Sunday
    expect(budgetPeriod('day', now)).toEqual({ from: '2026-12-06T00:00:00.000Z', to: '2026-12-07T00:00:00.000Z' });
    expect(budgetPeriod('week', now)).toEqual({ from: '2026-11-30T00:00:00.000Z', to: '2026-12-07T00:00:00.000Z' });
    expect(budgetPeriod('week', new Date('2026-11-30T00:00:00.000Z'))).toEqual({ from: '2026-11-30T00:00:00.000Z', to: '2026-12-07T00:00:00.000Z' });
    expect(budgetPeriod('month', now)).toEqual({ from: '2026-12-01T00:00:00.000Z', to: '2027-01-01T00:00:00.000Z' });
    expect(budgetPeriod('month', new Date('2024-02-29T23:59:59.999Z'))).toEqual({ from: '2024-02-01T00:00:00.000Z', to: '2024-03-01T00:00:00.000Z' });
  });
});

describe('attemptCost', () => {
  const model = { perSecond: { local: 0.5, container: 2 }, perConnectorCall: 0.01, perRun: 0.3 };

  it('prices seconds by resource class and each connector call', () => {
    expect(attemptCost(model, { resourceClass: 'container', durationMs: 1500, connectorCalls: 3, ran: true })).toBeCloseTo(3.03);
    expect(attemptCost(model, { resourceClass: 'k8s', durationMs: 1500, connectorCalls: 0, ran: true })).toBe(0);
  });

  it('charges no time to an attempt whose code did not run (denied, cached)', () => {
    expect(attemptCost(model, { resourceClass: 'local', durationMs: 10_000, connectorCalls: 0, ran: false })).toBe(0);
  });

  it('prices nothing without a cost model', () => {
    expect(attemptCost({}, { resourceClass: 'local', durationMs: 10_000, connectorCalls: 5, ran: true })).toBe(0);
    expect(runPrice({})).toBe(0);
    expect(runPrice(model)).toBe(0.3);
  });
});

describe('budgetUsedText', () => {
  it('names the period as a word and rounds the binary fractions of summed prices', () => {
    expect(budgetUsedText('team-a', { period: 'day', limit: 0.0025 }, 0.0020118000000000002)).toBe('namespace team-a has used 0.0020118 of its daily budget of 0.0025');
    expect(budgetUsedText('b', { period: 'month', limit: 100 }, 0.1 + 0.2)).toBe('namespace b has used 0.3 of its monthly budget of 100');
    expect(amountText(123456789.5)).toBe('123456789.5');
  });
});
