/**
 * The task cache: outputs of deterministic tasks, keyed by what determines them — the exact task
 * version, its code digest and its canonical input. A hit skips execution; the run marks the task
 * `cached`.
 */
import type { CacheMode, TaskNode } from '../ir/index.js';
import { digestOf, hexOf, outputsSha256 } from '../canonical/index.js';
import type { BlobStore } from '../store/index.js';

/** What determines a task's outputs. */
export interface CacheKeyInput {
  /** Exact catalog reference, `tasks/transform.map@0.1.0`. */
  uses: string;
  /** `sha256:<hex>` of the task's code (see `catalogCodeDigests`). */
  codeDigest: string;
  /** The resolved input the task receives (artifact references stay references: they name content by hash). */
  input: unknown;
}

/**
 * The cache key: `sha256:<hex>` of the RFC 8785 canonical JSON of `{uses, codeDigest, input}`.
 * A new task version, a code change or any input change gives a new key.
 */
export function cacheKey({ uses, codeDigest, input }: CacheKeyInput): string {
  return digestOf({ uses, codeDigest, input });
}

/** A stored cache entry. */
export interface CacheEntry {
  key: string;
  uses: string;
  /** The outputs as `runTask` returned them (large fields already artifact references). */
  outputs: unknown;
  /** `sha256:<hex>` of the outputs' canonical JSON, checked on read. */
  outputsDigest: string;
  storedAt: string;
  /** @default undefined — never expires */
  expiresAt?: string;
}

/** Task outputs by cache key. */
export interface TaskCache {
  /** The live entry for `key`; undefined when absent, expired, or not intact (then it is removed). */
  get(key: string): Promise<CacheEntry | undefined>;
  /** Stores outputs under `key`, expiring after `ttlMs` when given. */
  put(entry: { key: string; uses: string; outputs: unknown; ttlMs?: number }): Promise<CacheEntry>;
}

/** Options of {@link BlobTaskCache}. */
export interface BlobTaskCacheOptions {
  /** The clock, in ms since the epoch. @default Date.now */
  now?: () => number;
  /** Key prefix inside the store. @default 'task-cache' */
  prefix?: string;
}

/**
 * A {@link TaskCache} over a {@link BlobStore}: the filesystem by default
 * (`<dataDir>/cache/task-cache/<h[0..2]>/<h>.json`) or S3. Entries are JSON; an entry whose key or
 * outputs digest does not match is treated as absent and removed (it is rewritten by the next run).
 */
export class BlobTaskCache implements TaskCache {
  private readonly now: () => number;
  private readonly prefix: string;

  constructor(
    private readonly store: BlobStore,
    options: BlobTaskCacheOptions = {},
  ) {
    this.now = options.now ?? Date.now;
    this.prefix = options.prefix ?? 'task-cache';
  }

  async get(key: string): Promise<CacheEntry | undefined> {
    const blobKey = this.blobKey(key);
    const bytes = await this.store.get(blobKey);
    if (!bytes) return undefined;
    const entry = parseEntry(bytes);
    const intact = entry !== undefined && entry.key === key && entry.outputsDigest === `sha256:${outputsSha256(entry.outputs)}`;
    const live = intact && (entry.expiresAt === undefined || Date.parse(entry.expiresAt) > this.now());
    if (live) return entry;
    await this.store.delete(blobKey);
    return undefined;
  }

  async put({ key, uses, outputs, ttlMs }: { key: string; uses: string; outputs: unknown; ttlMs?: number }): Promise<CacheEntry> {
    const now = this.now();
    const entry: CacheEntry = {
      key,
      uses,
      outputs: outputs ?? null,
      outputsDigest: `sha256:${outputsSha256(outputs)}`,
      storedAt: new Date(now).toISOString(),
      ...(ttlMs === undefined ? {} : { expiresAt: new Date(now + ttlMs).toISOString() }),
    };
    await this.store.put(this.blobKey(key), JSON.stringify(entry));
    return entry;
  }

