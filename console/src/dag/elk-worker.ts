/**
 * ELK in a Web Worker: laying out a large DAG takes long enough to freeze the page if it ran on
 * the main thread, so the browser runs it in ELK's worker bundle, one worker for the page. Recent
 * layouts are kept, so that the runs of one workflow, which share its DAG, are laid out once.
 */
import ElkConstructor, { type ELK, type ElkNode } from 'elkjs/lib/elk-api.js';
import elkWorkerUrl from 'elkjs/lib/elk-worker.min.js?url';

// Started on the first layout, not when the view's module loads: pages load the module while they
// fetch their data, and ELK's 1.6 MB bundle compiling in the worker then took one of a 2-core
// machine's cores from the page drawing the DAG (about 0.3 s of a 1,000-task DAG's first drawing).
let engine: ELK | undefined;

/** How many laid-out DAGs are kept, the least recently used going first. */
const KEPT_LAYOUTS = 16;

/** A layout asked for, and its result once ELK is done. */
interface Kept {
  layout: Promise<ElkNode>;
  result?: ElkNode;
}
const kept = new Map<string, Kept>();

/** The kept layout of the DAG whose `structureKey` is `key`, when ELK is done with it. */
export function keptLayout(key: string): ElkNode | undefined {
  return kept.get(key)?.result;
}

/**
 * Lays out an ELK graph (see `toElkGraph`) in the page's ELK worker, or returns the layout of an
 * earlier graph with the same `key` (see `structureKey`). A failed layout is not kept.
 */
export function layoutInWorker(key: string, graph: ElkNode): Promise<ElkNode> {
  let entry = kept.get(key);
  if (entry) kept.delete(key);
  else {
    engine ??= new ElkConstructor({ workerUrl: elkWorkerUrl });
    const layout = engine.layout(graph);
    const added: Kept = { layout };
    layout.then(
      (result) => (added.result = result),
      () => kept.get(key) === added && kept.delete(key),
    );
    entry = added;
  }
  kept.set(key, entry);
  for (const oldest of kept.keys()) {
    if (kept.size <= KEPT_LAYOUTS) break;
    kept.delete(oldest);
  }
  return entry.layout;
}
