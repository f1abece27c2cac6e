/**
 * The DAG view, loaded on first use: @xyflow/react and the layout code stay out of the bundle the
 * runs list needs. A page that shows a DAG calls {@link preloadDag} as it opens, so the code loads
 * while the page fetches its data instead of after it.
 */
import { useEffect, useState } from 'react';
import type { DagViewProps } from '../dag/index.js';
import { ProblemNotice } from './ProblemNotice.js';

type DagModule = typeof import('../dag/index.js');

let loading: Promise<DagModule> | undefined;
let loaded: DagModule | undefined;

/** The DAG view's module, loading it on the first call; a failed load is tried again on the next. */
function loadDag(): Promise<DagModule> {
  loading ??= import('../dag/index.js').then(
    (module) => (loaded = module),
    (error: unknown) => {
      loading = undefined;
      throw error;
    },
  );
  return loading;
}

/**
 * Starts loading the DAG view's code. A page calls it when it opens (e.g. in an effect), before
 * its data has arrived; a {@link Dag} rendered later then draws at once.
 */
export function preloadDag(): void {
  // The Dag that needs the code loads it again and shows the error; here it is only logged.
  loadDag().catch((error: unknown) => console.warn('maestro console: the DAG view could not be preloaded', error));
}

/** The DAG view's module once loaded, or why it failed to load; starts loading it on mount. */
function useDagModule(): { dag: DagModule | undefined; error: unknown } {
  const [dag, setDag] = useState(loaded);
  const [error, setError] = useState<unknown>();
  useEffect(() => {
    if (dag) return undefined;
    let live = true;
    loadDag().then(
      (module) => live && setDag(module),
      (failure: unknown) => live && setError(failure),
    );
    return () => {
      live = false;
    };
  }, [dag]);
  return { dag, error };
}

/**
 * Whether the DAG view's code has loaded (or failed to), loading it from the page's first render
 * on. A page holds back until then the work that would otherwise delay the DAG's first drawing,
 * such as a table of a thousand tasks.
 */
export function useDagSettled(): boolean {
  const { dag, error } = useDagModule();
  return dag !== undefined || error !== undefined;
}

/**
 * {@link DagView} once its code is loaded, with a placeholder until then. Not `React.lazy`: a
 * Suspense boundary reveals its content at the earliest 300 ms after showing its fallback, in a
 * time-sliced render, which delayed the first drawing of a large DAG.
 */
export function Dag(props: DagViewProps) {
  const { dag, error } = useDagModule();
  if (dag) return <dag.DagView {...props} />;
  if (error !== undefined) return <ProblemNotice error={error} />;
  return <p role="status">Loading the graph…</p>;
}
