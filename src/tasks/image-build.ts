import { lstat, readdir, readFile, realpath } from 'node:fs/promises';
import { join, relative, resolve, sep } from 'node:path';
import type Dockerode from 'dockerode';
import { createEgressAgent, type EgressGuard } from '../egress/index.js';
import type { ImagesSettings, RunnersSettings } from '../config/index.js';
import { LogLines, dockerOptions, namesRegistry, parseImageReference, pinnedReference, registryClientFrom, type ImageReference } from '../runners/index.js';
import { defineTask, TaskError, type TaskContext } from '../sdk/index.js';
import { checkContainerfile, ContainerfileError, MAX_CONTAINERFILE_BYTES, type ContainerfilePlan } from './image/containerfile.js';
import { isInsideRoots, realRoots } from './shared/file-roots.js';

/** Input of `tasks/image.build`. */
export interface ImageBuildInput {
  /** The source tree: a folder inside an allowed root (config `fileRoots`); relative paths start at the first root. */
  repository: string;
  /** Where the image is pushed: `registry[:port]/repository:tag`. */
  image: string;
  /** The Containerfile, relative to the repository. @default Containerfile */
  containerfile?: string;
  /** Most bytes of source sent to the engine. @default 67108864 (64 MiB) */
  maxContextBytes?: number;
}

/** Output of `tasks/image.build`. */
export interface ImageBuildOutput {
  /** The tag reference pushed. */
  image: string;
  /** The manifest digest the registry serves for it. */
  digest: string;
  /** `registry/repository@digest`: what later steps should test, sign and deploy. */
  pinned: string;
  /** The build's last log lines. */
  logs: string;
}

/** What the worker's config decides about image builds. The config object itself fits. */
export interface ImageBuildOptions extends Pick<RunnersSettings, 'dockerHost'>, Pick<ImagesSettings, 'imageRegistryInsecure' | 'imageRegistryAuthFile'> {
  /** Folders a repository may be read from: config `fileRoots` (`MAESTRO_FILE_ROOTS`). @default [] — no builds */
  fileRoots?: readonly string[];
}

const MAX_CONTEXT_FILES = 10_000;
const MAX_ERROR_CHARS = 1000;
const DEFAULT_MAX_CONTEXT_BYTES = 64 * 1024 * 1024;

/**
 * `tasks/image.build`: builds a repository's Containerfile on the worker's container engine (Docker
 * or Podman, `DOCKER_HOST`) and pushes the image to its registry. Offline and unprivileged by
 * construction: the repository must lie inside an allowed root (its symlinks are sent as links,
 * never followed); the Containerfile may build only from images already on the build host (never
 * pulled), may not `ADD` URLs nor give `RUN` mounts, a network or privileges (see
 * {@link checkContainerfile}); every step runs with no network. The registry is reached only where
 * the run's namespace may connect (egress guard). Returns the digest-pinned reference for the
 * steps that test, sign and deploy it.
 *
 * @example
 * - id: build
 *   uses: tasks/image.build@0.1.0
 *   with: { repository: services/web, image: "registry.internal:5000/web:${run.id}" }
 */
