import ELK from 'elkjs/lib/elk.bundled.js';
import { bench, describe } from 'vitest';
import { criticalPath } from './critical-path.js';
import { fromElkLayout, toElkGraph } from './layout.js';
import { chainDag, layeredDag } from './test-graphs.js';

// `npx vitest bench --run console/src/dag/layout.bench.ts`: ELK in Node, as the browser's worker
// runs it, and the work a status update costs (critical path and adapter, no layout), on the
// 1,000-task shapes the view must stay responsive with.
const elk = new ELK();

describe.each([
  ['20×50 layered DAG', layeredDag(20, 50)],
  ['1,000-task chain', chainDag(1000)],
])('%s', (_, tasks) => {
  // Where the nodes sit does not change the adapter's work.
  const placed = { id: 'dag', children: tasks.map((task, index) => ({ id: task.id, x: index, y: 0 })) };

  bench('ELK layout', async () => {
    await elk.layout(toElkGraph(tasks));
  }, { iterations: 5, warmupIterations: 1 });

  bench('status update: criticalPath + fromElkLayout', () => {
    fromElkLayout(placed, tasks, criticalPath(tasks));
  }, { iterations: 20, warmupIterations: 2 });
});
