import { readdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { tempDir } from '../../test/provenance/fixtures.js';
import { FsBlobStore } from '../store/index.js';
import { BlobTaskCache, cacheKey, runCached, type CachedAttempt } from './task-cache.js';

const CODE = `sha256:${'aa'.repeat(32)}`;
let dir: string;
let cleanup: () => Promise<void>;
let clock: number;
let cache: BlobTaskCache;

beforeEach(async () => {
  ({ dir, cleanup } = await tempDir());
  clock = Date.UTC(2026, 0, 1);
  cache = new BlobTaskCache(new FsBlobStore(dir), { now: () => clock });
});
afterEach(() => cleanup());

/** Runs an attempt through the cache; `execute` counts its calls and returns `outputs`. */
function attempt(changes: Partial<CachedAttempt> = {}, outputs: unknown = { rows: [2, 4] }) {
  let executions = 0;
  const run = runCached(cache, { uses: 'tasks/transform.map@0.1.0', codeDigest: CODE, input: { rows: [1, 2], expression: '$*2' }, cache: { enabled: true }, ...changes }, () => {
    executions += 1;
    return Promise.resolve(outputs);
  });
  return run.then((result) => ({ ...result, executions }));
}

describe('cacheKey', () => {
  it('is sha256 of the canonical JSON of uses, code digest and input: key order does not matter', () => {
    const a = cacheKey({ uses: 't/x@1.0.0', codeDigest: CODE, input: { a: 1, b: [1, 2] } });
    expect(a).toMatch(/^sha256:[0-9a-f]{64}$/);
    expect(cacheKey({ uses: 't/x@1.0.0', codeDigest: CODE, input: JSON.parse('{"b":[1,2],"a":1.0}') })).toBe(a);
    expect(cacheKey({ uses: 't/x@1.0.1', codeDigest: CODE, input: { a: 1, b: [1, 2] } })).not.toBe(a);
    expect(cacheKey({ uses: 't/x@1.0.0', codeDigest: `sha256:${'bb'.repeat(32)}`, input: { a: 1, b: [1, 2] } })).not.toBe(a);
    expect(cacheKey({ uses: 't/x@1.0.0', codeDigest: CODE, input: { a: 1, b: [2, 1] } })).not.toBe(a);
  });
});

describe('runCached', () => {
  it('executes on a miss and stores; identical inputs then hit without executing', async () => {
    const first = await attempt();
    expect(first).toMatchObject({ cached: false, executions: 1, outputs: { rows: [2, 4] } });
    const second = await attempt();
    expect(second).toMatchObject({ cached: true, executions: 0, outputs: { rows: [2, 4] }, cacheKey: first.cacheKey });
  });

  it('misses on a changed input, a new task version or changed task code', async () => {
    await attempt();
    expect(await attempt({ input: { rows: [1, 3], expression: '$*2' } })).toMatchObject({ cached: false, executions: 1 });
    expect(await attempt({ uses: 'tasks/transform.map@0.2.0' })).toMatchObject({ cached: false, executions: 1 });
    expect(await attempt({ codeDigest: `sha256:${'cc'.repeat(32)}` })).toMatchObject({ cached: false, executions: 1 });
  });

  it('expires entries after the task ttl (or the default ttl)', async () => {
    await attempt({ cache: { enabled: true, ttlMs: 60_000 } });
    clock += 59_000;
    expect(await attempt({ cache: { enabled: true, ttlMs: 60_000 } })).toMatchObject({ cached: true });
    clock += 2_000;
    expect(await attempt({ cache: { enabled: true, ttlMs: 60_000 } })).toMatchObject({ cached: false, executions: 1 });
    await attempt({ input: { other: true }, defaultTtlMs: 1_000 });
    clock += 1_001;
    expect(await attempt({ input: { other: true }, defaultTtlMs: 1_000 })).toMatchObject({ cached: false });
  });

  it('neither reads nor writes the cache when the task has it off or the run bypasses it (replay)', async () => {
    await attempt();
    expect(await attempt({ mode: 'bypass' })).toMatchObject({ cached: false, executions: 1 });
    expect(await attempt({ cache: { enabled: false } })).toMatchObject({ cached: false, executions: 1 });
    expect(await attempt({ cache: undefined, input: { fresh: 1 } })).toMatchObject({ cached: false });
    expect(await attempt({ input: { fresh: 1 } })).toMatchObject({ cached: false, executions: 1 });
  });

  it('stores nothing when the task fails', async () => {
    const failing = runCached(cache, { uses: 't/x@1.0.0', codeDigest: CODE, input: {}, cache: { enabled: true } }, () => Promise.reject(new Error('boom')));
    await expect(failing).rejects.toThrow('boom');
    expect(await readdir(dir)).toEqual([]);
  });

  it('treats a damaged entry as a miss and replaces it', async () => {
    const { cacheKey: key } = await attempt();
    const hex = (key ?? '').slice('sha256:'.length);
    await writeFile(join(dir, 'task-cache', hex.slice(0, 2), `${hex}.json`), '{"key":"x"');
    expect(await attempt()).toMatchObject({ cached: false, executions: 1 });
    expect(await attempt()).toMatchObject({ cached: true });
    const entry = await cache.get(key ?? '');
    expect(entry?.outputs).toEqual({ rows: [2, 4] });
    await writeFile(join(dir, 'task-cache', hex.slice(0, 2), `${hex}.json`), JSON.stringify({ ...entry, outputs: { rows: [2, 5] } }));
    expect(await cache.get(key ?? '')).toBeUndefined();
  });

  it('caches null outputs as a hit too', async () => {
    await attempt({ input: { n: 1 } }, null);
    expect(await attempt({ input: { n: 1 } }, 'other')).toMatchObject({ cached: true, outputs: null });
  });
});

describe('runCached with an unavailable cache', () => {
  const broken = {
    get: () => Promise.reject(new Error('cache down')),
    put: () => Promise.reject(new Error('cache down')),
  };

  it('executes and keeps the outputs, reporting the errors, when onCacheError is given', async () => {
    const errors: string[] = [];
    const result = await runCached(
      broken,
      { uses: 't/x@1.0.0', codeDigest: CODE, input: {}, cache: { enabled: true }, onCacheError: (error, op) => errors.push(`${op}: ${String(error)}`) },
      () => Promise.resolve({ ok: true }),
    );
    expect(result).toMatchObject({ cached: false, outputs: { ok: true } });
    // The outputs are returned before they are stored: the store's failure is reported after.
    expect(errors).toEqual(['get: Error: cache down']);
    await vi.waitFor(() => expect(errors).toEqual(['get: Error: cache down', 'put: Error: cache down']));
  });

  it('fails the attempt when no onCacheError is given', async () => {
    await expect(runCached(broken, { uses: 't/x@1.0.0', codeDigest: CODE, input: {}, cache: { enabled: true } }, () => Promise.resolve(1))).rejects.toThrow('cache down');
  });
});
