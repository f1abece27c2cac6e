/**
 * The sink the interpreter publishes a running run's state through (`proxySinks<ProgressSinks>()`),
 * and the worker's side of it: the state goes to the store's `run_progress` (see
 * `src/store/run-progress.ts`), where `GET /runs/{runId}` and its event stream read it without
 * waiting on the run's workflow task.
 *
 * A sink is not history: publishing changes no command and no event, so every recorded history
 * replays as before, and a replaying worker publishes nothing (`callDuringReplay: false`). The
 * worker awaits sinks before it completes an activation, so `publish` only hands the state over
 * and the write happens on the event loop's next turn, after the completion has gone: one store
 * write per run is in flight at a time, and a state published meanwhile replaces the one waiting
 * (only the latest matters), sealed with the payload codec when it is written, as Temporal's
 * payloads are (task outputs are in it). A write that fails is logged; the next state is written anyway.
 */
import { sealValue, type AesGcmPayloadCodec } from '../codec/index.js';
import type { RunState } from '../ir/index.js';
import type { RunProgressStore } from '../store/index.js';

/** What the interpreter publishes: its run's state and the publication's number within the execution. */
export interface ProgressPublication {
  namespace: string;
  seq: number;
  state: RunState;
}

/** The sink the interpreter publishes its run's state through, after each activation that changed it. */
export type ProgressSinks = {
  maestroProgress: { publish(publication: ProgressPublication): void };
};

/** What the worker tells a sink of the workflow that called it (part of Temporal's `WorkflowInfo`). */
interface ExecutionInfo {
  /** The run id. */
  workflowId: string;
  /** The Temporal run id of the execution. */
  runId: string;
}

/** A worker's registration of {@link ProgressSinks}. */
export interface InjectedProgressSinks {
  maestroProgress: { publish: { fn(info: ExecutionInfo, publication: ProgressPublication): void; callDuringReplay: false } };
}

/** A publication as the worker received it, not yet written. */
interface Waiting {
  runId: string;
  execution: string;
  publication: ProgressPublication;
}

/**
 * The worker's side of {@link ProgressSinks}, writing to `store`; without a store (a worker that has
 * none, e.g. a benchmark's) publications are dropped.
 * @param codec seals each state. @default undefined — written as JSON
 */
export function progressSink(
  store: Pick<RunProgressStore, 'publishRunProgress'> | undefined,
  log: (message: string, meta: Record<string, unknown>) => void,
  codec?: AesGcmPayloadCodec,
): InjectedProgressSinks {
  /** The latest publication not yet written, by run id. */
  const waiting = new Map<string, Waiting>();
  const write = ({ runId, execution, publication: { namespace, seq, state } }: Waiting): Promise<void> | undefined =>
    store?.publishRunProgress({ runId, namespace, execution, seq, status: state.status, state: codec === undefined ? JSON.stringify(state) : sealValue(codec, state) });
  /** Runs with a write scheduled or in flight. */
  const writing = new Set<string>();
  const drain = async (runId: string): Promise<void> => {
    try {
      for (let next = waiting.get(runId); next !== undefined; next = waiting.get(runId)) {
        waiting.delete(runId);
        try {
          await write(next);
        } catch (error) {
          log('the run progress could not be written', { runId, error: String(error) });
        }
      }
    } finally {
      writing.delete(runId);
    }
  };
  return {
    maestroProgress: {
      publish: {
        fn(info, publication) {
          if (store === undefined) return;
          const runId = info.workflowId;
          waiting.set(runId, { runId, execution: info.runId, publication });
          if (writing.has(runId)) return;
          // The write waits for the next turn of the event loop: the worker awaits this function
          // before it sends the activation's completion, and sealing and writing the state (~0.5 ms)
          // would hold the run's next step that long.
          writing.add(runId);
          setImmediate(() => void drain(runId));
        },
        callDuringReplay: false,
      },
    },
  };
}
