/**
 * `maestro run FILE`: starts a run of a local manifest through the one run-start path (the
 * policy's run-start decision and its audit record, the namespace's admission limit — the same
 * store and audit log the API uses) and follows it to the end.
 */
import { randomBytes } from 'node:crypto';
import type { Client } from '@temporalio/client';
import { waitForRun } from '../client/index.js';
import { MaestroError, NotFoundError, isMaestroError } from '../errors/index.js';
import type { CompiledWorkflow, RunState, TaskState } from '../ir/index.js';
import { describeRun, launchRun, runState } from '../runs/index.js';
import { localPrincipal, withLaunchContext, type CliLaunchSettings } from './temporal.js';

/** Options of {@link runWorkflow}. */
export interface RunCommandOptions {
  compiled: CompiledWorkflow;
  params: Record<string, unknown>;
  config: CliLaunchSettings;
  /** Maestro namespace of the run. @default 'default' */
  namespace?: string;
  /** Return right after the start. @default false */
  noWait?: boolean;
  /** Print one JSON document instead of progress lines. @default false */
  json?: boolean;
  /** Where output goes. @default process.stdout */
  out?: NodeJS.WritableStream;
  /** How often progress is polled. @default 250 */
  pollMs?: number;
}

/**
 * `maestro run`: starts the run (or queues it behind its namespace's run limit), prints task
 * progress as it happens, then the final status. Returns the CLI exit code: 0 SUCCEEDED, 1 FAILED
 * or CANCELLED; a start the policy refuses throws `PolicyDeniedError` and nothing starts.
 */
export function runWorkflow(options: RunCommandOptions): Promise<number> {
  const { compiled, params, config, namespace = 'default', noWait = false, json = false, out = process.stdout, pollMs = 250 } = options;
  return withLaunchContext(config, async (context) => {
    const { client } = context;
    const principal = localPrincipal();
    // Chosen here, so that it can be printed: the run's spans, decisions and audit records carry it.
    const traceId = randomBytes(16).toString('hex');
    const { runId, status } = await launchRun(context, { compiled, params, namespace, principal, startedBy: principal.subject, traceId });
    // A queued run starts when the API's admission loop gives it a slot: nothing to follow yet.
    if (noWait || status === 'QUEUED') {
      out.write(json ? `${JSON.stringify({ runId, status })}\n` : status === 'QUEUED' ? `run ${runId} QUEUED in namespace ${namespace}\n` : `${runId}\n`);
      return 0;
    }
    if (!json) out.write(`run ${runId} started (${compiled.ir.name}@${compiled.ir.version})\ntrace: ${traceId}\n`);
    const printed = new Map<string, string>();
    const show = (state: RunState): void => {
      if (json) return;
      for (const task of flatten(state.tasks)) {
        const line = progressLine(task);
        if (printed.get(task.id) !== line) {
          printed.set(task.id, line);
          out.write(`${line}\n`);
        }
      }
    };
    const final = waitForRun(client, runId);
    let done = false;
    // Either way the loop stops; `await final` below reads the outcome. Handling the rejection here
    // also keeps a run that cannot be followed (the loop throws) from ending in an unhandled one.
    final.then(
      () => (done = true),
      () => (done = true),
    );
    while (!done) {
      await new Promise((resolve) => setTimeout(resolve, pollMs));
      if (!done) show(await followedState(client, runId));
    }
    const state = await final;
    show(state);
    if (json) out.write(`${JSON.stringify(summary(state), null, 2)}\n`);
    else out.write(`run ${runId} ${state.status}${state.error ? `: ${state.error.message}` : ''}\n`);
    return state.status === 'SUCCEEDED' ? 0 : 1;
  });
}

/**
 * The run's state as `GET /runs/{runId}` reads it. A run no worker can read — none polls its task
 * queue, or its workflow task keeps failing (e.g. this command and the worker hold different
 * payload keys) — ends the command with `UNAVAILABLE` and what to check, not a gRPC stack.
 */
async function followedState(client: Client, runId: string): Promise<RunState> {
  const execution = await describeRun(client, runId);
  if (!execution) throw new NotFoundError(`run "${runId}" not found`);
  try {
    return await runState(client, execution);
  } catch (error) {
    if (!isMaestroError(error) || error.code !== 'UNAVAILABLE') throw error;
    throw new MaestroError(
      'UNAVAILABLE',
      `${error.message}. The run was started: follow it with \`maestro runs get ${runId}\`; if it never becomes readable, check that a worker polls its task queue and shares this command's payload key (MAESTRO_PAYLOAD_KEY, or the one in MAESTRO_DATA_DIR)`,
      { cause: error },
    );
  }
}

function flatten(tasks: TaskState[]): TaskState[] {
  return tasks.flatMap((task) => [task, ...(task.items ?? [])]);
}

const MARK: Record<TaskState['status'], string> = {
  PENDING: '·',
  RUNNING: '▸',
  WAITING: '⏸',
  SUCCEEDED: '✓',
  FAILED: '✗',
  SKIPPED: '↷',
  CANCELLED: '⊘',
};

function progressLine(task: TaskState): string {
  const attempts = task.attempts > 1 ? ` (attempt ${task.attempts})` : '';
  const error = task.error && task.status !== 'SUCCEEDED' ? `: ${task.error.code}: ${task.error.message}` : '';
  return `  ${MARK[task.status]} ${task.id} ${task.status}${attempts}${error}`;
}

/** The `--json` document: `{runId, status, tasks: [{id, status, attempts, ...}]}`. */
function summary(state: RunState): Record<string, unknown> {
  return {
    runId: state.runId,
    status: state.status,
    workflow: state.workflow,
    version: state.version,
    digest: state.digest,
    startedAt: state.startedAt,
    endedAt: state.endedAt,
    ...(state.error ? { error: state.error } : {}),
    tasks: state.tasks,
  };
}
