import { describe, expect, it } from 'vitest';
import { createTestContext, TaskError } from '../sdk/index.js';
import { transformMap } from './transform-map.js';
import { taskFailure } from '../../test/tasks/helpers.js';

const map = (rows: unknown[], expression: string, ctx = createTestContext()) => transformMap.execute({ rows, expression }, ctx);

describe('tasks/transform.map', () => {
  it('applies the expression to each row, with $index bound', async () => {
    const rows = [
      { id: 1, name: 'ada' },
      { id: 2, name: 'grace' },
    ];
    await expect(map(rows, '{ "id": id, "name": $uppercase(name), "position": $index }')).resolves.toEqual({
      rows: [
        { id: 1, name: 'ADA', position: 0 },
        { id: 2, name: 'GRACE', position: 1 },
      ],
    });
  });

  it('leaves out rows for which the expression yields nothing', async () => {
    await expect(map([{ a: 1 }, { b: 2 }, { a: 3 }], 'a')).resolves.toEqual({ rows: [1, 3] });
  });

  it('returns plain JSON arrays for sequence results', async () => {
    const { rows } = await map([{ items: [{ v: 1 }, { v: 2 }] }], 'items.v');
    expect(rows).toEqual([[1, 2]]);
    expect(Object.keys(rows[0] as object)).toEqual(['0', '1']);
  });

  it('refuses a syntax error as TASK_INPUT_INVALID with the JSONata position, before any row runs', async () => {
    const error = await taskFailure(map([{}], 'a.b +'));
    expect(error.code).toBe('TASK_INPUT_INVALID');
    expect(error.retryable).toBe(false);
    expect(error.message).toMatch(/^expression: .* \(JSONata S0207 at position 5\)$/);
    expect(error.details).toMatchObject({ path: 'expression', jsonataCode: 'S0207', position: 5 });
    expect(() => transformMap.validate?.({ rows: [], expression: 'a.b +' })).toThrow(expect.objectContaining({ code: 'TASK_INPUT_INVALID' }));
  });

  it('never runs JavaScript: constructor chains see only JSON', async () => {
    const attempts = [
      'constructor.constructor("return process")()',
      '$.constructor',
      '__proto__',
      '$eval("constructor.constructor(\\"return process\\")()")',
    ];
    for (const expression of attempts) {
      const outcome = await map([{ a: 1 }], expression).then(
        (output) => output.rows,
        (error: unknown) => (error instanceof TaskError ? [] : Promise.reject(error)),
      );
      expect(outcome, expression).toEqual([]);
    }
  });

  it('fails a row with a runtime error, naming the row, not retryable', async () => {
    const error = await taskFailure(map([{ n: 1 }, { n: 'x' }], 'n + 1'));
    expect(error.code).toBe('TASK_FAILED');
    expect(error.retryable).toBe(false);
    expect(error.message).toMatch(/^row 1: .*JSONata T2001/);
  });

  it('stops runaway recursion', async () => {
    const error = await taskFailure(map([{}], '($f := function($n) { $n = 0 ? 0 : 1 + $f($n - 1) }; $f(100000))'));
    expect(error.details).toMatchObject({ row: 0, jsonataCode: 'D1011' });
  });

  it('bounds how long one row may run', async () => {
    const started = Date.now();
    const error = await taskFailure(map([{}], '($f := function($n) { $n = 0 ? 0 : $f($n - 1) }; $f(100000000))'));
    expect(error.code).toBe('TASK_TIMEOUT');
    expect(error.message).toBe('row 0: evaluation ran longer than 1000 ms');
    expect(Date.now() - started).toBeLessThan(5_000);
  });

  it('stops a backtracking regular expression at the row limit without holding the event loop, then evaluates on a fresh thread', async () => {
    // `(a+)+$` on 40 a's and a b backtracks for minutes inside one RegExp call: JSONata's own
    // timeout never gets a turn; before the pool the task ran it on the event loop to the end.
    const bomb = `$match($, /(a+)+$/)`;
    let worstLag = 0;
    let last = performance.now();
    const ticker = setInterval(() => {
      const now = performance.now();
      worstLag = Math.max(worstLag, now - last - 10);
      last = now;
    }, 10);
    const started = performance.now();
    const error = await taskFailure(map(['a'.repeat(40) + 'b'], bomb)).finally(() => clearInterval(ticker));
    const took = performance.now() - started;
    expect(error.code).toBe('TASK_TIMEOUT');
    expect(error.message).toBe('row 0: evaluation ran longer than 1000 ms');
    expect(took).toBeGreaterThanOrEqual(1_000);
    // The limit counts from the row's start; a fresh thread takes a few hundred ms to load JSONata.
    expect(took).toBeLessThan(3_000);
    expect(worstLag).toBeLessThan(100);
    await expect(map(['aaa'], bomb)).resolves.toEqual({ rows: [{ match: 'aaa', index: 0, groups: ['aaa'] }] });
  });

  it('gives every evaluation of one expression its own rows, $index and guards, however often and concurrently it runs', async () => {
    const expression = '$ * 10 + $index';
    const [first, second] = await Promise.all([map([1, 2, 3], expression), map([7, 8], expression)]);
    expect(first).toEqual({ rows: [10, 21, 32] });
    expect(second).toEqual({ rows: [70, 81] });
    const runaway = '($f := function($n) { $n = 0 ? 0 : 1 + $f($n - 1) }; $f($))';
    for (let attempt = 0; attempt < 2; attempt += 1) {
      expect((await taskFailure(map([100000], runaway))).details).toMatchObject({ row: 0, jsonataCode: 'D1011' });
      // The depth guard starts again at every evaluation: a shallow one right after is fine.
      expect(await map([3], runaway)).toEqual({ rows: [3] });
    }
  });

  it('refuses clock and random functions, since it is deterministic', async () => {
    for (const expression of ['$now()', '$millis()', '$random()']) {
      const error = await taskFailure(map([{}], expression));
      expect(error.code, expression).toBe('TASK_INPUT_INVALID');
    }
  });

  it('refuses a function as a result', async () => {
    expect((await taskFailure(map([{}], 'function($x) { $x }'))).message).toBe(
      'row 0: the expression returned a function, which is not JSON',
    );
  });

  it('stops with the cancellation reason when ctx.signal aborts', async () => {
    const ctx = createTestContext();
    const reason = new Error('run cancelled');
    ctx.abort(reason);
    await expect(map([{ a: 1 }], 'a', ctx)).rejects.toBe(reason);
  });

  it('notices a cancellation that arrives while rows are being evaluated', async () => {
    const ctx = createTestContext();
    const reason = new Error('run cancelled');
    setTimeout(() => ctx.abort(reason), 50);
    const rows = Array.from({ length: 100_000 }, (_, i) => ({ i }));
    await expect(map(rows, '$sum([1..2000]) + i', ctx)).rejects.toBe(reason);
  });
});
