/**
 * Run progress (the state a running run's interpreter publishes) on SQLite and on PostgreSQL (a
 * real throwaway cluster): the latest publication of an execution wins, a later execution (continue
 * as new) replaces the last, watchers are told of every write — on PostgreSQL through NOTIFY to
 * another store (another API replica) — and stop being told once they unwatch.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { RunState } from '../../src/ir/index.js';
import { openStore, type Store } from '../../src/store/index.js';
import { postgresDatabase, sqliteDatabase } from './databases.js';

/** A publication's status and state (as a worker without a payload codec writes it: JSON). */
function state(status: RunState['status'], tasks: RunState['tasks'] = []): { status: string; state: string } {
  return { status, state: JSON.stringify({ runId: 'run-p', workflow: 'etl', version: '1.0.0', digest: 'sha256:00', status, startedAt: '2026-12-06T10:00:00.000Z', tasks }) };
}

/** Resolves after `count` calls of the returned callback, or rejects after 5 s. */
function calls(count: number): { onChange: () => void; done: Promise<void> } {
  let seen = 0;
  let resolve = (): void => undefined;
  const done = new Promise<void>((ok, fail) => {
    resolve = ok;
    setTimeout(() => fail(new Error(`told ${seen} times, not ${count}`)), 5_000).unref();
  });
  return { onChange: () => (seen += 1) >= count && resolve(), done };
}

describe.each([sqliteDatabase('maestro-progress-'), postgresDatabase()])('run progress on $name', (backend) => {
  let store: Store;
  /** Another store on the same database: another API replica (on SQLite, the same process's connection). */
  let replica: Store;
  beforeAll(async () => {
    store = await openStore(await backend.options());
    replica = await openStore(await backend.options());
  }, 120_000);
  afterAll(async () => {
    await replica?.close();
    await store?.close();
    await backend.cleanup();
  });

  it('keeps the latest publication of an execution, and a later execution replaces it', async () => {
    const running = state('RUNNING', [{ id: 'a', status: 'RUNNING', attempts: 1 }]);
    await store.publishRunProgress({ runId: 'run-p', namespace: 'team-a', execution: 'e1', seq: 2, ...running });
    // A publication that arrives late (an older number of the same execution) changes nothing.
    await store.publishRunProgress({ runId: 'run-p', namespace: 'team-a', execution: 'e1', seq: 1, ...state('RUNNING') });
    expect(await store.getRunProgress('run-p')).toMatchObject({ runId: 'run-p', namespace: 'team-a', execution: 'e1', seq: 2, ...running });
    await store.publishRunProgress({ runId: 'run-p', namespace: 'team-a', execution: 'e2', seq: 1, ...state('SUCCEEDED') });
    expect(await replica.getRunProgress('run-p')).toMatchObject({ execution: 'e2', seq: 1, ...state('SUCCEEDED') });
    expect(await store.getRunProgress('run-other')).toBeUndefined();
  });

  it('reads the latest states of many runs at once, leaving out runs that published none', async () => {
    await store.publishRunProgress({ runId: 'run-q', namespace: 'team-b', execution: 'e1', seq: 1, ...state('WAITING') });
    const read = await replica.listRunProgress(['run-p', 'run-q', 'run-never']);
    expect(read.map((progress) => [progress.runId, progress.namespace, progress.status]).sort()).toEqual([
      ['run-p', 'team-a', 'SUCCEEDED'],
      ['run-q', 'team-b', 'WAITING'],
    ]);
    expect(await store.listRunProgress([])).toEqual([]);
    await expect(store.listRunProgress(Array.from({ length: 501 }, (_, index) => `run-${index}`))).rejects.toThrow(RangeError);
  });

  it("tells a run's watchers, in this store and another on the same database, of each write until they unwatch", async () => {
    const here = calls(2);
    const there = calls(2);
    const unwatchHere = store.watchRunProgress('run-w', here.onChange);
    const unwatchThere = replica.watchRunProgress('run-w', there.onChange);
    let otherRun = 0;
    const unwatchOther = replica.watchRunProgress('run-x', () => void (otherRun += 1));
    // PostgreSQL's LISTEN connection opens with the first watcher.
    if (backend.name === 'postgres') await new Promise((resolve) => setTimeout(resolve, 500));
    await store.publishRunProgress({ runId: 'run-w', namespace: 'team-a', execution: 'e1', seq: 1, ...state('RUNNING') });
    await store.publishRunProgress({ runId: 'run-w', namespace: 'team-a', execution: 'e1', seq: 2, ...state('RUNNING') });
    await Promise.all([here.done, there.done]);
    expect(otherRun).toBe(0);
    unwatchHere();
    unwatchThere();
    unwatchOther();
    let after = 0;
    const unwatch = store.watchRunProgress('run-y', () => void (after += 1));
    unwatch();
    await store.publishRunProgress({ runId: 'run-y', namespace: 'team-a', execution: 'e1', seq: 1, ...state('RUNNING') });
    await new Promise((resolve) => setTimeout(resolve, 200));
    expect(after).toBe(0);
  });
});
