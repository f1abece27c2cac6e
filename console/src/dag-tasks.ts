/**
 * The DAG view's input from a workflow's compiled tasks and, for a run, their states.
 */
import type { TaskNode, TaskState } from './api/index.js';
import type { DagTask } from './dag/index.js';

/** One {@link DagTask} per IR task, in IR order, with its run state when `states` has it. */
export function dagTasks(nodes: readonly TaskNode[], states: readonly TaskState[] = []): DagTask[] {
  const byId = new Map(states.map((state) => [state.id, state]));
  return nodes.map((node) => {
    const state = byId.get(node.id);
    return {
      id: node.id,
      uses: node.uses,
      needs: node.needs,
      ...(node.runIf === undefined ? {} : { runIf: node.runIf }),
      ...(state
        ? {
            status: state.status,
            ...(state.cached ? { cached: true } : {}),
            ...(state.signal ? { signal: state.signal.name } : {}),
            ...(state.startedAt ? { startedAt: state.startedAt } : {}),
            ...(state.endedAt ? { endedAt: state.endedAt } : {}),
          }
        : {}),
    };
  });
}
