/**
 * The compiler's cost: parse + validate + compile (with digest) of 1,000-task manifests, timed in
 * process. Two shapes: a layered DAG (20 layers of 50, each task needing two tasks of the layer
 * before and reading one's output through CEL) and a 1,000-step chain (the deepest ancestry, the
 * worst case for the "only upstream outputs" check).
 */
import { builtinCatalog } from '../src/tasks/index.js';
import { compileWorkflow } from '../src/compiler/index.js';
import { parseManifest } from '../src/manifest/index.js';
import { BENCH_TASK } from './shapes.js';
import { summarize, type Summary } from './stats.js';

/** Result for one manifest. */
export interface CompilerResult {
  manifest: string;
  tasks: number;
  yamlBytes: number;
  /** Parse + validate + compile, ms per iteration. */
  summary: Summary;
  samples: number[];
}

function header(name: string): string[] {
  return [
    'apiVersion: maestro/v1',
    'kind: Workflow',
    'metadata:',
    `  name: ${name}`,
    '  version: 1.0.0',
    'spec:',
    '  policy: { purpose: benchmark, authority: maestro-bench, license: internal }',
    '  tasks:',
  ];
}

function task(id: string, needs: string[], rows: string): string[] {
  return [
    `    - id: ${id}`,
    `      uses: ${BENCH_TASK}`,
    ...(needs.length > 0 ? [`      needs: [${needs.join(', ')}]`] : []),
    `      with: { rows: ${rows}, expression: "$ + 1" }`,
  ];
}

/** `layers` × `width` tasks; each task after the first layer needs two of the previous layer. */
export function layeredManifest(layers = 20, width = 50): string {
  const id = (layer: number, column: number): string => `t${layer}_${column}`;
  const lines = header('bench-compile-layered');
  for (let layer = 0; layer < layers; layer += 1) {
    for (let column = 0; column < width; column += 1) {
      if (layer === 0) {
        lines.push(...task(id(layer, column), [], `[${column}]`));
      } else {
        const left = id(layer - 1, column);
        const right = id(layer - 1, (column + 1) % width);
        lines.push(...task(id(layer, column), [left, right], `"\${tasks.${left}.outputs.rows}"`));
      }
    }
  }
  return lines.join('\n');
}

/** `length` tasks, each needing and reading the one before. */
export function chainManifest(length = 1000): string {
  const lines = header('bench-compile-chain');
  for (let i = 0; i < length; i += 1) {
    lines.push(...task(`s${i}`, i === 0 ? [] : [`s${i - 1}`], i === 0 ? '[1]' : `"\${tasks.s${i - 1}.outputs.rows}"`));
  }
  return lines.join('\n');
}

/** Times parse + compile of `yaml`: `warmup` discarded runs, then `iterations` measured ones. */
export function benchCompile(name: string, yaml: string, iterations: number, warmup: number): CompilerResult {
  let tasks = 0;
  const samples: number[] = [];
  for (let i = 0; i < warmup + iterations; i += 1) {
    const t0 = performance.now();
    const manifest = parseManifest(yaml, `${name}.yaml`, { catalog: builtinCatalog });
    if (manifest.kind !== 'Workflow') throw new Error(`${name} is not a Workflow manifest`);
    const { ir } = compileWorkflow(manifest, { catalog: builtinCatalog });
    const elapsed = performance.now() - t0;
    tasks = ir.tasks.length;
    if (i >= warmup) samples.push(elapsed);
  }
  return { manifest: name, tasks, yamlBytes: Buffer.byteLength(yaml), summary: summarize(samples), samples };
}
