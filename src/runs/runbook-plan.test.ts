import { describe, expect, it } from 'vitest';
import { builtinCatalog } from '../tasks/index.js';
import { ParamsError } from '../errors/index.js';
import { parseManifest, type RunbookManifest } from '../manifest/index.js';
import { runbookParams } from './runbook-plan.js';

/** A runbook with these inputs and, when given, this `spec.params` (YAML lines under it). */
function runbook(inputs: string[], params?: string[]): RunbookManifest {
  const text = [
    'apiVersion: maestro/v1',
    'kind: Runbook',
    'metadata: { name: mapped, version: 1.0.0 }',
    'spec:',
    '  inputs:',
    ...inputs.map((input) => `    - ${input}`),
    ...(params === undefined ? [] : ['  params:', ...params.map((line) => `    ${line}`)]),
    '  workflowRef: target@1.0.0',
  ].join('\n');
  const manifest = parseManifest(text, 'mapped.yaml', { catalog: builtinCatalog });
  if (manifest.kind !== 'Runbook') throw new Error('not a runbook');
  return manifest;
}

describe('runbookParams', () => {
  it('passes every input through under its own name when the runbook maps none', async () => {
    await expect(runbookParams(runbook(['{ name: since, type: datetime }']), { since: '2025-01-01T00:00:00Z' })).resolves.toEqual({ since: '2025-01-01T00:00:00Z' });
  });

  it('computes exactly the mapped params, keeping the type of a sole expression and interpolating the rest', async () => {
    const manifest = runbook(
      ['{ name: source_bucket, type: string }', '{ name: days, type: integer }', '{ name: brokers, type: array }', '{ name: unused, type: string }'],
      ['bucket: "${inputs.source_bucket}"', 'key: "backfill/${inputs.source_bucket}-${inputs.days + 1}.json"', 'window: { days: "${inputs.days * 2}" }', 'brokers: "${inputs.brokers}"', 'fixed: 3'],
    );
    await expect(runbookParams(manifest, { source_bucket: 'raw', days: 7, brokers: ['k:9092'], unused: 'x' })).resolves.toEqual({
      bucket: 'raw',
      key: 'backfill/raw-8.json',
      window: { days: 14 },
      brokers: ['k:9092'],
      fixed: 3,
    });
  });

  it('leaves out a param mapped from an input that was not given, so the workflow default applies', async () => {
    const manifest = runbook(['{ name: since, type: datetime }', '{ name: until, type: datetime }'], ['since: "${inputs.since}"', 'until: "${inputs.until}"']);
    await expect(runbookParams(manifest, { since: '2025-01-01T00:00:00Z' })).resolves.toEqual({ since: '2025-01-01T00:00:00Z' });
  });

  it('names the param whose expression cannot be evaluated', async () => {
    const manifest = runbook(['{ name: labels, type: object }'], ['team: "${inputs.labels.team}"']);
    await expect(runbookParams(manifest, { labels: {} })).rejects.toThrow(
      expect.objectContaining({ constructor: ParamsError, code: 'PARAMS_INVALID', problems: [{ name: 'team', message: expect.stringContaining('runbook mapped@1.0.0 cannot compute it') }] }),
    );
  });
});
