/**
 * Fixtures for provenance tests: a compiled workflow touching every receipt feature (secret
 * param, forEach, approval, artifact output, skipped task) and a final run state consistent with it.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { builtinCatalog } from '../../src/tasks/index.js';
import { compileWorkflow } from '../../src/compiler/index.js';
import type { CompiledWorkflow, RunState } from '../../src/ir/index.js';
import { parseManifest } from '../../src/manifest/index.js';
import { buildReceipt, generateSigningKey, type BuildReceiptInput, type SigningKey } from '../../src/provenance/index.js';

/** The artifact the `fetch` task's body was offloaded to. */
export const ARTIFACT = { uri: `artifact://sha256/${'ab'.repeat(32)}`, sha256: 'ab'.repeat(32), size: 300_000 };
/** The secret parameter's value; must never appear in a receipt. */
export const TOKEN = 's3cr3t-t0ken';

export const MANIFEST = `apiVersion: maestro/v1
kind: Workflow
metadata:
  name: receipt-fixture
  version: 1.2.3
spec:
  policy: { purpose: testing, authority: tests, license: internal }
  parameters:
    - { name: token, type: string, secret: true, required: true }
    - { name: rows, type: array, required: true }
  tasks:
    - id: shape
      uses: tasks/transform.map@0.1.0
      with: { rows: "\${params.rows}", expression: '{ "v": $ * 2 }' }
    - id: each
      uses: tasks/transform.map@0.1.0
      needs: [shape]
      forEach: { items: "\${tasks.shape.outputs.rows}" }
      with: { rows: ["\${item}"], expression: '$' }
    - id: approve
      uses: ops/approval.gate@0.1.0
      needs: [each]
      with: { approvers: [sre], minApprovals: 1 }
    - id: fetch
      uses: tasks/http.request@0.1.0
      needs: [approve]
      with: { url: "https://example.com/data", headers: { authorization: "Bearer \${params.token}" } }
    - id: never
      uses: tasks/transform.map@0.1.0
      needs: [fetch]
      when: "\${params.rows.size() > 100}"
      with: { rows: [], expression: '$' }
`;

export function compiledFixture(): CompiledWorkflow {
  const manifest = parseManifest(MANIFEST, 'fixture.yaml', { catalog: builtinCatalog });
  if (manifest.kind !== 'Workflow') throw new Error('fixture is a Workflow');
  return compileWorkflow(manifest, { catalog: builtinCatalog });
}

export const PARAMS = { token: TOKEN, rows: [1, 2] };

const at = (s: number): string => new Date(Date.UTC(2026, 0, 1, 0, 0, s)).toISOString();

/** The final state of a successful run of {@link MANIFEST} with {@link PARAMS}. */
export function runFixture(digest: string, runId = 'run-fixture'): RunState {
  return {
    runId,
    workflow: 'receipt-fixture',
    version: '1.2.3',
    digest,
    status: 'SUCCEEDED',
    startedAt: at(0),
    endedAt: at(9),
    tasks: [
      { id: 'shape', status: 'SUCCEEDED', attempts: 1, startedAt: at(1), endedAt: at(2), outputs: { rows: [{ v: 2 }, { v: 4 }] } },
      {
        id: 'each',
        status: 'SUCCEEDED',
        attempts: 1,
        startedAt: at(2),
        endedAt: at(3),
        outputs: [{ rows: [{ v: 2 }] }, { rows: [{ v: 4 }] }],
        items: [
          { id: 'each[0]', status: 'SUCCEEDED', attempts: 1, startedAt: at(2), endedAt: at(3), outputs: { rows: [{ v: 2 }] } },
          { id: 'each[1]', status: 'SUCCEEDED', attempts: 1, startedAt: at(2), endedAt: at(3), outputs: { rows: [{ v: 4 }] } },
        ],
      },
      {
        id: 'approve',
        status: 'SUCCEEDED',
        attempts: 1,
        startedAt: at(3),
        endedAt: at(5),
        outputs: { approved: true, approvals: [{ approver: 'alice', at: at(4) }] },
        approvals: [{ approver: 'alice', decision: 'approve', comment: 'ship it', at: at(4) }],
      },
      {
        id: 'fetch',
        status: 'SUCCEEDED',
        attempts: 2,
        startedAt: at(5),
        endedAt: at(8),
        outputs: { status: 200, headers: {}, body: { $artifact: ARTIFACT } },
      },
      { id: 'never', status: 'SKIPPED', attempts: 0, endedAt: at(8), error: { code: 'WHEN_FALSE', message: 'when ${params.rows.size() > 100} is not true' } },
    ],
  };
}

export const CODE_DIGESTS: Record<string, string> = {
  'tasks/transform.map@0.1.0': `sha256:${'11'.repeat(32)}`,
  'ops/approval.gate@0.1.0': `sha256:${'22'.repeat(32)}`,
  'tasks/http.request@0.1.0': `sha256:${'33'.repeat(32)}`,
};

/** Receipt input for the fixture run; `changes` override fields. */
export function receiptInput(changes: Partial<BuildReceiptInput> = {}): BuildReceiptInput {
  const { ir, digest } = compiledFixture();
  return {
    ir,
    digest,
    params: PARAMS,
    run: runFixture(digest),
    workerBuildId: `sha256:${'44'.repeat(32)}`,
    builderId: 'urn:maestro:builder:test',
    taskCodeDigests: CODE_DIGESTS,
    ...changes,
  };
}

export function fixtureReceipt(changes: Partial<BuildReceiptInput> = {}) {
  return buildReceipt(receiptInput(changes));
}

/** One key per test file is plenty: key generation is the slow part. */
let key: SigningKey | undefined;
export function testKey(): SigningKey {
  return (key ??= generateSigningKey());
}

/** A fresh temporary folder, removed by the returned `cleanup`. */
export async function tempDir(prefix = 'maestro-provenance-'): Promise<{ dir: string; cleanup: () => Promise<void> }> {
  const dir = await mkdtemp(join(tmpdir(), prefix));
  return { dir, cleanup: () => rm(dir, { recursive: true, force: true }) };
}
