import { describe, expect, it } from 'vitest';
import { Catalog } from '../catalog/index.js';
import { ManifestError, MaestroError } from '../errors/index.js';
import { builtinCatalog } from '../tasks/index.js';
import { MAX_DOCUMENTS_PER_FILE, parseManifestDocuments, splitDocuments } from './index.js';

const workflow = (name: string) => `apiVersion: maestro/v1
kind: Workflow
metadata: { name: ${name}, version: 1.0.0 }
spec:
  policy: { purpose: testing, authority: tasking:qa, license: internal }
  tasks:
    - { id: nap, uses: tasks/wait.sleep@0.1.0, with: { duration: 1ms } }
`;

describe('splitDocuments', () => {
  it('returns a one-document text whole', () => {
    expect(splitDocuments('# a comment\na: 1\n')).toEqual([{ text: '# a comment\na: 1\n', line: 1 }]);
  });

  it('splits on document markers, keeps each start line, and leaves out empty documents', () => {
    const source = '# head\na: 1\n---\n---\n# only a comment\n---\nb: |\n  ---\n  not a marker\n...\n--- c: 3\n';
    expect(splitDocuments(source)).toEqual([
      { text: '# head\na: 1\n', line: 1 },
      { text: '---\nb: |\n  ---\n  not a marker\n...\n', line: 6 },
      { text: '--- c: 3\n', line: 11 },
    ]);
  });
});

describe('parseManifestDocuments', () => {
  it('validates every document of a file', () => {
    const documents = parseManifestDocuments(`${workflow('one')}---\n${workflow('two')}`, 'two.yaml', { catalog: builtinCatalog });
    expect(documents.map((d) => [d.manifest.metadata.name, d.line])).toEqual([
      ['one', 1],
      ['two', 8],
    ]);
    expect(documents[1]?.text.startsWith('---\napiVersion')).toBe(true);
  });

  it("checks each document against the catalog of the namespace it declares", () => {
    const empty = new Catalog([]);
    const asked: (string | undefined)[] = [];
    const inTeam = workflow('two').replace('metadata: {', 'metadata: { namespace: team,');
    const error = (() => {
      try {
        return parseManifestDocuments(`${workflow('one')}---\n${inTeam}`, 'two.yaml', {
          catalog: (namespace) => {
            asked.push(namespace);
            return namespace === 'team' ? empty : builtinCatalog;
          },
        });
      } catch (caught) {
        return caught;
      }
    })();
    expect(asked).toEqual([undefined, 'team']);
    // The second document's task is not in its namespace's catalog; the first's is in its own.
    expect(error).toBeInstanceOf(ManifestError);
    expect((error as ManifestError).issues).toEqual([expect.objectContaining({ line: 15, path: 'spec.tasks[0].uses', message: expect.stringMatching(/^unknown task "tasks\/wait\.sleep"/) })]);
  });

  it('reports the issues of every invalid document at their lines in the file', () => {
    const source = `${workflow('one').replace('@0.1.0', '@9.9.9')}---\n${workflow('two')}---\n${workflow('three').replace('kind: Workflow', 'kind: Workflo')}`;
    const error = (() => {
      try {
        parseManifestDocuments(source, 'bad.yaml', { catalog: builtinCatalog });
      } catch (caught) {
        return caught;
      }
      return undefined;
    })();
    expect(error).toBeInstanceOf(ManifestError);
    const issues = (error as ManifestError).issues.map(({ file, line, path }) => ({ file, line, path }));
    expect(issues).toEqual([
      { file: 'bad.yaml', line: 7, path: 'spec.tasks[0].uses' },
      { file: 'bad.yaml', line: 18, path: 'kind' },
    ]);
  });

  it('reads schedules and triggers beside workflows, and locates their issues', () => {
    const schedule = 'apiVersion: maestro/v1\nkind: Schedule\nmetadata: { name: nightly }\nspec:\n  workflowRef: one@1.0.0\n  schedule: { cron: ["0 2 * * *"] }\n';
    const trigger = 'apiVersion: maestro/v1\nkind: Trigger\nmetadata: { name: hook }\nspec: { runbook: rb, auth: { secret: s } }\n';
    const documents = parseManifestDocuments(`${workflow('one')}---\n${schedule}---\n${trigger}`, 'all.yaml', { catalog: builtinCatalog });
    expect(documents.map((d) => [d.manifest.kind, d.manifest.metadata.name, d.line])).toEqual([
      ['Workflow', 'one', 1],
      ['Schedule', 'nightly', 8],
      ['Trigger', 'hook', 15],
    ]);
    const bad = `${workflow('one')}---\n${schedule.replace('  schedule:', '  overlap: sometimes\n  schedule:')}`;
    expect(() => parseManifestDocuments(bad, 'bad.yaml', { catalog: builtinCatalog })).toThrow(ManifestError);
    try {
      parseManifestDocuments(bad, 'bad.yaml', { catalog: builtinCatalog });
    } catch (error) {
      expect((error as ManifestError).issues.map(({ line, path }) => ({ line, path }))).toEqual([{ line: 14, path: 'spec.overlap' }]);
    }
  });

  it(`refuses a file of more than ${MAX_DOCUMENTS_PER_FILE} documents before validating any`, () => {
    const source = Array.from({ length: MAX_DOCUMENTS_PER_FILE + 1 }, (_, i) => `a: ${i}\n`).join('---\n');
    expect(() => parseManifestDocuments(source, 'many.yaml', { catalog: builtinCatalog })).toThrow(MaestroError);
    expect(() => parseManifestDocuments(source, 'many.yaml', { catalog: builtinCatalog })).toThrow(/201 documents/);
  });
});
