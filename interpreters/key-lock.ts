/**
 * The decisions of a concurrency key's lock (see `src/ir/concurrency.ts`), pure: who holds the key,
 * who waits, in which order, whom to grant and whom to cancel. The lock workflow
 * (./concurrency-lock.ts) turns Temporal messages into calls here and executes the commands.
 *
 * Invariants (checked by properties in key-lock.test.ts): a run is never both holder and waiter;
 * holders never exceed the limit the lock granted them under; the queue is served in order.
 */
import type { AcquireRequest, AcquireResult, LockHolder, LockView, LockWaiter } from '../src/ir/index.js';

/** What the lock workflow must do: tell a run it holds the key. */
export type LockCommand = { kind: 'grant'; runId: string };

/** The most runs one key's queue holds; an acquire beyond it is refused, whatever `onConflict` says. */
export const QUEUE_MAX = 1_000;

/** A holder Temporal does not know is dropped once it has held the key this long (it was never started). */
export const MISSING_HOLDER_GRACE_MS = 60_000;

/** How a holder's execution looked when the lock asked Temporal. */
export type HolderProbe = { runId: string; state: 'running' | 'closed' | 'missing' };

/** The state of one key's lock and the pure transitions over it. */
export class KeyLock {
  /** Runs holding the key, in grant order. */
  readonly holders: LockHolder[];
  /** Runs waiting, first served first. */
  readonly queue: LockWaiter[];

  constructor(holders: LockHolder[] = [], queue: LockWaiter[] = []) {
    this.holders = [...holders];
    this.queue = [...queue];
  }

  /** Nobody holds or waits: the lock may end. */
  get idle(): boolean {
    return this.holders.length === 0 && this.queue.length === 0;
  }

  /** The holders and queue as the `lock` query shows them. */
  view(namespace: string, key: string): LockView {
    return { namespace, key, holders: this.holders.map((h) => h.runId), queue: this.queue.map((w) => w.runId) };
  }

  /**
   * A run asks for the key. Idempotent by run id (a retried start gets the same answer). Granted
   * when fewer than `limit` hold it and nobody waits (no overtaking); otherwise as `onConflict` says:
   * `reject` changes nothing, `queue` waits at the back, `cancel-running` waits at the front and
   * names the holders its caller cancels (recording who did, as for any cancellation). A full queue
   * ({@link QUEUE_MAX}) refuses.
   */
  acquire(request: AcquireRequest, now: number): { result: AcquireResult; commands: LockCommand[] } {
    const { runId, limit, onConflict } = request;
    const holders = this.holders.map((h) => h.runId);
    if (holders.includes(runId)) return { result: { outcome: 'granted', holders: holders.filter((id) => id !== runId) }, commands: [] };
    const waiting = this.queue.findIndex((w) => w.runId === runId);
    if (waiting >= 0) return { result: { outcome: 'queued', holders, position: waiting + 1 }, commands: [] };
    if (this.queue.length === 0 && this.holders.length < limit) {
      this.holders.push({ runId, since: now });
      return { result: { outcome: 'granted', holders }, commands: [] };
    }
    if (onConflict === 'reject' || this.queue.length >= QUEUE_MAX) return { result: { outcome: 'rejected', holders }, commands: [] };
    switch (onConflict) {
      case 'queue':
        this.queue.push({ runId, limit });
        return { result: { outcome: 'queued', holders, position: this.queue.length }, commands: [] };
      case 'cancel-running':
        this.queue.unshift({ runId, limit });
        return { result: { outcome: 'queued', holders, position: 1, cancel: holders }, commands: [] };
    }
  }

  /** A run ended or left the queue: its place is freed and the queue is served. */
  release(runId: string, now: number): LockCommand[] {
    const held = this.holders.findIndex((h) => h.runId === runId);
    if (held >= 0) this.holders.splice(held, 1);
    const waiting = this.queue.findIndex((w) => w.runId === runId);
    if (waiting >= 0) this.queue.splice(waiting, 1);
    return this.serve(now);
  }

  /**
   * A run that started QUEUED says it exists. A holder is told again (the grant may have reached it
   * before it started); a waiter waits; a run the lock does not know (dropped while its start was
   * slow) queues again at the back, or takes a free place.
   */
  confirm(runId: string, limit: number, now: number): LockCommand[] {
    if (this.holders.some((h) => h.runId === runId)) return [{ kind: 'grant', runId }];
    if (this.queue.some((w) => w.runId === runId)) return [];
    this.queue.push({ runId, limit });
    return this.serve(now);
  }

  /**
   * What Temporal said of the holders: a closed one (ended without its release: terminated, timed
   * out) and one missing for longer than {@link MISSING_HOLDER_GRACE_MS} (its start never happened)
   * give their place up.
   */
  probed(probes: readonly HolderProbe[], now: number): LockCommand[] {
    const commands: LockCommand[] = [];
    for (const probe of probes) {
      const holder = this.holders.find((h) => h.runId === probe.runId);
      if (!holder) continue;
      if (probe.state === 'closed' || (probe.state === 'missing' && now - holder.since > MISSING_HOLDER_GRACE_MS)) {
        commands.push(...this.release(probe.runId, now));
      }
    }
    return commands;
  }

  /** Grants the head of the queue while its limit allows. */
  private serve(now: number): LockCommand[] {
    const commands: LockCommand[] = [];
    for (let head = this.queue[0]; head !== undefined && this.holders.length < head.limit; head = this.queue[0]) {
      this.queue.shift();
      this.holders.push({ runId: head.runId, since: now });
      commands.push({ kind: 'grant', runId: head.runId });
    }
    return commands;
  }
}
