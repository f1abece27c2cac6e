import { setTimeout as sleep } from 'node:timers/promises';
import { describe, expect, it } from 'vitest';
import { guardActivations } from './workflow-vm.js';

type Creator = Parameters<typeof guardActivations>[0];
type Options = Parameters<Creator['createWorkflow']>[0];

/** A sandbox whose activations of run `slow` answer after `slowMs`, every other at once. */
function sandbox(slowMs: number): Creator {
  return {
    async createWorkflow(options) {
      const runId = options.info.workflowId;
      return {
        async activate() {
          if (runId === 'slow') await sleep(slowMs);
          return { runId };
        },
        getAndResetSinkCalls: async () => [],
        dispose: async () => undefined,
      };
    },
    destroy: async () => undefined,
  };
}

const optionsFor = (runId: string): Options => ({ info: { workflowId: runId } }) as unknown as Options;

describe('guardActivations', () => {
  it('tells of an activation left unanswered past the bound, naming its run, once', async () => {
    const stuck: { runId: string; waitedMs: number }[] = [];
    const creator = guardActivations(sandbox(300), (what) => stuck.push(what), 100);
    const slow = await creator.createWorkflow(optionsFor('slow'));
    const quick = await creator.createWorkflow(optionsFor('quick'));
    await expect(quick.activate({})).resolves.toEqual({ runId: 'quick' });
    await expect(slow.activate({})).resolves.toEqual({ runId: 'slow' });
    expect(stuck).toEqual([{ runId: 'slow', waitedMs: 100 }]);
  });

  it('says nothing of activations answered within the bound, however many', async () => {
    const stuck: unknown[] = [];
    const creator = guardActivations(sandbox(20), (what) => stuck.push(what), 100);
    const workflow = await creator.createWorkflow(optionsFor('slow'));
    for (let i = 0; i < 10; i += 1) await workflow.activate({});
    await sleep(150);
    expect(stuck).toEqual([]);
  });
});
