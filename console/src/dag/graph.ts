/**
 * The DAG's order: each task after its needs, and how deep each task sits.
 */
import type { DagTask } from './types.js';

/** A task with its needs resolved to tasks of the DAG, in topological order. */
export interface Vertex {
  task: DagTask;
  /** Its place in the topological order. */
  index: number;
  /** Its place in the tasks as given. */
  position: number;
  needs: Vertex[];
}

/**
 * Orders the tasks so that each comes after its needs (Kahn's algorithm). Needs naming no task
 * are dropped; a task on a cycle (impossible in a compiled IR) never becomes ready and is left out.
 */
export function topologicalOrder(tasks: readonly DagTask[]): Vertex[] {
  const byId = new Map<string, DagTask>();
  const positions = new Map<string, number>();
  tasks.forEach((task, position) => {
    if (byId.has(task.id)) return;
    byId.set(task.id, task);
    positions.set(task.id, position);
  });
  const needsOf = new Map<string, string[]>();
  const waiting = new Map<string, number>();
  const dependents = new Map<string, string[]>();
  for (const [id, task] of byId) {
    const needs = [...new Set(task.needs)].filter((need) => byId.has(need));
    needsOf.set(id, needs);
    waiting.set(id, needs.length);
    for (const need of needs) {
      const list = dependents.get(need);
      if (list) list.push(id);
      else dependents.set(need, [id]);
    }
  }
  const vertices = new Map<string, Vertex>();
  const ready = [...byId.keys()].filter((id) => waiting.get(id) === 0);
  const order: Vertex[] = [];
  for (let head = 0; head < ready.length; head += 1) {
    const next = ready[head] as string;
    const vertex: Vertex = {
      task: byId.get(next) as DagTask,
      index: order.length,
      position: positions.get(next) ?? 0,
      needs: (needsOf.get(next) ?? []).map((need) => vertices.get(need) as Vertex),
    };
    vertices.set(next, vertex);
    order.push(vertex);
    for (const dependent of dependents.get(next) ?? []) {
      const left = (waiting.get(dependent) ?? 0) - 1;
      waiting.set(dependent, left);
      if (left === 0) ready.push(dependent);
    }
  }
  return order;
}

/**
 * Each task's column when every task sits right after its deepest need: 0 for tasks without
 * needs. Indexed by {@link Vertex.index}.
 */
export function depths(order: readonly Vertex[]): number[] {
  const depth: number[] = [];
  for (const vertex of order) depth[vertex.index] = vertex.needs.reduce((deepest, need) => Math.max(deepest, (depth[need.index] ?? 0) + 1), 0);
  return depth;
}
