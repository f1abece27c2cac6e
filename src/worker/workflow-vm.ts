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
 * That guard stays, at the activation's level and without a thread: an activation the sandbox has
 * not answered within {@link STUCK_ACTIVATION_MS} means the workflow thread is stuck in a loop that
 * nothing on that thread can break. Every run on it would wait behind it while the worker kept
 * taking their workflow tasks, so the worker says which run it was and exits; its supervisor starts
 * it again and Temporal hands the workflow tasks to the workers still running.
 */
import { Worker } from '@temporalio/worker';

/** An activation unanswered this long means the workflow thread is stuck (see the file's header). */
export const STUCK_ACTIVATION_MS = 30_000;

type CreateWorkflowCreator = (typeof Worker)['createWorkflowCreator'];
type WorkflowCreator = Awaited<ReturnType<CreateWorkflowCreator>>;
type Workflow = Awaited<ReturnType<WorkflowCreator['createWorkflow']>>;

/** What a stuck activation is told with: its run and how long it has been waiting. */
export type OnStuck = (stuck: { runId: string; waitedMs: number }) => void;

/**
 * `creator`'s workflows, each activation of which calls `onStuck` once it has waited `stuckMs`
 * unanswered (a timer on the worker's main thread, cleared when the answer comes).
 */
export function guardActivations(creator: WorkflowCreator, onStuck: OnStuck, stuckMs = STUCK_ACTIVATION_MS): WorkflowCreator {
  return {
    async createWorkflow(options) {
      const workflow = await creator.createWorkflow(options);
      // Maestro's run id is the workflow id (Temporal's run id names one execution of it).
      const runId = options.info.workflowId;
      const guarded: Workflow = {
        activate(activation) {
          const timer = setTimeout(() => onStuck({ runId, waitedMs: stuckMs }), stuckMs);
          timer.unref();
          return workflow.activate(activation).finally(() => clearTimeout(timer));
        },
        getAndResetSinkCalls: () => workflow.getAndResetSinkCalls(),
        dispose: () => workflow.dispose(),
      };
      return guarded;
    },
    destroy: () => creator.destroy(),
  };
}

/** Logs the stuck run and exits the process (see the file's header). */
function exitWhenStuck({ runId, waitedMs }: { runId: string; waitedMs: number }): void {
  // The runtime's logger goes through the stuck worker's own machinery: write straight to stderr.
  process.stderr.write(`maestro worker: the workflow thread has not answered an activation of run ${runId} in ${waitedMs} ms; exiting so that the worker is started again\n`);
  process.exit(70);
}

/**
 * The SDK's worker, with its workflow sandbox entered without a per-call timeout and its
 * activations guarded instead (see the file's header). Created like `Worker`: `MaestroWorker.create(options)`.
 */
export class MaestroWorker extends Worker {
  /** How long an activation may go unanswered before the worker exits (a subclass may say less). */
  static readonly stuckActivationMs: number = STUCK_ACTIVATION_MS;

  protected static override async createWorkflowCreator(...[bundle, options, logger]: Parameters<CreateWorkflowCreator>): Promise<WorkflowCreator> {
    // Node's `vm` runs a call without a watchdog when its timeout is undefined.
    const creator = await super.createWorkflowCreator(bundle, { ...options, isolateExecutionTimeoutMs: undefined as unknown as number }, logger);
    return guardActivations(creator, exitWhenStuck, this.stuckActivationMs);
  }
}
