/**
 * Sub-workflows through the real API, worker and Temporal: `uses: workflow/<name>@<range>` runs a
 * registered workflow of the same namespace as a child run; its `spec.outputs` are the task's
 * outputs; its failure, cancellation, recursion, another namespace and the depth limit.
 */
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startRun } from '../../src/client/index.js';
import { compileWorkflow } from '../../src/compiler/index.js';
import { parseManifest, type WorkflowManifest } from '../../src/manifest/index.js';
import { builtinCatalog } from '../../src/tasks/index.js';
import { inNamespace, manifest, startHarness, type Harness } from './harness.js';

let h: Harness;
beforeAll(async () => {
  // Depth 2 at most: a chain of three nested runs reaches the limit.
  h = await startHarness({ config: { subWorkflowMaxDepth: 2 } });
});
afterAll(() => h.close());

type Run = any; // eslint-disable-line @typescript-eslint/no-explicit-any -- tests read fields freely
const byId = (run: Run, id: string): Run => run.tasks.find((task: { id: string }) => task.id === id);
const ended = (run: Run): boolean => ['SUCCEEDED', 'FAILED', 'CANCELLED'].includes(run.status);

/** A child doubling `n`; its outputs name the doubled value. */
function doubler(name: string, version = '1.0.0'): string {
  return [
    manifest('    - { id: twice, uses: tasks/transform.map@0.1.0, with: { rows: ["${params.n}"], expression: "$ * 2" } }', {
      name,
      version,
      parameters: ['    - { name: n, type: integer, required: true }', '    - { name: note, type: string, default: none }'].join('\n'),
    }),
    '  outputs:',
    '    doubled: "${tasks.twice.outputs.rows[0]}"',
  ].join('\n');
}

async function start(name: string, version = '1.0.0', params: Record<string, unknown> = {}): Promise<string> {
  const res = await h.call('POST', '/runs', { token: 'operator', json: { workflowRef: `${name}@${version}`, namespace: h.namespace, params } });
  expect(res.status, res.text).toBe(201);
  return res.body.runId as string;
}

async function receiptOf(runId: string): Promise<{ digest: string; statement: any }> { // eslint-disable-line @typescript-eslint/no-explicit-any -- tests read fields freely
  let receipt = await h.call('GET', `/runs/${runId}/receipt`);
  for (let i = 0; receipt.status === 404 && i < 50; i += 1) {
    await new Promise((resolve) => setTimeout(resolve, 100));
    receipt = await h.call('GET', `/runs/${runId}/receipt`);
  }
  expect(receipt.status, receipt.text).toBe(200);
  return { digest: (receipt.headers.get('etag') ?? '').replaceAll('"', ''), statement: JSON.parse(Buffer.from(receipt.body.dsseEnvelope.payload, 'base64').toString()) };
}

const uid = (): string => Math.random().toString(36).slice(2, 8);

