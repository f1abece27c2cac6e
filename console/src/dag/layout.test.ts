import ELK, { type ElkNode } from 'elkjs/lib/elk.bundled.js';
import { describe, expect, it } from 'vitest';
import { criticalPath } from './critical-path.js';
import {
  edgeId,
  fromElkLayout,
  LARGE_DAG_OPTIONS,
  LARGE_DAG_TASKS,
  LAYOUT_OPTIONS,
  NODE_HEIGHT,
  NODE_WIDTH,
  provisionalLayout,
  structureKey,
  toElkGraph,
  type DagFlow,
} from './layout.js';
import { chainDag, layeredDag } from './test-graphs.js';
import type { DagTask } from './types.js';

const elk = new ELK();

const DIAMOND: DagTask[] = [
  { id: 'fetch', needs: [], status: 'SUCCEEDED' },
  { id: 'lint', needs: ['fetch'], status: 'SUCCEEDED', cached: true },
  { id: 'build', needs: ['fetch', 'ghost'], status: 'RUNNING' },
  { id: 'deploy', needs: ['lint', 'build'] },
];

async function laidOut(tasks: readonly DagTask[], critical: readonly string[] = []): Promise<DagFlow> {
  return fromElkLayout(await elk.layout(toElkGraph(tasks)), tasks, critical);
}

/** Attribute `name` of the DOM element xyflow renders for a node or an edge. */
function attribute(element: { domAttributes?: object }, name: string): unknown {
  return (element.domAttributes as Record<string, unknown> | undefined)?.[name];
}

describe('toElkGraph', () => {
  it('has a node per task and an edge per need, leaving out needs that name no task', () => {
    const graph = toElkGraph(DIAMOND);
    expect(graph.layoutOptions).toMatchObject({ 'elk.algorithm': 'layered', 'elk.direction': 'RIGHT' });
    expect(graph.children).toEqual(DIAMOND.map((task) => ({ id: task.id, width: NODE_WIDTH, height: NODE_HEIGHT })));
    expect(graph.edges?.map((edge) => [edge.sources, edge.targets])).toEqual([
      [['fetch'], ['lint']],
      [['fetch'], ['build']],
      [['lint'], ['deploy']],
      [['build'], ['deploy']],
    ]);
  });

  it('trades crossings for speed from LARGE_DAG_TASKS tasks on', () => {
    expect(toElkGraph(chainDag(LARGE_DAG_TASKS - 1)).layoutOptions).not.toMatchObject(LARGE_DAG_OPTIONS);
    expect(toElkGraph(chainDag(LARGE_DAG_TASKS)).layoutOptions).toMatchObject({ ...LAYOUT_OPTIONS, ...LARGE_DAG_OPTIONS });
  });

  it('keeps the first of duplicate ids and needs', () => {
    const graph = toElkGraph([
      { id: 'a', needs: [] },
      { id: 'b', needs: ['a', 'a'] },
      { id: 'a', needs: ['b'] },
    ]);
    expect(graph.children?.map((child) => child.id)).toEqual(['a', 'b']);
    expect(graph.edges?.map((edge) => edge.id)).toEqual([edgeId('a', 'b')]);
  });
});

describe('structureKey', () => {
  it('changes with the shape of the DAG, not with statuses or timings', () => {
    const running = structureKey(DIAMOND);
    const finished = structureKey(DIAMOND.map((task) => ({ ...task, status: 'SUCCEEDED' as const, endedAt: '2025-01-01T00:00:00Z' })));
    expect(finished).toBe(running);
    expect(structureKey([...DIAMOND, { id: 'notify', needs: ['deploy'] }])).not.toBe(running);
    expect(structureKey(DIAMOND.map((task) => (task.id === 'deploy' ? { ...task, needs: ['build'] } : task)))).not.toBe(running);
  });
});

describe('provisionalLayout', () => {
  /** The task ids of each column, left to right. */
  function columns(layout: ElkNode): string[][] {
    const byX = new Map<number, string[]>();
    for (const child of layout.children ?? []) byX.set(child.x ?? 0, [...(byX.get(child.x ?? 0) ?? []), child.id]);
    return [...byX.entries()].sort(([a], [b]) => a - b).map(([, ids]) => ids.sort());
  }

  it.each([
    ['a diamond', DIAMOND],
    ['a 20×50 layered DAG', layeredDag(20, 50)],
  ])('puts the tasks of %s in the columns ELK puts them in', async (_, tasks) => {
    expect(columns(provisionalLayout(tasks))).toEqual(columns(await elk.layout(toElkGraph(tasks))));
  });

  it('stacks each column in the order of the tasks, without overlap', () => {
    const layout = provisionalLayout([
      { id: 'a', needs: [] },
      { id: 'c', needs: ['a'] },
      { id: 'b', needs: ['a'] },
    ]);
    expect(layout.children?.map(({ id, x, y }) => [id, x, y])).toEqual([
      ['a', 0, 0],
      ['c', NODE_WIDTH + 64, 0],
      ['b', NODE_WIDTH + 64, NODE_HEIGHT + 24],
    ]);
  });
});

