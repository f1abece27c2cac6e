/**
 * Secret grants of remote (e.g. Python) task attempts. The worker that prepares an attempt mints
 * one — an HMAC-SHA256 over the attempt (`runId`, `taskId`, `attempt`, `namespace`, the task's
 * `name@version`) and its expiry — and sends it in the attempt's context; the remote worker hands
 * it back to `POST /tasks/secrets`, which resolves secrets only for that namespace and only until
 * the grant expires. The API and the workers share the key: `MAESTRO_TASK_GRANT_KEY`, else one
 * derived (HKDF) from the payload codec's keys, which every Maestro process shares already.
 */
import { createHmac, hkdfSync, timingSafeEqual } from 'node:crypto';
import type { PayloadKey } from '../config/index.js';
import { ConfigError, MaestroError } from '../errors/index.js';

/** What a grant says: the attempt it was minted for, and when it stops being valid. */
export interface TaskGrantClaims {
  runId: string;
  taskId: string;
  attempt: number;
  /** The run's Maestro namespace: the only one whose secrets the grant resolves. */
  namespace: string;
  /** The task's `name@version`. */
  task: string;
  /** Expiry, milliseconds since the epoch. */
  exp: number;
}

/** Longest grant accepted (bytes): the claims are a few ids, so anything longer is not one of ours. */
export const MAX_GRANT_LENGTH = 4096;
const VERSION = 'g1';

/**
 * The grant keys: those of `MAESTRO_TASK_GRANT_KEY` (comma-separated, each at least 32
 * characters), else one derived from each payload codec key. The first mints; all verify, so a key
 * can be rotated by listing the new one first.
 *
 * @throws {ConfigError} when a configured key is shorter than 32 characters.
 */
export function taskGrantKeys(taskGrantKey: string | undefined, payloadKeys: readonly PayloadKey[]): readonly Buffer[] {
  if (taskGrantKey !== undefined) {
    const keys = taskGrantKey.split(',').map((key) => key.trim()).filter((key) => key !== '');
    if (keys.length === 0 || keys.some((key) => key.length < 32)) throw new ConfigError('MAESTRO_TASK_GRANT_KEY: each key must be at least 32 characters (`openssl rand -base64 32`)');
    return keys.map((key) => Buffer.from(key, 'utf8'));
  }
  return payloadKeys.map(({ key }) => Buffer.from(hkdfSync('sha256', key, Buffer.alloc(0), 'maestro task grant v1', 32)));
}

const sign = (key: Buffer, body: string): string => createHmac('sha256', key).update(`${VERSION}.${body}`).digest('base64url');

/** Mints the grant of `claims` with `key` (the first of {@link taskGrantKeys}). */
export function mintTaskGrant(key: Buffer, claims: TaskGrantClaims): string {
  const body = Buffer.from(JSON.stringify({ runId: claims.runId, taskId: claims.taskId, attempt: claims.attempt, namespace: claims.namespace, task: claims.task, exp: claims.exp })).toString('base64url');
  return `${VERSION}.${body}.${sign(key, body)}`;
}

/**
 * The claims of `grant` when one of `keys` signed it and it has not expired at `now`.
 *
 * @throws {MaestroError} `GRANT_INVALID` when it is malformed or no key signed it (a forged or
 *   modified grant), `GRANT_EXPIRED` when it is past its expiry.
 */
export function verifyTaskGrant(keys: readonly Buffer[], grant: string, now: number): TaskGrantClaims {
  const invalid = new MaestroError('GRANT_INVALID', 'the grant is not one Maestro minted (malformed, modified or signed with another key)');
  if (grant.length > MAX_GRANT_LENGTH) throw invalid;
  const [version, body, mac, ...rest] = grant.split('.');
  if (version !== VERSION || body === undefined || mac === undefined || rest.length > 0) throw invalid;
  const given = Buffer.from(mac, 'base64url');
  const signed = keys.some((key) => {
    const expected = Buffer.from(sign(key, body), 'base64url');
    return expected.length === given.length && timingSafeEqual(expected, given);
  });
  if (!signed) throw invalid;
  let claims: TaskGrantClaims;
  try {
    claims = JSON.parse(Buffer.from(body, 'base64url').toString('utf8')) as TaskGrantClaims;
  } catch {
    throw invalid;
  }
  const { runId, taskId, attempt, namespace, task, exp } = claims;
  if (![runId, taskId, namespace, task].every((field) => typeof field === 'string') || !Number.isInteger(attempt) || !Number.isFinite(exp)) throw invalid;
  if (now >= exp) throw new MaestroError('GRANT_EXPIRED', `the grant of task ${taskId} (attempt ${attempt}) of run ${runId} expired at ${new Date(exp).toISOString()}`);
  return { runId, taskId, attempt, namespace, task, exp };
}
