/**
 * The READMEs and docs/ stay true to the tree: every manifest they show compiles (a Workflow) or
 * validates (a Runbook) against the built-in catalog, and every relative link names a file that
 * exists and, for a `#fragment` into a Markdown file, a heading it has.
 */
import { existsSync, readFileSync, readdirSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { describe, expect, it } from 'vitest';
import { builtinCatalog } from '../src/tasks/index.js';
import { compileWorkflow } from '../src/compiler/index.js';
import { parseManifest, parseScheduleManifest } from '../src/manifest/index.js';
import { anchors } from './helpers/markdown.js';

const ROOT = join(import.meta.dirname, '..');
const PAGES = ['README.md', 'runbooks/README.md', 'policies/README.md', ...readdirSync(join(ROOT, 'docs')).filter((name) => name.endsWith('.md')).map((name) => `docs/${name}`)];

/** The fenced blocks of `text` in `language`. */
function blocks(text: string, language: string): string[] {
  return [...text.matchAll(new RegExp(`^\`\`\`${language}\\n([\\s\\S]*?)^\`\`\``, 'gm'))].map((match) => match[1] ?? '');
}

const manifests = PAGES.flatMap((page) =>
  blocks(readFileSync(join(ROOT, page), 'utf8'), 'yaml')
    .filter((block) => block.startsWith('apiVersion: maestro/v1'))
    .map((block, index): [string, string] => [`${page} #${index + 1}`, block]),
);

const links = PAGES.flatMap((page) => {
  const text = readFileSync(join(ROOT, page), 'utf8').replace(/^```[\s\S]*?^```/gm, '');
  return [...text.matchAll(/\]\(([^)\s]+)\)/g)]
    .map((match) => match[1] ?? '')
    .filter((target) => !/^[a-z]+:/.test(target))
    .map((target): [string, string] => [page, target]);
});

describe('manifests shown in the docs', () => {
  it('include the quickstart and the reference examples', () => {
    expect(manifests.map(([name]) => name)).toEqual(expect.arrayContaining(['README.md #1', 'docs/manifests.md #1', 'docs/manifests.md #2']));
  });

  it.each(manifests)('%s is valid', (name, text) => {
    // A schedule is the YAML of an API body, parsed on its own (no IR).
    if (/^kind: Schedule$/m.test(text)) return void expect(parseScheduleManifest(text, name).id).not.toBe('');
    const manifest = parseManifest(text, name, { catalog: builtinCatalog });
    if (manifest.kind === 'Workflow') expect(compileWorkflow(manifest, { catalog: builtinCatalog }).digest).toMatch(/^sha256:/);
  });
});

describe('links in the docs', () => {
  it.each(links)('%s → %s resolves', (page, target) => {
    const [path = '', fragment] = target.split('#');
    const file = path === '' ? join(ROOT, page) : resolve(dirname(join(ROOT, page)), path);
    expect(existsSync(file), `${relative(ROOT, file)} exists`).toBe(true);
    if (fragment !== undefined && file.endsWith('.md')) expect([...anchors(readFileSync(file, 'utf8'))]).toContain(fragment);
  });
});
