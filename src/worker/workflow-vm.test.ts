import { setTimeout as sleep } from 'node:timers/promises';
import { describe, expect, it } from 'vitest';
import { guardActivations } from './workflow-vm.js';

type Creator = Parameters<typeof guardActivations>[0];
type Options = Parameters<Creator['createWorkflow']>[0];

/**
 * A sandbox on one thread, as the worker's: activations are answered one after another, each
 * taking `takesMs` (`forever` for the run that loops).
 */
function sandbox(takesMs: number, forever?: string): Creator {
  let thread: Promise<unknown> = Promise.resolve();
  return {
    async createWorkflow(options) {
      const runId = options.info.workflowId;
      return {
        activate() {
          const answer = thread.then(async () => {
            if (runId === forever) await new Promise(() => undefined);
            await sleep(takesMs);
            return { runId };
          });
          thread = answer;
          return answer;
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
  it('tells, once, of a sandbox that answers nothing for the bound, naming the run of the oldest activation waiting', async () => {
    const stuck: { runId: string; waitedMs: number }[] = [];
    const creator = guardActivations(sandbox(5, 'loops'), (what) => stuck.push(what), 100);
    const quick = await creator.createWorkflow(optionsFor('quick'));
    const loops = await creator.createWorkflow(optionsFor('loops'));
    await expect(quick.activate({})).resolves.toEqual({ runId: 'quick' });
    void loops.activate({});
    void quick.activate({});
    await sleep(400);
    expect(stuck).toEqual([{ runId: 'loops', waitedMs: expect.any(Number) }]);
    expect(stuck[0]?.waitedMs).toBeGreaterThanOrEqual(100);
  });

  it('says nothing of a busy sandbox whose queue is longer than the bound but answers within it', async () => {
    const stuck: unknown[] = [];
    const creator = guardActivations(sandbox(30), (what) => stuck.push(what), 100);
    const runs = await Promise.all(Array.from({ length: 10 }, (_, i) => creator.createWorkflow(optionsFor(`run-${i}`))));
    // All sent at once: the last is answered ~300 ms after it was sent, 30 ms after the one before.
    const answers = await Promise.all(runs.map((run) => run.activate({})));
    expect(answers).toHaveLength(10);
    await sleep(150);
    expect(stuck).toEqual([]);
  });
});
