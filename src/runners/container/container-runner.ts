import { createHash } from 'node:crypto';
import { existsSync } from 'node:fs';
import { constants } from 'node:fs';
import { chmod, mkdir, mkdtemp, open, rm, writeFile, type FileHandle } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import type Dockerode from 'dockerode';
import type { Container, ContainerCreateOptions, MountSettings } from 'dockerode';
import type { ResourceClassSetting } from '../../config/index.js';
import { TaskError, isMaestroError } from '../../errors/index.js';
import type { TaskContext } from '../../sdk/index.js';
import type { ArtifactStore } from '../../store/index.js';
import { LogLines } from '../log-lines.js';
import { DEFAULT_RESOURCE_CLASSES, resolveResourceClass, type ResourceClass } from '../resources.js';
import { RunnerError, classTimeout } from '../runner-error.js';
import type { RunnableTask, RunOptions, Runner } from '../runner.js';
import {
  attemptLabels,
  containerWorkloadOf,
  secretEnvName,
  secretFilePath,
  type ContainerResult,
  type ContainerWorkload,
} from '../workload.js';
import { collectArtifacts } from './artifacts.js';
import { describeDockerHost, dockerOptions } from './docker-host.js';
import { checkImage, type ImagePolicy, type ImageVerificationRequest } from './image-policy.js';
import { workerLabels } from './orphans.js';

/** Options of {@link createContainerRunner}. */
export interface ContainerRunnerOptions {
  /** The Docker API (`DOCKER_HOST`): `unix:///…`, `tcp://host:port`. @default unix:///var/run/docker.sock */
  dockerHost?: string;
  /** A ready client instead of `dockerHost` (tests, custom TLS). */
  docker?: Dockerode;
  /** Resource classes by name. @default {@link DEFAULT_RESOURCE_CLASSES} */
  resourceClasses?: Readonly<Record<string, ResourceClassSetting>>;
  /** Where collected artifacts are stored. @default none: artifacts are hashed and listed only */
  artifacts?: ArtifactStore;
  /** When images need a verified signature. @default no verification */
  imagePolicy?: ImagePolicy;
  /** Network mode of a workload that asks for a network. @default 'bridge' */
  networkMode?: string;
  /** Host directory for per-attempt outputs and artifacts (bind-mounted; the engine must see it). @default os.tmpdir() */
  scratchDir?: string;
  /** Host directory for secret files: memory-backed so secrets never reach a disk. @default '/dev/shm' when present, else os.tmpdir() */
  secretsDir?: string;
  /** Log lines kept for outputs and errors. @default 50 */
  tailLines?: number;
  /** Largest total size of an attempt's artifacts. @default 536870912 (512 MiB) */
  maxArtifactBytes?: number;
  /** Largest `$MAESTRO_OUTPUTS` file. @default 1048576 */
  maxOutputsBytes?: number;
  /** How often the runner heartbeats with the container's state. @default 5000 */
  heartbeatIntervalMs?: number;
  /** Most processes in a container. @default 1024 */
  pidsLimit?: number;
  /** Size of the writable `/tmp` when the root is read-only. @default '64m' */
  tmpSize?: string;
  /** Temporal namespace of the runs, labelled on every container for the orphan sweep. @default 'default' */
  temporalNamespace?: string;
}

/** A {@link Runner} that also says where its engine is. */
export interface ContainerRunner extends Runner {
  run(definition: RunnableTask, input: Record<string, unknown>, ctx: TaskContext, options?: RunOptions): Promise<ContainerResult>;
  /** The engine's address, for messages. */
  readonly dockerHost: string;
  /** The client (tests inspect containers with it). */
  docker(): Promise<Dockerode>;
}

const RUNNER = 'container';

/** The runtime settings {@link createContainerRunner} uses when its options leave them out. */
export const CONTAINER_RUNNER_DEFAULTS = { networkMode: 'bridge', pidsLimit: 1024, tmpSize: '64m' } as const;

