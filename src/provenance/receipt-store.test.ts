import { readFile } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { CODE_DIGESTS, PARAMS, compiledFixture, runFixture, tempDir, testKey } from '../../test/provenance/fixtures.js';
import { MaestroError, NotFoundError } from '../errors/index.js';
import { FsBlobStore } from '../store/index.js';
import { sha256Hex } from '../canonical/index.js';
import { ReceiptStore, createReceiptWriter, withChildReceipts } from './receipt-store.js';
import { localBundleSigner } from './signing.js';
import { verifyReceipt } from './verify.js';

let cleanup: () => Promise<void>;
let receipts: ReceiptStore;

beforeEach(async () => {
  const temp = await tempDir();
  cleanup = temp.cleanup;
  receipts = new ReceiptStore(new FsBlobStore(temp.dir));
});
afterEach(() => cleanup());

function writer(decisions?: () => Promise<{ run: string[] }>) {
  return createReceiptWriter({
    receipts,
    signer: localBundleSigner(testKey()),
    builderId: 'urn:maestro:builder:test',
    workerBuildId: `sha256:${'44'.repeat(32)}`,
    taskCodeDigests: CODE_DIGESTS,
    ...(decisions ? { policyDecisions: decisions } : {}),
  });
}

function input() {
  const { ir, digest } = compiledFixture();
  return { runId: 'run-fixture', ir, digest, params: PARAMS, state: runFixture(digest), namespace: 'team-a' };
}

describe('createReceiptWriter', () => {
  it('signs and stores the receipt under receipts/<runId>.sigstore.json; the reader returns the same bytes', async () => {
    const written = await writer(() => Promise.resolve({ run: ['d-1'] }))(input());
    expect(written.receiptUri).toMatch(/\/receipts\/run-fixture\.sigstore\.json$/);
    const bytes = await readFile(fileURLToPath(written.receiptUri));
    expect(written.digest).toBe(`sha256:${sha256Hex(bytes)}`);
    const stored = await receipts.read('run-fixture');
    expect(Buffer.from(stored.bytes).equals(bytes)).toBe(true);
    const verified = verifyReceipt(stored.bundle, { publicKeys: [testKey().publicKeyPem], run: input().state });
    expect(verified.ok).toBe(true);
    if (verified.ok) {
      expect(verified.statement.predicate.buildDefinition.externalParameters.namespace).toBe('team-a');
      expect(verified.statement.predicate.runDetails.byproducts?.[0]?.annotations).toMatchObject({ policyDecisionIds: ['d-1'] });
    }
  });

  it('is idempotent: writing the same run again (an activity retry) keeps the stored receipt', async () => {
    const write = writer();
    const first = await write(input());
    const second = await write(input());
    expect(second).toEqual(first);
  });

  it('replaces the receipt when the run state differs', async () => {
    const write = writer();
    const first = await write(input());
    const changed = input();
    changed.state.status = 'FAILED';
    const second = await write(changed);
    expect(second.statementDigest).not.toBe(first.statementDigest);
  });

  it('reports a run without receipt as NOT_FOUND and refuses run ids that could escape the folder', async () => {
    await expect(receipts.read('run-unknown')).rejects.toThrow(NotFoundError);
    await expect(receipts.read('../etc/passwd')).rejects.toThrow(MaestroError);
    await expect(receipts.read('a/b')).rejects.toMatchObject({ code: 'BAD_REQUEST' });
  });
});

