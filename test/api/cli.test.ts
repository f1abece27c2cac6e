/**
 * CLI parity: `maestro runs list|get|cancel|retry`, `maestro approve`, `maestro runbooks trigger`
 * against the running API (MAESTRO_URL, MAESTRO_TOKEN), and the dev token of `npm start`.
 */
import { mkdtemp, readFile, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { withDevAuth } from '../../src/api/index.js';
import { loadConfig } from '../../src/config/index.js';
import { manifest, startHarness, type Harness } from './harness.js';

let h: Harness;
let workflowRef: string;

beforeAll(async () => {
  h = await startHarness();
  const { name } = await h.register(
    manifest(['    - { id: gate, uses: ops/approval.gate@0.1.0, with: { approvers: [sre-oncall] } }', '    - { id: after, uses: tasks/wait.sleep@0.1.0, needs: [gate], with: { duration: 1ms } }'].join('\n'), { name: 'cli' }),
  );
  workflowRef = `${name}@1.0.0`;
});
afterAll(() => h.close());

describe('maestro CLI through the API', () => {
  it('lists, shows, approves, retries and cancels runs', async () => {
    const started = await h.call('POST', '/runs', { token: 'operator', json: { workflowRef, namespace: h.namespace } });
    const runId = started.body.runId as string;
    await h.waitRun(runId, (r) => r.status === 'WAITING');

    const get = await h.cli('viewer', 'runs', 'get', runId, '--json');
    expect(get.code).toBe(0);
    expect(JSON.parse(get.out)).toMatchObject({ runId, status: 'WAITING' });
    expect((await h.cli('viewer', 'runs', 'get', runId)).out).toContain('gate WAITING');

    const list = await h.cli('viewer', 'runs', 'list', '--namespace', h.namespace, '--workflow', workflowRef, '--json');
    expect(JSON.parse(list.out).items.map((r: { runId: string }) => r.runId)).toContain(runId);

    const denied = await h.cli('viewer', 'approve', runId, 'gate');
    expect(denied.code).toBe(2);
    expect(denied.err).toContain('sre-oncall');
    expect((await h.cli('sre', 'approve', runId, 'gate', '-m', 'ok')).code).toBe(0);
    await h.waitRun(runId, (r) => r.status === 'SUCCEEDED');

    const retry = await h.cli('operator', 'runs', 'retry', runId, '--from', 'start');
    expect(retry.code).toBe(0);
    const retried = retry.out.trim();
    expect(retried).toMatch(/^run-/);
    await h.waitRun(retried, (r) => r.status === 'WAITING');
    expect((await h.cli('operator', 'runs', 'cancel', retried)).code).toBe(0);
    await h.waitRun(retried, (r) => r.status === 'CANCELLED');
    const again = await h.cli('operator', 'runs', 'cancel', retried);
    expect(again.code).toBe(1);
    expect(again.err).toContain('already finished');
    expect((await h.cli('viewer', 'runs', 'get', 'run-nope')).code).toBe(2);
  });

  it('triggers a runbook with -i key=value (403 for a caller not allow-listed)', async () => {
    const runbook = `apiVersion: maestro/v1
kind: Runbook
metadata: { name: cli-rb-${h.namespace}, version: 1.0.0, namespace: ${h.namespace}, allowList: { roles: [sre] } }
spec:
  inputs: []
  workflowRef: ${workflowRef}
`;
    expect((await h.call('POST', '/runbooks', { yaml: runbook })).status).toBe(201);
    const denied = await h.cli('viewer', 'runbooks', 'trigger', `cli-rb-${h.namespace}`, '--namespace', h.namespace);
    expect(denied.code).toBe(2);
    expect(denied.err).toContain('may be triggered by the roles sre');
    const plan = await h.cli('sre', 'runbooks', 'trigger', `cli-rb-${h.namespace}`, '--namespace', h.namespace, '--dry-run');
    expect(plan.code).toBe(0);
    expect(JSON.parse(plan.out)).toMatchObject({ dryRun: true, tasks: [{ id: 'gate' }, { id: 'after' }] });
    const bad = await h.cli('sre', 'runbooks', 'trigger', `cli-rb-${h.namespace}`, '-i', 'x=1', '--namespace', h.namespace);
    expect(bad.code).toBe(2);
    expect(bad.err).toContain('params.x');
    const run = await h.cli('sre', 'runbooks', 'trigger', `cli-rb-${h.namespace}`, '--namespace', h.namespace);
    expect(run.code).toBe(0);
    await h.waitRun(run.out.trim(), (r) => r.status === 'WAITING');
    await h.call('POST', `/runs/${run.out.trim()}/cancel`);
  });
});

describe('the dev token', () => {
  it('is generated once into <dataDir>/dev-token with mode 0600 when no authentication is configured', async () => {
    const dataDir = await mkdtemp(join(tmpdir(), 'maestro-dev-token-'));
    const lines: string[] = [];
    const config = withDevAuth(loadConfig({ MAESTRO_DATA_DIR: dataDir }), (line) => lines.push(line));
    const file = join(dataDir, 'dev-token');
    expect((await stat(file)).mode & 0o777).toBe(0o600);
    const token = (await readFile(file, 'utf8')).trim();
    expect(token).toMatch(/^[A-Za-z0-9_-]{43}$/);
    expect(config.devToken).toBe(token);
    expect(lines.join('\n')).toContain(token);
    expect(JSON.stringify(config)).not.toContain(token);
    expect(withDevAuth(loadConfig({ MAESTRO_DATA_DIR: dataDir }), () => undefined).devToken).toBe(token);
    const configured = loadConfig({ MAESTRO_DATA_DIR: dataDir, MAESTRO_DEV_TOKEN: 'mine-0123456789abcdef0123456789abcdef' });
    expect(withDevAuth(configured, () => undefined)).toBe(configured);
  });
});
