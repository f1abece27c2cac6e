import { randomBytes } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { mintTaskGrant, taskGrantKeys, verifyTaskGrant, type TaskGrantClaims } from './grant.js';

const payload = [{ id: 'k2', key: randomBytes(32) }, { id: 'k1', key: randomBytes(32) }];
const [key, older] = taskGrantKeys(undefined, payload) as [Buffer, Buffer];
const now = 1_800_000_000_000;
const claims: TaskGrantClaims = { runId: 'run-1', taskId: 'greet', attempt: 2, namespace: 'team-a', task: 'py/hello@0.1.0', exp: now + 60_000 };
const code = (fn: () => unknown): unknown => {
  try {
    fn();
    return undefined;
  } catch (error) {
    return (error as { code?: string }).code;
  }
};

describe('task grants', () => {
  it('verifies a grant it minted, with every key of a rotation, and gives back its claims', () => {
    expect(verifyTaskGrant([key], mintTaskGrant(key, claims), now)).toEqual(claims);
    expect(verifyTaskGrant([key, older], mintTaskGrant(older, claims), now)).toEqual(claims);
  });

  it('derives the same keys from the same payload keys (API and worker agree) and other keys from others', () => {
    expect(taskGrantKeys(undefined, payload)[0]?.equals(key)).toBe(true);
    expect(key.equals(payload[0]!.key)).toBe(false);
    expect(code(() => verifyTaskGrant(taskGrantKeys(undefined, [{ id: 'x', key: randomBytes(32) }]), mintTaskGrant(key, claims), now))).toBe('GRANT_INVALID');
  });

  it('refuses an expired grant with GRANT_EXPIRED', () => {
    expect(code(() => verifyTaskGrant([key], mintTaskGrant(key, claims), claims.exp))).toBe('GRANT_EXPIRED');
  });

  it('refuses a modified, truncated, oversized or made-up grant with GRANT_INVALID', () => {
    const grant = mintTaskGrant(key, claims);
    const [version, body, mac] = grant.split('.') as [string, string, string];
    const forged = Buffer.from(JSON.stringify({ ...claims, namespace: 'team-b' })).toString('base64url');
    const flipped = `${mac.slice(0, -2)}${mac.at(-2) === 'A' ? 'B' : 'A'}${mac.at(-1)}`;
    for (const bad of [`${version}.${forged}.${mac}`, `${version}.${body}.${flipped}`, `${version}.${body}`, `g0.${body}.${mac}`, `${grant}.x`, '', 'x'.repeat(10_000), `${version}.${body}.`]) {
      expect(code(() => verifyTaskGrant([key], bad, now)), bad.slice(0, 40)).toBe('GRANT_INVALID');
    }
    expect(code(() => verifyTaskGrant([], grant, now))).toBe('GRANT_INVALID');
  });

  it('takes MAESTRO_TASK_GRANT_KEY over the payload keys, and refuses a short one', () => {
    const [configured] = taskGrantKeys(`${'s'.repeat(32)}, ${'t'.repeat(40)}`, payload);
    expect(configured?.toString()).toBe('s'.repeat(32));
    expect(() => taskGrantKeys('short', payload)).toThrow(/at least 32 characters/);
  });
});
