/**
 * A running run's latest known state, as its interpreter published it (store migration 5): what
 * `GET /runs/{runId}` and its event stream read while the run is live, so that a read never waits
 * on the run's workflow task (Temporal holds a query until the task, with the local activities in
 * it, is done).
 *
 * The worker writes it (`progressSink` in `src/activities`) after each workflow activation that
 * changed the run, at most one write in flight per run; a finished run's row stays for
 * {@link FINISHED_KEEP_MS} (readers of a closed run read Temporal's close event) and is then pruned
 * by the next run that finishes.
 *
 * Table `run_progress` — one row per run:
 * | column | meaning |
 * |---|---|
 * | run_id | primary key: the run (= Temporal workflow id) |
 * | namespace | Maestro namespace of the run |
 * | execution | the Temporal run id of the execution that published it (a continue-as-new starts another) |
 * | seq | the publication's number within its execution: a row is only replaced by a later one |
 * | status | the run's status in `state` |
 * | state | the interpreter's `RunState`, sealed with the payload codec (as Temporal's payloads are), or its JSON for a worker without one |
 * | updated_at | when the worker wrote it (ISO 8601 UTC) |
 * | ended_at | when the worker wrote the run's final state; NULL while it runs |
 *
 * Every write notifies channel {@link RUN_PROGRESS_CHANNEL} with the run id: PostgreSQL's NOTIFY
 * reaches every API replica; on SQLite, the processes of this one (the dev server's API and
 * worker).
 */
import type { SqlDriver, SqlRow } from './sql/driver.js';

/** The notification channel of run progress; the payload is the run id. */
export const RUN_PROGRESS_CHANNEL = 'maestro_run_progress';
/** How long a finished run's row is kept before a later run's end prunes it. */
const FINISHED_KEEP_MS = 3_600_000;
/** Run ids one {@link RunProgressStore.listRunProgress} reads at most. */
export const MAX_PROGRESS_READ = 500;
const FINAL: ReadonlySet<string> = new Set(['SUCCEEDED', 'FAILED', 'CANCELLED']);

/** One publication of a run's state. */
export interface RunProgress {
  runId: string;
  namespace: string;
  /** The Temporal run id of the execution that published it. */
  execution: string;
  /** Its number within that execution (later publications have larger numbers). */
  seq: number;
  /** The run's status (`RUNNING` … `SUCCEEDED`), in clear: a finished run's row is pruned by it. */
  status: string;
  /** The run's state: sealed with the payload codec (`sealValue`), or JSON for a worker without a codec. */
  state: string;
  /** When it was written (ISO 8601 UTC); set by the store. */
  updatedAt?: string;
}

/** Reads and writes of run progress; the {@link Store} has them. */
export interface RunProgressStore {
  /**
   * Records a run's state unless a later one of the same execution is recorded already, then
   * notifies the run's watchers.
   */
  publishRunProgress(progress: RunProgress): Promise<void>;
  /** The run's latest recorded state, if its interpreter published any. */
  getRunProgress(runId: string): Promise<RunProgress | undefined>;
  /** The latest recorded states of those of `runIds` (at most {@link MAX_PROGRESS_READ}) whose interpreters published any, in no order. */
  listRunProgress(runIds: readonly string[]): Promise<RunProgress[]>;
  /**
   * Calls `onChange` whenever a state of `runId` is recorded (by any worker on PostgreSQL; by this
   * process's on SQLite) until the returned function is called.
   */
  watchRunProgress(runId: string, onChange: () => void): () => void;
}

function progressOf(row: SqlRow): RunProgress {
  return {
    runId: String(row.run_id),
    namespace: String(row.namespace),
    execution: String(row.execution),
    seq: Number(row.seq),
    status: String(row.status),
    state: String(row.state),
    updatedAt: String(row.updated_at),
  };
}

/** The run progress of the store on `db`. */
export function createRunProgressStore(db: SqlDriver): RunProgressStore {
  /** Watchers by run id; the driver is listened to while any is registered. */
  const watchers = new Map<string, Set<() => void>>();
  let unlisten: (() => void) | undefined;
  const dispatch = (runId: string): void => {
    for (const onChange of watchers.get(runId) ?? []) onChange();
  };
  return {
    async publishRunProgress({ runId, namespace, execution, seq, status, state }) {
      const now = new Date().toISOString();
      const ended = FINAL.has(status) ? now : null;
      const changed = await db.run(
        `INSERT INTO run_progress (run_id, namespace, execution, seq, status, state, updated_at, ended_at)
           VALUES ($1, $2, $3, $4, $5, $6, $7, $8)
         ON CONFLICT (run_id) DO UPDATE SET namespace = excluded.namespace, execution = excluded.execution, seq = excluded.seq,
           status = excluded.status, state = excluded.state, updated_at = excluded.updated_at, ended_at = excluded.ended_at
         WHERE run_progress.execution <> excluded.execution OR run_progress.seq < excluded.seq`,
        [runId, namespace, execution, seq, status, state, now, ended],
      );
      if (changed === 0) return;
      await db.notify(RUN_PROGRESS_CHANNEL, runId);
      if (ended !== null) await db.run('DELETE FROM run_progress WHERE ended_at < $1', [new Date(Date.now() - FINISHED_KEEP_MS).toISOString()]);
    },
    async getRunProgress(runId) {
      const [row] = await db.all('SELECT run_id, namespace, execution, seq, status, state, updated_at FROM run_progress WHERE run_id = $1', [runId]);
      return row === undefined ? undefined : progressOf(row);
    },
    async listRunProgress(runIds) {
      if (runIds.length > MAX_PROGRESS_READ) throw new RangeError(`listRunProgress reads at most ${MAX_PROGRESS_READ} runs, not ${runIds.length}`);
      if (runIds.length === 0) return [];
      const marks = runIds.map((_, index) => `$${index + 1}`).join(', ');
      const rows = await db.all(`SELECT run_id, namespace, execution, seq, status, state, updated_at FROM run_progress WHERE run_id IN (${marks})`, [...runIds]);
      return rows.map(progressOf);
    },
    watchRunProgress(runId, onChange) {
      let callbacks = watchers.get(runId);
      if (!callbacks) {
        callbacks = new Set();
        watchers.set(runId, callbacks);
      }
      callbacks.add(onChange);
      unlisten ??= db.listen(RUN_PROGRESS_CHANNEL, dispatch);
      return () => {
        const current = watchers.get(runId);
        if (!current?.delete(onChange)) return;
        if (current.size === 0) watchers.delete(runId);
        if (watchers.size === 0 && unlisten) {
          unlisten();
          unlisten = undefined;
        }
      };
    },
  };
}