/** Where the per-attempt Maestro directory is mounted; `$MAESTRO_OUTPUTS` lives there. */
const MAESTRO_DIR = '/maestro';
const OUTPUTS_FILE = `${MAESTRO_DIR}/outputs.json`;

/**
 * Runs each attempt of a task that declares a {@link ContainerWorkload} in its own container
 * through the Docker API (Docker, or Podman's Docker-compatible service):
 *
 * - no privileged mode, every capability dropped, `no-new-privileges`, read-only root with a
 *   tmpfs `/tmp` (unless the workload turns it off), no network unless the workload asks;
 * - the resource class's memory (no swap) and CPU as cgroup limits, its time limit enforced;
 * - secrets as environment variables, or as read-only files from a memory-backed host directory
 *   (absent from the container's environment and its `inspect` output);
 * - stdout and stderr streamed line by line into the task log, secret values redacted;
 * - exit 0 → outputs `{exitCode, logs, outputs?, artifacts}`, the artifacts directory's files
 *   hashed and stored; another exit → `TASK_FAILED` (retryable) with the last log lines;
 * - cancellation or timeout kills and removes the container; it is removed after every attempt.
 *
 * One attempt has one container, named after it: if Temporal re-runs an attempt whose worker was
 * lost, the stale container is removed first. Containers are labelled with their attempt and the
 * worker process that started them, for the orphan sweep (`orphans.ts`).
 */
