import { TaskError } from '../sdk/index.js';
import { defineRemoteTask, type ContainerResult, type ContainerWorkload } from '../runners/index.js';

/** Input of `tasks/container.run`: a {@link ContainerWorkload}. */
export type ContainerRunInput = ContainerWorkload;
/** Output of `tasks/container.run`. */
export type ContainerRunOutput = ContainerResult;

const ENV_NAME = '^[A-Za-z_][A-Za-z0-9_]*$';

/**
 * `tasks/container.run`: runs an image in an isolated container (`runsOn: container`) or as a
 * Kubernetes Job (`runsOn: k8s`). Exit 0 succeeds with the last log lines, the JSON the workload
 * wrote to `$MAESTRO_OUTPUTS` and the artifacts it left in `artifacts` (hashed, stored); another
 * exit fails the task with the last log lines. No network unless `network: true`; the resource
 * class sets CPU, memory and the time limit.
 *
 * @example
 * - id: build
 *   uses: tasks/container.run@0.1.0
 *   runsOn: container
 *   with:
 *     image: registry.example/builder:1.4
 *     args: [make, dist]
 *     secrets: [{ name: npm-token, as: file }]
 *     artifacts: /work/dist
 *     resources: medium
 */
export const containerRun = defineRemoteTask<ContainerRunInput, ContainerRunOutput>({
  name: 'tasks/container.run',
  version: '0.1.0',
  description: 'Runs a container image (runsOn: container or k8s); returns its exit code, last log lines, outputs and artifacts.',
  execution: 'activity',
  input: {
    type: 'object',
    properties: {
      image: { type: 'string', minLength: 1, description: 'Image reference, name[:tag] or name@sha256:digest.' },
      command: { type: 'array', items: { type: 'string' }, minItems: 1, description: "Replaces the image's entrypoint." },
      args: { type: 'array', items: { type: 'string' }, description: "Arguments (the image's CMD when absent)." },
      env: { type: 'object', propertyNames: { pattern: ENV_NAME }, additionalProperties: { type: 'string' }, description: 'Environment variables.' },
      secrets: {
        type: 'array',
        description: 'Secrets resolved by the worker: as env (a variable) or as file (a read-only file, not in the environment).',
        items: {
          type: 'object',
          properties: {
            name: { type: 'string', minLength: 1 },
            as: { enum: ['env', 'file'] },
            env: { type: 'string', pattern: ENV_NAME, description: 'Variable name (as: env). Default: the name upper-cased.' },
            path: { type: 'string', pattern: '^/', description: 'File path (as: file). Default: /run/secrets/<name>.' },
          },
          required: ['name', 'as'],
          additionalProperties: false,
        },
      },
      artifacts: { type: 'string', pattern: '^/', description: 'Directory whose files are collected after a successful exit.' },
      network: { type: 'boolean', default: false, description: 'Give the container a network (none by default).' },
      resources: { type: 'string', pattern: '^[a-z][a-z0-9-]*$', description: 'Resource class: small (default), medium, large or a custom one.' },
      workingDir: { type: 'string', pattern: '^/' },
      readOnlyRootFilesystem: { type: 'boolean', default: true, description: 'Mount the image read-only (a tmpfs /tmp stays writable).' },
      requireSignedImage: {
        type: 'boolean',
        default: false,
        description: "Start only if the image carries a trusted signature, even where the worker's config does not require one.",
      },
    },
    required: ['image'],
    additionalProperties: false,
  },
  output: {
    type: 'object',
    properties: {
      exitCode: { type: 'integer' },
      logs: { type: 'string', description: 'The last log lines, secrets redacted.' },
      outputs: { description: 'The JSON the workload wrote to $MAESTRO_OUTPUTS.' },
      artifacts: {
        type: 'array',
        items: {
          type: 'object',
          properties: { path: { type: 'string' }, sha256: { type: 'string' }, size: { type: 'integer' }, uri: { type: 'string' } },
          required: ['path', 'sha256', 'size'],
        },
      },
    },
    required: ['exitCode', 'logs', 'artifacts'],
    additionalProperties: false,
  },
  container: (input) => input,
  async execute() {
    throw new TaskError('tasks/container.run runs only with runsOn: container or runsOn: k8s', { code: 'TASK_INPUT_INVALID', retryable: false });
  },
});
