/**
 * `maestro apply -f` against the real API and Temporal: registers directories of manifests
 * idempotently, in dependency order, and refuses the whole apply when one document is invalid.
 */
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { manifest, startHarness, type Harness } from './harness.js';

let h: Harness;
let dir: string;

/**
 * The Temporal Schedules the examples define: they live in the test run's Temporal (not in the
 * harness's store), so a leftover of an interrupted run is deleted before and after.
 */
const SCHEDULES = ['gitops-nightly-report', 'nightly-entity-backfill'];

/** What a CI job applies the repository's `default` namespace with (a schedule of a runbook acts for it: it holds the runbooks' allow-listed `sre`). */
const CI_TOKEN = { name: 'ci', token: 'ci-token-0123456789abcdef', roles: ['operator', 'sre'], namespaces: ['default'] };
const CI = { bearer: CI_TOKEN.token };

async function deleteSchedules(): Promise<void> {
  for (const id of SCHEDULES) await h.call('DELETE', `/schedules/${id}?namespace=default`, { token: 'admin' });
}

beforeAll(async () => {
  [h, dir] = await Promise.all([startHarness({ tokens: [CI_TOKEN] }), mkdtemp(join(tmpdir(), 'maestro-apply-'))]);
  await deleteSchedules();
});
afterAll(async () => {
  if (h) await deleteSchedules();
  await h?.close();
  await rm(dir, { recursive: true, force: true });
});

/** Writes `content` to `name` under the test's folder; returns its path. */
async function file(name: string, content: string): Promise<string> {
  const path = join(dir, name);
  await writeFile(path, content);
  return path;
}

const NAP = '    - { id: nap, uses: tasks/wait.sleep@0.1.0, with: { duration: 1ms } }';

/** A workflow manifest named `name` in `namespace` (default the harness's), ending with a newline. */
function workflow(name: string, tasks = NAP, { namespace = h.namespace, parameters = '' } = {}): string {
  return `${manifest(tasks, { name, parameters }).replace('metadata:', `metadata:\n  namespace: ${namespace}`)}\n`;
}

/** The outcome per document of a `-o json` apply. */
function outcomes(out: string): Record<string, string> {
  const report = JSON.parse(out) as { items: { kind: string; namespace: string; name: string; version?: string; outcome: string }[] };
  return Object.fromEntries(report.items.map((i) => [`${i.kind} ${i.namespace}/${i.name}@${i.version}`, i.outcome]));
}