export function createContainerRunner(options: ContainerRunnerOptions = {}): ContainerRunner {
  const {
    dockerHost,
    resourceClasses = DEFAULT_RESOURCE_CLASSES,
    artifacts,
    imagePolicy = {},
    networkMode = CONTAINER_RUNNER_DEFAULTS.networkMode,
    scratchDir = tmpdir(),
    secretsDir = existsSync('/dev/shm') ? '/dev/shm' : tmpdir(),
    tailLines = 50,
    maxArtifactBytes = 512 * 1024 * 1024,
    maxOutputsBytes = 1024 * 1024,
    heartbeatIntervalMs = 5000,
    pidsLimit = CONTAINER_RUNNER_DEFAULTS.pidsLimit,
    tmpSize = CONTAINER_RUNNER_DEFAULTS.tmpSize,
    temporalNamespace = 'default',
  } = options;
  let client: Promise<Dockerode> | undefined = options.docker ? Promise.resolve(options.docker) : undefined;
  const docker = (): Promise<Dockerode> =>
    (client ??= import('dockerode').then(({ default: Docker }) => new Docker(dockerOptions(dockerHost))));

  async function run(definition: RunnableTask, input: Record<string, unknown>, ctx: TaskContext, options: RunOptions = {}): Promise<ContainerResult> {
    const workload = containerWorkloadOf(definition, input, RUNNER);
    // A network the egress guard cannot see into: only for namespaces an admin allows it (before any secret is read).
    if (workload.network) ctx.egress.requireContainerNetwork();
    const signedImageRequired = workload.requireSignedImage === true || options.requireSignedImage === true;
    const resources = resolveResourceClass(resourceClasses, workload.resources, RUNNER);
    const deadline = AbortSignal.timeout(resources.timeoutMs);
    const signal = AbortSignal.any([ctx.signal, deadline]);
    const api = await docker();
    const secretValues = await Promise.all((workload.secrets ?? []).map((secret) => ctx.secrets(secret.name)));
    const log = new LogLines({ logger: ctx.logger, fields: { runner: RUNNER }, redact: secretValues, tailLines });
    const dirs = await attemptDirs(scratchDir, secretsDir, workload);
    let container: Container | undefined;
    const beat = setInterval(() => ctx.heartbeat({ runner: RUNNER, container: container?.id }), heartbeatIntervalMs);
    try {
      const imageId = await resolveImage(api, workload.image, ctx);
      throwIfStopped(signal, deadline, resources);
      const spec = await containerSpec({ workload, ctx, resources, imageId, dirs, secretValues, networkMode, pidsLimit, tmpSize, temporalNamespace });
      container = await createContainer(api, spec);
      ctx.heartbeat({ runner: RUNNER, container: container.id, state: 'created' });
      throwIfStopped(signal, deadline, resources);
      const exitCode = await runToExit(api, container, log, signal);
      throwIfStopped(signal, deadline, resources);
      if (exitCode !== 0) throw await exitFailure(container, exitCode, log, resources);
      const result: ContainerResult = { exitCode, logs: log.tail(), artifacts: [] };
      const outputs = await readOutputs(join(dirs.maestro, 'outputs.json'), maxOutputsBytes);
      if (outputs !== undefined) result.outputs = outputs;
      if (dirs.artifacts) result.artifacts = await collectArtifacts(dirs.artifacts, artifacts, maxArtifactBytes);
      ctx.logger.info('container exited', { runner: RUNNER, exitCode, artifacts: result.artifacts.length });
      return result;
    } catch (error) {
      if (ctx.signal.aborted) throw ctx.signal.reason;
      if (deadline.aborted) throw classTimeout(RUNNER, resources.name, resources.timeoutMs);
      throw asRunnerFailure(error, describeDockerHost(dockerHost));
    } finally {
      clearInterval(beat);
      // Kill (if still running) and remove; a cancelled attempt leaves nothing behind.
      if (container) await container.remove({ force: true, v: true }).catch((error: unknown) => ignoreMissing(error, ctx));
      await Promise.all([rm(dirs.root, { recursive: true, force: true }), rm(dirs.secrets, { recursive: true, force: true })]);
    }

    async function resolveImage(engine: Dockerode, image: string, context: TaskContext): Promise<string> {
      let info: Dockerode.ImageInspectInfo;
      try {
        info = await engine.getImage(image).inspect();
      } catch (error) {
        if (statusOf(error) === 404) await pullImage(engine, image, signal);
        else throw error;
        info = await engine.getImage(image).inspect();
      }
      const request: ImageVerificationRequest = {
        image,
        imageId: info.Id,
        repoDigests: info.RepoDigests ?? [],
        namespace: context.namespace,
        runId: context.runId,
        taskId: context.taskId,
      };
      const verdict = await checkImage(RUNNER, imagePolicy, request, signedImageRequired);
      if (verdict?.verified) context.logger.info('image verified', { runner: RUNNER, image, imageId: info.Id, signer: verdict.signer });
      return info.Id;
    }
  }

  return {
    run,
    dockerHost: describeDockerHost(dockerHost),
    docker,
  };
}

/** The host folders of one attempt, bind-mounted into its container. */
export interface AttemptDirs {
  /** Removed after the attempt. */
  root: string;
  /** Mounted at `/maestro`. */
  maestro: string;
  /** Mounted at the workload's artifacts directory. */
  artifacts?: string;
  /** Secret files (memory-backed). */
  secrets: string;
}

async function attemptDirs(scratchDir: string, secretsDir: string, workload: ContainerWorkload): Promise<AttemptDirs> {
  const root = await mkdtemp(join(scratchDir, 'maestro-attempt-'));
  const maestro = join(root, 'maestro');
  await mkdir(maestro);
  // The workload may run as any user: its own directories are writable by all (the parent stays private).
  await chmod(maestro, 0o777);
  const dirs: AttemptDirs = { root, maestro, secrets: await mkdtemp(join(secretsDir, 'maestro-secrets-')) };
  if (workload.artifacts !== undefined) {
    dirs.artifacts = join(root, 'artifacts');
    await mkdir(dirs.artifacts);
    await chmod(dirs.artifacts, 0o777);
  }
  return dirs;
}

