/**
 * The SIG connectors and the SIG PDP against SIG API versions N, N-1 and N-2 (1.2.0, 1.1.0, 1.0.0:
 * contracts/sig.openapi.yaml and contracts/sig/), each served by the SIG stub under its own prefix
 * and validated against its own contract. What each version lacks fails clearly and for good.
 */
import { readFileSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { buildPolicyInput, createSigPdp } from '../../src/policy/index.js';
import { createSigClaimsTask, createSigExportTask, createSigIngestTask, HttpClient } from '../../src/tasks/index.js';
import { peerContext, TEST_EGRESS } from '../helpers/egress.js';
import { SIG_API_VERSIONS, sigContractFile, startSigStub, type SigApiVersion, type SigPeer } from '../peers/index.js';
import { runTask, taskFailure } from './helpers.js';

let sig: SigPeer;
const http = new HttpClient(TEST_EGRESS);
const ingest = createSigIngestTask({ http });
const claims = createSigClaimsTask({ http });
const exporter = createSigExportTask({ http });
const receipt = { runId: 'run-source-1', digest: `sha256:${'ab'.repeat(32)}` };

beforeAll(async () => {
  sig = await startSigStub();
});
afterAll(async () => {
  await sig?.stop();
});

/** Each version's operations, `POST /path`. */
function operations(version: SigApiVersion): string[] {
  const document = parse(readFileSync(sigContractFile(version), 'utf8')) as { paths: Record<string, Record<string, unknown>> };
  return Object.entries(document.paths).flatMap(([path, item]) => Object.keys(item).map((method) => `${method.toUpperCase()} ${path}`));
}

describe('SIG API versions', () => {
  it('only add operations from one version to the next (N-2 ⊂ N-1 ⊂ N)', () => {
    const [n, n1, n2] = SIG_API_VERSIONS.map(operations) as [string[], string[], string[]];
    expect(n2).toEqual(['POST /ingest/batch', 'POST /claims']);
    expect(n1).toEqual(n2);
    expect(n).toEqual([...n1, 'POST /export', 'POST /policy/evaluate']);
  });
});

describe.each(SIG_API_VERSIONS)('against SIG API %s', (version) => {
  const endpoint = () => sig.urlFor(version);

  it('connectors/sig.ingest ingests a batch and verifies its receipts', async () => {
    const output = await runTask(ingest, { endpoint: endpoint(), items: [{ id: `v${version}-a`, payload: { n: 1 } }] }, peerContext());
    expect(output).toMatchObject({ batches: 1, items: 1, receipts: [{ id: `v${version}-a` }] });
  });

  if (version === '1.0.0') {
    it('connectors/sig.claims is refused for good: 1.0.0 claims carry no ids or receipt links', async () => {
      const error = await taskFailure(runTask(claims, { endpoint: endpoint(), receipt, claims: [{ itemId: 'case-1', statement: 'seen' }] }, peerContext()));
      expect(error).toMatchObject({ code: 'TASK_FAILED', retryable: false, details: { status: 400 } });
      expect(error.message).toContain('request does not match ClaimsRequest');
    });
  } else {
    it('connectors/sig.claims registers a claim linked to its receipt', async () => {
      const output = await runTask(claims, { endpoint: endpoint(), receipt, claims: [{ itemId: `case-${version}`, statement: 'seen' }] }, peerContext());
      expect(output.claims).toEqual([expect.objectContaining({ itemId: `case-${version}`, status: 'created', receiptDigest: receipt.digest })]);
    });
  }

  if (version === SIG_API_VERSIONS[0]) {
    it('connectors/sig.export exports, and the sig PDP decides', async () => {
      const output = await runTask(exporter, { endpoint: endpoint(), receipt, outputs: { version } }, peerContext({ runId: `run-${version}` }));
      expect(output.status).toBe('created');
      const pdp = createSigPdp({ url: endpoint(), timeoutMs: 2_000 });
      try {
        expect(await pdp.decide(policyInput())).toMatchObject({ allow: true, bundleRevision: 'sig:sig-policy-7' });
      } finally {
        await pdp.close();
      }
    });
  } else {
    it('connectors/sig.export fails for good (no POST /export before 1.2.0), and the sig PDP fails closed', async () => {
      const error = await taskFailure(runTask(exporter, { endpoint: endpoint(), receipt, outputs: { version } }, peerContext({ runId: `run-${version}` })));
      expect(error).toMatchObject({ code: 'TASK_FAILED', retryable: false, details: { status: 404 } });
      expect(error.message).toContain(`SIG API ${version} has no POST /export`);
      const pdp = createSigPdp({ url: endpoint(), timeoutMs: 2_000 });
      try {
        expect(await pdp.decide(policyInput())).toMatchObject({ allow: false, fallback: 'closed', reasons: [expect.stringContaining('could not decide (HTTP 404)')] });
      } finally {
        await pdp.close();
      }
    });
  }
});

function policyInput() {
  return buildPolicyInput({
    principal: { subject: 'alice', roles: ['operator'], namespaces: ['default'] },
    workflow: { name: 'hello', version: '1.0.0', digest: `sha256:${'ab'.repeat(32)}`, policy: { purpose: 'ingest', authority: 'tasking:ops', license: 'internal' } },
    run: { runId: 'run-1', namespace: 'default' },
  });
}
