import { createHash } from 'node:crypto';
import { mkdtemp, readdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { ArtifactRef } from '../ir/index.js';
import { FsArtifactStore, isArtifactRef, offloadLargeFields, resolveArtifactRefs } from './index.js';

let root: string;
let store: FsArtifactStore;

beforeEach(async () => {
  root = await mkdtemp(join(tmpdir(), 'maestro-artifacts-'));
  store = new FsArtifactStore({ root });
});

afterEach(async () => {
  await rm(root, { recursive: true, force: true });
});

const sha256 = (text: string) => createHash('sha256').update(text).digest('hex');
const jsonBytes = (value: unknown) => Buffer.byteLength(JSON.stringify(value));

describe('FsArtifactStore', () => {
  it('stores content by its sha256 and reads it back', async () => {
    const ref = await store.put('hello');
    const hex = sha256('hello');
    expect(ref).toEqual({ $artifact: { uri: `artifact://sha256/${hex}`, sha256: hex, size: 5 } });
    expect(Buffer.from(await store.get(ref)).toString()).toBe('hello');
    expect(await readdir(join(root, 'sha256', hex.slice(0, 2)))).toEqual([hex]);
  });

  it('stores bytes as given', async () => {
    const bytes = new Uint8Array([0, 255, 1, 254]);
    expect(await store.get(await store.put(bytes))).toEqual(Buffer.from(bytes));
  });

  it('stores the same content once, however often it is put', async () => {
    const first = await store.put('same');
    const second = await store.put(Buffer.from('same'));
    expect(second).toEqual(first);
    expect(await readdir(join(root, 'sha256', first.$artifact.sha256.slice(0, 2)))).toHaveLength(1);
  });

  it('detects an artifact changed on disk', async () => {
    const ref = await store.put('original');
    const hex = ref.$artifact.sha256;
    await writeFile(join(root, 'sha256', hex.slice(0, 2), hex), 'tampered');
    await expect(store.get(ref)).rejects.toMatchObject({ code: 'INTERNAL', message: expect.stringContaining('is corrupted') });
  });

  it('says NOT_FOUND for an absent artifact', async () => {
    const hex = sha256('never stored');
    const ref: ArtifactRef = { $artifact: { uri: `artifact://sha256/${hex}`, sha256: hex, size: 12 } };
    await expect(store.get(ref)).rejects.toMatchObject({ code: 'NOT_FOUND' });
  });

  it('refuses a reference that could name a path outside the store', async () => {
    const ref: ArtifactRef = { $artifact: { uri: 'artifact://sha256/../../etc/passwd', sha256: '../../etc/passwd', size: 1 } };
    await expect(store.get(ref)).rejects.toMatchObject({ code: 'BAD_REQUEST' });
  });

  it('leaves no temporary files behind', async () => {
    const ref = await store.put('x'.repeat(10_000));
    expect(await readdir(join(root, 'sha256', ref.$artifact.sha256.slice(0, 2)))).toEqual([ref.$artifact.sha256]);
  });
});

describe('isArtifactRef', () => {
  it('recognises only objects whose one key is a well-formed $artifact', async () => {
    expect(isArtifactRef(await store.put('a'))).toBe(true);
    expect(isArtifactRef({ $artifact: { uri: 'artifact://sha256/x', sha256: 'x' } })).toBe(false);
    expect(isArtifactRef({ $artifact: { uri: 'u', sha256: 's', size: 1 }, other: 1 })).toBe(false);
    expect(isArtifactRef('artifact://sha256/x')).toBe(false);
  });
});

describe('offloadLargeFields', () => {
  const limit = 1024;

  it('returns outputs within the limit unchanged', async () => {
    const outputs = { a: 'x'.repeat(100) };
    expect(await offloadLargeFields(outputs, store, limit)).toBe(outputs);
  });

  it('offloads the largest fields first, only as many as needed', async () => {
    const outputs = { small: 'x'.repeat(100), large: 'y'.repeat(2000), medium: 'z'.repeat(500), count: 3 };
    const offloaded = (await offloadLargeFields(outputs, store, limit)) as Record<string, unknown>;
    expect(isArtifactRef(offloaded['large'])).toBe(true);
    expect(offloaded).toMatchObject({ small: outputs.small, medium: outputs.medium, count: 3 });
    expect(jsonBytes(offloaded)).toBeLessThanOrEqual(limit);
    expect(await resolveArtifactRefs(offloaded, store)).toEqual(outputs);
  });

  it('offloads several fields when one is not enough', async () => {
    const outputs = { a: 'a'.repeat(800), b: 'b'.repeat(700), c: 'c'.repeat(600) };
    const offloaded = (await offloadLargeFields(outputs, store, limit)) as Record<string, unknown>;
    expect(Object.keys(offloaded).filter((key) => isArtifactRef(offloaded[key]))).toEqual(['a', 'b']);
    expect(jsonBytes(offloaded)).toBeLessThanOrEqual(limit);
  });

  it('stores a large value that is not an object whole', async () => {
    const outputs = Array.from({ length: 500 }, (_, i) => i);
    const offloaded = await offloadLargeFields(outputs, store, limit);
    expect(isArtifactRef(offloaded)).toBe(true);
    expect(await resolveArtifactRefs(offloaded, store)).toEqual(outputs);
  });

  it('stores an object whole when its many small fields cannot fit', async () => {
    const outputs = Object.fromEntries(Array.from({ length: 200 }, (_, i) => [`field${i}`, i]));
    const offloaded = await offloadLargeFields(outputs, store, limit);
    expect(isArtifactRef(offloaded)).toBe(true);
    expect(await resolveArtifactRefs(offloaded, store)).toEqual(outputs);
  });
});

describe('resolveArtifactRefs', () => {
  it('replaces references at any depth with the JSON they refer to', async () => {
    const ref = await store.put(JSON.stringify({ rows: [1, 2, 3] }));
    const value = { task: { outputs: [ref, { nested: ref }] }, plain: 'kept' };
    expect(await resolveArtifactRefs(value, store)).toEqual({
      task: { outputs: [{ rows: [1, 2, 3] }, { nested: { rows: [1, 2, 3] } }] },
      plain: 'kept',
    });
  });

  it('fails when a referenced artifact is missing', async () => {
    const hex = sha256('gone');
    const ref: ArtifactRef = { $artifact: { uri: `artifact://sha256/${hex}`, sha256: hex, size: 4 } };
    await expect(resolveArtifactRefs({ a: ref }, store)).rejects.toMatchObject({ code: 'NOT_FOUND' });
  });
});
