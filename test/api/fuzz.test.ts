/**
 * The API under an OpenAPI-driven fuzzer: Schemathesis (PyPI, installed into `.tools/` by
 * `scripts/peers/install-schemathesis.sh`) generates valid and invalid requests for every operation
 * of `contracts/openapi.yaml` and sends them to the real API (real Temporal, a real worker), then
 * follows the document's `links` from `POST /runs` to the run routes with the run it started.
 * Every response must be a non-5xx one that the document describes, body schema included.
 *
 * Bounded and reproducible: a fixed seed, a fixed number of examples per operation, no shrinking.
 */
import { spawn } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { OPENAPI_FILE } from '../../src/api/index.js';
import { startDevServer, type DevServer } from '../../src/devserver/index.js';
import { REPO_ROOT, runInstaller } from '../peers/install.js';
import { manifest, startHarness, THREE_TASKS, TOKENS, type Harness } from './harness.js';

/** The fuzzer's command, in the venv its installer makes. */
const ST = join(REPO_ROOT, '.tools', 'schemathesis', 'bin', 'st');
/** Examples per operation and phase, and the seed: what keeps a run reproducible and its time bounded. */
const MAX_EXAMPLES = 20;
const SEED = 19;

let h: Harness;
let temporal: DevServer;
let reportDir: string;

beforeAll(async () => {
  await runInstaller('install-schemathesis.sh');
  // A Temporal of its own: the links lead the fuzzer to every run it can list, and on the shared
  // server those are other tests' runs, encrypted with their own keys and served by workers that
  // come and go.
  temporal = await startDevServer({ port: 0, ui: false });
  h = await startHarness({ address: temporal.address });
  // The workflow the document's StartRunRequest example names, so generated starts succeed and the
  // stateful phase reaches the run routes through the links.
  await h.register(manifest(THREE_TASKS, { name: 'hello', version: '1.0.0' }));
  reportDir = await mkdtemp(join(tmpdir(), 'maestro-fuzz-'));
}, 600_000);
afterAll(async () => {
  await h?.close();
  await temporal?.stop();
  if (reportDir) await rm(reportDir, { recursive: true, force: true });
});

/** Runs `st` to its end; resolves with its exit code and what it printed. */
function schemathesis(args: readonly string[]): Promise<{ code: number | null; output: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(ST, args, { cwd: reportDir, env: { ...process.env, NO_COLOR: '1', SCHEMATHESIS_TELEMETRY: 'false' }, stdio: ['ignore', 'pipe', 'pipe'] });
    let output = '';
    child.stdout.on('data', (chunk: Buffer) => (output += chunk.toString('utf8')));
    child.stderr.on('data', (chunk: Buffer) => (output += chunk.toString('utf8')));
    child.once('error', reject);
    child.once('close', (code) => resolve({ code, output }));
  });
}

describe('the API under Schemathesis', () => {
  it('answers every generated request of every operation with a documented, non-5xx response', async () => {
    const started = Date.now();
    const { code, output } = await schemathesis([
      'run',
      OPENAPI_FILE,
      '--url',
      h.api.url,
      '--header',
      `Authorization: Bearer ${TOKENS.admin}`,
      '--checks',
      'not_a_server_error,response_schema_conformance,status_code_conformance,content_type_conformance',
      '--phases',
      'examples,coverage,fuzzing,stateful',
      '--max-examples',
      String(MAX_EXAMPLES),
      '--seed',
      String(SEED),
      '--no-shrink',
      '--workers',
      '1',
      '--request-timeout',
      '20',
      '--suppress-health-check',
      'all',
    ]);
    console.log(`schemathesis: ${((Date.now() - started) / 1000).toFixed(1)} s, exit ${code}`);
    expect(code, output).toBe(0);
    // Every operation of the document was exercised, none filtered out.
    expect(output).toMatch(/Operations:\s+(\d+) selected \/ \1 total/);
  }, 900_000);
});
