import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { builtinCatalog } from '../tasks/index.js';
import type { WorkflowManifest } from '../manifest/index.js';
import { loadManifestFile, parseManifest } from '../manifest/index.js';
import { digestOf } from '../canonical/index.js';
import { compileWorkflow, topologicalOrder } from './index.js';

const catalog = builtinCatalog;

/** A workflow whose task i needs the tasks listed in `needs[i]`. */
function manifest(ids: string[], needs: string[][]): WorkflowManifest {
  return {
    apiVersion: 'maestro/v1',
    kind: 'Workflow',
    metadata: { name: 'prop', version: '1.0.0' },
    spec: {
      policy: { purpose: 'p', authority: 'a', license: 'l' },
      tasks: ids.map((id, i) => ({ id, uses: 'tasks/transform.map@0.1.0', needs: needs[i] ?? [], with: { rows: [], expression: '$' } })),
    },
  };
}

/** Random DAGs: edges only point to tasks earlier in a hidden order, then declarations are shuffled. */
const dags = fc
  .integer({ min: 1, max: 40 })
  .chain((n) =>
    fc.record({
      edges: fc.array(fc.array(fc.nat({ max: n - 1 }), { maxLength: 4 }), { minLength: n, maxLength: n }),
      order: fc.shuffledSubarray(Array.from({ length: n }, (_, i) => i), { minLength: n, maxLength: n }),
    }),
  )
  .map(({ edges, order }) => {
    const ids = edges.map((_, i) => `t${i}`);
    const needs = edges.map((targets, i) => [...new Set(targets.filter((t) => t < i).map((t) => `t${t}`))]);
    return manifest(order.map((i) => ids[i] as string), order.map((i) => needs[i] ?? []));
  });

