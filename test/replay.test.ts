/**
 * Recorded interpreter histories (test/fixtures/histories, made by scripts/record-histories.ts)
 * replay cleanly against today's interpreter: a change that breaks determinism for runs already in
 * flight fails here and needs `patched()`.
 */
import { readFile, readdir } from 'node:fs/promises';
import { basename } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Worker, type WorkflowBundleWithSourceMap } from '@temporalio/worker';
import { beforeAll, expect, it } from 'vitest';
import { bundleInterpreter } from '../src/worker/index.js';

const FIXTURES = fileURLToPath(new URL('./fixtures/histories/', import.meta.url));
const files = (await readdir(FIXTURES)).filter((name) => name.endsWith('.history.json')).sort();

let workflowBundle: WorkflowBundleWithSourceMap;

beforeAll(async () => {
  workflowBundle = await bundleInterpreter();
});

it('has recorded histories to replay', () => {
  expect(files.length).toBeGreaterThanOrEqual(6);
});

it.each(files)('replays %s without non-determinism', async (file) => {
  const history: unknown = JSON.parse(await readFile(`${FIXTURES}${file}`, 'utf8'));
  await expect(Worker.runReplayHistory({ workflowBundle }, history, `replay-${basename(file, '.history.json')}`)).resolves.toBeUndefined();
});
