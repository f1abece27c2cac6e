import { defineTask } from '../sdk/index.js';
import type { ExecutableTaskDefinition } from '../sdk/index.js';
import { RunnerError } from './runner-error.js';
import type { RunnableTask } from './runner.js';

/** A secret handed to a container or Job: resolved by name inside the activity, never logged. */
export interface SecretMount {
  /** The secret's name, resolved by the worker's secret source. */
  name: string;
  /**
   * `env`: an environment variable (visible to anyone who can inspect the container);
   * `file`: a read-only file on a memory-backed mount, absent from the container's environment.
   */
  as: 'env' | 'file';
  /** `env`: the variable's name. @default the secret's name upper-cased, non-alphanumerics as `_` */
  env?: string;
  /** `file`: the file's absolute path in the container. @default `/run/secrets/<name>` */
  path?: string;
}

/** What a container or a Kubernetes Job runs for one attempt. */
export interface ContainerWorkload {
  /** Image reference: `name[:tag]` or `name@sha256:…`. */
  image: string;
  /** Replaces the image's entrypoint. @default the image's */
  command?: string[];
  /** Arguments (the image's `CMD` when absent and `command` is unset). */
  args?: string[];
  env?: Record<string, string>;
  secrets?: SecretMount[];
  /**
   * Absolute directory in the container whose files are collected after a successful exit: hashed
   * (sha256), stored in the artifact store and listed in the outputs. @default none collected
   */
  artifacts?: string;
  /** Give the container a network. @default false (no network at all) */
  network?: boolean;
  /** Resource class (`small`, `medium`, `large` or a custom one from config). @default 'small' */
  resources?: string;
  /** @default the image's */
  workingDir?: string;
  /** Mount the image read-only (a tmpfs `/tmp` stays writable). @default true */
  readOnlyRootFilesystem?: boolean;
  /**
   * Start only if the image carries a trusted signature, even where the worker's config does not
   * require one (it can only add the requirement). @default false
   */
  requireSignedImage?: boolean;
}

/** One artifact a container left in its artifacts directory. */
export interface CollectedArtifact {
  /** Path relative to the artifacts directory, `/`-separated. */
  path: string;
  sha256: string;
  size: number;
  /** Where the artifact store keeps it (`artifact://sha256/…`), when the runner has a store. */
  uri?: string;
}

/** What the container and Kubernetes runners return for a successful attempt. */
export interface ContainerResult {
  exitCode: number;
  /** The last log lines (stdout and stderr), secrets redacted. */
  logs: string;
  /** The JSON the workload wrote to `$MAESTRO_OUTPUTS`, if any. */
  outputs?: unknown;
  artifacts: CollectedArtifact[];
}

/** A function the serverless runner invokes for one attempt. */
export interface FunctionInvocation {
  /** A name from the worker's function table (`MAESTRO_FUNCTIONS`). */
  function: string;
  /** The request body (JSON). */
  payload: unknown;
}

/** What the serverless runner returns. */
export interface FunctionResult {
  /** HTTP status (200 for a Lambda invocation that returned). */
  status: number;
  /** The function's response: JSON when it answered JSON, otherwise text. */
  result: unknown;
}

/**
 * A task that can also run away from the worker process: `container` says what a container or
 * Kubernetes Job runs for an input, `invocation` which function the serverless runner calls.
 * `runsOn: local` still calls `execute`.
 */
export interface RemoteTaskDefinition<In = Record<string, unknown>, Out = unknown> extends ExecutableTaskDefinition<In, Out> {
  container?(input: In): ContainerWorkload;
  invocation?(input: In): FunctionInvocation;
}

/**
 * {@link defineTask} for a task with `container` or `invocation` hooks: the same checks, and the
 * hooks stay typed.
 *
 * @example
 * export const lint = defineRemoteTask<{ path: string }, ContainerResult>({
 *   name: 'tasks/lint', version: '0.1.0', description: 'Lints a tree.', input, output,
 *   container: ({ path }) => ({ image: 'registry.example/lint:1', args: [path] }),
 *   execute: async () => { throw new TaskError('runs only with runsOn: container', { retryable: false }); },
 * });
 */
export function defineRemoteTask<In, Out>(definition: RemoteTaskDefinition<In, Out>): RemoteTaskDefinition<In, Out> {
  // defineTask checks and freezes the object it is given and returns it: the hooks survive.
  const checked: ExecutableTaskDefinition<In, Out> = defineTask<In, Out>(definition);
  return checked === definition ? definition : { ...checked, container: definition.container, invocation: definition.invocation };
}

function hasHook<K extends 'container' | 'invocation'>(
  definition: RunnableTask,
  hook: K,
): definition is RunnableTask & Required<Pick<RemoteTaskDefinition, K>> {
  return typeof (definition as RemoteTaskDefinition)[hook] === 'function';
}

/**
 * The container workload of a task for an input.
 * @throws {@link RunnerError} `TASK_INPUT_INVALID` (not retryable) when the task declares none.
 */
export function containerWorkloadOf(definition: RunnableTask, input: Record<string, unknown>, runner: string): ContainerWorkload {
  if (!hasHook(definition, 'container')) {
    throw new RunnerError(runner, `${definition.name}@${definition.version} declares no container workload; use tasks/container.run or run it on local`, {
      code: 'TASK_INPUT_INVALID',
      retryable: false,
    });
  }
  return definition.container(input);
}

/**
 * The function invocation of a task for an input.
 * @throws {@link RunnerError} `TASK_INPUT_INVALID` (not retryable) when the task declares none.
 */
export function functionInvocationOf(definition: RunnableTask, input: Record<string, unknown>, runner: string): FunctionInvocation {
  if (!hasHook(definition, 'invocation')) {
    throw new RunnerError(runner, `${definition.name}@${definition.version} names no function; use tasks/function.invoke or run it on local`, {
      code: 'TASK_INPUT_INVALID',
      retryable: false,
    });
  }
  return definition.invocation(input);
}

/** The environment variable a secret mounted `as: env` gets by default. */
export function secretEnvName(secret: SecretMount): string {
  return secret.env ?? secret.name.toUpperCase().replace(/[^A-Z0-9_]/g, '_');
}

/** The file a secret mounted `as: file` gets by default. */
export function secretFilePath(secret: SecretMount): string {
  return secret.path ?? `/run/secrets/${secret.name}`;
}

/** Labels (Docker) and annotations that tie a container or Job to its attempt. */
export function attemptLabels(ctx: { runId: string; taskId: string; attempt: number; namespace: string }): Record<string, string> {
  return {
    'dev.maestro.managed-by': 'maestro',
    'dev.maestro.run-id': ctx.runId,
    'dev.maestro.task-id': ctx.taskId,
    'dev.maestro.attempt': String(ctx.attempt),
    'dev.maestro.namespace': ctx.namespace,
  };
}
