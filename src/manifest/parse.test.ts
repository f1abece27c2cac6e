import { mkdtemp, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { builtinCatalog } from '../tasks/index.js';
import { ManifestError, NotFoundError, type ManifestIssue } from '../errors/index.js';
import { loadManifestFile, parseManifest } from './index.js';

const HEADER = `apiVersion: maestro/v1
kind: Workflow
metadata: { name: demo, version: 1.0.0 }
spec:
  policy: { purpose: testing, authority: tasking:qa, license: internal }
`;

/** A workflow with the given `spec.parameters` and `spec.tasks` YAML (each indented two spaces). */
function workflow(tasks: string, parameters = ''): string {
  return `${HEADER}${parameters ? `  parameters:\n${parameters}` : ''}  tasks:\n${tasks}`;
}

function issuesOf(source: string): ManifestIssue[] {
  try {
    parseManifest(source, 'demo.yaml', { catalog: builtinCatalog });
  } catch (error) {
    if (error instanceof ManifestError) return error.issues;
    throw error;
  }
  return [];
}

const brief = (issues: ManifestIssue[]) => issues.map(({ line, column, path, message }) => ({ line, column, path, message }));

describe('parseManifest', () => {
  it('returns the validated manifest', () => {
    const manifest = parseManifest(
      workflow('    - { id: nap, uses: tasks/wait.sleep@0.1.0, with: { ms: 5 } }\n'),
      'demo.yaml',
      { catalog: builtinCatalog },
    );
    expect(manifest.kind).toBe('Workflow');
    if (manifest.kind === 'Workflow') expect(manifest.spec.tasks[0]?.with).toEqual({ ms: 5 });
  });

  it('reports schema and semantic problems of a file together, in file order', () => {
    const issues = issuesOf(
      workflow(
        `    - id: a
      uses: tasks/wait.sleep@0.1.0
      timeout: soon
    - id: b
      uses: tasks/wait.sleep@0.1.0
      needs: [a, c]
      when: \${params.missing}
`,
      ),
    );
    expect(brief(issues)).toEqual([
      { line: 9, column: 16, path: 'spec.tasks[0].timeout', message: expect.stringContaining('"soon" is not a duration') },
      { line: 12, column: 18, path: 'spec.tasks[1].needs[1]', message: 'task "b" needs unknown task "c"' },
      { line: 13, column: 15, path: 'spec.tasks[1].when', message: 'undeclared parameter "missing"' },
    ]);
  });

  it('locates a bad runIf, a handler without needs and a forEach shorthand that is no expression', () => {
    const issues = issuesOf(
      workflow(
        `    - { id: a, uses: tasks/wait.sleep@0.1.0, runIf: always }
    - id: b
      uses: tasks/wait.sleep@0.1.0
      needs: [a]
      runIf: failed
    - { id: c, uses: tasks/wait.sleep@0.1.0, forEach: "[1, 2]" }
`,
      ),
    );
    expect(brief(issues)).toEqual([
      { line: 7, column: 53, path: 'spec.tasks[0].runIf', message: 'runIf: always reacts to how the tasks in "needs" ended; list them in "needs"' },
      { line: 11, column: 14, path: 'spec.tasks[1].runIf', message: 'must be one of "success", "failure", "always", got "failed"' },
      { line: 12, column: 55, path: 'spec.tasks[2].forEach', message: expect.stringContaining('"[1, 2]" is not an expression') },
    ]);
  });

  it('lets a handler read the status and error of its needs, and a forEach shorthand its items', () => {
    const issues = issuesOf(
      workflow(`    - { id: verify, uses: tasks/wait.sleep@0.1.0 }
    - id: rollback
      uses: tasks/wait.sleep@0.1.0
      needs: [verify]
      runIf: failure
      when: \${tasks.verify.status == 'FAILED' && tasks.verify.error.code == 'HEALTH_CHECK_FAILED'}
      forEach: \${[1, 2]}
      with: { ms: "\${item}" }
`),
    );
    expect(brief(issues)).toEqual([]);
  });

  it('binds run only in finally tasks, which read any task; compensations read their task and its upstream', () => {
    const issues = issuesOf(
      workflow(
        `    - { id: a, uses: tasks/wait.sleep@0.1.0, with: { ms: "\${size(run.failedTasks)}" } }
    - { id: b, uses: tasks/wait.sleep@0.1.0, needs: [a], compensate: { uses: tasks/wait.sleep@0.1.0, with: { ms: "\${tasks.c.outputs.slept}" } } }
    - { id: c, uses: tasks/wait.sleep@0.1.0, needs: [b], compensate: { uses: tasks/wait.sleep@0.1.0, with: { ms: "\${tasks.a.outputs.slept + tasks.c.outputs.slept}" } } }
  finally:
    - { id: a, uses: tasks/wait.sleep@0.1.0 }
    - { id: f, uses: tasks/wait.sleep@0.1.0, needs: [g], with: { ms: "\${tasks.c.outputs.slept}" }, compensate: { uses: tasks/wait.sleep@0.1.0 } }
    - { id: g, uses: tasks/wait.sleep@0.1.0, runIf: always, needs: [f], when: "\${run.status == 'FAILED'}" }
`,
      ),
    );
    expect(brief(issues).map(({ path, message }) => `${path}: ${message}`)).toEqual([
      'spec.tasks[0].with.ms: "run" is only defined in the tasks of spec.finally',
      'spec.tasks[1].compensate.with.ms: task "c" is not upstream of "b", whose compensation may read only its own outputs and its upstream tasks\'',
      'spec.finally[0].id: task id "a" is already the id of a task in spec.tasks',
      'spec.finally[1].needs[0]: dependency cycle: f → g → f (each task needs the next)',
      'spec.finally[1].compensate: a finally task cannot have a compensation: compensations undo the tasks of spec.tasks when the run fails',
    ]);
  });

  it('checks the tasks of a manifest whose other parts are invalid', () => {
    const source = `${workflow('    - { id: a, uses: tasks/nope@1.0.0 }\n')}  failurePolicy: sometimes\n`;
    expect(issuesOf(source).map((issue) => issue.path)).toEqual(['spec.tasks[0].uses', 'spec.failurePolicy']);
  });

  it('does not report a reference to a task whose own declaration is invalid as unknown', () => {
    const issues = issuesOf(
      workflow(`    - { id: a, uses: tasks/wait.sleep@0.1.0, colour: red }
    - { id: b, uses: tasks/wait.sleep@0.1.0, needs: [a], with: { ms: "\${tasks.a.outputs.slept}" } }
`),
    );
    expect(brief(issues)).toEqual([{ line: 7, column: 46, path: 'spec.tasks[0].colour', message: 'unknown field "colour"' }]);
  });

  it('lets a task read the outputs of any transitive upstream task', () => {
    const tasks = `    - { id: a, uses: tasks/wait.sleep@0.1.0, with: { ms: 1 } }
    - { id: b, uses: tasks/wait.sleep@0.1.0, needs: [a], with: { ms: 1 } }
    - { id: c, uses: tasks/wait.sleep@0.1.0, needs: [b], with: { ms: "\${tasks.a.outputs.slept + 1}" } }
`;
    expect(issuesOf(workflow(tasks))).toEqual([]);
  });

  it('reads task ids with "-" through an index, and says so when a select splits them', () => {
    const ok = `    - { id: fetch-data, uses: tasks/wait.sleep@0.1.0, with: { ms: 1 } }
    - { id: use, uses: tasks/wait.sleep@0.1.0, needs: [fetch-data], with: { ms: "\${tasks['fetch-data'].outputs.slept}" } }
`;
    expect(issuesOf(workflow(ok))).toEqual([]);
    const split = ok.replace("tasks['fetch-data']", 'tasks.fetch-data');
    expect(issuesOf(workflow(split))[0]?.message).toBe(`unknown task "fetch" (a task id with "-" is written tasks['fetch-data'])`);
  });

  it('reports each dependency cycle once', () => {
    const tasks = ['a:b', 'b:a', 'c:d', 'd:c']
      .map((pair) => pair.split(':'))
      .map(([id, need]) => `    - { id: ${id}, uses: tasks/wait.sleep@0.1.0, needs: [${need}] }\n`)
      .join('');
    expect(issuesOf(workflow(tasks)).map((issue) => issue.message)).toEqual([
      'dependency cycle: a → b → a (each task needs the next)',
      'dependency cycle: c → d → c (each task needs the next)',
    ]);
  });

  it('types parameters from their declarations', () => {
    const parameters = `    - { name: n, type: integer }
    - { name: r, type: number }
    - { name: flag, type: boolean }
    - { name: tags, type: array }
    - { name: labels, type: object }
`;
    const when = (expression: string) =>
      issuesOf(workflow(`    - { id: a, uses: tasks/wait.sleep@0.1.0, when: "\${${expression}}" }\n`, parameters)).map((i) => i.message);
    expect(when('params.n > 2 && params.r < 1.5 && params.flag')).toEqual([]);
    expect(when("size(params.tags) > 0 && params.labels['team'] == 'qa' && 'x' in params.tags")).toEqual([]);
    expect(when('params.n + params.r > 1')).toEqual([expect.stringContaining('"+" cannot be applied to int and double')]);
    expect(when('params.n')).toEqual(['"when" must be a bool expression, got int']);
    expect(when('params.flag || params.tags')).toEqual(['"||" needs bool operands, got list(dyn)']);
  });

  it('locates an expression problem inside a quoted string', () => {
    const issues = issuesOf(workflow(`    - { id: a, uses: tasks/wait.sleep@0.1.0, with: { ms: "x \${nope}" } }\n`));
    expect(brief(issues)).toEqual([{ line: 7, column: 63, path: 'spec.tasks[0].with.ms', message: 'undeclared reference "nope"' }]);
  });

  it('locates an expression problem in a block scalar at the scalar', () => {
    const issues = issuesOf(
      workflow(`    - id: a
      uses: tasks/wait.sleep@0.1.0
      with:
        note: |
          first line
          \${nope}
`),
    );
    expect(brief(issues)).toEqual([{ line: 10, column: 15, path: 'spec.tasks[0].with.note', message: 'undeclared reference "nope"' }]);
  });

  it('locates problems in JSON manifests', () => {
    const json = JSON.stringify(
      {
        apiVersion: 'maestro/v1',
        kind: 'Workflow',
        metadata: { name: 'demo', version: '1.0.0' },
        spec: { policy: { purpose: 'p', authority: 'a', license: 'l' }, tasks: [{ id: 'a', uses: 'tasks/wait.sleep@0.1.0', need: [] }] },
      },
      null,
      2,
    );
    expect(brief(issuesOf(json))).toEqual([
      { line: 18, column: 9, path: 'spec.tasks[0].need', message: 'unknown field "need" (did you mean "needs"?)' },
    ]);
  });

  it('reports a manifest that is not a mapping', () => {
    expect(brief(issuesOf('- a\n- b\n'))).toEqual([{ line: 1, column: 1, path: '', message: 'must be a mapping, got a list' }]);
  });

  it('throws a ManifestError whose message lists each issue as file:line:col: path: message', () => {
    expect(() => parseManifest('kind: Pipeline\n', 'p.yaml', { catalog: builtinCatalog })).toThrow(
      'p.yaml:1:7: kind: unknown kind "Pipeline": must be "Workflow", "Runbook" or "Trigger"',
    );
  });
});

describe('loadManifestFile', () => {
  it('reads and parses a file, reporting issues under its path', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'maestro-manifest-'));
    const file = join(dir, 'bad.yaml');
    await writeFile(file, HEADER);
    const error = await loadManifestFile(file, { catalog: builtinCatalog }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(ManifestError);
    expect(error instanceof ManifestError && error.issues).toEqual([
      { file, line: 4, column: 1, path: 'spec', message: 'must have required property "tasks"' },
    ]);
  });

  it('throws NotFoundError for a missing file', async () => {
    await expect(loadManifestFile('/nonexistent/manifest.yaml', { catalog: builtinCatalog })).rejects.toBeInstanceOf(NotFoundError);
  });
});
