/**
 * The DAG view: a workflow's tasks laid out left to right, coloured by status, with the critical
 * path highlighted; zoom, pan, fit, and a click or Enter on a task opens it.
 */
import '@xyflow/react/dist/style.css';
import './dag-view.css';
import { Background, Controls, MiniMap, Panel, ReactFlow, type NodeMouseHandler } from '@xyflow/react';
import type { ElkNode } from 'elkjs/lib/elk-api.js';
import { useEffect, useMemo, useState, type CSSProperties, type KeyboardEvent } from 'react';
import { criticalPath } from './critical-path.js';
import { keptLayout, layoutInWorker } from './elk-worker.js';
import { FirstView } from './first-view.js';
import {
  CRITICAL_COLOUR,
  EDGE_COLOUR,
  fromElkLayout,
  LARGE_DAG_TASKS,
  provisionalLayout,
  structureKey,
  toElkGraph,
  type TaskNode,
} from './layout.js';
import { DagLegend } from './legend.js';
import { STATUS_LOOKS } from './status.js';
import { TaskNodeComponent } from './task-node.js';
import type { DagTask } from './types.js';

/** Props of {@link DagView}. */
export interface DagViewProps {
  /** The workflow's tasks with their needs, and their state in the run when there is one. */
  tasks: DagTask[];
  /** Called with a task's id when the user clicks it or presses Enter or Space on it. @default none */
  onSelectTask?: (id: string) => void;
  /** Height of the graph's canvas in CSS pixels. @default 600 */
  height?: number;
}

const NODE_TYPES = { task: TaskNodeComponent };

/** Below this zoom a task's text is unreadable: the first view zooms out no further. */
const FIRST_VIEW_MIN_ZOOM = 0.4;
/** How far the user may zoom out: far enough to see a 20×50 DAG whole. */
const MIN_ZOOM = 0.05;

/** The minimap's colour for a node: its status's colour. */
const minimapColour = (node: TaskNode): string => STATUS_LOOKS[node.data.status].colour;

/** ELK's result for one shape of the DAG, or why it failed. */
type Layout = { key: string; graph: ElkNode } | { key: string; error: string };

/**
 * The DAG view. ELK lays the DAG out in a Web Worker when its shape (tasks and needs) changes,
 * not when statuses do; until it is done, a DAG of `LARGE_DAG_TASKS` or more is drawn in its
 * final columns with rows in task order. @xyflow/react draws only the nodes in view.
 *
 * DOM contract: the container has `data-testid="dag-view"` and `data-layout="done"` once the
 * current shape is laid out (`"pending"` before); each task's node element carries
 * `data-task-id`, `data-status` and, on the critical path, `data-critical="true"`.
 *
 * @example
 * <DagView tasks={tasks} onSelectTask={(id) => navigate(`tasks/${id}`)} height={480} />
 */
export function DagView({ tasks, onSelectTask, height = 600 }: DagViewProps) {
  const key = useMemo(() => structureKey(tasks), [tasks]);
  // Keyed on the shape alone, so that a status update does not lay the DAG out again. A large
  // DAG is drawn at once in its final columns (the provisional layout) while ELK orders the rows.
  const { graph, provisional } = useMemo(
    () => ({ graph: toElkGraph(tasks), provisional: tasks.length >= LARGE_DAG_TASKS ? provisionalLayout(tasks) : undefined }),
    [key],
  );
  const [layout, setLayout] = useState<Layout>();
  useEffect(() => {
    let live = true;
    layoutInWorker(key, graph).then(
      (laidOut) => live && setLayout({ key, graph: laidOut }),
      (error: unknown) => live && setLayout({ key, error: error instanceof Error ? error.message : String(error) }),
    );
    return () => {
      live = false;
    };
  }, [graph, key]);

  // A layout kept from an earlier view of the same DAG is shown at once, without a provisional one.
  const kept = keptLayout(key);
  const current: Layout | undefined = layout?.key === key ? layout : kept && { key, graph: kept };
  const final = current !== undefined;
  const stale = layout && 'graph' in layout ? layout.graph : undefined;
  const shown = current && 'graph' in current ? current.graph : (provisional ?? stale);

  const critical = useMemo(() => criticalPath(tasks), [tasks]);
  const flow = useMemo(() => (shown ? fromElkLayout(shown, tasks, critical) : undefined), [shown, tasks, critical]);

  const onNodeClick: NodeMouseHandler = (_, node) => onSelectTask?.(node.id);
  const onKeyDown = (event: KeyboardEvent<HTMLDivElement>): void => {
    if (event.key !== 'Enter' && event.key !== ' ') return;
    const id = event.target instanceof HTMLElement ? event.target.dataset.taskId : undefined;
    if (id === undefined || !onSelectTask) return;
    event.preventDefault();
    onSelectTask(id);
  };

  const colours = { '--dag-critical': CRITICAL_COLOUR, '--dag-edge': EDGE_COLOUR } as CSSProperties;
  return (
    <section className="dag-view" data-testid="dag-view" data-layout={final ? 'done' : 'pending'} aria-label="Task graph" style={colours}>
      <DagLegend critical={critical} />
      <div className="dag-view__canvas" style={{ height }}>
        {current && 'error' in current ? (
          <p className="dag-view__message dag-view__message--error" role="alert">
            The graph could not be laid out: {current.error}
          </p>
        ) : flow ? (
          <ReactFlow<TaskNode>
            // A new layout gets a new first view: FirstView sets it on mount.
            key={current ? key : shown === provisional ? `provisional:${key}` : layout?.key}
            nodes={flow.nodes}
            edges={flow.edges}
            nodeTypes={NODE_TYPES}
            onNodeClick={onNodeClick}
            onKeyDown={onKeyDown}
            onlyRenderVisibleElements
            minZoom={MIN_ZOOM}
            maxZoom={2}
            nodesDraggable={false}
            nodesConnectable={false}
            elementsSelectable={false}
            edgesFocusable={false}
            deleteKeyCode={null}
          >
            {final ? null : (
              <Panel position="top-center" className="dag-view__notice" role="status">
                Arranging {tasks.length} tasks to reduce crossings…
              </Panel>
            )}
            <FirstView minZoom={FIRST_VIEW_MIN_ZOOM} anchor={critical[0]} />
            <Background />
            <Controls showInteractive={false} />
            {/* Drawn once the final layout is there: an overview of the provisional one would only
                delay the first paint of a large DAG and then be drawn again. */}
            {final ? <MiniMap<TaskNode> nodeColor={minimapColour} pannable zoomable ariaLabel="Overview of the task graph" /> : null}
          </ReactFlow>
        ) : (
          <p className="dag-view__message" role="status">
            Laying out {tasks.length} {tasks.length === 1 ? 'task' : 'tasks'}…
          </p>
        )}
      </div>
    </section>
  );
}
