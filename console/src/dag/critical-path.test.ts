import { describe, expect, it } from 'vitest';
import { criticalPath } from './critical-path.js';
import type { DagTask } from './types.js';

const T0 = Date.parse('2025-01-01T00:00:00Z');
const at = (seconds: number): string => new Date(T0 + seconds * 1000).toISOString();

/** A task that ran from `start` to `end` seconds after T0 (`end` undefined: still running). */
function ran(id: string, needs: string[], start: number, end?: number): DagTask {
  return { id, needs, status: end === undefined ? 'RUNNING' : 'SUCCEEDED', startedAt: at(start), ...(end === undefined ? {} : { endedAt: at(end) }) };
}

describe('criticalPath', () => {
  it('is empty for no tasks', () => {
    expect(criticalPath([])).toEqual([]);
  });

  it('follows the need each task waited for, back from the task that ended last', () => {
    const tasks = [
      ran('fetch', [], 0, 5),
      ran('lint', [], 0, 1),
      ran('build', ['fetch', 'lint'], 5, 9),
      ran('docs', ['lint'], 1, 3),
      ran('deploy', ['build', 'docs'], 9, 12),
      ran('notify', ['docs'], 3, 4),
    ];
    expect(criticalPath(tasks)).toEqual(['fetch', 'build', 'deploy']);
  });

  it('takes a running task to end now, so a long-running branch becomes critical', () => {
    const tasks = [ran('a', [], 0, 2), ran('b', ['a'], 2, 3), ran('slow', [], 0)];
    expect(criticalPath(tasks, { now: T0 + 10_000 })).toEqual(['slow']);
    expect(criticalPath(tasks, { now: T0 + 2_500 })).toEqual(['a', 'b']);
  });

  it('leaves out tasks that never ran after the last task that ran', () => {
    const tasks: DagTask[] = [ran('a', [], 0, 4), ran('b', ['a'], 4), { id: 'c', needs: ['b'], status: 'PENDING' }];
    expect(criticalPath(tasks, { now: T0 + 6_000 })).toEqual(['a', 'b']);
  });

  it('links through a skipped task to the task that made it ready', () => {
    const tasks: DagTask[] = [
      ran('probe', [], 0, 3),
      ran('quick', [], 0, 1),
      { id: 'optional', needs: ['probe'], status: 'SKIPPED', endedAt: at(3) },
      ran('report', ['optional', 'quick'], 3, 5),
    ];
    expect(criticalPath(tasks)).toEqual(['probe', 'optional', 'report']);
  });

  it('prefers a need that ran over a skipped need ready at the same time', () => {
    const tasks: DagTask[] = [
      ran('a', [], 0, 3),
      { id: 'skipped', needs: ['a'], status: 'SKIPPED', endedAt: at(3) },
      ran('b', ['skipped', 'a'], 3, 4),
    ];
    expect(criticalPath(tasks)).toEqual(['a', 'b']);
  });

  it('starts at a task whose needs never ran', () => {
    const tasks: DagTask[] = [{ id: 'gate', needs: [], status: 'SKIPPED' }, ran('after', ['gate'], 0, 2)];
    expect(criticalPath(tasks)).toEqual(['after']);
  });

  it('counts cached tasks as having run', () => {
    const tasks: DagTask[] = [
      { ...ran('cached', [], 0, 0.01), cached: true },
      ran('fresh', [], 0, 2),
      ran('join', ['cached', 'fresh'], 2, 3),
    ];
    expect(criticalPath(tasks)).toEqual(['fresh', 'join']);
  });

  it('ignores needs that name no task', () => {
    expect(criticalPath([ran('a', ['ghost'], 0, 1), ran('b', ['a', 'ghost'], 1, 2)])).toEqual(['a', 'b']);
  });

  it('is the longest path by task count when no task ran', () => {
    const tasks: DagTask[] = [
      { id: 'a', needs: [] },
      { id: 'b', needs: ['a'] },
      { id: 'x', needs: [] },
      { id: 'c', needs: ['b', 'x'] },
      { id: 'd', needs: ['x'] },
    ];
    expect(criticalPath(tasks)).toEqual(['a', 'b', 'c']);
  });

  it('breaks ties by the order of the tasks and of their needs', () => {
    const tasks: DagTask[] = [
      { id: 'p', needs: [] },
      { id: 'q', needs: [] },
      { id: 'r', needs: ['q', 'p'] },
      { id: 's', needs: ['p'] },
    ];
    expect(criticalPath(tasks)).toEqual(['q', 'r']);
  });

  it('leaves out tasks on a cycle instead of looping', () => {
    const tasks: DagTask[] = [
      { id: 'a', needs: [] },
      { id: 'loop1', needs: ['a', 'loop2'] },
      { id: 'loop2', needs: ['loop1'] },
      { id: 'b', needs: ['a'] },
    ];
    expect(criticalPath(tasks)).toEqual(['a', 'b']);
  });

  it('walks a 1,000-task chain', () => {
    const chain = Array.from({ length: 1000 }, (_, i) => ran(`t${i}`, i === 0 ? [] : [`t${i - 1}`], i, i + 1));
    expect(criticalPath(chain)).toEqual(chain.map((task) => task.id));
  });
});
