/**
 * The compiler: a validated manifest becomes the IR, in a deterministic topological order, with
 * a digest of its canonical JSON.
 */
export { compileWorkflow, topologicalOrder, DEFAULTS, type CompileOptions } from './compile.js';
