import { mkdir, readdir } from 'node:fs/promises';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { tempDir } from '../../test/provenance/fixtures.js';
import { FsBlobStore } from './blob-store.js';

let dir: string;
let cleanup: () => Promise<void>;
let store: FsBlobStore;

beforeEach(async () => {
  ({ dir, cleanup } = await tempDir());
  store = new FsBlobStore(dir);
});
afterEach(() => cleanup());

describe('FsBlobStore', () => {
  it('makes the folders of a first blob, and replaces a blob whole', async () => {
    await store.put('receipts/2026/run-1.json', '{"a":1}');
    expect(Buffer.from((await store.get('receipts/2026/run-1.json'))!).toString()).toBe('{"a":1}');
    await store.put('receipts/2026/run-1.json', new TextEncoder().encode('{"a":2}'));
    expect(Buffer.from((await store.get('receipts/2026/run-1.json'))!).toString()).toBe('{"a":2}');
    expect(await readdir(join(dir, 'receipts', '2026'))).toEqual(['run-1.json']);
    expect(await store.get('receipts/2026/run-2.json')).toBeUndefined();
  });

  it('rejects a put it cannot finish and leaves no temporary file behind', async () => {
    // A folder where the blob should go: the rename into place fails.
    await mkdir(join(dir, 'receipts', 'run-1.json'), { recursive: true });
    await expect(store.put('receipts/run-1.json', '{}')).rejects.toMatchObject({ code: expect.stringMatching(/^(EISDIR|ENOTEMPTY|EEXIST)$/) });
    expect(await readdir(join(dir, 'receipts'))).toEqual(['run-1.json']);
    await expect(store.put('../escape', '{}')).rejects.toMatchObject({ code: 'BAD_REQUEST' });
  });
});
