/**
 * The task cache: outputs of deterministic tasks, keyed by their exact version, code digest and
 * canonical input, kept in a blob store (filesystem or S3) from `src/store`.
 */
export {
  BlobTaskCache,
  cacheKey,
  runCached,
  type BlobTaskCacheOptions,
  type CacheEntry,
  type CacheKeyInput,
  type CachedAttempt,
  type CachedResult,
  type TaskCache,
} from './task-cache.js';
