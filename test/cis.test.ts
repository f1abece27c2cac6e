/**
 * The CIS checks (`scripts/cis.mjs test`, in `npm test`): the real checkov scans the Dockerfile, the
 * compose file, a test copy of the chart and the container runner's requests; a finding no exception
 * covers fails the run and names itself, an expired exception fails it, and an exception for the
 * finding (owner, reason, an expiry ahead) lets it pass.
 */
import { execFile } from 'node:child_process';
import { cpSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parse, stringify } from 'yaml';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { REPO_ROOT, runScript } from './peers/install.js';

const SCRIPT = join(REPO_ROOT, 'scripts', 'cis.mjs');
const EXCEPTIONS = join(REPO_ROOT, 'security', 'exceptions.yaml');
const dir = mkdtempSync(join(tmpdir(), 'maestro-cis-'));

/** An exception as security/exceptions.yaml holds it. */
interface Exception {
  id: string;
  resource: string;
  owner: string;
  reason: string;
  expires: string;
}

/** A copy of the chart whose worker pod shares the host's process namespace (checkov's CKV_K8S_17). */
function chartWithHostPid(): string {
  const chart = join(dir, 'chart');
  cpSync(join(REPO_ROOT, 'deploy', 'helm', 'maestro'), chart, { recursive: true });
  const worker = join(chart, 'templates', 'worker.yaml');
  const template = readFileSync(worker, 'utf8');
  const podSecurity = '      securityContext:\n';
  expect(template).toContain(podSecurity);
  writeFileSync(worker, template.replace(podSecurity, `      hostPID: true\n${podSecurity}`));
  return chart;
}

/** security/exceptions.yaml with `edit` applied, written to a file of the test folder. */
function exceptionsCopy(name: string, edit: (exceptions: Exception[]) => void): string {
  const { exceptions } = parse(readFileSync(EXCEPTIONS, 'utf8')) as { exceptions: Exception[] };
  edit(exceptions);
  const file = join(dir, `${name}.yaml`);
  writeFileSync(file, stringify({ exceptions }));
  return file;
}

/** A date `days` from today, as exceptions write it. */
function inDays(days: number): string {
  return new Date(Date.now() + days * 24 * 60 * 60 * 1000).toISOString().slice(0, 10);
}

/** Runs the checks; resolves with the exit code and everything printed. */
function cis(...args: string[]): Promise<{ code: number; output: string }> {
  return new Promise((resolve) => {
    execFile('node', [SCRIPT, 'test', ...args], { cwd: REPO_ROOT, timeout: 300_000 }, (error, stdout, stderr) => {
      resolve({ code: error ? (typeof error.code === 'number' ? error.code : 1) : 0, output: `${stdout}${stderr}` });
    });
  });
}

beforeAll(() => runScript('node', [SCRIPT, 'install']), 900_000);
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('the CIS checks', () => {
  it('fail on a deliberate finding in a test copy of the chart, naming the check and the resource', async () => {
    const { code, output } = await cis('--chart', chartWithHostPid());
    expect(output).toContain('2 finding(s) no exception covers:');
    expect(output).toContain('CKV_K8S_17 helm:Deployment.maestro.maestro-worker:');
    expect(output).toContain('CKV_K8S_17 helm-production:Deployment.maestro.maestro-worker:');
    expect(code).toBe(1);
  }, 300_000);

  it('pass the same chart with a valid exception for the finding', async () => {
    const excepted = exceptionsCopy('excepted', (exceptions) =>
      exceptions.push({
        id: 'CKV_K8S_17',
        resource: '{helm,helm-production}:Deployment.maestro.maestro-worker',
        owner: 'test',
        reason: 'the test copy shares the host PID namespace on purpose',
        expires: inDays(30),
      }),
    );
    const { code, output } = await cis('--chart', chartWithHostPid(), '--exceptions', excepted);
    expect(output).toContain('maestro cis: passed');
    expect(code).toBe(0);
  }, 300_000);

  it('fail on an exception past its expiry, one too far ahead, and one that matches nothing', async () => {
    const stale = exceptionsCopy('stale', (exceptions) => {
      exceptions[0]!.expires = '2020-01-01';
      exceptions[1]!.expires = inDays(400);
      exceptions.push({ id: 'CKV_K8S_17', resource: 'helm:Deployment.maestro.maestro-worker', owner: 'test', reason: 'nothing to cover', expires: inDays(30) });
    });
    const { code, output } = await cis('--exceptions', stale);
    expect(output).toMatch(/exception 1 \(CKV_DOCKER_2 on dockerfile:\S+\): expired on 2020-01-01 \(owner maestro-platform\)/);
    expect(output).toMatch(/exception 2 \(\w+ on compose:\S+\): expires \d{4}-\d{2}-\d{2}, more than 200 days ahead/);
    expect(output).toContain('exception CKV_K8S_17 on helm:Deployment.maestro.maestro-worker matches no finding: remove it');
    expect(code).toBe(1);
  }, 300_000);
});
