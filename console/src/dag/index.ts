/**
 * The console's DAG view: a workflow's tasks laid out left to right with their statuses and the
 * run's critical path, and the pure functions behind it.
 */
export { DagView, type DagViewProps } from './dag-view.js';
export { criticalPath, type CriticalPathOptions } from './critical-path.js';
export {
  edgeId,
  fromElkLayout,
  structureKey,
  toElkGraph,
  type DagFlow,
  type TaskEdge,
  type TaskNode,
  type TaskNodeData,
} from './layout.js';
export { displayStatus, DISPLAY_STATUSES, STATUS_LOOKS, type DisplayStatus, type StatusLook } from './status.js';
export type { DagTask, TaskStatus } from './types.js';
