/**
 * N-2 holds (SM-214): the manifests each of the last two releases shipped
 * (`contracts/releases/<version>/manifests/`, copied from git by `scripts/contracts.mjs snapshot`)
 * were valid under that release's own schemas, and still parse, validate and compile on the current
 * code, to an IR the current `ir.schema.json` accepts. A change that breaks a released manifest fails
 * here; `scripts/contracts.mjs test` (in `npm test`) guards the HTTP API the same way with oasdiff.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { Ajv2020 } from 'ajv/dist/2020.js';
import addFormats from 'ajv-formats';
import { parse } from 'yaml';
import { describe, expect, it } from 'vitest';
import { compileWorkflow } from '../src/compiler/index.js';
import { irSchema, parseManifest } from '../src/manifest/index.js';
import { loadCatalog } from '../src/tasks/index.js';

const ROOT = join(import.meta.dirname, '..');
const RELEASES = join(ROOT, 'contracts', 'releases');

/** Release versions, newest last; the gate covers the last two. */
const versions = readdirSync(RELEASES)
  .filter((name) => /^\d+\.\d+\.\d+$/.test(name))
  .sort((a, b) => a.localeCompare(b, 'en', { numeric: true }))
  .slice(-2);

/** The example tasks and connector, as a worker serving examples/ registers them. */
const catalog = loadCatalog({
  taskModules: ['examples/tasks/hello.ts', 'examples/connectors/skeleton.ts'].map((file) => join(ROOT, file)),
});

/** `[release, file relative to the release's manifests/]` for every manifest of the last two releases. */
const corpus = versions.flatMap((version) =>
  readdirSync(join(RELEASES, version, 'manifests'), { recursive: true, encoding: 'utf8' })
    .filter((name) => /\.(ya?ml|json)$/.test(name))
    .sort()
    .map((name) => [version, name] as const),
);

/** A validator per release, from the release's own workflow and runbook schemas. */
function releaseValidators(version: string): { Workflow: (data: unknown) => boolean; Runbook: (data: unknown) => boolean } {
  const ajv = new Ajv2020({ allErrors: true, strict: true });
  addFormats.default(ajv);
  const schema = (file: string): object => JSON.parse(readFileSync(join(RELEASES, version, file), 'utf8')) as object;
  const workflow = ajv.compile(schema('workflow.schema.json'));
  const runbook = ajv.compile(schema('runbook.schema.json'));
  const explain = (validate: typeof workflow) => (data: unknown) => {
    if (validate(data)) return true;
    throw new Error(ajv.errorsText(validate.errors));
  };
  return { Workflow: explain(workflow), Runbook: explain(runbook) };
}

const validators = new Map(versions.map((version) => [version, releaseValidators(version)]));
const validIr = new Ajv2020({ allErrors: true, strict: true });
addFormats.default(validIr);
const validateIr = validIr.compile(irSchema);

describe('manifests of the last two releases', () => {
  it('covers two releases, each with its manifests', () => {
    expect(versions).toHaveLength(2);
    for (const version of versions) expect(corpus.filter(([release]) => release === version).length).toBeGreaterThanOrEqual(10);
  });

  it.each(corpus)('%s: %s was valid then, and validates and compiles now', async (version, name) => {
    const file = join(RELEASES, version, 'manifests', name);
    const text = readFileSync(file, 'utf8');
    const data = parse(text) as { kind?: unknown };
    const kind = data.kind === 'Workflow' || data.kind === 'Runbook' ? data.kind : undefined;
    expect(kind, `${name} is a Workflow or a Runbook`).toBeDefined();
    expect(validators.get(version)?.[kind!](data)).toBe(true);

    const manifest = parseManifest(text, file, { catalog: await catalog });
    expect(manifest.kind).toBe(kind);
    if (manifest.kind !== 'Workflow') return;
    const { ir, digest } = compileWorkflow(manifest, { catalog: await catalog });
    expect(digest).toMatch(/^sha256:[0-9a-f]{64}$/);
    expect(validateIr(ir), validIr.errorsText(validateIr.errors)).toBe(true);
  });
});
