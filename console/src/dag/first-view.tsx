/**
 * The first view of a freshly drawn DAG: all of it when it fits at a readable zoom, else the
 * start of its critical path at that zoom.
 */
import { useReactFlow, useStore } from '@xyflow/react';
import { useEffect, useRef } from 'react';
import type { TaskNode } from './layout.js';

/** Space around the DAG when it fits, as a fraction of the canvas. */
const PADDING = 0.1;
/** Space, in pixels, between the canvas's left edge and the anchor task when the DAG does not fit. */
const MARGIN = 24;

/** Props of {@link FirstView}. */
export interface FirstViewProps {
  /** The smallest zoom at which the tasks' text stays readable. */
  minZoom: number;
  /** The task shown first when the DAG does not fit: the first on the critical path. @default the first node */
  anchor?: string;
}

/**
 * Sets the viewport once the canvas has a size: the whole DAG (zoomed in no further than 1) when
 * it fits at `minZoom` or more; otherwise `minZoom` with the `anchor` task at the left edge, in
 * the middle — with a thousand tasks in view every pan frame repaints them all and their text is
 * unreadable anyway; the minimap gives the overview instead. Renders nothing; a child of
 * `ReactFlow`.
 */
export function FirstView({ minZoom, anchor }: FirstViewProps) {
  const flow = useReactFlow<TaskNode>();
  const width = useStore((state) => state.width);
  const height = useStore((state) => state.height);
  const done = useRef(false);
  useEffect(() => {
    const nodes = flow.getNodes();
    const start = nodes.find((node) => node.id === anchor) ?? nodes[0];
    if (done.current || width === 0 || height === 0 || !start) return;
    done.current = true;
    const bounds = flow.getNodesBounds(nodes);
    const fitZoom = Math.min(width / bounds.width, height / bounds.height) / (1 + 2 * PADDING);
    if (fitZoom >= minZoom) {
      void flow.fitView({ padding: PADDING, maxZoom: 1 });
      return;
    }
    const middle = start.position.y + (start.height ?? 0) / 2;
    void flow.setViewport({ x: MARGIN - start.position.x * minZoom, y: height / 2 - middle * minZoom, zoom: minZoom });
  }, [flow, width, height, minZoom, anchor]);
  return null;
}
