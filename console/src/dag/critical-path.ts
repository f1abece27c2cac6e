/**
 * The critical path of a run: the chain of tasks that determined how long it took.
 */
import { depths, topologicalOrder, type Vertex } from './graph.js';
import type { DagTask } from './types.js';

/** Options of {@link criticalPath}. */
export interface CriticalPathOptions {
  /** The time, in ms since the epoch, taken as the end of a task still running. @default Date.now() */
  now?: number;
}

function instant(iso: string | undefined): number | undefined {
  if (iso === undefined) return undefined;
  const ms = Date.parse(iso);
  return Number.isNaN(ms) ? undefined : ms;
}

/**
 * Walks back from `last` through `pick(vertex)` and returns the chain from first to last.
 * `pick` returns the need the path continues through, or undefined where the path starts.
 */
function chainTo(last: Vertex, pick: (vertex: Vertex) => Vertex | undefined): string[] {
  const chain = [last.task.id];
  for (let vertex = pick(last); vertex !== undefined; vertex = pick(vertex)) chain.push(vertex.task.id);
  return chain.reverse();
}

/** The first item with the greatest score. */
function best<T>(items: readonly T[], score: (item: T) => number): T | undefined {
  let top: T | undefined;
  let topScore = -Infinity;
  for (const item of items) {
    const value = score(item);
    if (top === undefined || value > topScore) {
      top = item;
      topScore = value;
    }
  }
  return top;
}

/**
 * The critical path of a run: the ids of the chain of tasks that determined its duration, from
 * the first task to the last; empty for no tasks.
 *
 * A task *ran* when it has a valid `startedAt` (cached tasks ran, briefly); its *end* is `endedAt`,
 * or `now` while it is still running. A task that never ran (pending, skipped) takes no time: it
 * is *ready* when the last of its needs is ready, a task that ran is ready at its end, and a task
 * that never ran and has no needs that ran is never ready. Needs naming no task are ignored.
 *
 * - **Some task ran**: the path ends at the task that ran and ended last. From each task it steps
 *   back to the need that became ready last — the one the task was waiting for — preferring, on a
 *   tie, a need that ran, then the earlier in `needs`; it starts where no need was ever ready.
 *   Tasks that never ran appear only as links between tasks that ran.
 * - **No task ran** (a DAG without a run): the longest path by task count, ending at the first
 *   deepest task in `tasks` order and stepping back through the first deepest need.
 *
 * @example
 * criticalPath([
 *   { id: 'fetch', needs: [], startedAt: '2025-01-01T00:00:00Z', endedAt: '2025-01-01T00:00:05Z' },
 *   { id: 'lint', needs: [], startedAt: '2025-01-01T00:00:00Z', endedAt: '2025-01-01T00:00:01Z' },
 *   { id: 'build', needs: ['fetch', 'lint'], startedAt: '2025-01-01T00:00:05Z', endedAt: '2025-01-01T00:00:09Z' },
 * ]); // → ['fetch', 'build']
 */
export function criticalPath(tasks: readonly DagTask[], { now = Date.now() }: CriticalPathOptions = {}): string[] {
  const order = topologicalOrder(tasks);
  const given = [...order].sort((a, b) => a.position - b.position);
  const hasRun = (vertex: Vertex): boolean => instant(vertex.task.startedAt) !== undefined;
  const ran = given.filter(hasRun);
  if (ran.length === 0) {
    const depth = depths(order);
    const last = best(given, (vertex) => depth[vertex.index] ?? 0);
    return last ? chainTo(last, (vertex) => best(vertex.needs, (need) => depth[need.index] ?? 0)) : [];
  }
  const ready: number[] = [];
  for (const vertex of order) {
    ready[vertex.index] = hasRun(vertex)
      ? (instant(vertex.task.endedAt) ?? now)
      : Math.max(-Infinity, ...vertex.needs.map((need) => ready[need.index] ?? -Infinity));
  }
  const readyAt = (vertex: Vertex): number => ready[vertex.index] ?? -Infinity;
  const last = best(ran, readyAt) as Vertex;
  return chainTo(last, (vertex) => {
    const candidates = vertex.needs.filter((need) => readyAt(need) > -Infinity);
    const latest = Math.max(...candidates.map(readyAt));
    const tied = candidates.filter((need) => readyAt(need) === latest);
    return tied.find(hasRun) ?? tied[0];
  });
}
