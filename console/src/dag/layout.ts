/**
 * The layout adapter: a DAG to an ELK graph (laid out left to right by ELK's layered algorithm),
 * and ELK's result to @xyflow/react nodes and edges with statuses and the critical path.
 */
import { MarkerType, Position, type Edge, type Node, type NodeHandle } from '@xyflow/react';
import type { ElkNode, LayoutOptions } from 'elkjs/lib/elk-api.js';
import { durationMs, formatDuration } from '../format.js';
import { depths, topologicalOrder } from './graph.js';
import { displayStatus, STATUS_LOOKS, taskStatus, type DisplayStatus } from './status.js';
import type { DagTask } from './types.js';

/** Width of a task node, in flow units. */
export const NODE_WIDTH = 200;
/** Height of a task node, in flow units. */
export const NODE_HEIGHT = 56;
/** Side of a node's handle box, in flow units (@xyflow/react's default style: 6 px, border included). */
const HANDLE_SIZE = 6;

/**
 * Where a task node's edges end: its handles (task-node.tsx) as @xyflow/react measures them,
 * centred on the left and right borders. Given with each node, so that xyflow draws the nodes in
 * view and their edges at once; without them it first renders every node of the DAG to measure its
 * handles, then removes those out of view — seconds for a thousand tasks.
 */
const TASK_HANDLES: readonly NodeHandle[] = [
  { type: 'target', position: Position.Left, x: -HANDLE_SIZE / 2, y: (NODE_HEIGHT - HANDLE_SIZE) / 2, width: HANDLE_SIZE, height: HANDLE_SIZE },
  { type: 'source', position: Position.Right, x: NODE_WIDTH - HANDLE_SIZE / 2, y: (NODE_HEIGHT - HANDLE_SIZE) / 2, width: HANDLE_SIZE, height: HANDLE_SIZE },
];

/** Space between columns, in flow units. */
const COLUMN_GAP = 64;
/** Space between the tasks of a column, in flow units. */
const ROW_GAP = 24;

/**
 * ELK options: layered, left to right, with room between layers for the edges. Each task sits in
 * the column after its deepest need (longest path from the sources), so a column is a wave of
 * tasks that can run together, as the interpreter schedules them.
 */
export const LAYOUT_OPTIONS: Readonly<LayoutOptions> = {
  'elk.algorithm': 'layered',
  'elk.direction': 'RIGHT',
  'elk.layered.layering.strategy': 'LONGEST_PATH_SOURCE',
  'elk.spacing.nodeNode': String(ROW_GAP),
  'elk.layered.spacing.nodeNodeBetweenLayers': String(COLUMN_GAP),
  // xyflow draws its own edges, so ELK need not route them.
  'elk.edgeRouting': 'POLYLINE',
};

/** From this many tasks on, ELK trades some crossings for speed ({@link LARGE_DAG_OPTIONS}). */
export const LARGE_DAG_TASKS = 200;

/**
 * Added to {@link LAYOUT_OPTIONS} for DAGs of {@link LARGE_DAG_TASKS} or more: one crossing
 * minimisation pass and no greedy switching. Measured on a 20×50 layered DAG, this takes the
 * layout from about 3 s to under 1 s, at the cost of a few more crossings.
 */
export const LARGE_DAG_OPTIONS: Readonly<LayoutOptions> = {
  'elk.layered.thoroughness': '1',
  'elk.layered.crossingMinimization.greedySwitch.type': 'OFF',
};

/** What a task node draws. */
export type TaskNodeData = {
  task: DagTask;
  status: DisplayStatus;
  /** The task is on the critical path. */
  critical: boolean;
};

/** A task as an @xyflow/react node, of node type `task`. */
export type TaskNode = Node<TaskNodeData, 'task'>;

/** A need as an @xyflow/react edge, from the needed task to the task that needs it. */
export type TaskEdge = Edge<{ critical: boolean }>;

/** The nodes and edges @xyflow/react draws. */
export interface DagFlow {
  /** One node per task, in reading order (left to right, then top to bottom): the tab order. */
  nodes: TaskNode[];
  edges: TaskEdge[];
}

/** The id of the edge for "`target` needs `source`". */
export function edgeId(source: string, target: string): string {
  return `${source}->${target}`;
}

/** The tasks once each (the first wins), with their needs once each and only those naming a task. */
function distinctTasks(tasks: readonly DagTask[]): DagTask[] {
  const byId = new Map<string, DagTask>();
  for (const task of tasks) if (!byId.has(task.id)) byId.set(task.id, task);
  return [...byId.values()].map((task) => ({ ...task, needs: [...new Set(task.needs)].filter((need) => byId.has(need)) }));
}

/**
 * A string that changes exactly when the DAG's shape does (its tasks and their needs), not when
 * statuses or timings do: the view lays out again only when it changes.
 */
export function structureKey(tasks: readonly DagTask[]): string {
  return JSON.stringify(distinctTasks(tasks).map((task) => [task.id, task.needs]));
}

/**
 * The ELK graph of a DAG: a node of {@link NODE_WIDTH} × {@link NODE_HEIGHT} per task (the first of
 * duplicate ids) and an edge per need, with {@link LAYOUT_OPTIONS} (and {@link LARGE_DAG_OPTIONS} for
 * large DAGs). Needs naming no task are left out.
 */
