import { parse } from '@bufbuild/cel';
import { describe, expect, it } from 'vitest';
import { CEL_COST_LIMIT, evaluate, ExpressionError, leastCost } from './expr.js';

const bindings = { params: { l: [0, 1, 2, 3, 4, 5, 6, 7, 8, 9] }, tasks: {} };

/** `.all` nested `depth` deep over `params.l`: 10^depth iterations. */
function nested(depth: number): string {
  let body = 'v0 >= 0.0';
  for (let level = depth - 1; level >= 0; level -= 1) body = `params.l.all(v${level}, ${body})`;
  return body;
}

function failure(expression: string): ExpressionError {
  try {
    evaluate(expression, bindings);
  } catch (error) {
    if (error instanceof ExpressionError) return error;
    throw error;
  }
  throw new Error(`${expression} evaluated`);
}

describe('CEL cost limit', () => {
  it('refuses nested macros over the limit before they run, at the line and column of the macro', () => {
    const started = performance.now();
    const error = failure(`true &&\n  ${nested(9)}`);
    expect(performance.now() - started).toBeLessThan(1_000);
    expect(error.code).toBe('EXPRESSION_TOO_COSTLY');
    expect(error.at?.line).toBe(2);
    expect(error.message).toContain(`more than the limit of ${CEL_COST_LIMIT}`);
  });

  it('stays refused when || would absorb the error that stopped the macro', () => {
    expect(failure(`${nested(9)} || true`).code).toBe('EXPRESSION_TOO_COSTLY');
  });

  it('changes no outcome below the limit', () => {
    expect(evaluate(nested(3), bindings)).toBe(true);
    expect(evaluate("[1, 'a', 0].all(x, x > 0)", bindings)).toBe(false);
    expect(failure("[1, 'a', 2].all(x, x > 0)").code).toBe('EXPRESSION_FAILED');
    expect(evaluate('[1, 2, 3].filter(x, x > 1).map(x, x * 2)', bindings)).toEqual([4, 6]);
    expect(evaluate("{'a': 1, 'b': 2}.exists(k, k == 'b')", bindings)).toBe(true);
    expect(evaluate('[1, 2, 3].exists_one(x, x == 2)', bindings)).toBe(true);
  });

  it('builds long lists flat: a map of 400 elements, refused past the limit', () => {
    const numbers = Array.from({ length: 400 }, (_, i) => i);
    expect(evaluate('params.n.map(x, x * 2.0)', { params: { n: numbers }, tasks: {} })).toHaveLength(400);
    expect(() => evaluate('params.n.map(x, x * 2.0)', { params: { n: [...numbers, ...numbers] }, tasks: {} })).toThrow(/more than the limit/);
  });

  it('evaluates without a limit when asked (runs recorded before it)', () => {
    expect(evaluate(nested(4), bindings, new Set(), { costLimit: Number.POSITIVE_INFINITY })).toBe(true);
  });

  it('counts only the lists written in an expression toward its least cost', () => {
    expect(leastCost(parse(nested(9)).expr)).toBe(0);
    expect(leastCost(parse(nested(9).replaceAll('params.l', '[0, 1, 2, 3, 4, 5, 6, 7, 8, 9]')).expr)).toBeGreaterThan(CEL_COST_LIMIT);
  });
});