describe('withChildReceipts', () => {
  /** A run whose tasks and forEach items name children, as a run of history format 3 records them. */
  function parent() {
    const state = runFixture(compiledFixture().digest, 'run-parent');
    const [shape, each] = state.tasks;
    shape!.subWorkflow = { runId: 'run-child-a', workflowRef: 'child@1.0.0' };
    each!.items![0]!.subWorkflow = { runId: 'run-child-b', workflowRef: 'child@1.0.0' };
    each!.items![1]!.subWorkflow = { runId: 'run-child-c', workflowRef: 'child@1.0.0', receiptDigest: `sha256:${'cc'.repeat(32)}` };
    // A task whose child has not ended is not looked up, whatever the store holds.
    state.tasks[2]!.status = 'RUNNING';
    state.tasks[2]!.subWorkflow = { runId: 'run-child-d', workflowRef: 'child@1.0.0' };
    return state;
  }

  it("fills each child's digest from the store, keeps those it carries, and leaves out a child with no receipt yet", async () => {
    const write = writer();
    const a = await write({ ...input(), runId: 'run-child-a', state: runFixture(compiledFixture().digest, 'run-child-a') });
    await write({ ...input(), runId: 'run-child-d', state: runFixture(compiledFixture().digest, 'run-child-d') });
    const state = parent();
    const filled = await withChildReceipts(state, receipts);
    expect(filled.tasks[2]!.subWorkflow).toEqual({ runId: 'run-child-d', workflowRef: 'child@1.0.0' });
    expect(filled.tasks[0]!.subWorkflow).toEqual({ runId: 'run-child-a', workflowRef: 'child@1.0.0', receiptDigest: a.digest });
    expect(filled.tasks[1]!.items!.map((item) => item.subWorkflow)).toEqual([
      { runId: 'run-child-b', workflowRef: 'child@1.0.0' },
      { runId: 'run-child-c', workflowRef: 'child@1.0.0', receiptDigest: `sha256:${'cc'.repeat(32)}` },
    ]);
    expect(state.tasks[0]!.subWorkflow!.receiptDigest).toBeUndefined();
    // The digest is the stored bytes' sha256, as GET /runs/{runId}/receipt serves them.
    expect(a.digest).toBe(`sha256:${sha256Hex((await receipts.read('run-child-a')).bytes)}`);
  });

  it('returns the state itself when no child lacks its digest, and the parent receipt carries the filled digests', async () => {
    const plain = runFixture(compiledFixture().digest);
    expect(await withChildReceipts(plain, receipts)).toBe(plain);
    const write = writer();
    const b = await write({ ...input(), runId: 'run-child-b', state: runFixture(compiledFixture().digest, 'run-child-b') });
    await write({ ...input(), runId: 'run-parent', state: parent() });
    const verified = verifyReceipt((await receipts.read('run-parent')).bundle, { publicKeys: [testKey().publicKey] });
    if (!verified.ok) throw new Error(verified.reason);
    const byproduct = verified.statement.predicate.runDetails.byproducts?.find((entry) => entry.name === 'task/each');
    expect((byproduct?.annotations?.items as { subWorkflow?: unknown }[] | undefined)?.[0]?.subWorkflow).toEqual({ runId: 'run-child-b', workflowRef: 'child@1.0.0', receiptDigest: b.digest });
  });

  it('reads each child receipt once: a digest once known is remembered', async () => {
    const temp = await tempDir();
    const blobs = new FsBlobStore(temp.dir);
    const reads: string[] = [];
    const counting = new ReceiptStore({
      get: (key) => (reads.push(key), blobs.get(key)),
      put: (key, data) => blobs.put(key, data),
      delete: (key) => blobs.delete(key),
      uriOf: (key) => blobs.uriOf(key),
    });
    const written = await new ReceiptStore(blobs).write('run-child-a', await localBundleSigner(testKey()).sign(Buffer.from('{}'), 'application/vnd.in-toto+json'));
    const first = await withChildReceipts(parent(), counting);
    expect(await withChildReceipts(parent(), counting)).toEqual(first);
    expect(first.tasks[0]!.subWorkflow!.receiptDigest).toBe(written.digest);
    // run-child-a read once; run-child-b, which has no receipt, each time it is asked for.
    expect(reads.filter((key) => key.includes('run-child-a'))).toHaveLength(1);
    expect(reads.filter((key) => key.includes('run-child-b'))).toHaveLength(2);
    await temp.cleanup();
  });
});
