import { describe, expect, it } from 'vitest';
import { builtinCatalog, builtinTasks, createBuiltinCatalog } from './index.js';

describe('builtinCatalog', () => {
  it.each(['tasks/wait.sleep', 'ops/approval.gate', 'tasks/transform.map', 'tasks/schema.validate', 'tasks/http.request'])(
    'resolves %s@0.1.0 and ^0.1.0',
    (name) => {
      for (const uses of [`${name}@0.1.0`, `${name}@^0.1.0`]) {
        const resolved = builtinCatalog.resolve(uses);
        expect(resolved.ok && `${resolved.definition.name}@${resolved.definition.version}`).toBe(`${name}@0.1.0`);
      }
    },
  );

  it('lists every built-in task once', () => {
    expect(builtinCatalog.list()).toHaveLength(builtinTasks.length);
  });

  it('leaves timers, approvals and signal waits to the interpreter and runs the pure tasks as local activities', () => {
    const executions = Object.fromEntries(builtinTasks.map((task) => [task.name, task.execution ?? 'activity']));
    expect(executions).toEqual({
      'tasks/wait.sleep': 'timer',
      'ops/approval.gate': 'approval',
      'ops/wait.signal': 'signal',
      'tasks/transform.map': 'local-activity',
      'tasks/schema.validate': 'local-activity',
      'tasks/http.request': 'activity',
      'tasks/container.run': 'activity',
      'tasks/image.build': 'activity',
      'tasks/image.sign': 'activity',
      'tasks/function.invoke': 'activity',
      'tasks/grpc.call': 'activity',
      'connectors/kafka.publish': 'activity',
      'connectors/nats.publish': 'activity',
      'connectors/s3.get': 'activity',
      'connectors/s3.put': 'activity',
      'connectors/db.query': 'activity',
      'tasks/notify.slack': 'activity',
      'connectors/sig.ingest': 'activity',
      'connectors/sig.claims': 'activity',
      'connectors/sig.export': 'activity',
      'ops/disclosure.package': 'activity',
    });
  });
});

describe('createBuiltinCatalog', () => {
  it('serves the same tasks as builtinCatalog, configured', () => {
    const catalog = createBuiltinCatalog({ egressAllow: { default: ['127.0.0.0/8'] }, fileRoots: ['/tmp'] });
    expect(catalog.list().map((task) => `${task.name}@${task.version}`)).toEqual(builtinCatalog.list().map((task) => `${task.name}@${task.version}`));
  });
});
