/**
 * The trigger tables of the store, on SQLite and on PostgreSQL: definitions, deduplication keys
 * (one run per key within the window, under concurrent claims) and the shared rate windows.
 */
import { describe, expect, it } from 'vitest';
import type { MaestroError } from '../../src/errors/index.js';
import { postgresDatabase, sqliteDatabase, storeOn } from './databases.js';

const PRINCIPAL = { subject: 'alice', roles: ['operator'], namespaces: ['ops'] };

describe.each([sqliteDatabase('maestro-triggers-'), postgresDatabase()])('trigger store on $name', (backend) => {
  const opened = storeOn(backend);

  it('creates, refuses a taken name, replaces (unchanged when equal), lists by kind and deletes', async () => {
    const record = { namespace: 'ops', name: 'alerts', definition: { runbook: 'rollback', inputs: { a: 'body.a' } }, principal: PRINCIPAL, message: false, paused: false };
    expect(await opened.store.putTrigger(record, 'create', '2026-01-01T00:00:00.000Z')).toBe('created');
    await expect(opened.store.putTrigger(record, 'create', '2026-01-01T00:00:01.000Z')).rejects.toMatchObject({ code: 'TRIGGER_EXISTS' } satisfies Partial<MaestroError>);
    // Key order does not make a definition different.
    expect(await opened.store.putTrigger({ ...record, definition: { inputs: { a: 'body.a' }, runbook: 'rollback' } }, 'replace', '2026-01-01T00:00:02.000Z')).toBe('unchanged');
    expect(await opened.store.putTrigger({ ...record, definition: { runbook: 'rollback@2' } }, 'replace', '2026-01-01T00:00:03.000Z')).toBe('updated');
    await opened.store.putTrigger({ ...record, name: 'queue', message: true }, 'create', '2026-01-01T00:00:04.000Z');
    await opened.store.putTrigger({ ...record, namespace: 'other', name: 'queue', message: true, paused: true }, 'create', '2026-01-01T00:00:04.000Z');
    const got = await opened.store.getTrigger('ops', 'alerts');
    expect(got).toMatchObject({ definition: { runbook: 'rollback@2' }, principal: PRINCIPAL, createdAt: '2026-01-01T00:00:00.000Z', updatedAt: '2026-01-01T00:00:03.000Z' });
    expect(got?.lastFiredAt).toBeUndefined();
    expect(got?.recentRuns).toEqual([]);
    await opened.store.markTriggerFired('ops', 'alerts', '2026-01-02T00:00:00.000Z', ['run-1', 'run-2']);
    for (let index = 3; index <= 25; index += 1) await opened.store.markTriggerFired('ops', 'alerts', '2026-01-02T00:00:01.000Z', [`run-${index}`]);
    const fired = await opened.store.getTrigger('ops', 'alerts');
    expect(fired?.lastFiredAt).toBe('2026-01-02T00:00:01.000Z');
    expect(fired?.recentRuns).toHaveLength(20);
    expect(fired?.recentRuns[0]).toEqual({ runId: 'run-25', firedAt: '2026-01-02T00:00:01.000Z' });
    expect((await opened.store.listTriggers({ message: true, paused: false })).map((t) => `${t.namespace}/${t.name}`)).toEqual(['ops/queue']);
    expect((await opened.store.listTriggers({ namespaces: ['ops'] })).map((t) => t.name)).toEqual(['alerts', 'queue']);
    expect(await opened.store.setTriggerPaused('other', 'queue', false, '2026-01-03T00:00:00.000Z')).toBe(true);
    expect((await opened.store.listTriggers({ message: true, paused: false })).map((t) => `${t.namespace}/${t.name}`)).toEqual(['ops/queue', 'other/queue']);
    expect(await opened.store.deleteTrigger('ops', 'alerts')).toBe(true);
    expect(await opened.store.deleteTrigger('ops', 'alerts')).toBe(false);
    expect(await opened.store.getTrigger('ops', 'alerts')).toBeUndefined();
  });

  it('binds a deduplication key to one run under 20 concurrent claims, per trigger, until it expires', async () => {
    const claim = (runId: string, now: string, trigger = 'dedup') =>
      opened.store.claimTriggerKey({ namespace: 'ops', trigger, key: 'fp-1', runId, now, expiresAt: new Date(Date.parse(now) + 60_000).toISOString() });
    const claims = await Promise.all(Array.from({ length: 20 }, (_, index) => claim(`run-${index}`, '2026-01-01T00:00:00.000Z')));
    const winners = claims.filter((c) => c.fresh);
    expect(winners).toHaveLength(1);
    expect(new Set(claims.map((c) => c.runId))).toEqual(new Set([winners[0]?.runId]));
    expect(await claim('run-other-trigger', '2026-01-01T00:00:00.000Z', 'dedup-2')).toEqual({ runId: 'run-other-trigger', fresh: true });
    expect(await claim('run-later', '2026-01-01T00:00:59.000Z')).toEqual({ runId: winners[0]?.runId, fresh: false });
    expect(await claim('run-after-window', '2026-01-01T00:01:00.000Z')).toEqual({ runId: 'run-after-window', fresh: true });
  });

  it('counts events per trigger and minute across concurrent callers, dropping past windows', async () => {
    const counts = await Promise.all(Array.from({ length: 10 }, () => opened.store.countTriggerEvents('ops', 'rate', '2026-01-01T00:00', 1)));
    expect(counts.sort((a, b) => a - b)).toEqual([1, 2, 3, 4, 5, 6, 7, 8, 9, 10]);
    expect(await opened.store.countTriggerEvents('ops', 'rate', '2026-01-01T00:00', 5)).toBe(15);
    expect(await opened.store.countTriggerEvents('ops', 'rate', '2026-01-01T00:01', 2)).toBe(2);
    expect(await opened.store.countTriggerEvents('ops', 'other', '2026-01-01T00:01', 1)).toBe(1);
  });

  it('counts an event and claims its key in one go, claiming nothing over the limit', async () => {
    const claim = (runId: string) => ({ namespace: 'ops', trigger: 'both', key: 'msg-1', runId, now: '2026-01-01T00:00:00.000Z', expiresAt: '2026-01-01T00:01:00.000Z' });
    expect(await opened.store.countTriggerEventsAndClaim('2026-01-01T00:00', 1, 2, claim('run-1'))).toEqual({ total: 1, claim: { runId: 'run-1', fresh: true } });
    expect(await opened.store.countTriggerEventsAndClaim('2026-01-01T00:00', 1, 2, claim('run-2'))).toEqual({ total: 2, claim: { runId: 'run-1', fresh: false } });
    // Over the limit: counted, and the key is left as it was.
    expect(await opened.store.countTriggerEventsAndClaim('2026-01-01T00:00', 1, 2, { ...claim('run-3'), key: 'msg-2' })).toEqual({ total: 3 });
    expect(await opened.store.claimTriggerKey({ ...claim('run-4'), key: 'msg-2' })).toEqual({ runId: 'run-4', fresh: true });
    expect(await opened.store.countTriggerEvents('ops', 'both', '2026-01-01T00:00', 0)).toBe(3);
  });
});
