import { describe, expect, it } from 'vitest';
import { formatPath, pointerToPath, valueAt } from './path.js';

describe('paths', () => {
  it('formats keys and indexes as people write them', () => {
    expect(formatPath(['spec', 'tasks', 2, 'needs', 0])).toBe('spec.tasks[2].needs[0]');
    expect(formatPath(['spec', 'tasks', 0, 'with', 'a b', 'x-y'])).toBe('spec.tasks[0].with["a b"].x-y');
    expect(formatPath([])).toBe('');
  });

  it('reads JSON pointers, telling indexes from numeric keys by the data', () => {
    const data = { spec: { tasks: [{ with: { '0': 'zero', 'a/b': 1 } }] } };
    expect(pointerToPath('/spec/tasks/0/with/0', data)).toEqual(['spec', 'tasks', 0, 'with', '0']);
    expect(pointerToPath('/spec/tasks/0/with/a~1b', data)).toEqual(['spec', 'tasks', 0, 'with', 'a/b']);
  });

  it('finds the value at a path', () => {
    expect(valueAt({ a: [{ b: 1 }] }, ['a', 0, 'b'])).toBe(1);
    expect(valueAt({ a: 'x' }, ['a', 0])).toBeUndefined();
  });
});
