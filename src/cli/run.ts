import { userInfo } from 'node:os';
import { Client, Connection } from '@temporalio/client';
import { getRunState, startRun, waitForRun } from '../client/index.js';
import { maestroDataConverter, payloadCodec } from '../codec/index.js';
import type { Config } from '../config/index.js';
import { MaestroError } from '../errors/index.js';
import type { CompiledWorkflow, Principal, RunState, TaskState } from '../ir/index.js';

/** Options of {@link runWorkflow}. */
export interface RunCommandOptions {
  compiled: CompiledWorkflow;
  params: Record<string, unknown>;
  config: Config;
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
 * `maestro run`: starts the run on Temporal, prints task progress as it happens, then the final
 * status. Returns the CLI exit code: 0 SUCCEEDED, 1 FAILED or CANCELLED.
 */
export async function runWorkflow(options: RunCommandOptions): Promise<number> {
  const { compiled, params, config, noWait = false, json = false, out = process.stdout, pollMs = 250 } = options;
  const address = config.temporalAddress ?? 'localhost:7233';
  const connection = await Connection.connect({ address, connectTimeout: '5s' }).catch((error: unknown) => {
    throw new MaestroError('UNAVAILABLE', `cannot reach Temporal at ${address} (is \`npm start\` running?)`, { cause: error });
  });
  try {
    const client = new Client({ connection, namespace: config.temporalNamespace, dataConverter: maestroDataConverter(payloadCodec(config)) });
    const principal = localPrincipal();
    const runId = await startRun(client, { compiled, params, taskQueue: config.taskQueue, principal, startedBy: principal.subject });
    if (noWait) {
      out.write(json ? `${JSON.stringify({ runId, status: 'RUNNING' })}\n` : `${runId}\n`);
      return 0;
    }
    if (!json) out.write(`run ${runId} started (${compiled.ir.name}@${compiled.ir.version})\n`);
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
    void final.finally(() => (done = true));
    while (!done) {
      await new Promise((resolve) => setTimeout(resolve, pollMs));
      if (!done) show(await getRunState(client, runId));
    }
    const state = await final;
    show(state);
    if (json) out.write(`${JSON.stringify(summary(state), null, 2)}\n`);
    else out.write(`run ${runId} ${state.status}${state.error ? `: ${state.error.message}` : ''}\n`);
    return state.status === 'SUCCEEDED' ? 0 : 1;
  } finally {
    await connection.close();
  }
}

/**
 * `maestro run` talks to Temporal directly, so whoever can reach it acts as an administrator: the
 * principal is the local user with the admin role in every namespace.
 */
function localPrincipal(): Principal {
  return { subject: `local:${userInfo().username}`, roles: ['admin'], namespaces: ['*'] };
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