describe('a sub-workflow task', () => {
  it("runs the child as a run of its own, and a later task reads the child's outputs", async () => {
    const child = `child-${uid()}`;
    await h.register(doubler(child));
    const parent = `parent-${uid()}`;
    const registered = await h.register(
      [
        manifest(
          [
            `    - { id: sub, uses: "workflow/${child}@^1", with: { n: 21 } }`,
            '    - { id: after, uses: tasks/transform.map@0.1.0, needs: [sub], with: { rows: ["${tasks.sub.outputs.doubled}"], expression: "$ + 1" } }',
          ].join('\n'),
          { name: parent },
        ),
        '  outputs:',
        '    answer: "${tasks.after.outputs.rows[0]}"',
      ].join('\n'),
    );
    const detail = await h.call('GET', `/workflows/${parent}/versions/1.0.0?namespace=${h.namespace}`, { token: 'viewer' });
    const childEntry = await h.call('GET', `/workflows/${child}/versions/1.0.0?namespace=${h.namespace}`, { token: 'viewer' });
    // The parent pins the child's exact version and digest and embeds its IR: its digest covers the child.
    expect(detail.body.ir).toMatchObject({
      irVersion: 3,
      tasks: [{ id: 'sub', uses: `workflow/${child}@1.0.0`, execution: 'workflow', workflow: { namespace: h.namespace, name: child, version: '1.0.0', digest: childEntry.body.digest } }, { id: 'after' }],
      workflows: { [childEntry.body.digest]: childEntry.body.ir },
      outputs: { answer: 'tasks.after.outputs.rows[0]' },
    });
    expect(registered.digest).toBe(detail.body.digest);

    const runId = await start(parent);
    const run = await h.waitRun(runId, ended);
    expect(run.status, JSON.stringify(run)).toBe('SUCCEEDED');
    expect(run.outputs).toEqual({ answer: 43 });
    const sub = byId(run, 'sub');
    expect(sub).toMatchObject({ status: 'SUCCEEDED', outputs: { doubled: 42 }, subWorkflow: { workflowRef: `${child}@1.0.0`, runId: expect.stringMatching(/^run-/) } });
    expect(byId(run, 'after')).toMatchObject({ status: 'SUCCEEDED', outputs: { rows: [43] } });

    // The child is a run of its own, linked to its parent, with its defaults applied like POST /runs.
    const childRun = await h.waitRun(sub.subWorkflow.runId, ended);
    expect(childRun).toMatchObject({ status: 'SUCCEEDED', workflowRef: `${child}@1.0.0`, params: { n: 21, note: 'none' }, outputs: { doubled: 42 }, parent: { runId, taskId: 'sub', depth: 1 } });
    const listed = await h.call('GET', `/runs?namespace=${h.namespace}&workflowRef=${child}`, { token: 'viewer' });
    expect(listed.body.items).toContainEqual(expect.objectContaining({ runId: sub.subWorkflow.runId, parentRunId: runId }));

    // The child's receipt digest is in the parent's task state and in the parent's receipt.
    const childReceipt = await receiptOf(sub.subWorkflow.runId);
    expect(sub.subWorkflow.receiptDigest).toBe(childReceipt.digest);
    const parentReceipt = await receiptOf(runId);
    const byproduct = parentReceipt.statement.predicate.runDetails.byproducts.find((b: { name: string }) => b.name === 'task/sub');
    expect(byproduct.annotations.subWorkflow).toEqual(sub.subWorkflow);
    const dependency = parentReceipt.statement.predicate.buildDefinition.resolvedDependencies.find((d: { name: string }) => d.name === `workflow/${child}@1.0.0`);
    expect(dependency.digest.sha256).toBe(childEntry.body.digest.replace('sha256:', ''));
  });

  it("fails with the child's error code when the child fails, after a new child per attempt of its retry", async () => {
    const child = `broken-${uid()}`;
    await h.register(
      manifest('    - { id: read, uses: tasks/transform.map@0.1.0, with: { rows: ["${params.obj.missing}"], expression: "$" } }', {
        name: child,
        parameters: '    - { name: obj, type: object, default: {} }',
      }),
    );
    const parent = `parent-${uid()}`;
    await h.register(
      manifest(
        [
          `    - { id: sub, uses: "workflow/${child}@1.0.0", retry: { maxAttempts: 2, initialInterval: 10ms, maxInterval: 10ms } }`,
          '    - { id: after, uses: tasks/wait.sleep@0.1.0, needs: [sub], with: { duration: 1ms } }',
        ].join('\n'),
        { name: parent },
      ),
    );
    const run = await h.waitRun(await start(parent), ended);
    expect(run.status).toBe('FAILED');
    const sub = byId(run, 'sub');
    const childRun = await h.waitRun(sub.subWorkflow.runId, ended);
    expect(childRun).toMatchObject({ status: 'FAILED', error: { code: 'EXPRESSION_FAILED' } });
    expect(sub).toMatchObject({ status: 'FAILED', attempts: 2, error: { code: 'EXPRESSION_FAILED', message: expect.stringContaining(sub.subWorkflow.runId) } });
    const children = await h.call('GET', `/runs?namespace=${h.namespace}&workflowRef=${child}`, { token: 'viewer' });
    expect(children.body.items.filter((r: { parentRunId?: string }) => r.parentRunId === run.runId)).toHaveLength(2);
    expect(sub.subWorkflow.receiptDigest).toMatch(/^sha256:/);
    expect(run.error).toMatchObject({ code: 'EXPRESSION_FAILED' });
    expect(byId(run, 'after')).toMatchObject({ status: 'SKIPPED' });
  });

  it('checks the evaluated params when the child starts, as POST /runs does', async () => {
    const child = `typed-${uid()}`;
    await h.register(doubler(child));
    const parent = `parent-${uid()}`;
    await h.register(manifest(`    - { id: sub, uses: "workflow/${child}@1.0.0", with: { n: "\${params.text}" } }`, { name: parent, parameters: '    - { name: text, type: string, default: seven }' }));
    const run = await h.waitRun(await start(parent), ended);
    expect(byId(run, 'sub')).toMatchObject({ status: 'FAILED', error: { code: 'PARAMS_INVALID', message: expect.stringContaining('param "n"') } });
    expect(byId(run, 'sub').subWorkflow).toBeUndefined();
  });

  /** Starts a parent whose task `sub` runs a child sleeping an hour; returns once the child's nap runs. */
  async function startWithSleepingChild(): Promise<{ runId: string; childId: string }> {
    const child = `sleeper-${uid()}`;
    await h.register(manifest('    - { id: nap, uses: tasks/wait.sleep@0.1.0, with: { duration: 1h } }', { name: child }));
    const parent = `parent-${uid()}`;
    await h.register(manifest(`    - { id: sub, uses: "workflow/${child}@1.0.0" }`, { name: parent }));
    const runId = await start(parent);
    const waiting = await h.waitRun(runId, (r) => byId(r, 'sub').subWorkflow !== undefined);
    const childId = byId(waiting, 'sub').subWorkflow.runId as string;
    await h.waitRun(childId, (r) => byId(r, 'nap').status === 'RUNNING');
    return { runId, childId };
  }

  it('cancelling the parent cancels the running child', async () => {
    const { runId, childId } = await startWithSleepingChild();
    const cancel = await h.call('POST', `/runs/${runId}/cancel`, { token: 'operator' });
    expect(cancel.status, cancel.text).toBe(202);
    const run = await h.waitRun(runId, ended);
    expect(run.status).toBe('CANCELLED');
    expect(byId(run, 'sub')).toMatchObject({ status: 'CANCELLED', error: { code: 'RUN_CANCELLED' } });
    expect(await h.waitRun(childId, ended)).toMatchObject({ status: 'CANCELLED' });
  });

  it('a child cancelled on its own fails its task with RUN_CANCELLED; the parent is not cancelled', async () => {
    const { runId, childId } = await startWithSleepingChild();
    expect((await h.call('POST', `/runs/${childId}/cancel`, { token: 'operator' })).status).toBe(202);
    const run = await h.waitRun(runId, ended);
    expect(run).toMatchObject({ status: 'FAILED', error: { code: 'RUN_CANCELLED' } });
    expect(byId(run, 'sub')).toMatchObject({ status: 'FAILED', error: { code: 'RUN_CANCELLED', message: expect.stringContaining(childId) } });
  });

  it('a failFast stop cancels a running child like any task', async () => {
    const child = `sleeper-${uid()}`;
    await h.register(manifest('    - { id: nap, uses: tasks/wait.sleep@0.1.0, with: { duration: 1h } }', { name: child }));
    const parent = `parent-${uid()}`;
    await h.register(
      manifest(
        [
          `    - { id: sub, uses: "workflow/${child}@1.0.0" }`,
          '    - { id: late, uses: tasks/wait.sleep@0.1.0, with: { duration: 1s } }',
          '    - { id: verify, uses: tasks/schema.validate@0.1.0, needs: [late], with: { schema: { const: true }, data: false } }',
        ].join('\n'),
        { name: parent },
      ),
    );
    const run = await h.waitRun(await start(parent), ended);
    expect(run.status).toBe('FAILED');
    const sub = byId(run, 'sub');
    expect(sub).toMatchObject({ status: 'CANCELLED', error: { code: 'FAIL_FAST' } });
    expect(await h.waitRun(sub.subWorkflow.runId, ended)).toMatchObject({ status: 'CANCELLED' });
  });

  it('refuses a child nested deeper than MAESTRO_SUBWORKFLOW_MAX_DEPTH with SUBWORKFLOW_DEPTH_EXCEEDED', async () => {
    const leaf = `leaf-${uid()}`;
    await h.register(doubler(leaf));
    const mid = `mid-${uid()}`;
    await h.register(manifest(`    - { id: sub, uses: "workflow/${leaf}@1.0.0", with: { n: 1 } }`, { name: mid }));
    const top = `top-${uid()}`;
    await h.register(manifest(`    - { id: sub, uses: "workflow/${mid}@1.0.0" }`, { name: top }));
    const topmost = `topmost-${uid()}`;
    await h.register(manifest(`    - { id: sub, uses: "workflow/${top}@1.0.0" }`, { name: topmost }));
    // top → mid (depth 1) → leaf (depth 2): within the limit of 2.
    expect(await h.waitRun(await start(top), ended)).toMatchObject({ status: 'SUCCEEDED' });
    // topmost → top (1) → mid (2) → leaf (3): refused before it starts.
    const run = await h.waitRun(await start(topmost), ended);
    expect(run).toMatchObject({ status: 'FAILED', error: { code: 'SUBWORKFLOW_DEPTH_EXCEEDED' } });
    const topRun = await h.waitRun(byId(run, 'sub').subWorkflow.runId, ended);
    const midRun = await h.waitRun(byId(topRun, 'sub').subWorkflow.runId, ended);
    expect(midRun).toMatchObject({ parent: { depth: 2 } });
    expect(byId(midRun, 'sub')).toMatchObject({ status: 'FAILED', error: { code: 'SUBWORKFLOW_DEPTH_EXCEEDED', message: expect.stringContaining('depth 3') } });
    expect(byId(midRun, 'sub').subWorkflow).toBeUndefined();
  });
});

