import { describe, expect, it } from 'vitest';
import { ManifestError } from '../errors/index.js';
import type { Manifest } from '../manifest/index.js';
import { planApply, type ApplyDocument } from './apply-plan.js';

/** A document of `kind` (validated manifests are not needed: the plan reads kind, metadata and uses). */
function doc(
  kind: string,
  name: string,
  { version = '1.0.0', namespace, uses = [] as string[], line = 1, spec = {} }: { version?: string; namespace?: string; uses?: string[]; line?: number; spec?: Record<string, unknown> } = {},
): ApplyDocument {
  const manifest = {
    apiVersion: 'maestro/v1',
    kind,
    metadata: { name, ...(kind === 'Workflow' || kind === 'Runbook' ? { version } : {}), ...(namespace === undefined ? {} : { namespace }) },
    spec: { tasks: uses.map((u, i) => ({ id: `t${i}`, uses: u })), ...spec },
  } as unknown as Manifest;
  return { file: `${name}.yaml`, line, text: `kind: ${kind}\n`, manifest };
}

const order = (documents: ApplyDocument[]) => planApply(documents).map((item) => `${item.kind} ${item.name}`);

function issuesOf(documents: ApplyDocument[]): string[] {
  try {
    planApply(documents);
  } catch (error) {
    if (error instanceof ManifestError) return error.issues.map((i) => `${i.file}:${i.line}: ${i.path}: ${i.message}`);
    throw error;
  }
  return [];
}

describe('planApply', () => {
  it('applies workflows, then runbooks, then schedules and triggers, otherwise in the order given', () => {
    expect(order([doc('Trigger', 'hook'), doc('Runbook', 'rb'), doc('Schedule', 'nightly'), doc('Workflow', 'a'), doc('Workflow', 'b')])).toEqual([
      'Workflow a',
      'Workflow b',
      'Runbook rb',
      'Trigger hook',
      'Schedule nightly',
    ]);
  });

  it('puts a sub-workflow before the workflows that use it, matched by namespace, name and range', () => {
    const plan = planApply([
      doc('Workflow', 'parent', { uses: ['workflow/child@^1.0.0'] }),
      doc('Workflow', 'child', { version: '2.0.0' }),
      doc('Workflow', 'child', { version: '1.2.0' }),
      doc('Workflow', 'child', { version: '1.0.0', namespace: 'other' }),
    ]);
    expect(plan.map((i) => `${i.namespace}/${i.name}@${i.version}`)).toEqual(['default/child@1.2.0', 'default/parent@1.0.0', 'default/child@2.0.0', 'other/child@1.0.0']);
    expect(plan[1]?.needs).toEqual([0]);
  });

  it("makes a runbook need its workflow, and a schedule or trigger its workflow or runbook (any version when it names none)", () => {
    const plan = planApply([
      doc('Workflow', 'w', { version: '1.0.0' }),
      doc('Workflow', 'w', { version: '2.0.0' }),
      doc('Runbook', 'r', { spec: { workflowRef: 'w@2.0.0' } }),
      doc('Schedule', 's', { spec: { workflowRef: 'w' } }),
      doc('Trigger', 't', { spec: { runbook: 'r@1.0.0' } }),
      doc('Trigger', 'elsewhere', { namespace: 'other', spec: { runbook: 'r' } }),
    ]);
    expect(plan.map((i) => [i.name, i.needs])).toEqual([
      ['w', []],
      ['w', []],
      ['r', [1]],
      ['s', [0, 1]],
      ['t', [2]],
      ['elsewhere', []],
    ]);
  });

  it('gives each kind its request', () => {
    const plan = planApply([doc('Workflow', 'w'), doc('Runbook', 'r'), doc('Schedule', 'nightly', { namespace: 'data' }), doc('Trigger', 'alerts')]);
    expect(plan.map((i) => `${i.method} ${i.path}`)).toEqual(['POST /workflows', 'POST /runbooks', 'PUT /schedules/nightly?namespace=data', 'PUT /triggers/alerts?namespace=default']);
  });

  it('reports a cycle of sub-workflows before anything is applied', () => {
    const issues = issuesOf([doc('Workflow', 'a', { uses: ['workflow/b@1.0.0'] }), doc('Workflow', 'b', { uses: ['workflow/c@^1'], line: 9 }), doc('Workflow', 'c', { uses: ['workflow/a@1.0.0'] })]);
    expect(issues).toEqual(['a.yaml:1: spec.tasks: sub-workflow cycle: a@1.0.0 → b@1.0.0 → c@1.0.0 → a@1.0.0; a workflow may not run itself through sub-workflows']);
  });

  it('refuses a kind it has no request for, and a document defined twice', () => {
    expect(issuesOf([doc('Workflow', 'a'), doc('Gadget', 'g'), doc('Workflow', 'a', { line: 30 })])).toEqual([
      'g.yaml:1: kind: maestro apply cannot apply a Gadget: it applies Workflow, Runbook, Schedule, Trigger',
      'a.yaml:30: metadata.name: Workflow default/a@1.0.0 is also defined at a.yaml:1',
    ]);
  });
});
