/**
 * vitest globalSetup: ONE real Temporal dev server for the whole test run (in-memory SQLite, free
 * ports, no Web UI, Maestro's search attributes registered), stopped when the run ends.
 * Tests read its address with `inject('temporalAddress')`. A missing Temporal CLI fails the run
 * with the fix (`npm run tools`); integration tests are never skipped. Beside it, the interpreter's
 * workflow bundle, built once for every test file's workers (test/helpers/interpreter-bundle.ts).
 */
import { rm } from 'node:fs/promises';
import { dirname } from 'node:path';
import type { TestProject } from 'vitest/node';
import { loadConfig } from '../../src/config/index.js';
import { resolveTemporalBin, startDevServer } from '../../src/devserver/index.js';
import { writeInterpreterBundle } from '../helpers/interpreter-bundle.js';

declare module 'vitest' {
  export interface ProvidedContext {
    /** Frontend `host:port` of the test run's Temporal dev server. */
    temporalAddress: string;
  }
}

export default async function setup(project: TestProject): Promise<() => Promise<void>> {
  const [server, bundleFile] = await Promise.all([
    startDevServer({ bin: resolveTemporalBin(loadConfig().temporalBin), port: 0, ui: false }),
    writeInterpreterBundle(),
  ]);
  project.provide('temporalAddress', server.address);
  project.provide('interpreterBundleFile', bundleFile);
  return async () => {
    await server.stop();
    await rm(dirname(bundleFile), { recursive: true, force: true });
  };
}