export function createImageBuildTask(options: ImageBuildOptions = {}) {
  const { fileRoots = [], dockerHost } = options;
  let engine: Promise<Dockerode> | undefined;
  const docker = (): Promise<Dockerode> => (engine ??= import('dockerode').then(({ default: Docker }) => new Docker(dockerOptions(dockerHost))));
  return defineTask<ImageBuildInput, ImageBuildOutput>({
    name: 'tasks/image.build',
    version: '0.1.0',
    description: "Builds a repository's Containerfile offline (local base images only, no network, no privileges) and pushes the image; returns its digest.",
    execution: 'activity',
    input: {
      type: 'object',
      properties: {
        repository: { type: 'string', minLength: 1, maxLength: 1024, description: 'Source folder inside an allowed root (MAESTRO_FILE_ROOTS).' },
        image: { type: 'string', minLength: 1, maxLength: 512, description: 'registry[:port]/repository:tag to push.' },
        containerfile: { type: 'string', minLength: 1, maxLength: 256, default: 'Containerfile', description: 'Relative to the repository.' },
        maxContextBytes: { type: 'integer', minimum: 1, maximum: 1024 * 1024 * 1024, default: DEFAULT_MAX_CONTEXT_BYTES },
      },
      required: ['repository', 'image'],
      additionalProperties: false,
    },
    output: {
      type: 'object',
      properties: { image: { type: 'string' }, digest: { type: 'string', pattern: '^sha256:[0-9a-f]{64}$' }, pinned: { type: 'string' }, logs: { type: 'string' } },
      required: ['image', 'digest', 'pinned', 'logs'],
      additionalProperties: false,
    },
    async execute({ repository, image, containerfile = 'Containerfile', maxContextBytes = DEFAULT_MAX_CONTEXT_BYTES }, ctx) {
      const reference = pushTarget(image);
      const source = await sourceFolder(fileRoots, repository);
      const files = await contextFiles(source, maxContextBytes);
      const plan = await readContainerfile(source, containerfile);
      await ctx.egress.target(...hostAndPort(reference, options));
      const api = await docker();
      for (const base of plan.baseImages) {
        await api
          .getImage(base)
          .inspect()
          .catch((error: unknown) => {
            if ((error as { statusCode?: unknown }).statusCode !== 404) throw error;
            throw new TaskError(`base image ${base} is not on the build host: builds never pull; import or load it there first`, { code: 'TASK_INPUT_INVALID', retryable: false });
          });
      }
      const logs = new LogLines({ logger: ctx.logger, fields: { step: 'build' } });
      const built = await api.buildImage(
        { context: source, src: files },
        {
          t: image,
          dockerfile: containerfile,
          networkmode: 'none',
          rm: true,
          forcerm: true,
          labels: { 'dev.maestro.run-id': ctx.runId, 'dev.maestro.task-id': ctx.taskId, 'dev.maestro.namespace': ctx.namespace },
          abortSignal: ctx.signal,
        },
      );
      const buildError = await follow(api, built, logs, ctx);
      logs.flush();
      if (buildError !== undefined) throw new TaskError(`image build failed: ${buildError}\n${logs.tail()}`, { code: 'TASK_FAILED', retryable: false });
      const pushed = await api.getImage(`${reference.registry}/${reference.repository}`).push({ tag: reference.tag ?? 'latest', abortSignal: ctx.signal });
      const pushError = await follow(api, pushed, logs, ctx);
      logs.flush();
      if (pushError !== undefined) throw new TaskError(`pushing ${image} failed: ${pushError}`, { code: 'TASK_FAILED', retryable: true });
      const digest = await registryDigest(options, reference, ctx.egress);
      ctx.logger.info('image built and pushed', { image, digest, files: files.length });
      return { image, digest, pinned: pinnedReference(reference, digest), logs: logs.tail() };
    },
  });
}

/** `tasks/image.build` with no allowed folder and the default engine: configure `fileRoots` to use it. */
export const imageBuild = createImageBuildTask();

/** The push target: a registry reference with a tag, no digest. */
function pushTarget(image: string): ImageReference {
  const reference = parseImageReference(image);
  if (!namesRegistry(image) || reference.digest !== undefined) {
    throw new TaskError(`image "${image.slice(0, 120)}" must be registry[:port]/repository:tag (the build pushes it there)`, { code: 'TASK_INPUT_INVALID', retryable: false });
  }
  return reference;
}

function hostAndPort(reference: ImageReference, options: ImageBuildOptions): [string, number] {
  const url = new URL(`${(options.imageRegistryInsecure ?? []).includes(reference.registry) ? 'http' : 'https'}://${reference.registry}`);
  return [url.hostname, Number(url.port || (url.protocol === 'https:' ? 443 : 80))];
}

/** The repository's real folder, refused when it is not inside an allowed root. */
async function sourceFolder(fileRoots: readonly string[], repository: string): Promise<string> {
  const roots = await realRoots(fileRoots);
  if (roots.length === 0) throw new TaskError('tasks/image.build has no folder it may read: set MAESTRO_FILE_ROOTS', { code: 'CONFIG_INVALID', retryable: false });
  const real = await realpath(resolve(roots[0] as string, repository)).catch(() => undefined);
  if (real === undefined || !isInsideRoots(roots, real)) {
    // One answer whether the path is absent or elsewhere: no probing of the worker's files.
    throw new TaskError(`repository ${repository} is not a folder inside the allowed roots`, { code: 'POLICY_DENIED', retryable: false });
  }
  if (!(await lstat(real)).isDirectory()) throw new TaskError(`repository ${repository} is not a folder`, { code: 'TASK_INPUT_INVALID', retryable: false });
  return real;
}

