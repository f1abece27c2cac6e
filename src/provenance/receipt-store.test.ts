import { readFile } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { CODE_DIGESTS, PARAMS, compiledFixture, runFixture, tempDir, testKey } from '../../test/provenance/fixtures.js';
import { MaestroError, NotFoundError } from '../errors/index.js';
import { FsBlobStore } from '../store/index.js';
import { sha256Hex } from '../canonical/index.js';
import { ReceiptStore, createReceiptWriter } from './receipt-store.js';
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
