/**
 * The breaking-change gate (`scripts/contracts.mjs test`, in `npm test`): the real oasdiff diffs a
 * test copy of `contracts/openapi.yaml` against the last two releases under `contracts/releases/`,
 * and the script's exit code and list are what a contributor sees when the build stops.
 */
import { execFile } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parse, stringify } from 'yaml';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { REPO_ROOT, runScript } from './peers/install.js';

/** The parts of the OpenAPI document these tests edit. */
interface OpenApi {
  paths: Record<string, unknown>;
  components: { schemas: Record<string, { required?: string[]; properties: Record<string, unknown> }> };
}

const SCRIPT = join(REPO_ROOT, 'scripts', 'contracts.mjs');
const dir = mkdtempSync(join(tmpdir(), 'maestro-contracts-'));

/** A copy of the current contract, changed by `edit`, written to a file of the test folder. */
function contractCopy(name: string, edit: (spec: OpenApi) => void): string {
  const spec = parse(readFileSync(join(REPO_ROOT, 'contracts', 'openapi.yaml'), 'utf8')) as OpenApi;
  edit(spec);
  const file = join(dir, `${name}.yaml`);
  writeFileSync(file, stringify(spec));
  return file;
}

/** Runs the gate; resolves with its exit code and everything it printed. */
function gate(...args: string[]): Promise<{ code: number; output: string }> {
  return new Promise((resolve) => {
    execFile('node', [SCRIPT, 'test', ...args], { cwd: REPO_ROOT, timeout: 120_000 }, (error, stdout, stderr) => {
      resolve({ code: error ? (typeof error.code === 'number' ? error.code : 1) : 0, output: `${stdout}${stderr}` });
    });
  });
}

/** The current contract without RunSummary's required `status` and without `GET /approvals`. */
const breaking = (): string =>
  contractCopy('breaking', (spec) => {
    const summary = spec.components.schemas['RunSummary']!;
    delete summary.properties['status'];
    summary.required = summary.required!.filter((name) => name !== 'status');
    delete spec.paths['/approvals'];
  });

beforeAll(() => runScript('node', [SCRIPT, 'install']), 300_000);
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('the breaking-change gate', () => {
  it('passes the current contract against the last two releases', async () => {
    const { code, output } = await gate();
    expect(output).toMatch(/compatible with release \d+\.\d+\.\d+\n.*compatible with release \d+\.\d+\.\d+/);
    expect(code).toBe(0);
  });

  it('reports a removed required response field and a removed route as breaking, against each release', async () => {
    const { code, output } = await gate('--openapi', breaking());
    expect(code).toBe(1);
    expect(output).toMatch(/breaking change\(s\) since release 0\.0\.1/);
    expect(output).toMatch(/breaking change\(s\) since release 0\.0\.2/);
    expect(output).toMatch(/\[response-required-property-removed\] GET \/runs: .*`items\/items\/status`/);
    expect(output).toContain('[api-path-removed-without-deprecation] GET /approvals');
    expect(output).toContain("bump package.json's major version above 0");
  });

  it('lets the same changes through when the version to be released has a new major', async () => {
    const { code, output } = await gate('--openapi', breaking(), '--version', '1.0.0');
    expect(output).toContain('allowed by the major version 1.0.0');
    expect(output).toContain('[api-path-removed-without-deprecation] GET /approvals');
    expect(code).toBe(0);
  });

  it('does not report an added optional field, in a request or a response', async () => {
    const added = contractCopy('optional', (spec) => {
      spec.components.schemas['StartRunRequest']!.properties['note'] = { type: 'string', maxLength: 200 };
      spec.components.schemas['RunSummary']!.properties['note'] = { type: 'string' };
    });
    const { code, output } = await gate('--openapi', added);
    expect(output).not.toMatch(/breaking change/);
    expect(code).toBe(0);
  });

  it('refuses a contract with an external $ref without fetching it', async () => {
    let connections = 0;
    const server = createServer((_request, response) => response.end('type: string\n'));
    server.on('connection', () => (connections += 1));
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    try {
      const { port } = server.address() as AddressInfo;
      const external = contractCopy('external', (spec) => {
        spec.components.schemas['RunSummary']!.properties['note'] = { $ref: `http://127.0.0.1:${port}/note.yaml` };
      });
      const { code, output } = await gate('--openapi', external);
      expect(code).toBe(1);
      expect(output).toContain('oasdiff breaking');
      expect(connections).toBe(0);
    } finally {
      await new Promise((resolve) => server.close(resolve));
    }
  });
});
