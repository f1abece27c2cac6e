/**
 * The orphan sweep: containers Maestro started whose attempt can no longer be running — their
 * worker was SIGKILLed or lost its host mid-task, or their run has ended — are killed and removed.
 * Only containers labelled by Maestro for the same Temporal namespace are ever looked at; anything
 * else on the engine is left alone.
 *
 * A container is an orphan when either
 * - its worker is gone: it was started on this host by a process that no longer exists (another
 *   pid that is not alive, or this pid with another worker instance: the process was restarted), or
 * - its run is over: Temporal says the run (workflow id = run id) is closed or does not exist.
 *
 * Containers of this worker instance are never swept (they are in flight or being removed by their
 * attempt), nor a container whose fate is unknown (Temporal unreachable, another host's worker):
 * the sweep removes only what it can prove orphaned, and tries again next time.
 */
import { randomUUID } from 'node:crypto';
import { hostname } from 'node:os';
import { WorkflowNotFoundError, type WorkflowClient } from '@temporalio/client';
import type Dockerode from 'dockerode';
import type { TaskLogger } from '../../sdk/index.js';

/** Label naming the Temporal namespace whose run a container belongs to. */
export const TEMPORAL_NAMESPACE_LABEL = 'dev.maestro.temporal-namespace';
const MANAGED_LABEL = 'dev.maestro.managed-by';
const RUN_LABEL = 'dev.maestro.run-id';
const NAMESPACE_LABEL = 'dev.maestro.namespace';
const HOST_LABEL = 'dev.maestro.worker-host';
const PID_LABEL = 'dev.maestro.worker-pid';
const INSTANCE_LABEL = 'dev.maestro.worker-instance';

/** This process's worker instance: containers it starts carry it; its own sweep skips them. */
const WORKER_INSTANCE = randomUUID();

/** The labels tying a container to the worker process that started it and to its Temporal namespace. */
export function workerLabels(temporalNamespace: string): Record<string, string> {
  return {
    [TEMPORAL_NAMESPACE_LABEL]: temporalNamespace,
    [HOST_LABEL]: hostname(),
    [PID_LABEL]: String(process.pid),
    [INSTANCE_LABEL]: WORKER_INSTANCE,
  };
}

/** Whether a run is still going: true running, false closed or unknown to Temporal, undefined when that cannot be told. */
export type RunLiveness = (run: { runId: string; namespace: string }) => Promise<boolean | undefined>;

/**
 * Run liveness from Temporal: a run is its workflow (workflow id = run id); RUNNING is live, any
 * closed status or an unknown workflow is not. Other errors (Temporal unreachable) reject, which
 * the sweep treats as "cannot tell".
 */
export function temporalRunLiveness(client: WorkflowClient): RunLiveness {
  return async ({ runId }) => {
    try {
      return (await client.getHandle(runId).describe()).status.name === 'RUNNING';
    } catch (error) {
      if (error instanceof WorkflowNotFoundError) return false;
      throw error;
    }
  };
}

/** Options of {@link sweepOrphans}. */
export interface SweepOptions {
  /** Only containers labelled with this Temporal namespace are considered. @default 'default' */
  temporalNamespace?: string;
  /** Asks Temporal whether a run is going. @default none: only containers whose worker is gone are removed */
  runLiveness?: RunLiveness;
  /** Where removals and failures are reported. @default console */
  logger?: Pick<TaskLogger, 'info' | 'warn'>;
}

/** One container the sweep removed. */
export interface SweptContainer {
  id: string;
  name: string;
  runId: string;
  /** `worker-gone` or `run-ended`. */
  reason: 'worker-gone' | 'run-ended';
}

/** What one sweep did. */
export interface SweepResult {
  removed: SweptContainer[];
  /** Maestro containers of the namespace left in place (live, or not provably orphaned). */
  kept: number;
}

const consoleLogger: Pick<TaskLogger, 'info' | 'warn'> = {
  info: (message, fields) => console.info(message, fields ?? {}),
  warn: (message, fields) => console.warn(message, fields ?? {}),
};

/**
 * Lists the engine's Maestro containers of the Temporal namespace (by label, every state) and
 * kills and removes each orphan (see the module's rules).
 */
