/**
 * Prints, as JSON, the container-create requests the container runner sends for representative
 * workloads: its defaults (no network, read-only root, the default resource class) and a workload
 * with a network, a file secret and an artifacts folder. `scripts/cis.mjs` turns them into a
 * checkable document and scans them beside the Dockerfile, the compose file and the chart, so a
 * change to the runner's runtime settings is scanned too.
 *
 *   node --import tsx scripts/cis-container-runner.ts   → [{"name": …, "request": {…}}, …]
 *
 * Runs the runner's own `containerSpec` with its own defaults; talks to no engine. The one file it
 * writes (the file secret) goes to a temporary folder it removes.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  CONTAINER_RUNNER_DEFAULTS,
  DEFAULT_RESOURCE_CLASSES,
  containerSpec,
  resolveResourceClass,
  type ContainerWorkload,
} from '../src/runners/index.js';
import { createTestContext } from '../src/sdk/index.js';

/** The workloads rendered: what every task gets, and the most a workload can ask for. */
const WORKLOADS: Record<string, ContainerWorkload> = {
  default: { image: 'registry.example/task:1.0' },
  network: {
    image: 'registry.example/task:1.0',
    network: true,
    artifacts: '/out',
    secrets: [{ name: 'api-token', as: 'file' }],
  },
};

/** An image as the runner pins it: by the id the engine resolved, never by a tag. */
const IMAGE_ID = `sha256:${'0'.repeat(64)}`;

const folder = mkdtempSync(join(tmpdir(), 'maestro-cis-runner-'));
try {
  const requests = [];
  for (const [name, workload] of Object.entries(WORKLOADS)) {
    const request = await containerSpec({
      workload,
      ctx: createTestContext({ taskId: name }),
      resources: resolveResourceClass(DEFAULT_RESOURCE_CLASSES, workload.resources, 'container'),
      imageId: IMAGE_ID,
      dirs: { root: folder, maestro: join(folder, 'maestro'), secrets: folder, ...(workload.artifacts ? { artifacts: join(folder, 'artifacts') } : {}) },
      secretValues: (workload.secrets ?? []).map(() => 'redacted'),
      networkMode: CONTAINER_RUNNER_DEFAULTS.networkMode,
      pidsLimit: CONTAINER_RUNNER_DEFAULTS.pidsLimit,
      tmpSize: CONTAINER_RUNNER_DEFAULTS.tmpSize,
      temporalNamespace: 'default',
    });
    requests.push({ name, request });
  }
  process.stdout.write(`${JSON.stringify(requests, null, 2)}\n`);
} finally {
  rmSync(folder, { recursive: true, force: true });
}
