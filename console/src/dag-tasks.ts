/**
 * The DAG view's input from a workflow's compiled tasks and, for a run, their states.
 */
import type { TaskNode, TaskState, WorkflowIR } from './api/index.js';
import type { DagTask } from './dag/index.js';

/**
 * One {@link DagTask} per IR task, in IR order, with its run state when `states` has it; then each
 * compensation (`<id>.compensate`, drawn after its task) and the `finally` tasks.
 */
export function dagTasks(ir: Pick<WorkflowIR, 'tasks' | 'finally'>, states: readonly TaskState[] = []): DagTask[] {
  const byId = new Map(states.map((state) => [state.id, state]));
  const compensations = ir.tasks.flatMap((task): TaskNode[] => (task.compensate ? [{ ...task.compensate, needs: [task.id] }] : []));
  const nodes = [...ir.tasks, ...compensations, ...(ir.finally ?? [])];
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