describe('fromElkLayout', () => {
  it('places every task where ELK put it, left to right along the needs', async () => {
    const { nodes, edges } = await laidOut(DIAMOND);
    const x = new Map(nodes.map((node) => [node.id, node.position.x]));
    expect(nodes.map((node) => node.id).sort()).toEqual(['build', 'deploy', 'fetch', 'lint']);
    for (const edge of edges) expect(x.get(edge.target)).toBeGreaterThan(x.get(edge.source) ?? Infinity);
  });

  it('gives each node its size and the handles its edges end at, so xyflow draws it unmeasured', async () => {
    const { nodes } = await laidOut(DIAMOND);
    for (const node of nodes) {
      expect([node.width, node.height]).toEqual([NODE_WIDTH, NODE_HEIGHT]);
      const centres = node.handles?.map(({ type, position, x, y, width = 0, height = 0 }) => [type, position, x + width / 2, y + height / 2]);
      expect(centres).toEqual([
        ['target', 'left', 0, NODE_HEIGHT / 2],
        ['source', 'right', NODE_WIDTH, NODE_HEIGHT / 2],
      ]);
    }
  });

  it('puts each task in the column after its deepest need', async () => {
    const tasks: DagTask[] = [
      { id: 'fetch', needs: [] },
      { id: 'lint', needs: ['fetch'] },
      { id: 'build', needs: ['fetch'] },
      { id: 'approve', needs: ['build'] },
      { id: 'deploy', needs: ['lint', 'approve'] },
    ];
    const { nodes } = await laidOut(tasks);
    const x = (id: string): number => nodes.find((node) => node.id === id)?.position.x ?? NaN;
    expect(x('lint')).toBe(x('build'));
    expect(x('fetch')).toBeLessThan(x('build'));
    expect(x('build')).toBeLessThan(x('approve'));
    expect(x('approve')).toBeLessThan(x('deploy'));
  });

  it('orders the nodes for reading: by column, then top to bottom', async () => {
    const { nodes } = await laidOut(DIAMOND);
    const order = nodes.map((node) => [node.position.x, node.position.y] as const);
    const sorted = [...order].sort(([ax, ay], [bx, by]) => ax - bx || ay - by);
    expect(order).toEqual(sorted);
    expect(nodes[0]?.id).toBe('fetch');
    expect(nodes.at(-1)?.id).toBe('deploy');
  });

  it('carries the DOM contract: task id, the API status (PENDING when none) and the critical flag', async () => {
    const { nodes } = await laidOut(DIAMOND, ['fetch', 'build', 'deploy']);
    const byId = new Map(nodes.map((node) => [node.id, node]));
    expect(nodes.map((node) => [node.id, attribute(node, 'data-task-id'), attribute(node, 'data-status'), attribute(node, 'data-critical')]))
      .toEqual(expect.arrayContaining([
        ['fetch', 'fetch', 'SUCCEEDED', 'true'],
        ['lint', 'lint', 'SUCCEEDED', undefined],
        ['build', 'build', 'RUNNING', 'true'],
        ['deploy', 'deploy', 'PENDING', 'true'],
      ]));
    expect(byId.get('lint')?.data).toMatchObject({ status: 'CACHED', critical: false });
    expect(byId.get('build')?.ariaLabel).toBe('build critical: Running');
    expect(byId.get('lint')?.ariaLabel).toBe('lint: Cached');
  });

  it('marks exactly the edges between consecutive critical tasks as critical', async () => {
    const { edges } = await laidOut(DIAMOND, ['fetch', 'build', 'deploy']);
    const critical = edges.filter((edge) => edge.data?.critical).map((edge) => edge.id);
    expect(critical.sort()).toEqual([edgeId('build', 'deploy'), edgeId('fetch', 'build')]);
    for (const edge of edges) expect(attribute(edge, 'data-critical')).toBe(edge.data?.critical ? 'true' : undefined);
    expect(edges.map((edge) => edge.id)).not.toContain(edgeId('ghost', 'build'));
  });

  it('shows new statuses on the old layout without moving a node', async () => {
    const layout = await elk.layout(toElkGraph(DIAMOND));
    const before = fromElkLayout(layout, DIAMOND, []);
    const later = DIAMOND.map((task) => ({ ...task, status: 'FAILED' as const }));
    const after = fromElkLayout(layout, later, ['fetch', 'lint']);
    expect(after.nodes.map((node) => [node.id, node.position])).toEqual(before.nodes.map((node) => [node.id, node.position]));
    expect(after.nodes.map((node) => attribute(node, 'data-status'))).toEqual(['FAILED', 'FAILED', 'FAILED', 'FAILED']);
  });

  it('leaves out tasks the layout does not have, with their edges', async () => {
    const layout = await elk.layout(toElkGraph(DIAMOND));
    const { nodes, edges } = fromElkLayout(layout, [...DIAMOND, { id: 'late', needs: ['deploy'] }], []);
    expect(nodes.map((node) => node.id)).not.toContain('late');
    expect(edges.map((edge) => edge.target)).not.toContain('late');
    const partial = fromElkLayout({ ...layout, children: layout.children?.filter((child) => child.id !== 'fetch') }, DIAMOND, []);
    expect(partial.edges.map((edge) => edge.source)).not.toContain('fetch');
  });

  it.each([
    ['a 20×50 layered DAG', layeredDag(20, 50), 20],
    ['a 1,000-task chain', chainDag(1000), 1000],
  ])('lays out %s left to right with its critical path', async (_, tasks, pathLength) => {
    const path = criticalPath(tasks);
    expect(path).toHaveLength(pathLength);
    const { nodes, edges } = await laidOut(tasks, path);
    expect(nodes).toHaveLength(1000);
    const x = new Map(nodes.map((node) => [node.id, node.position.x]));
    for (const edge of edges) expect(x.get(edge.target)).toBeGreaterThan(x.get(edge.source) ?? Infinity);
    const critical = nodes.filter((node) => node.data.critical).map((node) => node.id);
    expect(critical.sort()).toEqual([...path].sort());
  });
});
