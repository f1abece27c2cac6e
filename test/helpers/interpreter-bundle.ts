/**
 * The interpreter's workflow bundle for the tests' workers: built once per test run by the global
 * set-up (test/setup/temporal.ts, {@link writeInterpreterBundle}) and read from its file by each test
 * file, instead of every file that starts a worker running webpack over the interpreter again
 * (~4 s of CPU each, in some 70 files). The bundle is the one `bundleInterpreter()` makes, as a
 * worker started by `maestro dev` has it.
 */
import { mkdtemp, readFile, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { WorkflowBundleWithSourceMap } from '@temporalio/worker';
import { inject } from 'vitest';
import { bundleInterpreter } from '../../src/worker/index.js';

declare module 'vitest' {
  export interface ProvidedContext {
    /** The file holding the run's interpreter bundle (JSON of a `WorkflowBundleWithSourceMap`). */
    interpreterBundleFile: string;
  }
}

/** Bundles the interpreter into a new temporary folder; returns the bundle file's path (the global set-up's). */
export async function writeInterpreterBundle(): Promise<string> {
  const [bundle, dir] = await Promise.all([bundleInterpreter(), mkdtemp(join(tmpdir(), 'maestro-interpreter-bundle-'))]);
  const file = join(dir, 'bundle.json');
  await writeFile(file, JSON.stringify(bundle));
  return file;
}

let bundle: Promise<WorkflowBundleWithSourceMap> | undefined;

/** The run's interpreter bundle (read once per test file). */
export function interpreterBundle(): Promise<WorkflowBundleWithSourceMap> {
  bundle ??= readFile(inject('interpreterBundleFile'), 'utf8').then((text) => JSON.parse(text) as WorkflowBundleWithSourceMap);
  return bundle;
}
