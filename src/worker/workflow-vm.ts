/**
 * The worker's workflow sandbox without a watchdog thread per call, and a guard in its place.
 *
 * The SDK enters the sandbox's V8 context several times per activation (start, activate, each pass
 * that unblocks conditions, conclude), and gives each entry a timeout (`isolateExecutionTimeout`,
 * 5 s). Node enforces a `vm` timeout by creating a thread for the call and joining it afterwards:
 * ~100 µs of CPU per entry against < 1 µs without one, ~16 entries per 3-step run. The one
 * workflow this worker runs is Maestro's interpreter, whose user-driven work is bounded where it
 * happens (CEL's cost limit, RE2 regular expressions, the manifest's size and depth limits), so the
 * per-entry timeout only guards against a bug of ours that never returns.
 *
 * That guard stays, without a thread: a sandbox given activations that answers none for
 * {@link STUCK_ACTIVATION_MS} is stuck in a loop that nothing on its thread can break. Every run on
 * it would wait behind it while the worker kept taking their workflow tasks, so the worker names the
 * run of the oldest activation waiting and exits; its supervisor starts it again and Temporal hands
 * the workflow tasks to the workers still running.
 */
import { Worker as NodeWorker } from 'node:worker_threads';
import { Worker } from '@temporalio/worker';
import { ThreadedVMWorkflowCreator, WorkerThreadClient } from '@temporalio/worker/lib/workflow/threaded-vm.js';

/** A workflow thread that has answered no activation for this long while given some is stuck. */
export const STUCK_ACTIVATION_MS = 30_000;

type CreateWorkflowCreator = (typeof Worker)['createWorkflowCreator'];
type WorkflowCreator = Awaited<ReturnType<CreateWorkflowCreator>>;
type Workflow = Awaited<ReturnType<WorkflowCreator['createWorkflow']>>;

/** What a stuck sandbox is told with: the run of the oldest activation waiting, and how long nothing was answered. */
export type OnStuck = (stuck: { runId: string; waitedMs: number }) => void;

/**
 * `creator`'s workflows, their activations watched together: `onStuck` is called, once, when
 * activations have been waiting and none was answered for `stuckMs`. Not per activation: the
 * sandbox's thread answers them one after another, so on a busy worker an activation may queue
 * longer than `stuckMs` behind others that each take little (the SDK's own timeout counted only
 * the call's execution); a stuck thread answers none. The worker's one workflow thread (the SDK's
 * default with a reused context) is watched exactly; with several, a stuck one among answering
 * ones would not be told.
 */
export function guardActivations(creator: WorkflowCreator, onStuck: OnStuck, stuckMs = STUCK_ACTIVATION_MS): WorkflowCreator {
  /** Activations sent to the sandbox and not answered yet, oldest first, with their run. */
  const waiting = new Map<object, string>();
  /** When the sandbox last answered an activation, or was given one while it had none waiting. */
  let progressAt = 0;
  let told = false;
  // One check every tenth of the bound for the creator's life, not a timer per activation.
  const watch = setInterval(() => {
    const [oldest] = waiting.values();
    const waitedMs = Date.now() - progressAt;
    if (oldest === undefined || waitedMs < stuckMs || told) return;
    told = true;
    onStuck({ runId: oldest, waitedMs });
  }, Math.max(10, Math.floor(stuckMs / 10))).unref();
  const sent = (runId: string): object => {
    const token = {};
    if (waiting.size === 0) progressAt = Date.now();
    waiting.set(token, runId);
    return token;
  };
  const answered = (token: object): void => {
    waiting.delete(token);
    progressAt = Date.now();
  };
  return {
    async createWorkflow(options) {
      const workflow = await creator.createWorkflow(options);
      // Maestro's run id is the workflow id (Temporal's run id names one execution of it).
      const runId = options.info.workflowId;
      const guarded: Workflow = {
        activate(activation) {
          const token = sent(runId);
          return workflow.activate(activation).finally(() => answered(token));
        },
        getAndResetSinkCalls: () => workflow.getAndResetSinkCalls(),
        dispose: () => workflow.dispose(),
      };
      return guarded;
    },
    destroy: () => {
      clearInterval(watch);
      return creator.destroy();
    },
  };
}

/** Logs the stuck run and exits the process (see the file's header). */
function exitWhenStuck({ runId, waitedMs }: { runId: string; waitedMs: number }): void {
  // The runtime's logger goes through the stuck worker's own machinery: write straight to stderr.
  process.stderr.write(`maestro worker: the workflow thread has answered no activation for ${waitedMs} ms, the oldest waiting of run ${runId}; exiting so that the worker is started again\n`);
  process.exit(70);
}

/** The workflow threads' module: the SDK's, with a promise hook that formats stacks only when queried (see the file). */
const WORKFLOW_THREAD = new URL('./workflow-thread.mjs', import.meta.url);

/**
 * The SDK's worker, with its workflow sandbox entered without a per-call timeout and its
 * activations guarded instead (see the file's header), on workflow threads whose promise hook
 * formats a promise's stack only when Temporal's stack-trace query asks (`workflow-thread.mjs`).
 * Created like `Worker`: `MaestroWorker.create(options)`.
 */
export class MaestroWorker extends Worker {
  /** How long the workflow thread may answer no activation it was given before the worker exits (a subclass may say less). */
  static readonly stuckActivationMs: number = STUCK_ACTIVATION_MS;

  protected static override async createWorkflowCreator(...[bundle, options, logger]: Parameters<CreateWorkflowCreator>): Promise<WorkflowCreator> {
    // Node's `vm` runs a call without a watchdog when its timeout is undefined.
    const isolateExecutionTimeoutMs = undefined as unknown as number;
    // Debug mode runs workflows on this thread, where the SDK's hook is the only one.
    if (options.debugMode) return guardActivations(await super.createWorkflowCreator(bundle, { ...options, isolateExecutionTimeoutMs }, logger), exitWhenStuck, this.stuckActivationMs);
    // As `ThreadedVMWorkflowCreator.create` makes them, on Maestro's thread module.
    const threads = Array.from({ length: options.workflowThreadPoolSize }, () => new WorkerThreadClient(new NodeWorker(WORKFLOW_THREAD), logger, options.patchActivationCallback));
    const creator = new ThreadedVMWorkflowCreator(threads);
    try {
      await Promise.all(
        threads.map((thread) =>
          thread.send({
            type: 'init',
            workflowBundle: bundle,
            isolateExecutionTimeoutMs,
            reuseV8Context: options.reuseV8Context ?? true,
            registeredActivityNames: new Set(options.activities.keys()),
            hasPatchActivationCallback: options.patchActivationCallback !== undefined,
          }),
        ),
      );
    } catch (error) {
      await creator.destroy();
      throw error;
    }
    return guardActivations(creator, exitWhenStuck, this.stuckActivationMs);
  }
}
