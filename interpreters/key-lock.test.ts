/**
 * The concurrency-key lock without Temporal: examples of each rule, and properties over random
 * sequences of acquires, releases, confirms and probes.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import type { ConcurrencyConflict } from '../src/ir/index.js';
import { KeyLock, MISSING_HOLDER_GRACE_MS, QUEUE_MAX } from './key-lock.js';

const acquire = (lock: KeyLock, runId: string, onConflict: ConcurrencyConflict = 'queue', limit = 1, now = 0) => lock.acquire({ runId, limit, onConflict }, now);

describe('KeyLock', () => {
  it('grants up to the limit, then queues in order and serves the queue as holders release', () => {
    const lock = new KeyLock();
    expect(acquire(lock, 'a', 'queue', 2).result).toEqual({ outcome: 'granted', holders: [] });
    expect(acquire(lock, 'b', 'queue', 2).result).toEqual({ outcome: 'granted', holders: ['a'] });
    expect(acquire(lock, 'c', 'queue', 2).result).toEqual({ outcome: 'queued', holders: ['a', 'b'], position: 1 });
    expect(acquire(lock, 'd', 'queue', 2).result).toEqual({ outcome: 'queued', holders: ['a', 'b'], position: 2 });
    expect(lock.release('b', 1)).toEqual([{ kind: 'grant', runId: 'c' }]);
    expect(lock.view('ns', 'k')).toEqual({ namespace: 'ns', key: 'k', holders: ['a', 'c'], queue: ['d'] });
  });

  it('answers a repeated acquire the same way (a retried start)', () => {
    const lock = new KeyLock();
    acquire(lock, 'a');
    acquire(lock, 'b');
    expect(acquire(lock, 'a').result.outcome).toBe('granted');
    expect(acquire(lock, 'b').result).toEqual({ outcome: 'queued', holders: ['a'], position: 1 });
    expect(lock.queue).toHaveLength(1);
  });

  it('reject changes nothing; cancel-running names the holders to cancel and waits at the front', () => {
    const lock = new KeyLock();
    acquire(lock, 'a');
    acquire(lock, 'b');
    expect(acquire(lock, 'r', 'reject')).toEqual({ result: { outcome: 'rejected', holders: ['a'] }, commands: [] });
    expect(acquire(lock, 'c', 'cancel-running')).toEqual({ result: { outcome: 'queued', holders: ['a'], position: 1, cancel: ['a'] }, commands: [] });
    expect(lock.release('a', 1)).toEqual([{ kind: 'grant', runId: 'c' }]);
    expect(lock.view('ns', 'k').queue).toEqual(['b']);
  });

  it('refuses a run once its queue is full, whatever onConflict says', () => {
    const lock = new KeyLock([{ runId: 'a', since: 0 }], Array.from({ length: QUEUE_MAX }, (_, i) => ({ runId: `q${i}`, limit: 1 })));
    expect(acquire(lock, 'late', 'queue').result.outcome).toBe('rejected');
    expect(acquire(lock, 'later', 'cancel-running').result.outcome).toBe('rejected');
    expect(lock.queue).toHaveLength(QUEUE_MAX);
  });

  it('does not let a newcomer overtake the queue when a place frees', () => {
    const lock = new KeyLock();
    acquire(lock, 'a', 'queue', 1);
    acquire(lock, 'b', 'queue', 1);
    // A workflow version with a higher limit shares the key: it still waits behind b.
    expect(acquire(lock, 'c', 'queue', 5).result.outcome).toBe('queued');
  });

  it('a queued run leaving the queue frees nothing else; a holder told again on confirm', () => {
    const lock = new KeyLock();
    acquire(lock, 'a');
    acquire(lock, 'b');
    acquire(lock, 'c');
    expect(lock.release('b', 1)).toEqual([]);
    expect(lock.view('ns', 'k').queue).toEqual(['c']);
    expect(lock.confirm('a', 1, 2)).toEqual([{ kind: 'grant', runId: 'a' }]);
    expect(lock.confirm('c', 1, 2)).toEqual([]);
    // A run the lock dropped queues again.
    expect(lock.confirm('z', 1, 2)).toEqual([]);
    expect(lock.view('ns', 'k').queue).toEqual(['c', 'z']);
  });

  it('drops holders Temporal closed, and those it does not know after the grace period', () => {
    const lock = new KeyLock();
    acquire(lock, 'a', 'queue', 2, 0);
    acquire(lock, 'b', 'queue', 2, 0);
    acquire(lock, 'c', 'queue', 2, 0);
    expect(lock.probed([{ runId: 'a', state: 'running' }, { runId: 'b', state: 'missing' }], 1_000)).toEqual([]);
    expect(lock.probed([{ runId: 'a', state: 'closed' }], 2_000)).toEqual([{ kind: 'grant', runId: 'c' }]);
    expect(lock.probed([{ runId: 'b', state: 'missing' }], MISSING_HOLDER_GRACE_MS + 1)).toEqual([]);
    expect(lock.view('ns', 'k').holders).toEqual(['c']);
  });

  const step = fc.oneof(
    fc.record({ op: fc.constant('acquire' as const), run: fc.nat(7), onConflict: fc.constantFrom<ConcurrencyConflict>('queue', 'reject', 'cancel-running') }),
    fc.record({ op: fc.constant('release' as const), run: fc.nat(7) }),
    fc.record({ op: fc.constant('confirm' as const), run: fc.nat(7) }),
    fc.record({ op: fc.constant('probe' as const), run: fc.nat(7), state: fc.constantFrom('running' as const, 'closed' as const, 'missing' as const) }),
  );

  it('never holds more than its limit, never lists a run twice, and grants only runs it queued', () => {
    fc.assert(
      fc.property(fc.integer({ min: 1, max: 3 }), fc.array(step, { maxLength: 60 }), (limit, steps) => {
        const lock = new KeyLock();
        let now = 0;
        for (const s of steps) {
          now += 10_000;
          const runId = `r${s.run}`;
          const queuedBefore = new Set(lock.queue.map((w) => w.runId));
          let commands;
          if (s.op === 'acquire') commands = acquire(lock, runId, s.onConflict, limit, now).commands;
          else if (s.op === 'release') commands = lock.release(runId, now);
          else if (s.op === 'confirm') commands = lock.confirm(runId, limit, now);
          else commands = lock.probed([{ runId, state: s.state }], now);
          const holders = lock.holders.map((h) => h.runId);
          const queue = lock.queue.map((w) => w.runId);
          expect(holders.length).toBeLessThanOrEqual(limit);
          expect(new Set([...holders, ...queue]).size).toBe(holders.length + queue.length);
          for (const command of commands) {
            if (command.kind === 'grant' && s.op !== 'confirm') expect(queuedBefore.has(command.runId) || command.runId === runId).toBe(true);
          }
          // Nobody waits while a place is free.
          if (queue.length > 0) expect(holders.length).toBe(limit);
        }
      }),
    );
  });
});
