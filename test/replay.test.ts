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
import { progressSink, receiptSink } from '../src/activities/index.js';
import { interpreterBundle } from './helpers/interpreter-bundle.js';

const FIXTURES = fileURLToPath(new URL('./fixtures/histories/', import.meta.url));
const files = (await readdir(FIXTURES)).filter((name) => name.endsWith('.history.json')).sort();

let workflowBundle: WorkflowBundleWithSourceMap;

beforeAll(async () => {
  workflowBundle = await interpreterBundle();
});

it('has recorded histories to replay', () => {
  expect(files.length).toBeGreaterThanOrEqual(6);
});

it.each(files)('replays %s without non-determinism', async (file) => {
  const history: unknown = JSON.parse(await readFile(`${FIXTURES}${file}`, 'utf8'));
  // The receipt sink as a worker registers it (history format 2 calls it): a replay never writes.
  let receipts = 0;
  const sinks = receiptSink(
    () => {
      receipts += 1;
      return Promise.resolve({ receiptUri: '', digest: '', statementDigest: '' });
    },
    () => undefined,
  );
  // The progress sink too (every run publishes its state through it): a replay publishes nothing.
  let published = 0;
  const progress = progressSink({ publishRunProgress: () => Promise.resolve(void (published += 1)) }, () => undefined);
  await expect(Worker.runReplayHistory({ workflowBundle, sinks: { ...sinks, ...progress } }, history, `replay-${basename(file, '.history.json')}`)).resolves.toBeUndefined();
  expect(receipts).toBe(0);
  expect(published).toBe(0);
});
