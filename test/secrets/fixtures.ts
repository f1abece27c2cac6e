/**
 * What the secrets tests share: a worker whose HTTP tasks may reach loopback peers from namespaces
 * default, ops and sandbox; a run whose state must show none of the test's values; and a workflow
 * that puts an object into S3 with credentials taken from two secrets.
 */
import { expect } from 'vitest';
import { createBuiltinCatalog } from '../../src/tasks/index.js';
import type { SecretResolver } from '../../src/secrets/index.js';
import { startEngine, workflow, type Engine } from '../helpers/engine.js';

/** Starts the real worker and Temporal with `secrets`, loopback egress allowed in default, ops and sandbox. */
export function startSecretsEngine(secrets: SecretResolver): Promise<Engine> {
  const loopback = ['127.0.0.0/8', '::1/128'];
  return startEngine({ secrets, catalog: createBuiltinCatalog({ egressAllow: { default: loopback, ops: loopback, sandbox: loopback } }) });
}

/** Runs `yaml` in `namespace` to its end, and asserts that its state shows none of `values`. */
export async function runShowingNone(engine: Engine, yaml: string, namespace: string, values: readonly string[]) {
  const state = await engine.wait(await engine.start(yaml, {}, { namespace }));
  const shown = JSON.stringify(state);
  for (const value of values) expect(shown).not.toContain(value);
  return state;
}

/** A workflow whose task `put` writes `reports/daily.json` at `endpoint`, signing with secrets `key` and `secret`. */
export const s3Put = (endpoint: string, key = 'ops-s3-key', secret = 'ops-s3-secret'): string =>
  workflow(`    - id: put
      uses: connectors/s3.put@0.1.0
      retry: { maxAttempts: 3, initialInterval: 50ms }
      with:
        endpoint: "${endpoint}"
        bucket: reports
        key: daily.json
        body: { ok: true }
        credentials: { accessKeyIdSecret: ${key}, secretAccessKeySecret: ${secret} }`);
