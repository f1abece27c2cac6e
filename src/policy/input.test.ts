import { describe, expect, it } from 'vitest';
import { canonicalJson } from '../canonical/index.js';
import { buildPolicyInput, canonicalInput, inputDigest, taskPolicyInput, type PolicyInputSource } from './index.js';

const SOURCE: PolicyInputSource = {
  principal: { subject: 'alice', roles: ['operator'], namespaces: ['default'] },
  workflow: { name: 'hello', version: '1.0.0', digest: 'sha256:00', policy: { purpose: 'demo', authority: 'examples', license: 'internal' } },
  run: { runId: 'run-1', namespace: 'default' },
};

describe('buildPolicyInput', () => {
  it('builds a run-stage input without a task', () => {
    expect(buildPolicyInput(SOURCE)).toEqual({
      stage: 'run',
      principal: { subject: 'alice', roles: ['operator'], namespaces: ['default'] },
      workflow: { name: 'hello', version: '1.0.0', digest: 'sha256:00' },
      policy: { purpose: 'demo', authority: 'examples', license: 'internal' },
      run: { runId: 'run-1', namespace: 'default' },
    });
  });

  it('applies the task overrides field by field and copies the labels', () => {
    const labels = { classification: 'confidential' };
    const input = buildPolicyInput({
      ...SOURCE,
      task: { id: 'fetch[2]', uses: 'tasks/http.request@0.1.0', runsOn: 'container', labels, policy: { license: 'confidential' } },
      run: { ...SOURCE.run, traceId: 't-1' },
    });
    expect(input.stage).toBe('task');
    expect(input.task).toEqual({ id: 'fetch[2]', uses: 'tasks/http.request@0.1.0', runsOn: 'container', labels: { classification: 'confidential' } });
    expect(input.policy).toEqual({ purpose: 'demo', authority: 'examples', license: 'confidential' });
    expect(input.run.traceId).toBe('t-1');
    expect(input.task?.labels).not.toBe(labels);
  });

  it('digests the same input to the same value whatever the key order', () => {
    const a = buildPolicyInput(SOURCE);
    const b = JSON.parse(JSON.stringify({ run: a.run, policy: a.policy, workflow: a.workflow, principal: a.principal, stage: a.stage })) as typeof a;
    expect(inputDigest(a)).toBe(inputDigest(b));
    expect(inputDigest(a)).toMatch(/^sha256:[0-9a-f]{64}$/);
    expect(inputDigest({ ...a, policy: { ...a.policy, purpose: 'other' } })).not.toBe(inputDigest(a));
  });

  it('writes the RFC 8785 canonical JSON of every input it builds, whatever the labels and values', () => {
    const task = { id: 'fetch', uses: 'tasks/http.request@0.1.0', runsOn: 'local' as const };
    const sources: PolicyInputSource[] = [
      SOURCE,
      { ...SOURCE, run: { ...SOURCE.run, traceId: 'trace-é' }, task: { ...task, labels: { zeta: '1', alpha: '2', Émile: '3', _x: '4', 'a b': '"quoted"\n' } } },
      // Integer-like names come first in V8's own order, so JSON.stringify alone would misplace them.
      { ...SOURCE, task: { ...task, labels: { '10': 'ten', '9': 'nine', b: 'bee' } } },
      { ...SOURCE, principal: { subject: '😀', roles: ['z', 'a'], namespaces: [] }, task: { ...task, labels: {} } },
      // Mistyped at run time (a role that is a number): still canonical, the slow way.
      { ...SOURCE, principal: { subject: 'bob', roles: [7 as unknown as string], namespaces: ['*'] } },
    ];
    for (const source of sources) {
      const input = buildPolicyInput(source);
      expect(canonicalInput(input).json).toBe(canonicalJson(input));
    }
  });

  it('refuses an input with a lone surrogate, as canonical JSON must', () => {
    expect(() => canonicalInput(buildPolicyInput({ ...SOURCE, principal: { subject: 'bad\ud800', roles: [], namespaces: [] } }))).toThrow(/lone surrogate/i);
  });

  it('freezes what it builds, so its canonical form cannot go stale', () => {
    const input = buildPolicyInput({ ...SOURCE, task: { id: 't', uses: 'tasks/transform.map@0.1.0', runsOn: 'local', labels: { a: 'b' } } });
    expect(() => {
      (input.task as { labels: Record<string, string> }).labels.a = 'changed';
    }).toThrow(TypeError);
    expect(Object.isFrozen(input.principal.roles)).toBe(true);
  });
});

describe('taskPolicyInput', () => {
  const attempt = { runId: 'run-1', taskId: 'greet', uses: 'tasks/transform.map@0.1.0', input: {}, attempt: 1, namespace: 'default', runsOn: 'local' as const };

  it('builds the task input from what the interpreter carries in RunTaskInput.policy', () => {
    const input = taskPolicyInput({
      ...attempt,
      policy: {
        principal: { subject: 'alice', roles: ['operator'], namespaces: ['default'] },
        workflow: { name: 'hello', version: '1.0.0', digest: 'sha256:00' },
        context: SOURCE.workflow.policy,
        overrides: { purpose: 'analytics' },
        labels: { classification: 'public' },
      },
    });
    expect(input).toMatchObject({ stage: 'task', task: { id: 'greet', labels: { classification: 'public' } }, policy: { purpose: 'analytics' } });
  });

  it('stands in a principal with no roles and no namespaces when the run carries none', () => {
    const input = taskPolicyInput(attempt);
    expect(input.principal).toEqual({ subject: '(no principal: the run was started without one)', roles: [], namespaces: [] });
  });
});
