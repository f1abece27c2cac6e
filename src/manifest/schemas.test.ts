import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { Ajv2020 } from 'ajv/dist/2020.js';
import addFormats from 'ajv-formats';
import { describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { builtinCatalog } from '../tasks/index.js';
import { compileWorkflow } from '../compiler/index.js';
import type { TaskNode, WorkflowIR } from '../ir/index.js';
import { parseManifest } from './parse.js';
import { createAjv, irSchema, runbookSchema, workflowSchema } from './schemas.js';
import type { ParameterManifest, TaskManifest } from './types.js';

const root = join(import.meta.dirname, '..', '..');
const readJson = (...path: string[]): unknown => JSON.parse(readFileSync(join(root, ...path), 'utf8'));

/** The seed's contract tests, with ajv's 2020-12 build and the schema files as published. */
function compileContract(file: string) {
  const ajv = new Ajv2020({ allErrors: true, strict: true });
  addFormats.default(ajv);
  const schema = readJson('contracts', file);
  if (typeof schema !== 'object' || schema === null) throw new Error(`${file} is not a schema`);
  return ajv.compile(schema);
}

describe('workflow manifest contract', () => {
  const validate = compileContract('workflow.schema.json');

  it('validates the example manifest', () => {
    const manifest: unknown = parse(readFileSync(join(root, 'test/manifests/valid/ingest-enrich-handoff.yaml'), 'utf8'));
    expect(validate(manifest), JSON.stringify(validate.errors)).toBe(true);
  });

  it('fails on missing policy fields', () => {
    const manifest = { apiVersion: 'maestro/v1', kind: 'Workflow', metadata: { name: 'x', version: '1.0.0' }, spec: { tasks: [] } };
    expect(validate(manifest)).toBe(false);
    expect(validate.errors).toContainEqual(expect.objectContaining({ keyword: 'required', params: { missingProperty: 'policy' } }));
  });

  it('fails when one policy field is missing', () => {
    const manifest = {
      apiVersion: 'maestro/v1',
      kind: 'Workflow',
      metadata: { name: 'x', version: '1.0.0' },
      spec: { policy: { purpose: 'p', authority: 'a' }, tasks: [{ id: 'a', uses: 'tasks/wait.sleep@0.1.0' }] },
    };
    expect(validate(manifest)).toBe(false);
    expect(validate.errors).toEqual([expect.objectContaining({ instancePath: '/spec/policy', params: { missingProperty: 'license' } })]);
  });
});

describe('runbook manifest contract', () => {
  it('validates the seed runbook', () => {
    const validate = compileContract('runbook.schema.json');
    expect(validate(readJson('test/manifests/valid/backfill-entity-resolver.json')), JSON.stringify(validate.errors)).toBe(true);
  });

  it('shares its parameter and metadata definitions with the workflow schema', () => {
    for (const name of ['nonEmptyString', 'dnsLabel', 'semver', 'labels', 'parameterName', 'parameter'] as const) {
      expect(runbookSchema.$defs[name], name).toEqual(workflowSchema.$defs[name]);
    }
  });
});

describe('IR contract', () => {
  const task: TaskNode = {
    id: 'fan-out',
    uses: 'tasks/http.request@0.1.0',
    usesSpec: 'tasks/http.request@^0.1',
    execution: 'activity',
    needs: ['list'],
    with: { url: 'https://example.test/${item}' },
    when: "params.env == 'prod'",
    forEach: { items: 'tasks.list.outputs.rows', maxParallel: 4 },
    runIf: 'always',
    retry: { maxAttempts: 3, initialIntervalMs: 500, backoffCoefficient: 2, maxIntervalMs: 30_000, jitter: 0.2 },
    timeoutMs: 30_000,
    continueOnError: true,
    cache: { enabled: true, ttlMs: 600_000 },
    runsOn: 'local',
    compensate: {
      id: 'fan-out.compensate',
      uses: 'tasks/http.request@0.1.0',
      usesSpec: 'tasks/http.request@^0.1',
      execution: 'activity',
      needs: [],
      with: { url: 'https://example.test/undo' },
      retry: { maxAttempts: 1, initialIntervalMs: 1000, backoffCoefficient: 2, maxIntervalMs: 60_000, jitter: 0.2 },
      continueOnError: false,
      runsOn: 'local',
    },
  };
  const ir: WorkflowIR = {
    irVersion: 3,
    name: 'everything',
    version: '1.0.0',
    description: 'all fields',
    owner: 'platform@summit',
    parameters: [{ name: 'env', type: 'string', required: false, default: 'dev', enum: ['dev', 'prod'], secret: false, description: 'target' }],
    policy: { purpose: 'testing', authority: 'tasking:qa', license: 'internal' },
    timeoutMs: 3_600_000,
    maxParallel: 8,
    failurePolicy: 'continue',
    circuitBreaker: { maxFailures: 3 },
    concurrency: { key: 'deploy-${params.env}', limit: 1, onConflict: 'queue' },
    tasks: [task],
    finally: [{ id: 'report', uses: 'tasks/transform.map@0.1.0', usesSpec: 'tasks/transform.map@0.1.0', execution: 'local-activity', needs: [], with: { rows: '${[run.status]}' }, retry: task.retry, continueOnError: false, runsOn: 'local' }],
    finallyTimeoutMs: 300_000,
    finallyFailsRun: true,
  };
  const validate = createAjv().compile({ $ref: irSchema.$id });

  it('accepts an IR using every field', () => {
    expect(validate(ir), JSON.stringify(validate.errors)).toBe(true);
  });

  it('rejects an IR of another version or with unknown fields', () => {
    expect(validate({ ...ir, irVersion: 4 })).toBe(false);
    expect(validate({ ...ir, concurrency: { key: 'k', limit: 0, onConflict: 'queue' } })).toBe(false);
    expect(validate({ ...ir, concurrency: { key: 'k', limit: 1, onConflict: 'wait' } })).toBe(false);
    expect(validate({ ...ir, tasks: [{ ...task, runIf: 'success' }] })).toBe(false);
    expect(validate({ ...ir, tasks: [{ ...task, retries: 3 }] })).toBe(false);
  });

  it.each(['everything.yaml', 'ingest-enrich-handoff.yaml'])('describes what the compiler makes of %s', (name) => {
    const file = join(root, 'test/manifests/valid', name);
    const manifest = parseManifest(readFileSync(file, 'utf8'), file, { catalog: builtinCatalog });
    if (manifest.kind !== 'Workflow') throw new Error(`${name} is not a workflow`);
    const compiledWorkflow = createAjv().compile({ $ref: `${irSchema.$id}#/$defs/compiledWorkflow` });
    expect(compiledWorkflow(compileWorkflow(manifest, { catalog: builtinCatalog })), JSON.stringify(compiledWorkflow.errors)).toBe(true);
  });

  it('describes a compiled workflow with its digest', () => {
    const compiled = createAjv().compile({ $ref: `${irSchema.$id}#/$defs/compiledWorkflow` });
    expect(compiled({ ir, digest: `sha256:${'0'.repeat(64)}` })).toBe(true);
    expect(compiled({ ir, digest: 'md5:0' })).toBe(false);
  });
});

describe('manifest types', () => {
  // Each record must name every field of its type (the compiler fails otherwise), so a field added
  // to the type but not the schema, or the other way round, fails here.
  const taskFields: Record<keyof TaskManifest, true> = {
    id: true,
    uses: true,
    needs: true,
    with: true,
    when: true,
    forEach: true,
    runIf: true,
    retry: true,
    timeout: true,
    continueOnError: true,
    cache: true,
    runsOn: true,
    policy: true,
    labels: true,
    compensate: true,
  };
  const parameterFields: Record<keyof ParameterManifest, true> = {
    name: true,
    type: true,
    required: true,
    default: true,
    enum: true,
    secret: true,
    description: true,
  };

  it('name the same fields as the schemas', () => {
    expect(Object.keys(workflowSchema.$defs.task.properties).sort()).toEqual(Object.keys(taskFields).sort());
    expect(Object.keys(workflowSchema.$defs.parameter.properties).sort()).toEqual(Object.keys(parameterFields).sort());
  });
});
