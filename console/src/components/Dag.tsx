/**
 * The DAG view, loaded on first use: @xyflow/react and the layout code stay out of the bundle the
 * runs list needs.
 */
import { lazy, Suspense } from 'react';
import type { DagViewProps } from '../dag/index.js';

const DagView = lazy(async () => ({ default: (await import('../dag/index.js')).DagView }));

/** {@link DagView} with a placeholder while its code loads. */
export function Dag(props: DagViewProps) {
  return (
    <Suspense fallback={<p role="status">Loading the graph…</p>}>
      <DagView {...props} />
    </Suspense>
  );
}
