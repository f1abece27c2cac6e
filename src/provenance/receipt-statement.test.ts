import { describe, expect, it } from 'vitest';
import { ARTIFACT, TOKEN, compiledFixture, fixtureReceipt, receiptInput, runFixture } from '../../test/provenance/fixtures.js';
import { canonicalJson, canonicalSha256, outputsSha256, sha256Hex } from '../canonical/index.js';
import { paramsSha256 } from './receipt-statement.js';
import { receiptDecisionIds } from './receipt-store.js';
import { statementPayload } from './signing.js';
import { IN_TOTO_STATEMENT_TYPE, MAESTRO_RUN_BUILD_TYPE, SLSA_PROVENANCE_V1, statementProblem } from './statement.js';

type Annotations = Record<string, unknown>;

function byproduct(statement: ReturnType<typeof fixtureReceipt>, name: string): Annotations {
  const found = statement.predicate.runDetails.byproducts?.find((b) => b.name === name);
  if (!found?.annotations) throw new Error(`no byproduct ${name}`);
  return found.annotations;
}

describe('buildReceipt', () => {
  it('is an in-toto Statement v1 with a SLSA Provenance v1 predicate', () => {
    const receipt = fixtureReceipt();
    expect(receipt._type).toBe(IN_TOTO_STATEMENT_TYPE);
    expect(receipt.predicateType).toBe(SLSA_PROVENANCE_V1);
    expect(statementProblem(receipt)).toBeUndefined();
    const { buildDefinition, runDetails } = receipt.predicate;
    expect(buildDefinition.buildType).toBe(MAESTRO_RUN_BUILD_TYPE);
    expect(buildDefinition.externalParameters).toMatchObject({ workflowRef: 'receipt-fixture@1.2.3', redactedParams: ['token'] });
    expect(buildDefinition.internalParameters).toEqual({ irDigest: compiledFixture().digest, irVersion: 1 });
    expect(runDetails.builder).toEqual({ id: 'urn:maestro:builder:test', version: { workerBuildId: `sha256:${'44'.repeat(32)}` } });
    expect(runDetails.metadata).toEqual({ invocationId: 'run-fixture', startedOn: '2026-01-01T00:00:00.000Z', finishedOn: '2026-01-01T00:00:09.000Z' });
  });

  it('names the run state, each succeeded task output and each referenced artifact as subjects, with canonical sha256', () => {
    const input = receiptInput();
    const receipt = fixtureReceipt();
    expect(receipt.subject.map((s) => s.name)).toEqual([
      'run/run-fixture',
      'task/shape/outputs',
      'task/each/outputs',
      'task/approve/outputs',
      'task/fetch/outputs',
      ARTIFACT.uri,
    ]);
    expect(receipt.subject[0]?.digest.sha256).toBe(canonicalSha256(input.run));
    // Key order and number spelling do not change the hash (RFC 8785).
    expect(receipt.subject[1]?.digest.sha256).toBe(outputsSha256(JSON.parse('{"rows":[{"v":2.0},{"v":4}]}')));
    expect(receipt.subject.at(-1)).toEqual({ name: ARTIFACT.uri, digest: { sha256: ARTIFACT.sha256 }, annotations: { size: ARTIFACT.size } });
  });

  it('lists each task uses@version with its code digest, and the workflow with its IR digest, as resolved dependencies', () => {
    const deps = fixtureReceipt().predicate.buildDefinition.resolvedDependencies ?? [];
    expect(deps.map((d) => [d.name, d.digest?.sha256])).toEqual([
      ['workflow:receipt-fixture@1.2.3', compiledFixture().digest.slice('sha256:'.length)],
      ['ops/approval.gate@0.1.0', '22'.repeat(32)],
      ['tasks/http.request@0.1.0', '33'.repeat(32)],
      ['tasks/transform.map@0.1.0', '11'.repeat(32)],
    ]);
  });

  it('records per task status, attempts, input and output digests, approvals, items and the skip reason', () => {
    const receipt = fixtureReceipt({ policyDecisionIds: { run: ['d-start'], tasks: { fetch: ['d-egress'] } } });
    expect(byproduct(receipt, 'run')).toEqual({ status: 'SUCCEEDED', policyDecisionIds: ['d-start'] });
    const fetch = byproduct(receipt, 'task/fetch');
    expect(fetch).toMatchObject({ id: 'fetch', uses: 'tasks/http.request@0.1.0', status: 'SUCCEEDED', attempts: 2, policyDecisionIds: ['d-egress'] });
    expect(fetch.inputDigest).toMatch(/^sha256:[0-9a-f]{64}$/);
    expect(fetch.outputDigest).toBe(`sha256:${outputsSha256(runFixture('x').tasks[3]?.outputs)}`);
    expect(byproduct(receipt, 'task/approve').approvals).toEqual([
      { approver: 'alice', decision: 'approve', comment: 'ship it', at: '2026-01-01T00:00:04.000Z' },
    ]);
    const each = byproduct(receipt, 'task/each');
    expect((each.items as Annotations[]).map((item) => [item.id, typeof item.inputDigest, typeof item.outputDigest])).toEqual([
      ['each[0]', 'string', 'string'],
      ['each[1]', 'string', 'string'],
    ]);
    const never = byproduct(receipt, 'task/never');
    expect(never).toMatchObject({ status: 'SKIPPED', attempts: 0, error: { code: 'WHEN_FALSE' } });
    expect(never).not.toHaveProperty('inputDigest');
  });

  it('lists its policy decision ids by task, run-level ones without a task, reused ones marked', () => {
    const receipt = fixtureReceipt({ policyDecisionIds: { run: ['d-start'], tasks: { fetch: ['d-egress', 'd-start-fetch'], 'each[1]': ['d-item'] }, reused: { fetch: ['d-start-fetch'] } } });
    expect(receiptDecisionIds(receipt)).toEqual([
      { id: 'd-start' },
      { id: 'd-item', taskId: 'each[1]' },
      { id: 'd-egress', taskId: 'fetch' },
      { id: 'd-start-fetch', taskId: 'fetch' },
      { id: 'd-start-fetch', taskId: 'fetch', reused: true },
    ]);
  });

  it('recomputes task inputs from params and upstream outputs: an upstream change changes the input digest', () => {
    const before = byproduct(fixtureReceipt(), 'task/each').items as Annotations[];
    const { digest } = compiledFixture();
    const run = runFixture(digest);
    const shape = run.tasks[0];
    if (shape) shape.outputs = { rows: [{ v: 2 }, { v: 5 }] };
    const after = byproduct(fixtureReceipt({ run }), 'task/each').items as Annotations[];
    expect(after[0]?.inputDigest).toBe(before[0]?.inputDigest);
    expect(after[1]?.inputDigest).not.toBe(before[1]?.inputDigest);
  });

  it('recomputes an input that calls a method of the tasks map (tasks.size()) over every task, as the run did', () => {
    /** The fixture with `fetch` sending a header made of `expression`. */
    const fetchDigest = (expression: string): unknown => {
      const { ir, digest } = compiledFixture();
      const tasks = ir.tasks.map((node) => (node.id === 'fetch' ? { ...node, with: { ...node.with, headers: { 'x-count': expression } } } : node));
      const items = byproduct(fixtureReceipt({ ir: { ...ir, tasks }, digest }), 'task/fetch');
      return items.inputDigest;
    };
    const all = runFixture('d').tasks.length;
    expect(fetchDigest('${string(tasks.size())}')).toBe(fetchDigest(String(all)));
    expect(fetchDigest('${string(tasks.size())}')).not.toBe(fetchDigest('0'));
  });

  it('marks tasks served from the cache', () => {
    const { digest } = compiledFixture();
    const run = runFixture(digest);
    Object.assign(run.tasks[0] ?? {}, { cached: true });
    expect(byproduct(fixtureReceipt({ run }), 'task/shape')).toMatchObject({ status: 'SUCCEEDED', cached: true });
    expect(byproduct(fixtureReceipt(), 'task/shape')).not.toHaveProperty('cached');
  });

  it('never contains a secret parameter, and its hashes do not depend on it', () => {
    const receipt = fixtureReceipt();
    expect(canonicalJson(receipt)).not.toContain(TOKEN);
    const other = fixtureReceipt({ params: { token: 'another-token', rows: [1, 2] } });
    expect(other.predicate.buildDefinition.externalParameters.paramsDigest).toBe(receipt.predicate.buildDefinition.externalParameters.paramsDigest);
    expect(byproduct(other, 'task/fetch').inputDigest).toBe(byproduct(receipt, 'task/fetch').inputDigest);
    const { ir } = compiledFixture();
    expect(paramsSha256(ir, { token: 'x', rows: [1] })).not.toBe(paramsSha256(ir, { token: 'x', rows: [2] }));
  });

  it('scrubs secret values out of error messages too', () => {
    const { digest } = compiledFixture();
    const run = runFixture(digest);
    Object.assign(run.tasks[3] ?? {}, { status: 'FAILED', error: { code: 'TASK_FAILED', message: `401 for Bearer ${TOKEN}` } });
    const fetch = byproduct(fixtureReceipt({ run }), 'task/fetch');
    expect(fetch.error).toEqual({ code: 'TASK_FAILED', message: '401 for Bearer [secret]' });
  });

  it('signs the very bytes receipts were signed as before they were made cheaper (digests of the earlier code\'s statements)', () => {
    // A fixed IR digest, so that only the manifest and the receipt code decide these bytes.
    const digest = `sha256:${'55'.repeat(32)}`;
    const run = runFixture(digest);
    Object.assign(run.tasks[0] ?? {}, { cached: true });
    const decisions = { run: ['d-start'], tasks: { fetch: ['d-egress', 'd-start-fetch'], 'each[1]': ['d-item'] }, reused: { fetch: ['d-start-fetch'] } };
    const succeeded = fixtureReceipt({ digest, run, namespace: 'team-a', policyDecisionIds: decisions });
    expect(sha256Hex(statementPayload(succeeded))).toBe('ba4aaced5732088f28c0c3efb7015d091921e7cd97d6210b836aa49877d14f4b');
    const failedRun = runFixture(digest);
    failedRun.status = 'FAILED';
    failedRun.error = { code: 'TASK_FAILED', message: `task "fetch" failed with ${TOKEN}` };
    Object.assign(failedRun.tasks[3] ?? {}, { status: 'FAILED', outputs: undefined, error: { code: 'TASK_FAILED', message: `401 for Bearer ${TOKEN}` } });
    expect(sha256Hex(statementPayload(fixtureReceipt({ digest, run: failedRun })))).toBe('2653ec6bcea46e3855347dbd38ccdac4a62355d570b6f76d3a8d8951203a915b');
  });

  it('is deterministic: the same run gives the same canonical statement', () => {
    expect(canonicalJson(fixtureReceipt())).toBe(canonicalJson(fixtureReceipt()));
  });

  it('covers failed runs: no output subject for the failed task, the run error in byproducts', () => {
    const { digest } = compiledFixture();
    const run = runFixture(digest);
    run.status = 'FAILED';
    run.error = { code: 'TASK_FAILED', message: 'task "fetch" failed' };
    const fetch = run.tasks[3];
    if (fetch) Object.assign(fetch, { status: 'FAILED', outputs: undefined, error: { code: 'TASK_FAILED', message: 'boom' } });
    const receipt = fixtureReceipt({ run });
    expect(receipt.subject.map((s) => s.name)).not.toContain('task/fetch/outputs');
    expect(receipt.subject.map((s) => s.name)).not.toContain(ARTIFACT.uri);
    expect(byproduct(receipt, 'run')).toEqual({ status: 'FAILED', error: run.error });
  });
});
