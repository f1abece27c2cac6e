/**
 * Restart: the API and the worker are both restarted in the middle of a run. Nothing is lost (the
 * run lives in Temporal, the registry in the store), the run finishes, tasks that had completed
 * are not executed again, and the run list and the run detail agree before and after.
 */
import { afterAll, beforeAll, expect, it } from 'vitest';
import { manifest, startHarness, type Harness } from './harness.js';

let h: Harness;
beforeAll(async () => {
  h = await startHarness();
});
afterAll(() => h.close());

async function listed(runId: string): Promise<{ runId: string; status: string; workflowRef: string }> {
  for (let tries = 0; ; tries += 1) {
    const items = (await h.call('GET', `/runs?namespace=${h.namespace}`, { token: 'viewer' })).body.items as { runId: string; status: string; workflowRef: string }[];
    const found = items.find((run) => run.runId === runId);
    if (found) return found;
    if (tries > 50) throw new Error(`run ${runId} is not listed`);
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}

/** Waits until the list (Temporal visibility, eventually consistent) shows the status the detail shows. */
async function agree(runId: string): Promise<string> {
  for (let tries = 0; ; tries += 1) {
    const detail = (await h.call('GET', `/runs/${runId}`, { token: 'viewer' })).body as { status: string; workflowRef: string };
    const row = await listed(runId);
    if (row.status === detail.status) {
      expect(row.workflowRef).toBe(detail.workflowRef);
      return detail.status;
    }
    if (tries > 50) throw new Error(`list says ${row.status}, detail says ${detail.status}`);
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}

it('survives an API and worker restart mid-run: the run finishes, completed tasks do not run again, list and detail agree', async () => {
  const { name } = await h.register(
    manifest(
      [
        '    - { id: first, uses: tasks/transform.map@0.1.0, with: { rows: [1], expression: "$ * 10" } }',
        '    - { id: pause, uses: tasks/wait.sleep@0.1.0, needs: [first], with: { duration: 2s } }',
        '    - { id: last, uses: tasks/transform.map@0.1.0, needs: [pause], with: { rows: "${tasks.first.outputs.rows}", expression: "$ + 1" } }',
      ].join('\n'),
      { name: 'restartable' },
    ),
  );
  const started = await h.call('POST', '/runs', { token: 'operator', json: { workflowRef: `${name}@1.0.0`, namespace: h.namespace } });
  const runId = started.body.runId as string;
  const before = await h.waitRun(runId, (r) => r.tasks[1].status === 'RUNNING');
  expect(await agree(runId)).toBe('RUNNING');

  await h.stopWorker();
  await h.restartApi();
  await h.startWorker();

  const after = await h.waitRun(runId, (r) => r.status === 'SUCCEEDED', 30_000);
  expect(after.tasks[0]).toEqual(before.tasks[0]);
  expect(after.tasks.map((t: { attempts: number }) => t.attempts)).toEqual([1, 1, 1]);
  expect(after.tasks[2].outputs).toEqual({ rows: [11] });
  expect(await agree(runId)).toBe('SUCCEEDED');
  expect((await h.call('GET', `/workflows/${name}/versions/1.0.0?namespace=${h.namespace}`)).status).toBe(200);
});