describe('compileWorkflow', () => {
  it('orders every random DAG so each task comes after everything it needs', () => {
    fc.assert(
      fc.property(dags, (m) => {
        const { ir } = compileWorkflow(m, { catalog });
        const position = new Map(ir.tasks.map((task, i) => [task.id, i]));
        expect(ir.tasks).toHaveLength(m.spec.tasks.length);
        for (const task of ir.tasks) for (const need of task.needs) expect(position.get(need)).toBeLessThan(position.get(task.id) as number);
      }),
    );
  });

  it('gives the same digest when compiling the same manifest again', () => {
    fc.assert(
      fc.property(dags, (m) => {
        expect(compileWorkflow(structuredClone(m), { catalog }).digest).toBe(compileWorkflow(m, { catalog }).digest);
      }),
    );
  });

  it('breaks ties by declaration order', () => {
    const { ir } = compileWorkflow(manifest(['c', 'a', 'b', 'z'], [[], [], ['c'], []]), { catalog });
    expect(ir.tasks.map((task) => task.id)).toEqual(['c', 'a', 'b', 'z']);
  });

  it('changes the digest when anything that runs changes', () => {
    const base = manifest(['a'], [[]]);
    const changed = manifest(['a'], [[]]);
    (changed.spec.tasks[0] as { with: Record<string, unknown> }).with = { rows: [1], expression: '$' };
    expect(compileWorkflow(changed, { catalog }).digest).not.toBe(compileWorkflow(base, { catalog }).digest);
  });

  it('resolves semver ranges to the exact version and applies defaults', () => {
    const m = parseManifest(
      [
        'apiVersion: maestro/v1',
        'kind: Workflow',
        'metadata: { name: ranges, version: 1.0.0 }',
        'spec:',
        '  policy: { purpose: p, authority: a, license: l }',
        '  tasks:',
        '    - { id: a, uses: "tasks/transform.map@^0.1", with: { rows: [], expression: "$" }, retry: { maxAttempts: 3, initialInterval: 2s } }',
      ].join('\n'),
      'ranges.yaml',
      { catalog },
    );
    if (m.kind !== 'Workflow') throw new Error('expected a workflow');
    const { ir } = compileWorkflow(m, { catalog });
    expect(ir).toMatchObject({ irVersion: 1, maxParallel: 32, failurePolicy: 'failFast' });
    expect(ir.tasks[0]).toMatchObject({
      uses: 'tasks/transform.map@0.1.0',
      usesSpec: 'tasks/transform.map@^0.1',
      execution: 'local-activity',
      retry: { maxAttempts: 3, initialIntervalMs: 2000, backoffCoefficient: 2, maxIntervalMs: 60000, jitter: 0.2 },
      runsOn: 'local',
    });
  });

  it('compiles runIf into irVersion 2, and forEach "${expr}" as forEach { items }', () => {
    const compile = (tasks: string[]) => {
      const m = parseManifest(
        ['apiVersion: maestro/v1', 'kind: Workflow', 'metadata: { name: flow, version: 1.0.0 }', 'spec:', '  policy: { purpose: p, authority: a, license: l }', '  tasks:', ...tasks].join('\n'),
        'flow.yaml',
        { catalog },
      );
      if (m.kind !== 'Workflow') throw new Error('expected a workflow');
      return compileWorkflow(m, { catalog });
    };
    const long = compile(['    - { id: a, uses: tasks/wait.sleep@0.1.0, forEach: { items: "${[1, 2]}" }, with: { ms: "${item}" } }']);
    const short = compile(['    - { id: a, uses: tasks/wait.sleep@0.1.0, forEach: "${[1, 2]}", with: { ms: "${item}" } }']);
    expect(short).toEqual(long);
    expect(short.ir).toMatchObject({ irVersion: 1, tasks: [{ forEach: { items: '[1, 2]' } }] });
    const handled = compile([
      '    - { id: a, uses: tasks/wait.sleep@0.1.0 }',
      '    - { id: b, uses: tasks/wait.sleep@0.1.0, needs: [a], runIf: success }',
      '    - { id: c, uses: tasks/wait.sleep@0.1.0, needs: [a], runIf: failure }',
      '    - { id: d, uses: tasks/wait.sleep@0.1.0, needs: [a], runIf: always }',
    ]);
    expect(handled.ir.irVersion).toBe(2);
    expect(handled.ir.tasks.map((task) => task.runIf)).toEqual([undefined, undefined, 'failure', 'always']);
    // Reading a task's error needs version 2 too (version 1 runs never bind it); status does not.
    const versionOf = (when: string) =>
      compile(['    - { id: a, uses: tasks/wait.sleep@0.1.0, continueOnError: true }', `    - { id: b, uses: tasks/wait.sleep@0.1.0, needs: [a], when: "${when}" }`]).ir.irVersion;
    expect(versionOf("${tasks.a.error.code == 'BOOM'}")).toBe(2);
    expect(versionOf("${tasks['a'].error != null}")).toBe(2);
    expect(versionOf("${tasks.a['error'] != null}")).toBe(2);
    expect(versionOf("${tasks.a.status == 'FAILED'}")).toBe(1);
    expect(versionOf("${size(tasks.a) == 2}")).toBe(1);
  });

  it('compiles spec.concurrency into irVersion 3 with its defaults, and leaves other workflows as they were', () => {
    const compile = (spec: string) => {
      const m = parseManifest(
        [
          'apiVersion: maestro/v1',
          'kind: Workflow',
          'metadata: { name: flow, version: 1.0.0 }',
          'spec:',
          '  policy: { purpose: p, authority: a, license: l }',
          '  parameters: [{ name: service, type: string, required: true }]',
          spec,
          '  tasks: [{ id: a, uses: tasks/wait.sleep@0.1.0 }]',
        ].join('\n'),
        'flow.yaml',
        { catalog },
      );
      if (m.kind !== 'Workflow') throw new Error('expected a workflow');
      return compileWorkflow(m, { catalog });
    };
    expect(compile('  concurrency: { key: "deploy-${params.service}" }').ir).toMatchObject({
      irVersion: 3,
      concurrency: { key: 'deploy-${params.service}', limit: 1, onConflict: 'queue' },
    });
    expect(compile('  concurrency: { key: "${params.service}", limit: 2, onConflict: cancel-running }').ir.concurrency).toEqual({ key: '${params.service}', limit: 2, onConflict: 'cancel-running' });
    const plain = compile('');
    expect(plain.ir.irVersion).toBe(1);
    expect(plain.ir).not.toHaveProperty('concurrency');
  });

  it('compiles finally tasks and compensations into irVersion 3, leaving other IRs alone', () => {
    const compile = (lines: string[]) => {
      const m = parseManifest(
        ['apiVersion: maestro/v1', 'kind: Workflow', 'metadata: { name: flow, version: 1.0.0 }', 'spec:', '  policy: { purpose: p, authority: a, license: l }', ...lines].join('\n'),
        'flow.yaml',
        { catalog },
      );
      if (m.kind !== 'Workflow') throw new Error('expected a workflow');
      return compileWorkflow(m, { catalog });
    };
    const plain = compile(['  tasks:', '    - { id: a, uses: tasks/wait.sleep@0.1.0, runsOn: local }']);
    expect(plain.ir).not.toHaveProperty('finally');
    expect(plain.ir).not.toHaveProperty('finallyTimeoutMs');
    expect(plain.ir.irVersion).toBe(1);
    const saga = compile([
      '  finallyFailsRun: true',
      '  tasks:',
      '    - { id: a, uses: tasks/wait.sleep@0.1.0, policy: { purpose: undo }, compensate: { uses: tasks/wait.sleep@^0.1, with: { ms: 1 }, retry: { maxAttempts: 2 } } }',
      '  finally:',
      '    - { id: z, uses: tasks/wait.sleep@0.1.0, needs: [y] }',
      '    - { id: y, uses: tasks/wait.sleep@0.1.0, with: { ms: "${size(run.failedTasks)}" } }',
    ]);
    expect(saga.ir).toMatchObject({ irVersion: 3, finallyTimeoutMs: 300_000, finallyFailsRun: true });
    expect(saga.ir.finally?.map((task) => task.id)).toEqual(['y', 'z']);
    expect(saga.ir.tasks[0]?.compensate).toMatchObject({ id: 'a.compensate', uses: 'tasks/wait.sleep@0.1.0', usesSpec: 'tasks/wait.sleep@^0.1', needs: [], with: { ms: 1 }, policy: { purpose: 'undo' }, retry: { maxAttempts: 2 } });
  });

  it('gives the hello example the same digest on every machine', async () => {
    const hello = await loadManifestFile('examples/workflows/hello.yaml', { catalog });
    if (hello.kind !== 'Workflow') throw new Error('expected a workflow');
    // Golden value: changes only when the IR shape, the defaults or the example change on purpose.
    expect(compileWorkflow(hello, { catalog }).digest).toBe(GOLDEN_HELLO_DIGEST);
  });
});

describe('digestOf', () => {
  it('hashes the RFC 8785 canonical form: key order and number spelling do not matter', () => {
    expect(digestOf({ b: 1, a: [1e0, 'x'] })).toBe(digestOf(JSON.parse('{"a":[1.0,"x"],"b":1}')));
    expect(digestOf({ a: 1 })).toMatch(/^sha256:[0-9a-f]{64}$/);
  });
});

describe('topologicalOrder', () => {
  it('reports the tasks left in a cycle', () => {
    expect(() => topologicalOrder([{ id: 'a', needs: ['b'] }, { id: 'b', needs: ['a'] }, { id: 'c' }])).toThrow(/a, b/);
  });
});

const GOLDEN_HELLO_DIGEST = 'sha256:daff0285f860084905c7343ccd165a849d6184555065270c81714702d78aed5e';