/** What {@link containerSpec} builds an attempt's container from. */
export interface SpecInput {
  workload: ContainerWorkload;
  ctx: TaskContext;
  resources: ResourceClass;
  imageId: string;
  dirs: AttemptDirs;
  secretValues: string[];
  networkMode: string;
  pidsLimit: number;
  tmpSize: string;
  temporalNamespace: string;
}

/**
 * The container-create request of one attempt: every runtime setting the runner asks the engine for
 * (user-visible hardening: no privilege, no capability, read-only root, limits). Exported so that
 * `scripts/cis.mjs` renders and scans exactly what the runner sends. Writes the attempt's file
 * secrets into `dirs.secrets`; no other I/O.
 */
export async function containerSpec(input: SpecInput): Promise<ContainerCreateOptions> {
  const { workload, ctx, resources, imageId, dirs, secretValues, networkMode, pidsLimit, tmpSize, temporalNamespace } = input;
  const env: Record<string, string> = {
    ...workload.env,
    MAESTRO_RUN_ID: ctx.runId,
    MAESTRO_TASK_ID: ctx.taskId,
    MAESTRO_ATTEMPT: String(ctx.attempt),
    MAESTRO_OUTPUTS: OUTPUTS_FILE,
  };
  const mounts: MountSettings[] = [{ Type: 'bind', Source: dirs.maestro, Target: MAESTRO_DIR, ReadOnly: false }];
  if (dirs.artifacts && workload.artifacts) mounts.push({ Type: 'bind', Source: dirs.artifacts, Target: workload.artifacts, ReadOnly: false });
  for (const [index, secret] of (workload.secrets ?? []).entries()) {
    const value = secretValues[index] ?? '';
    if (secret.as === 'env') {
      env[secretEnvName(secret)] = value;
      continue;
    }
    const file = join(dirs.secrets, String(index));
    await writeFile(file, value, { mode: 0o444 });
    mounts.push({ Type: 'bind', Source: file, Target: secretFilePath(secret), ReadOnly: true });
  }
  const readOnly = workload.readOnlyRootFilesystem ?? true;
  return {
    name: containerName(ctx),
    Image: imageId,
    ...(workload.command ? { Entrypoint: workload.command } : {}),
    ...(workload.args ? { Cmd: workload.args } : {}),
    ...(workload.workingDir ? { WorkingDir: workload.workingDir } : {}),
    Env: Object.entries(env).map(([name, value]) => `${name}=${value}`),
    Labels: { ...attemptLabels(ctx), ...workerLabels(temporalNamespace), 'dev.maestro.resource-class': resources.name },
    Tty: false,
    AttachStdin: false,
    AttachStdout: true,
    AttachStderr: true,
    OpenStdin: false,
    NetworkDisabled: !workload.network,
    HostConfig: {
      NetworkMode: workload.network ? networkMode : 'none',
      Privileged: false,
      CapDrop: ['ALL'],
      SecurityOpt: ['no-new-privileges'],
      ReadonlyRootfs: readOnly,
      ...(readOnly ? { Tmpfs: { '/tmp': `rw,nosuid,nodev,size=${tmpSize}` } } : {}),
      Memory: resources.memoryBytes,
      // Equal to Memory: no swap on top of the class's memory.
      MemorySwap: resources.memoryBytes,
      NanoCpus: Math.round(resources.cpu * 1e9),
      PidsLimit: pidsLimit,
      Mounts: mounts,
      AutoRemove: false,
    },
  };
}

/** `maestro-<task>-<hash of run, task, attempt>`: one name per attempt, valid for Docker. */
function containerName(ctx: TaskContext): string {
  const slug = ctx.taskId.toLowerCase().replace(/[^a-z0-9_.-]+/g, '-').replace(/^-+|-+$/g, '').slice(0, 40);
  const hash = createHash('sha256').update(`${ctx.namespace}/${ctx.runId}/${ctx.taskId}/${ctx.attempt}`).digest('hex').slice(0, 16);
  return `maestro-${slug || 'task'}-${hash}-${ctx.attempt}`;
}