  private blobKey(key: string): string {
    const hex = hexOf(key);
    return `${this.prefix}/${hex.slice(0, 2)}/${hex}.json`;
  }
}

function parseEntry(bytes: Uint8Array): CacheEntry | undefined {
  let value: unknown;
  try {
    value = JSON.parse(Buffer.from(bytes).toString('utf8'));
  } catch {
    // A torn or foreign file: the caller treats it like any other damaged entry.
    return undefined;
  }
  if (typeof value !== 'object' || value === null) return undefined;
  const entry = value as Partial<CacheEntry>;
  if (typeof entry.key !== 'string' || typeof entry.uses !== 'string' || typeof entry.outputsDigest !== 'string' || !('outputs' in entry)) {
    return undefined;
  }
  if (entry.expiresAt !== undefined && typeof entry.expiresAt !== 'string') return undefined;
  return entry as CacheEntry;
}

/** What {@link runCached} needs to know about one task attempt. */
export interface CachedAttempt extends CacheKeyInput {
  /** The task node's cache settings (the compiler turns them on for deterministic tasks). */
  cache: TaskNode['cache'];
  /** @default 'use' */
  mode?: CacheMode;
  /** Entry lifetime when the task sets no `cache.ttl`. @default undefined — never expires */
  defaultTtlMs?: number;
  /**
   * Called when the cache cannot be read or written (S3 down…): the attempt then executes, or
   * keeps the outputs it computed, instead of failing on account of an optimisation. With it, the
   * outputs of a miss are also returned at once and stored on the event loop's next turn — after
   * the attempt's result has gone to Temporal, not before (the store is an optimisation too); a
   * store that fails is reported here then. Pass the task's logger here.
   * @default undefined — cache errors fail the attempt, and a miss returns once its outputs are stored
   */
  onCacheError?: (error: unknown, operation: 'get' | 'put') => void;
}

/** Result of {@link runCached}. */
export interface CachedResult {
  outputs: unknown;
  /** True when the outputs came from the cache and `execute` did not run. */
  cached: boolean;
  /** The key consulted; undefined when the cache was not used. */
  cacheKey?: string;
}

/**
 * Runs one task attempt through the cache: a live entry is returned without executing (a hit);
 * otherwise `execute` runs and its outputs are stored. A task whose cache is off, or a `bypass`
 * run, just executes. A failing `execute` stores nothing.
 *
 * @example
 * // in runTask, after validating the input:
 * const result = await runCached(cache, { uses, codeDigest, input: input.input, cache: input.cache, mode: input.cacheMode,
 *     onCacheError: (error, op) => ctx.logger.warn(`task cache ${op} failed`, { error: String(error) }) },
 *   async () => offloadLargeFields(await runner.run(definition, taskInput, ctx), artifacts, largeOutputBytes));
 */
export async function runCached(cache: TaskCache | undefined, attempt: CachedAttempt, execute: () => Promise<unknown>): Promise<CachedResult> {
  const { mode = 'use', defaultTtlMs, onCacheError } = attempt;
  if (!cache || !attempt.cache?.enabled || mode === 'bypass') return { outputs: await execute(), cached: false };
  const key = cacheKey(attempt);
  const guarded = async <T>(operation: 'get' | 'put', work: () => Promise<T>): Promise<T | undefined> => {
    if (!onCacheError) return work();
    try {
      return await work();
    } catch (error) {
      onCacheError(error, operation);
      return undefined;
    }
  };
  const hit = await guarded('get', () => cache.get(key));
  if (hit) return { outputs: hit.outputs, cached: true, cacheKey: key };
  const outputs = await execute();
  const ttlMs = attempt.cache.ttlMs ?? defaultTtlMs;
  const store = (): Promise<unknown> => cache.put({ key, uses: attempt.uses, outputs, ...(ttlMs === undefined ? {} : { ttlMs }) });
  if (onCacheError) setImmediate(() => void guarded('put', store));
  else await store();
  return { outputs, cached: false, cacheKey: key };
}
