import { DefaultLogger, type LogEntry } from '@temporalio/worker';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { openTaskLog, type TaskLog } from '../store/index.js';
import { createAttemptLog, type AttemptLogTarget } from './attempt-log.js';

const SECRET = 's3cr3t-"value"';

describe('attempt log', () => {
  let taskLog: TaskLog;
  let processLines: LogEntry[];
  let target: AttemptLogTarget;

  beforeEach(async () => {
    taskLog = await openTaskLog({ sqliteFile: ':memory:' });
    processLines = [];
    target = {
      runId: 'run-1',
      taskId: 'fetch',
      attempt: 2,
      processLog: new DefaultLogger('DEBUG', (entry) => processLines.push(entry)),
      taskLog,
      secrets: (name) => Promise.resolve(name === 'token' ? SECRET : 'other'),
    };
  });
  afterEach(() => taskLog.close());

  it('appends every line with task, attempt, level and fields once closed, and to the process log at once', async () => {
    const log = createAttemptLog(target);
    log.logger.info('hello', { n: 1 });
    log.logger.error('boom', { error: new TypeError('bad input') });
    expect(processLines.map((entry) => entry.message)).toEqual(['hello', 'boom']);
    expect(processLines[0]?.meta).toMatchObject({ runId: 'run-1', taskId: 'fetch', attempt: 2, n: 1 });
    await log.close();
    expect(await taskLog.read({ runId: 'run-1' })).toMatchObject([
      { seq: 1, taskId: 'fetch', attempt: 2, level: 'info', message: 'hello', fields: { n: 1 } },
      { seq: 2, taskId: 'fetch', attempt: 2, level: 'error', message: 'boom', fields: { error: 'TypeError: bad input' } },
    ]);
  });

  it('flushes on its interval while the attempt runs', async () => {
    const log = createAttemptLog(target, { flushIntervalMs: 20 });
    log.logger.info('early');
    await new Promise((resolve) => setTimeout(resolve, 200));
    expect((await taskLog.read({ runId: 'run-1' })).map((line) => line.message)).toEqual(['early']);
    await log.close();
  });

  it('redacts the secrets the task resolved from messages and fields, in both logs', async () => {
    const log = createAttemptLog(target);
    expect(await log.secrets('token')).toBe(SECRET);
    log.logger.warn(`connecting with ${SECRET}`, { header: `Bearer ${SECRET}`, nested: [{ value: SECRET }] });
    await log.close();
    const [line] = await taskLog.read({ runId: 'run-1' });
    expect(line).toMatchObject({ message: 'connecting with [redacted]', fields: { header: 'Bearer [redacted]', nested: [{ value: '[redacted]' }] } });
    expect(JSON.stringify(processLines.map(({ message, meta }) => ({ message, meta })))).not.toContain('s3cr3t');
  });

  it('stops writing to the task log at its line or byte bound, with one "log truncated" line', async () => {
    const byLines = createAttemptLog(target, { maxLines: 5 });
    for (let i = 0; i < 20; i += 1) byLines.logger.info(`line ${i}`);
    await byLines.close();
    const stored = await taskLog.read({ runId: 'run-1' });
    expect(stored.map((line) => line.message).slice(0, 5)).toEqual(['line 0', 'line 1', 'line 2', 'line 3', 'line 4']);
    expect(stored).toHaveLength(6);
    expect(stored[5]).toMatchObject({ level: 'warn', message: expect.stringContaining('log truncated') });
    expect(processLines.filter((entry) => entry.message.startsWith('line '))).toHaveLength(20);

    const byBytes = createAttemptLog({ ...target, runId: 'run-2' }, { maxBytes: 1000 });
    for (let i = 0; i < 20; i += 1) byBytes.logger.info('x'.repeat(300));
    await byBytes.close();
    expect((await taskLog.read({ runId: 'run-2' })).map((line) => line.message.length)).toEqual([300, 300, 300, expect.any(Number)]);
  });

  it('never fails the task when the task log cannot be written: the failure goes to the process log', async () => {
    await taskLog.close();
    const log = createAttemptLog(target);
    log.logger.info('lost');
    await expect(log.close()).resolves.toBeUndefined();
    expect(processLines.at(-1)).toMatchObject({ level: 'WARN', message: expect.stringContaining('task log append failed') });
    taskLog = await openTaskLog({ sqliteFile: ':memory:' });
  });

  it('costs a task a few microseconds per line', async () => {
    const quiet = { ...target, processLog: new DefaultLogger('ERROR', () => undefined) };
    const log = createAttemptLog(quiet);
    const count = 10_000;
    const started = process.hrtime.bigint();
    for (let i = 0; i < count; i += 1) log.logger.info('processing row', { row: i, table: 'orders' });
    const microseconds = Number(process.hrtime.bigint() - started) / 1000 / count;
    await log.close();
    console.log(`attempt log: ${microseconds.toFixed(2)} µs per buffered line`);
    expect(await taskLog.read({ runId: 'run-1', after: count - 1 })).toHaveLength(1);
    expect(microseconds).toBeLessThan(50);
  });
});
