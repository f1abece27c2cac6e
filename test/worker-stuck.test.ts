/**
 * The worker's guard of its workflow sandbox (src/worker/workflow-vm.ts): the sandbox is entered
 * without a watchdog per call, so a workflow thread stuck in a loop is told by its unanswered
 * activation; the worker names the run and exits for its supervisor to start it again.
 */
import { spawn } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { once } from 'node:events';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { startEngine, type Engine } from './helpers/engine.js';

let engine: Engine;
beforeAll(async () => {
  engine = await startEngine({ worker: false });
});
afterAll(() => engine?.close());

it('exits 70 naming the run when its activation leaves the workflow thread answering nothing, instead of holding its workflow tasks', async () => {
  const taskQueue = `stuck-${randomUUID()}`;
  const child = spawn(process.execPath, ['--import', 'tsx', 'test/fixtures/stuck-worker.ts', engine.address, taskQueue], { stdio: ['ignore', 'pipe', 'pipe'] });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (chunk: Buffer) => void (stdout += chunk.toString()));
  child.stderr.on('data', (chunk: Buffer) => void (stderr += chunk.toString()));
  const exited = once(child, 'exit') as Promise<[number | null, NodeJS.Signals | null]>;
  try {
    await expect.poll(() => stdout, { timeout: 60_000, interval: 100 }).toContain('polling');
    const runId = `run-${randomUUID()}`;
    await engine.client.workflow.start('spin', { workflowId: runId, taskQueue });
    const [code] = await exited;
    expect(code).toBe(70);
    expect(stderr).toMatch(new RegExp(`the workflow thread has answered no activation for \\d+ ms, the oldest waiting of run ${runId}; exiting`));
  } finally {
    child.kill('SIGKILL');
  }
}, 120_000);
