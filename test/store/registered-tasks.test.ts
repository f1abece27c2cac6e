/**
 * Registered tasks (store migration 6) on SQLite and on PostgreSQL (a real throwaway cluster): a
 * registration belongs to its namespace, the same content registers once, other content under the
 * same `name@version` is refused, and listings keep to the namespaces asked for.
 */
import { describe, expect, it } from 'vitest';
import { isMaestroError } from '../../src/errors/index.js';
import type { RegisteredTask } from '../../src/store/index.js';
import { postgresDatabase, sqliteDatabase, storeOn } from './databases.js';

function task(overrides: Partial<RegisteredTask> = {}): RegisteredTask {
  return {
    namespace: 'team-a',
    name: 'py/hello',
    version: '0.1.0',
    description: 'Greets',
    language: 'python',
    inputSchema: { type: 'object', properties: { name: { type: 'string' } }, required: ['name'] },
    outputSchema: { type: 'object', properties: { greeting: { type: 'string' } } },
    deterministic: true,
    codeDigest: `sha256:${'a'.repeat(64)}`,
    taskQueue: 'maestro-py-default',
    timeoutMs: 600_000,
    registeredAt: '2026-12-06T10:00:00.000Z',
    registeredBy: 'py-worker',
    ...overrides,
  };
}

describe.each([sqliteDatabase('maestro-registered-'), postgresDatabase()])('registered tasks on $name', (backend) => {
  const opened = storeOn(backend);

  it('registers a task once, keeps the first record, and refuses other content under the same version', async () => {
    const { store } = opened;
    expect(await store.putRegisteredTask(task())).toBe('created');
    // A worker restarting registers again: same content, another description and time — nothing changes.
    expect(await store.putRegisteredTask(task({ description: 'Says hello', registeredAt: '2026-12-06T11:00:00.000Z' }))).toBe('unchanged');
    expect(await store.getRegisteredTask('team-a', 'py/hello', '0.1.0')).toEqual(task());
    for (const changed of [{ codeDigest: `sha256:${'b'.repeat(64)}` }, { outputSchema: { type: 'object' } }, { taskQueue: 'other' }, { deterministic: false }]) {
      const error = await store.putRegisteredTask(task(changed)).catch((e: unknown) => e);
      expect(isMaestroError(error) && error.code).toBe('TASK_VERSION_CONFLICT');
    }
    expect(await store.getRegisteredTask('team-a', 'py/hello', '0.1.0')).toEqual(task());
  });

  it('keeps each namespace to its own registrations', async () => {
    const { store } = opened;
    // The same name@version with other content in another namespace is another registration.
    expect(await store.putRegisteredTask(task({ namespace: 'team-b', taskQueue: 'b-queue' }))).toBe('created');
    expect(await store.putRegisteredTask(task({ version: '0.2.0', registeredAt: '2026-12-06T12:00:00.000Z' }))).toBe('created');
    expect(await store.getRegisteredTask('team-b', 'py/hello', '0.2.0')).toBeUndefined();
    expect((await store.listRegisteredTasks(['team-a'])).map((t) => `${t.namespace}/${t.name}@${t.version}`)).toEqual(['team-a/py/hello@0.1.0', 'team-a/py/hello@0.2.0']);
    expect((await store.listRegisteredTasks(['team-b'])).map((t) => t.taskQueue)).toEqual(['b-queue']);
    expect(await store.listRegisteredTasks([])).toEqual([]);
    expect(await store.listRegisteredTasks()).toHaveLength(3);
  });
});
