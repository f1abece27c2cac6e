/**
 * Maestro's workflow threads (src/worker/workflow-thread.mjs) format a promise's stack only when
 * Temporal's stack-trace query asks for it: both queries answer exactly what the SDK's own threads
 * answer for the same waiting workflow, aggregates (`Promise.all`, `race`, `allSettled`) included.
 */
import { randomUUID } from 'node:crypto';
import { Client, Connection } from '@temporalio/client';
import { NativeConnection, Worker, bundleWorkflowCode, type WorkerOptions } from '@temporalio/worker';
import { afterAll, beforeAll, expect, inject, it } from 'vitest';
import { MaestroWorker } from '../src/worker/index.js';
import { releaseSignal } from './fixtures/waiting-workflow.js';

let client: Client;
let close: () => Promise<void>;
const queues = { maestro: `workflow-thread-maestro-${randomUUID()}`, sdk: `workflow-thread-sdk-${randomUUID()}` };

beforeAll(async () => {
  const address = inject('temporalAddress');
  const connection = await NativeConnection.connect({ address });
  const workflowBundle = await bundleWorkflowCode({ workflowsPath: new URL('./fixtures/waiting-workflow.ts', import.meta.url).pathname });
  const options = (taskQueue: string): WorkerOptions => ({ connection, taskQueue, workflowBundle });
  const workers = [await MaestroWorker.create(options(queues.maestro)), await Worker.create(options(queues.sdk))];
  const running = workers.map((worker) => worker.run());
  const clientConnection = await Connection.connect({ address });
  client = new Client({ connection: clientConnection });
  close = async () => {
    for (const worker of workers) worker.shutdown();
    await Promise.all(running);
    await connection.close();
    await clientConnection.close();
  };
}, 60_000);
afterAll(() => close?.());

it("answers both stack-trace queries as the SDK's own workflow threads do, then lets the run go on", async () => {
  const handles = await Promise.all(Object.values(queues).map((taskQueue) => client.workflow.start('waiting', { taskQueue, workflowId: `waiting-${randomUUID()}` })));
  const [maestro, sdk] = handles as [(typeof handles)[0], (typeof handles)[0]];
  const traces = await Promise.all(handles.map((handle) => handle.query<string>('__stack_trace')));
  expect(traces[0]).toMatch(/at untilReleased \(.*waiting-workflow\.ts:\d+:\d+\)/);
  expect(traces[0]).toMatch(/at all \(.*waiting-workflow\.ts:\d+:\d+\)/);
  expect(traces[0]).toBe(traces[1]);
  const [enhanced, enhancedBySdk] = await Promise.all(handles.map((handle) => handle.query<{ stacks: unknown[] }>('__enhanced_stack_trace')));
  expect(enhanced!.stacks.length).toBeGreaterThan(0);
  expect(enhanced!.stacks).toEqual(enhancedBySdk!.stacks);

  await Promise.all([maestro.signal(releaseSignal), sdk.signal(releaseSignal)]);
  expect(await maestro.result()).toBe('released');
  expect(await sdk.result()).toBe('released');
}, 60_000);