export async function sweepOrphans(docker: Dockerode, options: SweepOptions = {}): Promise<SweepResult> {
  const { temporalNamespace = 'default', runLiveness, logger = consoleLogger } = options;
  const containers = await docker.listContainers({
    all: true,
    filters: { label: [`${MANAGED_LABEL}=maestro`, `${TEMPORAL_NAMESPACE_LABEL}=${temporalNamespace}`] },
  });
  const runs = new Map<string, Promise<boolean | undefined>>();
  const result: SweepResult = { removed: [], kept: 0 };
  for (const container of containers) {
    const labels = container.Labels;
    const runId = labels[RUN_LABEL] ?? '';
    let reason: SweptContainer['reason'] | undefined;
    const own = labels[INSTANCE_LABEL] === WORKER_INSTANCE;
    if (!own && workerGone(labels)) reason = 'worker-gone';
    else if (!own && runLiveness && runId) {
      const key = `${labels[NAMESPACE_LABEL] ?? ''}/${runId}`;
      if (!runs.has(key)) runs.set(key, runLiveness({ runId, namespace: labels[NAMESPACE_LABEL] ?? '' }).catch(() => undefined));
      if ((await runs.get(key)) === false) reason = 'run-ended';
    }
    const name = (container.Names[0] ?? container.Id).replace(/^\//, '');
    if (!reason) {
      result.kept += 1;
      continue;
    }
    try {
      const handle = docker.getContainer(container.Id);
      // No grace for an orphan: a forced remove would wait the stop timeout for a process ignoring SIGTERM.
      if (container.State === 'running') await handle.kill({ signal: 'SIGKILL' }).catch(ignoreNotRunning);
      await handle.remove({ force: true, v: true });
      result.removed.push({ id: container.Id, name, runId, reason });
      logger.info('removed an orphaned container', { runner: 'container', container: name, runId, reason });
    } catch (error) {
      // Gone already (its attempt removed it meanwhile): nothing left to do.
      if ((error as { statusCode?: unknown }).statusCode === 404) continue;
      result.kept += 1;
      logger.warn('could not remove an orphaned container', { runner: 'container', container: name, runId, error: error instanceof Error ? error.message : String(error) });
    }
  }
  return result;
}

/** A kill that found the container stopped (409) or gone (404) already did its job. */
function ignoreNotRunning(error: unknown): void {
  const status = (error as { statusCode?: unknown }).statusCode;
  if (status !== 404 && status !== 409 && status !== 304) throw error;
}

/** True when the container's worker ran on this host and that process is gone. */
function workerGone(labels: Record<string, string>): boolean {
  if (labels[HOST_LABEL] !== hostname()) return false;
  const pid = Number(labels[PID_LABEL]);
  if (!Number.isInteger(pid) || pid <= 0) return false;
  // Same pid, another instance: this process replaced the one that started it (pid 1 in a container).
  if (pid === process.pid) return true;
  try {
    process.kill(pid, 0);
    return false;
  } catch (error) {
    return (error as { code?: unknown }).code === 'ESRCH';
  }
}

/** Options of {@link startOrphanSweep}. */
export interface OrphanSweepOptions extends SweepOptions {
  /** Time between sweeps after the first, immediate one. @default 60000 */
  intervalMs?: number;
  /** Called when the sweep is stopped (e.g. to close a Temporal connection). @default none */
  onStop?: () => Promise<void>;
}

/** A running periodic sweep. */
export interface OrphanSweeper {
  /** The first sweep, started at once. */
  readonly first: Promise<SweepResult>;
  /** Stops sweeping; waits for a sweep in progress. */
  stop(): Promise<void>;
}

/**
 * Sweeps now (worker start) and then every `intervalMs`, never two sweeps at once. A failed sweep
 * (engine unreachable) is logged and tried again at the next interval.
 *
 * @example
 * const sweeper = startOrphanSweep(await runner.docker(), { temporalNamespace: 'default', runLiveness });
 * // at shutdown
 * await sweeper.stop();
 */
export function startOrphanSweep(docker: Dockerode | Promise<Dockerode>, options: OrphanSweepOptions = {}): OrphanSweeper {
  const { intervalMs = 60_000, onStop, logger = consoleLogger } = options;
  let current: Promise<unknown> = Promise.resolve();
  const sweep = async (): Promise<SweepResult> => sweepOrphans(await docker, { ...options, logger });
  const first = sweep();
  current = first.catch((error: unknown) => logger.warn('the orphan sweep failed', { runner: 'container', error: error instanceof Error ? error.message : String(error) }));
  const timer = setInterval(() => {
    current = current.then(() =>
      sweep().catch((error: unknown) => logger.warn('the orphan sweep failed', { runner: 'container', error: error instanceof Error ? error.message : String(error) })),
    );
  }, intervalMs);
  timer.unref();
  return {
    first,
    async stop() {
      clearInterval(timer);
      await current;
      await onStop?.();
    },
  };
}