export function toElkGraph(tasks: readonly DagTask[]): ElkNode {
  const distinct = distinctTasks(tasks);
  return {
    id: 'dag',
    layoutOptions: { ...LAYOUT_OPTIONS, ...(distinct.length >= LARGE_DAG_TASKS ? LARGE_DAG_OPTIONS : {}) },
    children: distinct.map((task) => ({ id: task.id, width: NODE_WIDTH, height: NODE_HEIGHT })),
    edges: distinct.flatMap((task) =>
      task.needs.map((need) => ({ id: edgeId(need, task.id), sources: [need], targets: [task.id] })),
    ),
  };
}

/**
 * A layout computed at once, without ELK, in the shape of ELK's result: each task in the column
 * after its deepest need (ELK's columns too, see {@link LAYOUT_OPTIONS}), stacked top to bottom in
 * the order given. The view draws it for a large DAG while ELK orders the rows to cut crossings.
 */
export function provisionalLayout(tasks: readonly DagTask[]): ElkNode {
  const order = topologicalOrder(tasks);
  const depth = depths(order);
  const filled: number[] = [];
  const children = [...order]
    .sort((a, b) => a.position - b.position)
    .map((vertex) => {
      const column = depth[vertex.index] ?? 0;
      const row = filled[column] ?? 0;
      filled[column] = row + 1;
      const x = column * (NODE_WIDTH + COLUMN_GAP);
      return { id: vertex.task.id, x, y: row * (NODE_HEIGHT + ROW_GAP), width: NODE_WIDTH, height: NODE_HEIGHT };
    });
  return { id: 'dag', children };
}

/** The colour of edges off the critical path. */
export const EDGE_COLOUR = '#64748b';
/** The critical path's colour, on nodes and edges: readable (4.5:1) on every status's tint. */
export const CRITICAL_COLOUR = '#9a3412';

/**
 * The @xyflow/react nodes and edges of a laid-out DAG. Nodes sit where ELK put them and carry
 * the DOM attributes `data-task-id`, `data-status` (the API's status; `PENDING` when none) and
 * `data-critical="true"` on the critical path; edges on the critical path carry
 * `data-critical="true"` too. Tasks ELK did not place (not in `layout`) are left out, with their
 * edges.
 *
 * @param layout ELK's result for {@link toElkGraph} of the same DAG (statuses may differ).
 * @param tasks the tasks, with the statuses to show.
 * @param critical the critical path, first task first (see `criticalPath`).
 */
export function fromElkLayout(layout: ElkNode, tasks: readonly DagTask[], critical: readonly string[]): DagFlow {
  const positions = new Map((layout.children ?? []).map((child) => [child.id, { x: child.x ?? 0, y: child.y ?? 0 }]));
  const onPath = new Set(critical);
  const criticalEdges = new Set(critical.slice(1).map((id, index) => edgeId(critical[index] as string, id)));
  const placed = distinctTasks(tasks).filter((task) => positions.has(task.id));
  const nodes = placed.map((task): TaskNode => {
    const status = displayStatus(task);
    const isCritical = onPath.has(task.id);
    return {
      id: task.id,
      type: 'task',
      position: positions.get(task.id) ?? { x: 0, y: 0 },
      width: NODE_WIDTH,
      height: NODE_HEIGHT,
      handles: [...TASK_HANDLES],
      draggable: false,
      connectable: false,
      data: { task, status, critical: isCritical },
      ariaRole: 'button',
      ariaLabel: nodeLabel(task, status, isCritical),
      domAttributes: {
        'data-task-id': task.id,
        'data-status': taskStatus(task),
        ...(isCritical ? { 'data-critical': 'true' } : {}),
      } as TaskNode['domAttributes'],
    };
  });
  nodes.sort((a, b) => a.position.x - b.position.x || a.position.y - b.position.y);
  const edges = placed.flatMap((task) =>
    task.needs.filter((need) => positions.has(need)).map((need): TaskEdge => {
      const id = edgeId(need, task.id);
      const isCritical = criticalEdges.has(id);
      const colour = isCritical ? CRITICAL_COLOUR : EDGE_COLOUR;
      return {
        id,
        source: need,
        target: task.id,
        data: { critical: isCritical },
        className: isCritical ? 'dag-edge dag-edge--critical' : 'dag-edge',
        zIndex: isCritical ? 1 : 0,
        focusable: false,
        markerEnd: { type: MarkerType.ArrowClosed, color: colour },
        ariaLabel: `${task.id} needs ${need}${isCritical ? ', on the critical path' : ''}`,
        ...(isCritical ? { domAttributes: { 'data-critical': 'true' } as TaskEdge['domAttributes'] } : {}),
      };
    }),
  );
  return { nodes, edges };
}

/** How a node shows its task's run condition. */
export const RUN_IF_LABELS = { failure: 'on failure', always: 'always' } as const;

/** How long an ended task took, as a node shows it (a running task's node is not redrawn every second). */
export function nodeDuration(task: DagTask): string | undefined {
  const took = task.endedAt ? durationMs(task.startedAt, task.endedAt) : undefined;
  return took === undefined ? undefined : formatDuration(took);
}

/**
 * A node's accessible name: its visible text in the order it is drawn (id, run condition,
 * "critical", status, duration), so that what a screen reader says and what a voice-control user
 * reads on screen agree (WCAG 2.5.3, axe's label-content-name-mismatch).
 *
 * @example
 * nodeLabel(build, 'RUNNING', true) // 'build critical: Running'
 */
export function nodeLabel(task: DagTask, status: DisplayStatus, critical: boolean): string {
  const took = nodeDuration(task);
  return `${task.id}${task.runIf ? ` ${RUN_IF_LABELS[task.runIf]}` : ''}${critical ? ' critical' : ''}: ${STATUS_LOOKS[status].label}${took === undefined ? '' : ` · ${took}`}`;
}
