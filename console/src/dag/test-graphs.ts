/**
 * Large DAGs for the layout tests and benchmarks: the shapes the view must stay responsive with.
 */
import type { DagTask } from './types.js';

/**
 * `layers` × `width` tasks; each task after the first layer needs the tasks in the same row and
 * the next row (wrapping) of the layer before: about two edges per task.
 */
export function layeredDag(layers: number, width: number): DagTask[] {
  const id = (layer: number, row: number): string => `l${layer}r${row}`;
  return Array.from({ length: layers * width }, (_, index) => {
    const layer = Math.floor(index / width);
    const row = index % width;
    return { id: id(layer, row), needs: layer === 0 ? [] : [id(layer - 1, row), id(layer - 1, (row + 1) % width)] };
  });
}

/** `length` tasks, each needing the one before. */
export function chainDag(length: number): DagTask[] {
  return Array.from({ length }, (_, index) => ({ id: `t${index}`, needs: index === 0 ? [] : [`t${index - 1}`] }));
}
