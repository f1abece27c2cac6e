import { describe, expect, it } from 'vitest';
import { ManifestError } from '../errors/index.js';
import type { WorkflowIR } from '../ir/index.js';
import { builtinCatalog } from '../tasks/index.js';
import { compileWorkflow } from '../compiler/index.js';
import { MAX_EMBEDDED_IR_BYTES, parseManifest, type SubWorkflowResolution, type SubWorkflows, type WorkflowManifest } from './index.js';

function ir(name: string, overrides: Partial<WorkflowIR> = {}): WorkflowIR {
  return {
    irVersion: 1,
    name,
    version: '1.0.0',
    parameters: [
      { name: 'n', type: 'integer', required: true, secret: false },
      { name: 'env', type: 'string', required: false, secret: false, enum: ['dev', 'prod'], default: 'dev' },
    ],
    policy: { purpose: 'p', authority: 'a', license: 'l' },
    maxParallel: 32,
    failurePolicy: 'failFast',
    tasks: [],
    ...overrides,
  };
}

const resolved = (child: WorkflowIR, digest = 'sha256:' + 'a'.repeat(64)): SubWorkflowResolution => ({ ok: true, ref: { namespace: 'ops', name: child.name, version: child.version, digest }, ir: child });

function yaml(tasks: string[], extra: string[] = []): string {
  return ['apiVersion: maestro/v1', 'kind: Workflow', 'metadata: { name: parent, version: 1.0.0 }', 'spec:', '  policy: { purpose: p, authority: a, license: l }', '  tasks:', ...tasks, ...extra].join('\n');
}

function issues(text: string, workflows: SubWorkflows): { line: number; column: number; path: string; message: string; code?: string }[] {
  try {
    parseManifest(text, 'parent.yaml', { catalog: builtinCatalog, workflows });
  } catch (error) {
    if (error instanceof ManifestError) return error.issues.map(({ line, column, path, message, code }) => ({ line, column, path, message, ...(code ? { code } : {}) }));
    throw error;
  }
  return [];
}

describe('sub-workflow tasks at compile time', () => {
  const child = ir('child');
  const workflows = new Map([['workflow/child@^1', resolved(child)]]);

  it('accepts with matching the child parameters, leaving ${...} values to run time', () => {
    expect(issues(yaml(['    - { id: a, uses: "workflow/child@^1", with: { n: 1, env: prod } }', '    - { id: b, uses: "workflow/child@^1", with: { n: "${tasks.a.outputs.x}" }, needs: [a] }']), workflows)).toEqual([]);
  });

  it('reports an unknown parameter, a missing required one, a wrong literal type and a value outside the enum, each at its path', () => {
    expect(
      issues(
        yaml([
          '    - { id: a, uses: "workflow/child@^1", with: { n: 1.5, env: staging, extra: true } }',
          '    - { id: b, uses: "workflow/child@^1" }',
          '    - { id: c, uses: "workflow/child@^1", with: { env: dev } }',
        ]),
        workflows,
      ),
    ).toEqual([
      { line: 7, column: 54, path: 'spec.tasks[0].with.n', message: 'parameter "n" of child@1.0.0 must be an integer, got 1.5' },
      { line: 7, column: 64, path: 'spec.tasks[0].with.env', message: 'parameter "env" of child@1.0.0 must be one of "dev", "prod", got "staging"' },
      { line: 7, column: 80, path: 'spec.tasks[0].with.extra', message: 'workflow child@1.0.0 has no parameter "extra"' },
      { line: 8, column: 22, path: 'spec.tasks[1].uses', message: 'workflow child@1.0.0 requires "n" in "with"' },
      { line: 9, column: 49, path: 'spec.tasks[2].with', message: 'workflow child@1.0.0 requires "n" in "with"' },
    ]);
  });

  it('reports what the registry said of a reference that did not resolve', () => {
    const missing = new Map([['workflow/gone@1.0.0', { ok: false as const, message: 'no workflow "gone" is registered in namespace ops' }]]);
    expect(issues(yaml(['    - { id: a, uses: "workflow/gone@1.0.0" }']), missing)).toEqual([
      { line: 7, column: 22, path: 'spec.tasks[0].uses', message: 'no workflow "gone" is registered in namespace ops' },
    ]);
  });

  it('refuses recursion through embedded sub-workflows, by name', () => {
    const middle = ir('middle', { workflows: { ['sha256:' + 'b'.repeat(64)]: ir('parent') } });
    const loop = new Map([['workflow/middle@1.0.0', resolved(middle)]]);
    expect(issues(yaml(['    - { id: a, uses: "workflow/middle@1.0.0", with: { n: 1 } }']), loop)).toEqual([
      { line: 7, column: 22, path: 'spec.tasks[0].uses', message: 'recursion: parent → middle → parent: a workflow may not run itself through sub-workflows', code: 'SUBWORKFLOW_RECURSION' },
    ]);
  });

  it('refuses embedded sub-workflows over the size limit', () => {
    const big = ir('big', { description: 'x'.repeat(MAX_EMBEDDED_IR_BYTES) });
    const large = new Map([['workflow/big@1.0.0', resolved(big)]]);
    expect(issues(yaml(['    - { id: a, uses: "workflow/big@1.0.0", with: { n: 1 } }']), large)).toEqual([
      expect.objectContaining({ path: 'spec.tasks[0].uses', code: 'PAYLOAD_TOO_LARGE', message: expect.stringContaining('more than the limit of 1048576') }),
    ]);
  });

  it('checks spec.outputs: one expression each, over tasks that exist', () => {
    expect(issues(yaml(['    - { id: a, uses: tasks/wait.sleep@0.1.0, with: { duration: 1ms } }'], ['  outputs:', '    ok: "${tasks.a.outputs.slept}"', '    bad: "${tasks.b.outputs}"', '    text: "a ${tasks.a.status}"']), new Map())).toEqual([
      { line: 10, column: 13, path: 'spec.outputs.bad', message: 'unknown task "b"' },
      { line: 11, column: 11, path: 'spec.outputs.text', message: expect.stringContaining('is not an expression') },
    ]);
  });

  it('compiles to irVersion 3, pinning the child and embedding its IR, so the parent digest covers the child', () => {
    const text = yaml(['    - { id: a, uses: "workflow/child@^1", with: { n: 1 } }'], ['  outputs:', '    x: "${tasks.a.outputs.doubled}"']);
    const manifest = parseManifest(text, 'parent.yaml', { catalog: builtinCatalog, workflows }) as WorkflowManifest;
    const { ir: compiled, digest } = compileWorkflow(manifest, { catalog: builtinCatalog, workflows });
    expect(compiled).toMatchObject({
      irVersion: 3,
      tasks: [{ id: 'a', uses: 'workflow/child@1.0.0', usesSpec: 'workflow/child@^1', execution: 'workflow', workflow: { namespace: 'ops', name: 'child', version: '1.0.0', digest: 'sha256:' + 'a'.repeat(64) } }],
      workflows: { ['sha256:' + 'a'.repeat(64)]: child },
      outputs: { x: 'tasks.a.outputs.doubled' },
    });
    const other = new Map([['workflow/child@^1', resolved(ir('child', { description: 'changed' }), 'sha256:' + 'c'.repeat(64))]]);
    expect(compileWorkflow(manifest, { catalog: builtinCatalog, workflows: other }).digest).not.toBe(digest);
    expect(() => compileWorkflow(manifest, { catalog: builtinCatalog })).toThrow(/resolved where workflows are registered/);
  });
});