async function createContainer(api: Dockerode, spec: ContainerCreateOptions): Promise<Container> {
  try {
    return await api.createContainer(spec);
  } catch (error) {
    if (statusOf(error) !== 409 || !spec.name) throw error;
    // The same attempt ran before on a worker Temporal gave up on: its container goes first.
    await api.getContainer(spec.name).remove({ force: true, v: true });
    return api.createContainer(spec);
  }
}

/**
 * Attaches to the container's output, starts it, and resolves with its exit code. Attaching
 * before the start (as `docker run` does) streams every line as it is written: the engines'
 * `logs?follow` polls the log file (Podman: every 500 ms) and would add that to every task. The
 * exit is taken from the first of: the output stream ending and `inspect` showing the container
 * stopped (prompt), or `wait` answering (Podman's compat `wait` polls, up to a second late).
 */
async function runToExit(api: Dockerode, container: Container, log: LogLines, signal: AbortSignal): Promise<number> {
  const stream = (await container.attach({ stream: true, stdout: true, stderr: true })) as NodeJS.ReadableStream;
  const streamed = demux(api, stream, log);
  await container.start();
  const stopWaiting = new AbortController();
  const waited = (container.wait({ abortSignal: stopWaiting.signal }) as Promise<{ StatusCode: number }>).then(({ StatusCode }) => StatusCode);
  // Whichever way wins, the other must not surface as an unhandled rejection.
  waited.catch(() => undefined);
  const afterStream = streamed.then(async () => {
    const { State } = await container.inspect();
    return State.Running ? waited : State.ExitCode;
  });
  try {
    const exitCode = await untilAborted(Promise.race([afterStream, waited]), signal);
    // The stream ends with the container; give a slow engine a moment to deliver the last lines.
    await Promise.race([streamed, new Promise((resolve) => setTimeout(resolve, 2000).unref())]);
    log.flush();
    return exitCode;
  } finally {
    stopWaiting.abort();
    (stream as NodeJS.ReadableStream & { destroy?: () => void }).destroy?.();
  }
}

function demux(api: Dockerode, stream: NodeJS.ReadableStream, log: LogLines): Promise<void> {
  const sink = (name: string): Writable =>
    new Writable({
      write(chunk: Buffer, _encoding, done) {
        log.write(name, chunk);
        done();
      },
    });
  return new Promise<void>((resolve) => {
    api.modem.demuxStream(stream, sink('stdout'), sink('stderr'));
    stream.on('end', resolve);
    stream.on('close', resolve);
    stream.on('error', () => resolve());
  });
}

/** Resolves like `promise`, or rejects with `signal.reason` once `signal` aborts. */
function untilAborted<T>(promise: Promise<T>, signal: AbortSignal): Promise<T> {
  if (signal.aborted) return Promise.reject(signal.reason);
  return new Promise<T>((resolve, reject) => {
    const onAbort = (): void => reject(signal.reason);
    signal.addEventListener('abort', onAbort, { once: true });
    promise.then(
      (value) => {
        signal.removeEventListener('abort', onAbort);
        resolve(value);
      },
      (error: unknown) => {
        signal.removeEventListener('abort', onAbort);
        reject(error);
      },
    );
  });
}

function throwIfStopped(signal: AbortSignal, deadline: AbortSignal, resources: ResourceClass): void {
  if (deadline.aborted) throw classTimeout(RUNNER, resources.name, resources.timeoutMs);
  signal.throwIfAborted();
}

async function exitFailure(container: Container, exitCode: number, log: LogLines, resources: ResourceClass): Promise<TaskError> {
  const state = await container.inspect().then(
    (info) => info.State,
    () => undefined,
  );
  const oom = state?.OOMKilled === true;
  const reason = oom ? `was killed for using more than its ${resources.memoryBytes} bytes of memory (class "${resources.name}")` : `exited with code ${exitCode}`;
  const tail = log.tail();
  return new TaskError(`container ${reason}${tail ? `; last log lines:\n${tail}` : ''}`, {
    code: 'TASK_FAILED',
    retryable: true,
    details: { exitCode, oomKilled: oom, logs: tail },
  });
}

