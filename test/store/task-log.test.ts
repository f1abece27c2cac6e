/**
 * The task log on SQLite and on PostgreSQL (a real throwaway cluster): batches keep their order,
 * lines are numbered per run, readers page by task and cursor, concurrent writers of one run never
 * share or skip a number, and the table lives beside the registry and the audit log. A database
 * that hangs does not hold a task attempt past its close timeout.
 */
import { DefaultLogger, type LogEntry } from '@temporalio/worker';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createAttemptLog } from '../../src/activities/index.js';
import { openAuditLog, openStore, openTaskLog, type TaskLog, type TaskLogEntry } from '../../src/store/index.js';
import { postgresDatabase, sqliteDatabase } from './databases.js';

function lines(taskId: string, count: number, attempt = 1): TaskLogEntry[] {
  return Array.from({ length: count }, (_, index) => ({ taskId, attempt, time: new Date().toISOString(), level: 'info', message: `${taskId} line ${index}` }));
}

describe.each([sqliteDatabase('maestro-task-log-'), postgresDatabase()])('task log on $name', (backend) => {
  let log: TaskLog;
  beforeAll(async () => {
    log = await openTaskLog(await backend.options());
  }, 120_000);
  afterAll(async () => {
    await log?.close();
    await backend.cleanup();
  });

  it('numbers lines per run in append order and keeps level, attempt and fields', async () => {
    await log.append('run-a', [
      { taskId: 'fetch', attempt: 1, time: '2026-01-01T00:00:00.000Z', level: 'info', message: 'started', fields: { url: 'http://x', nested: { n: 1 } } },
      { taskId: 'fetch', attempt: 1, time: '2026-01-01T00:00:01.000Z', level: 'error', message: 'failed' },
    ]);
    await log.append('run-b', lines('other', 3));
    await log.append('run-a', [{ taskId: 'fetch', attempt: 2, time: '2026-01-01T00:00:02.000Z', level: 'warn', message: 'again' }]);
    expect(await log.read({ runId: 'run-a' })).toEqual([
      { seq: 1, taskId: 'fetch', attempt: 1, time: '2026-01-01T00:00:00.000Z', level: 'info', message: 'started', fields: { url: 'http://x', nested: { n: 1 } } },
      { seq: 2, taskId: 'fetch', attempt: 1, time: '2026-01-01T00:00:01.000Z', level: 'error', message: 'failed' },
      { seq: 3, taskId: 'fetch', attempt: 2, time: '2026-01-01T00:00:02.000Z', level: 'warn', message: 'again' },
    ]);
    expect((await log.read({ runId: 'run-b' })).map((line) => line.seq)).toEqual([1, 2, 3]);
    expect(await log.read({ runId: 'run-unknown' })).toEqual([]);
  });

  it('pages after a cursor and filters by task, a forEach task including its items', async () => {
    await log.append('run-c', [...lines('a', 2), ...lines('each[0]', 1), ...lines('each[1]', 1), ...lines('eachother', 1), ...lines('a', 600)]);
    const first = await log.read({ runId: 'run-c', limit: 2 });
    expect(first.map((line) => line.seq)).toEqual([1, 2]);
    expect((await log.read({ runId: 'run-c', after: 2, limit: 3 })).map((line) => line.taskId)).toEqual(['each[0]', 'each[1]', 'eachother']);
    expect((await log.read({ runId: 'run-c', taskId: 'each' })).map((line) => line.taskId)).toEqual(['each[0]', 'each[1]']);
    expect((await log.read({ runId: 'run-c', taskId: 'each[1]' })).map((line) => line.seq)).toEqual([4]);
    expect(await log.read({ runId: 'run-c', taskId: 'a', after: 5 })).toHaveLength(500);
    expect(await log.read({ runId: 'run-c', limit: 5000 })).toHaveLength(605);
  });

  it('gives concurrent writers of one run distinct, gap-free numbers, each batch contiguous', async () => {
    await Promise.all(Array.from({ length: 8 }, (_, writer) => log.append('run-d', lines(`w${writer}`, 50))));
    const all = await log.read({ runId: 'run-d', limit: 1000 });
    expect(all.map((line) => line.seq)).toEqual(Array.from({ length: 400 }, (_, index) => index + 1));
    for (let writer = 0; writer < 8; writer += 1) {
      const seqs = all.filter((line) => line.taskId === `w${writer}`).map((line) => line.seq);
      expect(seqs.at(-1)! - seqs[0]!).toBe(49);
    }
  });

  it('prunes lines older than a time, of every run, in batches, and keeps numbering after the newest', async () => {
    // Older than every other test's lines, which share this database.
    const old = '2000-01-01T00:00:00.000Z';
    const cutoff = new Date('2001-01-01T00:00:00.000Z');
    const aged = (taskId: string, count: number): TaskLogEntry[] => lines(taskId, count).map((line) => ({ ...line, time: old }));
    await log.append('run-p1', [...aged('a', 12_000), ...lines('a', 3)]);
    await log.append('run-p2', aged('b', 4));
    expect(await log.prune(cutoff)).toBe(12_004);
    expect((await log.read({ runId: 'run-p1' })).map((line) => line.seq)).toEqual([12_001, 12_002, 12_003]);
    expect(await log.read({ runId: 'run-p2' })).toEqual([]);
    await log.append('run-p1', lines('a', 1));
    expect((await log.read({ runId: 'run-p1', after: 12_003 })).map((line) => line.seq)).toEqual([12_004]);
    expect(await log.prune(cutoff)).toBe(0);
  });

  it('lives in the registry database beside the store and the audit log', async () => {
    const options = await backend.options();
    const store = await openStore(options);
    const audit = await openAuditLog(options);
    const again = await openTaskLog(options);
    try {
      expect((await again.read({ runId: 'run-a' })).length).toBe(3);
      await expect(store.ping()).resolves.toBeUndefined();
      await expect(audit.verify()).resolves.toMatchObject({ ok: true });
    } finally {
      await Promise.all([store.close(), audit.close(), again.close()]);
    }
  });

  it.runIf(backend.name === 'postgres')('lets an attempt end within its close timeout while the table is locked, and appends once it is free', async () => {
    const options = await backend.options();
    const locker = new pg.Client({ connectionString: options.databaseUrl });
    await locker.connect();
    const processLines: LogEntry[] = [];
    try {
      await locker.query('BEGIN');
      await locker.query('LOCK TABLE task_log IN ACCESS EXCLUSIVE MODE');
      const attempt = createAttemptLog(
        { runId: 'run-locked', taskId: 'stuck', attempt: 1, processLog: new DefaultLogger('WARN', (entry) => processLines.push(entry)), taskLog: log, secrets: () => Promise.reject(new Error('none')) },
        { closeTimeoutMs: 300 },
      );
      attempt.logger.info('written while locked');
      const started = performance.now();
      await attempt.close();
      expect(performance.now() - started).toBeLessThan(2_000);
      expect(processLines.map((entry) => entry.message)).toEqual([expect.stringContaining('still pending after 300 ms')]);
    } finally {
      await locker.query('ROLLBACK');
      await locker.end();
    }
    await expect.poll(async () => (await log.read({ runId: 'run-locked' })).map((line) => line.message)).toEqual(['written while locked']);
  });

  it('takes tens of thousands of lines per second in batches of 250', async () => {
    const batches = 80;
    const started = performance.now();
    for (let batch = 0; batch < batches; batch += 1) await log.append('run-bulk', lines('bulk', 250).map((line) => ({ ...line, fields: { batch } })));
    const seconds = (performance.now() - started) / 1000;
    const perSecond = Math.round((batches * 250) / seconds);
    console.log(`task log on ${backend.name}: ${perSecond} lines/s appended in batches of 250`);
    expect((await log.read({ runId: 'run-bulk', after: 19_999 })).map((line) => line.seq)).toEqual([20_000]);
    expect(perSecond).toBeGreaterThan(5_000);
  }, 60_000);
});