describe('maestro apply', () => {
  it('registers the examples and runbooks (workflows, runbooks, a schedule, a trigger), then reports every document unchanged', async () => {
    const first = await h.cli(CI, 'apply', '-f', 'examples/workflows', '-f', 'runbooks');
    expect(first.code, first.err + first.out).toBe(0);
    const lines = first.out.split('\n');
    expect(lines).toContain('Workflow default/hello@1.0.0: created');
    expect(lines).toContain('Runbook default/rollback@0.7.0: created');
    expect(lines).toContain('Schedule default/nightly-entity-backfill: created');
    expect(lines).toContain('Trigger default/rollback-on-alert: created');
    expect(lines.at(-1)).toBe('22 documents: 22 created, 0 updated, 0 unchanged, 0 failed');
    // Workflows, then runbooks, then the schedule and the trigger.
    expect(lines.findLastIndex((l) => l.startsWith('Workflow '))).toBeLessThan(lines.findIndex((l) => l.startsWith('Runbook ')));
    expect(lines.findLastIndex((l) => l.startsWith('Runbook '))).toBeLessThan(lines.findIndex((l) => l.startsWith('Schedule ')));
    expect(lines.findLastIndex((l) => l.startsWith('Runbook '))).toBeLessThan(lines.findIndex((l) => l.startsWith('Trigger ')));
    expect((await h.call('GET', '/runbooks?namespace=default', { token: 'admin' })).body.items).toHaveLength(8);

    const second = await h.cli(CI, 'apply', '-f', 'examples/workflows', '-f', 'runbooks', '-o', 'json');
    expect(second.code).toBe(0);
    const report = JSON.parse(second.out) as { summary: Record<string, number> };
    expect(report.summary).toEqual({ created: 0, updated: 0, unchanged: 22, failed: 0 });
    expect(new Set(Object.values(outcomes(second.out)))).toEqual(new Set(['unchanged']));
  });

  it('applies examples/gitops (all four kinds) as is; again all unchanged; a changed cron updated; its runbook runs', async () => {
    const first = await h.cli('admin', 'apply', '-f', 'examples/gitops');
    expect(first.code, first.err + first.out).toBe(0);
    expect(first.out.split('\n')).toEqual([
      'Workflow default/gitops-greet@1.0.0: created',
      'Workflow default/gitops-report@1.0.0: created',
      'Runbook default/gitops-report@1.0.0: created',
      'Schedule default/gitops-nightly-report: created',
      'Trigger default/gitops-report-hook: created',
      '5 documents: 5 created, 0 updated, 0 unchanged, 0 failed',
    ]);
    try {
      const second = await h.cli('admin', 'apply', '-f', 'examples/gitops', '-o', 'json');
      expect(second.code).toBe(0);
      expect(new Set(Object.values(outcomes(second.out)))).toEqual(new Set(['unchanged']));
      expect(JSON.parse(second.out).summary).toEqual({ created: 0, updated: 0, unchanged: 5, failed: 0 });

      const schedule = await readFile('examples/gitops/schedule.yaml', 'utf8');
      const changed = await file('schedule.yaml', schedule.replace('0 2 * * *', '30 3 * * *'));
      const third = await h.cli('admin', 'apply', '-f', 'examples/gitops/workflows.yaml', '-f', 'examples/gitops/runbook.yaml', '-f', changed, '-f', 'examples/gitops/trigger.yaml');
      expect(third.code, third.out).toBe(0);
      expect(third.out).toContain('Schedule default/gitops-nightly-report: updated');
      expect(third.out.split('\n').at(-1)).toBe('5 documents: 0 created, 1 updated, 4 unchanged, 0 failed');
      expect((await h.call('GET', '/schedules/gitops-nightly-report?namespace=default', { token: 'admin' })).body).toMatchObject({ spec: { cron: ['30 3 * * *'] } });
      expect((await h.call('GET', '/triggers/gitops-report-hook?namespace=default', { token: 'admin' })).status).toBe(200);

      const run = await h.call('POST', '/runbooks/trigger', { token: 'admin', json: { runbook: 'gitops-report', inputs: { who: 'Ada' } } });
      expect(run.status, run.text).toBe(201);
      const done = await h.waitRun(run.body.runId as string, (r) => r.status === 'SUCCEEDED' || r.status === 'FAILED');
      expect(done.status).toBe('SUCCEEDED');
    } finally {
      await deleteSchedules();
    }
  });

  it('applies a sub-workflow before its user from one multi-document file, and the user runs', async () => {
    const ns = h.namespace;
    const parent = workflow('apply-parent', '    - { id: sub, uses: "workflow/apply-child@^1", with: { n: 2 } }');
    const child = workflow('apply-child', NAP, { parameters: '    - { name: n, type: integer }' });
    const path = await file('family.yaml', `# parent first: apply orders them\n${parent}---\n${child}`);
    const result = await h.cli('operator', 'apply', '-f', path);
    expect(result.code, result.err + result.out).toBe(0);
    expect(result.out.split('\n').slice(0, 2)).toEqual([`Workflow ${ns}/apply-child@1.0.0: created`, `Workflow ${ns}/apply-parent@1.0.0: created`]);
    const run = await h.call('POST', '/runs', { token: 'operator', json: { workflowRef: 'apply-parent@1.0.0', namespace: ns } });
    expect(run.status).toBe(201);
    await h.waitRun(run.body.runId as string, (r) => r.status === 'SUCCEEDED');
  });

  it('refuses the whole apply, before sending anything, when one document is invalid', async () => {
    const good = workflow('apply-never');
    const bad = good.replace('apply-never', 'apply-bad').replace('wait.sleep@0.1.0', 'wait.slep@0.1.0');
    const path = await file('half-bad.yaml', `${good}---\n${bad}`);
    const result = await h.cli('operator', 'apply', '-f', path);
    expect(result.code).toBe(2);
    const badLine = `${good}---\n${bad}`.split('\n').findIndex((l) => l.includes('wait.slep')) + 1;
    expect(result.err).toMatch(new RegExp(`^${path}:${badLine}:\\d+: spec\\.tasks\\[0\\]\\.uses: unknown task "tasks/wait.slep"`, 'm'));
    const json = await h.cli('operator', 'apply', '-f', path, '-o', 'json');
    expect(json.code).toBe(2);
    expect(JSON.parse(json.out)).toMatchObject({ valid: false, errors: [{ file: path, line: badLine, path: 'spec.tasks[0].uses' }] });
    expect((await h.call('GET', `/workflows/apply-never/versions/1.0.0?namespace=${h.namespace}`, { token: 'operator' })).status).toBe(404);
  });

  it('reports a changed version as failed (bump metadata.version), sends nothing that names it, refuses a namespace the caller is not in, exit 1', async () => {
    const v1 = workflow('apply-edit');
    expect((await h.cli('operator', 'apply', '-f', await file('edit.yaml', v1))).code).toBe(0);
    const elsewhere = workflow('apply-elsewhere', NAP, { namespace: 'elsewhere' });
    const runbook = `apiVersion: maestro/v1\nkind: Runbook\nmetadata: { name: apply-edit, version: 1.0.0, namespace: ${h.namespace}, allowList: { roles: [sre] } }\nspec: { inputs: [], workflowRef: apply-edit@1.0.0 }\n`;
    await file('edit.yaml', `${runbook}---\n${v1.replace('1ms', '2ms')}---\n${elsewhere}`);
    const result = await h.cli('operator', 'apply', '-f', join(dir, 'edit.yaml'));
    expect(result.code).toBe(1);
    expect(result.out).toContain(`Workflow ${h.namespace}/apply-edit@1.0.0: failed: apply-edit@1.0.0 is registered with another content: bump metadata.version`);
    expect(result.out).toMatch(/Workflow elsewhere\/apply-elsewhere@1\.0\.0: failed: FORBIDDEN: operator has no access to namespace "elsewhere"/);
    expect(result.out).toContain(`Runbook ${h.namespace}/apply-edit@1.0.0: failed: not sent: Workflow ${h.namespace}/apply-edit@1.0.0, which it names, failed`);
    expect(result.out.split('\n').at(-1)).toBe('3 documents: 0 created, 0 updated, 0 unchanged, 3 failed');
  });

  it("locates the API's refusal of a later document at its line in the file", async () => {
    const orphan = workflow('apply-orphan', '    - { id: sub, uses: "workflow/apply-missing@^1" }');
    const text = `${workflow('apply-first')}---\n${orphan}`;
    const path = await file('orphan.yaml', text);
    const result = await h.cli('operator', 'apply', '-f', path);
    expect(result.code).toBe(1);
    const line = text.split('\n').findIndex((l) => l.includes('apply-missing')) + 1;
    expect(result.out).toContain(`Workflow ${h.namespace}/apply-first@1.0.0: created`);
    expect(result.out).toMatch(new RegExp(`Workflow ${h.namespace}/apply-orphan@1\\.0\\.0: failed: MANIFEST_INVALID: .*\\n  ${path}:${line}:\\d+: spec\\.tasks\\[0\\]\\.uses: .*apply-missing`));
  });

  it('shows what a dry run would send, and sends nothing', async () => {
    const yaml = workflow('apply-dry');
    const path = await file('dry.yaml', yaml);
    const text = await h.cli('operator', 'apply', '-f', path, '--dry-run');
    expect(text.code).toBe(0);
    expect(text.out).toBe(`Workflow ${h.namespace}/apply-dry@1.0.0: POST /workflows (${path}:1)\ndry run: 1 documents valid, nothing sent`);
    const json = await h.cli('operator', 'apply', '-f', path, '--dry-run', '-o', 'json');
    expect(JSON.parse(json.out)).toMatchObject({ dryRun: true, items: [{ kind: 'Workflow', name: 'apply-dry', request: { method: 'POST', path: '/workflows', contentType: 'application/yaml', body: yaml } }] });
    expect((await h.call('GET', `/workflows/apply-dry/versions/1.0.0?namespace=${h.namespace}`, { token: 'operator' })).status).toBe(404);
  });
});