/**
 * Reads the outputs file the container wrote. The container controls that folder, so the file is
 * opened without following a symbolic link (a link to a host file such as /etc/passwd would make
 * the worker read it) and without blocking (a FIFO would hang the worker), then must be a regular
 * file; anything else fails the task.
 */
async function readOutputs(file: string, maxBytes: number): Promise<unknown> {
  let handle: FileHandle;
  try {
    handle = await open(file, constants.O_RDONLY | constants.O_NOFOLLOW | constants.O_NONBLOCK);
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    if (code === 'ENOENT') return undefined;
    if (code === 'ELOOP') throw new TaskError('$MAESTRO_OUTPUTS is a symbolic link: refused, write the outputs to the file itself', { code: 'TASK_FAILED', retryable: false });
    throw error;
  }
  let text: string;
  try {
    const info = await handle.stat();
    if (!info.isFile()) throw new TaskError('$MAESTRO_OUTPUTS is not a regular file: refused', { code: 'TASK_FAILED', retryable: false });
    if (info.size > maxBytes) {
      throw new TaskError(`$MAESTRO_OUTPUTS is ${info.size} bytes, more than ${maxBytes}`, { code: 'TASK_FAILED', retryable: false });
    }
    text = await handle.readFile('utf8');
  } finally {
    await handle.close();
  }
  try {
    return JSON.parse(text) as unknown;
  } catch (error) {
    throw new TaskError(`$MAESTRO_OUTPUTS is not JSON: ${(error as Error).message}`, { code: 'TASK_FAILED', retryable: false, cause: error });
  }
}

async function pullImage(api: Dockerode, image: string, signal: AbortSignal): Promise<void> {
  try {
    const stream = (await api.pull(image, { abortSignal: signal })) as NodeJS.ReadableStream;
    await new Promise<void>((resolve, reject) => api.modem.followProgress(stream, (error) => (error ? reject(error) : resolve())));
  } catch (error) {
    throw new RunnerError(RUNNER, `image ${image} is not present and could not be pulled: ${messageOf(error)}`, {
      cause: error,
      retryable: statusOf(error) !== 404,
      details: { image },
    });
  }
}

/** Engine errors become `RUNNER_FAILED`; Maestro's own errors pass through. */
function asRunnerFailure(error: unknown, where: string): unknown {
  if (isMaestroError(error)) return error;
  const status = statusOf(error);
  const code = (error as { code?: unknown } | undefined)?.code;
  if (code === 'ENOENT' || code === 'ECONNREFUSED' || code === 'EACCES') {
    return new RunnerError(RUNNER, `the container engine at ${where} is unreachable (${String(code)}): ${messageOf(error)}`, { cause: error });
  }
  return new RunnerError(RUNNER, `the container engine refused the attempt${status ? ` (HTTP ${status})` : ''}: ${messageOf(error)}`, {
    cause: error,
    // A 4xx is about the request (bad image reference, bad option): trying again does not help.
    retryable: status === undefined || status >= 500,
  });
}

function ignoreMissing(error: unknown, ctx: TaskContext): void {
  if (statusOf(error) === 404 || statusOf(error) === 409) return;
  ctx.logger.warn('could not remove the container', { runner: RUNNER, error: messageOf(error) });
}

function statusOf(error: unknown): number | undefined {
  const status = (error as { statusCode?: unknown } | undefined)?.statusCode;
  return typeof status === 'number' ? status : undefined;
}

function messageOf(error: unknown): string {
  const json = (error as { json?: { message?: unknown; cause?: unknown } } | undefined)?.json;
  if (json && typeof json.message === 'string') return json.message;
  return error instanceof Error ? error.message : String(error);
}