describe('registering a workflow with sub-workflow tasks', () => {
  it('refuses recursion, direct or through another workflow, with the line, column and path', async () => {
    const a = `rec-a-${uid()}`;
    const b = `rec-b-${uid()}`;
    await h.register(manifest('    - { id: nap, uses: tasks/wait.sleep@0.1.0, with: { duration: 1ms } }', { name: a }));
    await h.register(manifest(`    - { id: call-a, uses: "workflow/${a}@^1" }`, { name: b }));
    const indirect = await h.call('POST', '/workflows', { yaml: inNamespace(manifest(`    - { id: call-b, uses: "workflow/${b}@^1" }`, { name: a, version: '1.1.0' }), h.namespace) });
    expect(indirect.status, indirect.text).toBe(400);
    expect(indirect.body).toMatchObject({ code: 'SUBWORKFLOW_RECURSION' });
    expect(indirect.body.errors).toEqual([
      { line: 10, column: 27, path: 'spec.tasks[0].uses', message: `recursion: ${a} → ${b} → ${a}: a workflow may not run itself through sub-workflows` },
    ]);
    const direct = await h.call('POST', '/workflows', { yaml: inNamespace(manifest(`    - { id: again, uses: "workflow/${a}@^1" }`, { name: a, version: '1.2.0' }), h.namespace) });
    expect(direct.status).toBe(400);
    expect(direct.body.errors).toEqual([expect.objectContaining({ path: 'spec.tasks[0].uses', message: expect.stringContaining(`recursion: ${a} → ${a}`) })]);
  });

  it("type-checks with against the child's parameters", async () => {
    const child = `typed-${uid()}`;
    await h.register(doubler(child));
    const bad = await h.call('POST', '/workflows', {
      yaml: inNamespace(
        manifest([`    - { id: one, uses: "workflow/${child}@1.0.0", with: { n: "21", nn: 1 } }`, `    - { id: two, uses: "workflow/${child}@1.0.0", with: { note: x } }`].join('\n')),
        h.namespace,
      ),
    });
    expect(bad.status, bad.text).toBe(400);
    expect(bad.body.errors).toEqual([
      { line: 10, column: 66, path: 'spec.tasks[0].with.n', message: `parameter "n" of ${child}@1.0.0 must be an integer, got "21"` },
      { line: 10, column: 76, path: 'spec.tasks[0].with.nn', message: `workflow ${child}@1.0.0 has no parameter "nn"` },
      { line: 11, column: 61, path: 'spec.tasks[1].with', message: `workflow ${child}@1.0.0 requires "n" in "with"` },
    ]);
  });

  it('maestro validate checks a file against the registry, each problem at its line, column and path', async () => {
    const child = `cli-${uid()}`;
    await h.register(doubler(child));
    const dir = await mkdtemp(join(tmpdir(), 'maestro-sub-'));
    const file = join(dir, 'parent.yaml');
    await writeFile(file, inNamespace(manifest(`    - { id: sub, uses: "workflow/${child}@^1", with: { n: many } }`), h.namespace));
    const saved = process.env.MAESTRO_DATA_DIR;
    process.env.MAESTRO_DATA_DIR = h.config.dataDir;
    try {
      const bad = await h.cli('admin', 'validate', file);
      expect(bad.code).toBe(1);
      expect(bad.out).toBe(`${file}:10:61: spec.tasks[0].with.n: parameter "n" of ${child}@1.0.0 must be an integer, got "many"`);
      await writeFile(file, inNamespace(manifest(`    - { id: sub, uses: "workflow/${child}@^1", with: { n: 2 } }`), h.namespace));
      expect(await h.cli('admin', 'validate', file)).toMatchObject({ code: 0, out: `${file}: valid` });
    } finally {
      if (saved === undefined) delete process.env.MAESTRO_DATA_DIR;
      else process.env.MAESTRO_DATA_DIR = saved;
      await rm(dir, { recursive: true, force: true });
    }
  });

  it("refuses another namespace's workflow at registration, and at run time", async () => {
    const other = `${h.namespace}-limited`;
    const child = `foreign-${uid()}`;
    await h.register(manifest('    - { id: nap, uses: tasks/wait.sleep@0.1.0, with: { duration: 1ms } }', { name: child }), other);
    const refused = await h.call('POST', '/workflows', { yaml: inNamespace(manifest(`    - { id: sub, uses: "workflow/${child}@1.0.0" }`), h.namespace) });
    expect(refused.status).toBe(400);
    expect(refused.body.errors).toEqual([expect.objectContaining({ path: 'spec.tasks[0].uses', message: `no workflow "${child}" is registered in namespace ${h.namespace}` })]);

    // A parent compiled against the other namespace's child (as a client with its own compiler
    // could) and started in this namespace: its task is refused before any child starts.
    const entry = await h.store.getWorkflow(other, child, '1.0.0');
    const text = manifest(`    - { id: sub, uses: "workflow/${child}@1.0.0" }`);
    const uses = `workflow/${child}@1.0.0`;
    const workflows = new Map([[uses, { ok: true as const, ref: { namespace: other, name: child, version: '1.0.0', digest: entry?.digest ?? '' }, ir: entry!.ir }]]);
    const parsed = parseManifest(text, 'parent.yaml', { catalog: builtinCatalog, workflows }) as WorkflowManifest;
    const runId = await startRun(h.client, {
      compiled: compileWorkflow(parsed, { catalog: builtinCatalog, workflows }),
      params: {},
      namespace: h.namespace,
      taskQueue: h.config.taskQueue,
      principal: { subject: 'operator', roles: ['operator'], namespaces: [h.namespace] },
    });
    const run = await h.waitRun(runId, ended);
    expect(byId(run, 'sub')).toMatchObject({ status: 'FAILED', error: { code: 'SUBWORKFLOW_FORBIDDEN', message: expect.stringContaining(`resolved in namespace ${other}`) } });
    expect(byId(run, 'sub').subWorkflow).toBeUndefined();
  });
});