/** Every file and symlink under `folder` (relative paths), bounded in count and bytes; symlinks are not followed. */
async function contextFiles(folder: string, maxBytes: number): Promise<string[]> {
  const files: string[] = [];
  let bytes = 0;
  const walk = async (dir: string): Promise<void> => {
    for (const entry of await readdir(dir, { withFileTypes: true })) {
      const path = join(dir, entry.name);
      if (entry.isDirectory()) {
        await walk(path);
        continue;
      }
      if (!entry.isFile() && !entry.isSymbolicLink()) continue;
      if (entry.name === '.dockerignore' && entry.isSymbolicLink()) {
        throw new TaskError('.dockerignore is a symlink: not allowed', { code: 'TASK_INPUT_INVALID', retryable: false });
      }
      files.push(relative(folder, path).split(sep).join('/'));
      if (files.length > MAX_CONTEXT_FILES) throw new TaskError(`the repository has over ${MAX_CONTEXT_FILES} files`, { code: 'TASK_INPUT_INVALID', retryable: false });
      bytes += entry.isFile() ? (await lstat(path)).size : 0;
      if (bytes > maxBytes) throw new TaskError(`the repository is over ${maxBytes} bytes (maxContextBytes)`, { code: 'TASK_INPUT_INVALID', retryable: false });
    }
  };
  await walk(folder);
  return files;
}

async function readContainerfile(folder: string, name: string): Promise<ContainerfilePlan> {
  const path = resolve(folder, name);
  const info = isInsideRoots([folder], path) ? await lstat(path).catch(() => undefined) : undefined;
  if (info === undefined || !info.isFile()) throw new TaskError(`${name} is not a file in the repository`, { code: 'TASK_INPUT_INVALID', retryable: false });
  if (info.size > MAX_CONTAINERFILE_BYTES) throw new TaskError(`${name} is over ${MAX_CONTAINERFILE_BYTES} bytes`, { code: 'TASK_INPUT_INVALID', retryable: false });
  try {
    return checkContainerfile(await readFile(path, 'utf8'));
  } catch (error) {
    if (error instanceof ContainerfileError) throw new TaskError(`${name} line ${error.line}: ${error.reason}`, { code: 'TASK_INPUT_INVALID', retryable: false });
    throw error;
  }
}

/** Follows an engine progress stream, logging its lines; resolves with the engine's error, if any. */
async function follow(api: Dockerode, stream: NodeJS.ReadableStream, logs: LogLines, ctx: TaskContext): Promise<string | undefined> {
  let failure: string | undefined;
  await new Promise<void>((resolveDone, reject) => {
    api.modem.followProgress(
      stream,
      (error: Error | null) => (error === null ? resolveDone() : reject(error)),
      (event: { stream?: string; status?: string; error?: string; errorDetail?: { message?: string } }) => {
        ctx.heartbeat();
        // The engine's message can be a long dump: its start says what failed.
        if (event.error !== undefined) failure ??= (event.errorDetail?.message ?? event.error).slice(0, MAX_ERROR_CHARS);
        const text = event.stream ?? (event.status === undefined ? undefined : `${event.status}\n`);
        if (text !== undefined) logs.write('stdout', text);
      },
    );
  });
  return failure;
}

/** The manifest digest the registry now serves for the pushed tag, asked through the namespace's egress guard. */
async function registryDigest(options: ImageBuildOptions, reference: ImageReference, guard: EgressGuard): Promise<string> {
  const dispatcher = createEgressAgent({ guard });
  try {
    const manifest = await registryClientFrom(options, { dispatcher }).manifest(reference);
    if (manifest === undefined) throw new TaskError(`${reference.registry}/${reference.repository}:${reference.tag ?? 'latest'} is not in its registry after the push`, { code: 'TASK_FAILED', retryable: true });
    return manifest.digest;
  } finally {
    await dispatcher.close();
  }
}
