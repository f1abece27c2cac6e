/**
 * A seeded set of real runs for the operations view's tests (API and console): a steady workflow
 * that succeeds three times, and one that fails (its task retried to exhaustion), then recovers on
 * a retried attempt — run one after the other through the harness's API and worker. The harness
 * must serve {@link FLAKY_TASK_MODULE} (`config.taskModules`).
 */
import { fileURLToPath } from 'node:url';
import { expect, vi } from 'vitest';
import type { RunRecord } from '../../src/store/index.js';
import { manifest, type Harness } from './harness.js';

/** Module of `tests/flaky@0.1.0`: fails retryably until a given attempt. */
export const FLAKY_TASK_MODULE = fileURLToPath(new URL('../fixtures/tasks/flaky.ts', import.meta.url));

/** The seeded runs' ledger rows, in the order they ran, by workflow. */
export interface OperationsRuns {
  steady: RunRecord[];
  /** The failed run, then the one that recovered. */
  recovering: [RunRecord, RunRecord];
  /** Workflow names. */
  names: { steady: string; recovering: string };
}

/** Starts a run as the operator and waits for its end; returns its ledger row once the worker completed it. */
async function run(h: Harness, workflowRef: string, params: Record<string, unknown>, status: string): Promise<RunRecord> {
  const started = await h.call('POST', '/runs', { json: { workflowRef, namespace: h.namespace, params }, token: 'operator' });
  expect(started.status).toBe(201);
  const runId = started.body.runId as string;
  await h.waitRun(runId, (r) => r.status === status);
  // The worker completes the row where it writes the receipt, just after the run's end.
  return vi.waitFor(
    async () => {
      const record = await h.store.getRunRecord(runId);
      if (record?.endedAt === undefined) throw new Error(`run ${runId} has no ended row yet`);
      return record;
    },
    { timeout: 10_000, interval: 100 },
  );
}

/** Registers the two workflows in the harness's namespace and runs: steady, fail, steady, recover, steady. */
export async function seedOperationsRuns(h: Harness): Promise<OperationsRuns> {
  const steady = await h.register(manifest('    - { id: work, uses: tests/flaky@0.1.0, with: { ms: 20 } }', { name: `steady-${h.namespace}` }));
  const recovering = await h.register(
    manifest('    - { id: deploy, uses: tests/flaky@0.1.0, with: { succeedOn: "${params.succeedOn}", ms: 10 }, retry: { maxAttempts: 2, initialInterval: 10ms } }', {
      name: `recovering-${h.namespace}`,
      parameters: '    - { name: succeedOn, type: integer }',
    }),
  );
  const steadyRef = `${steady.name}@${steady.version}`;
  const recoveringRef = `${recovering.name}@${recovering.version}`;
  const steadyRuns = [await run(h, steadyRef, {}, 'SUCCEEDED')];
  // Both attempts fail; later the first attempt fails and its retry succeeds.
  const failed = await run(h, recoveringRef, { succeedOn: 9 }, 'FAILED');
  steadyRuns.push(await run(h, steadyRef, {}, 'SUCCEEDED'));
  const recovered = await run(h, recoveringRef, { succeedOn: 2 }, 'SUCCEEDED');
  steadyRuns.push(await run(h, steadyRef, {}, 'SUCCEEDED'));
  return { steady: steadyRuns, recovering: [failed, recovered], names: { steady: steady.name, recovering: recovering.name } };
}
