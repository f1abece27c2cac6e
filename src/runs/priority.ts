/**
 * Run priority → Temporal task-queue priority. `priority` 1 (highest) to 5 (lowest) is Temporal's
 * `priorityKey` as is; Temporal's default is 3.
 *
 * Temporal dispatches backlogged tasks by priority only with its newer matcher enabled; with a
 * single task-queue partition the order is exact (with several it holds per partition). The dev
 * server `npm start` runs gets these settings; a production cluster needs them in its dynamic config.
 */

/** Dynamic config that makes a Temporal server honour task priorities exactly. */
export const PRIORITY_DYNAMIC_CONFIG: Readonly<Record<string, unknown>> = Object.freeze({
  'matching.useNewMatcher': true,
  'matching.numTaskqueueReadPartitions': 1,
  'matching.numTaskqueueWritePartitions': 1,
});
