/**
 * The `maestro` command as a user runs it: the real bin, a real process, the real Temporal server.
 */
import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startEngine, workflow, type Engine } from './helpers/engine.js';

let engine: Engine;
let dir: string;

beforeAll(async () => {
  [engine, dir] = await Promise.all([startEngine(), mkdtemp(join(tmpdir(), 'maestro-cli-'))]);
});

afterAll(async () => {
  await engine?.close();
  await rm(dir, { recursive: true, force: true });
});

/** Runs `maestro ...args`; resolves with exit code and output (never rejects on a non-zero exit). */
function maestro(...args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  return maestroWith({}, ...args);
}

/** {@link maestro} with environment variables of its own (over the test's). */
function maestroWith(env: Record<string, string>, ...args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile(
      process.execPath,
      ['bin/maestro.js', ...args],
      // The run's store and audit log (the CLI starts runs like the API does) go to the test's folder.
      { env: { ...process.env, TEMPORAL_ADDRESS: engine.address, MAESTRO_TASK_QUEUE: engine.taskQueue, MAESTRO_DATA_DIR: dir, MAESTRO_PAYLOAD_KEY: engine.payloadKey, ...env } },
      (error, stdout, stderr) => resolve({ code: typeof error?.code === 'number' ? error.code : 0, stdout, stderr }),
    );
  });
}

async function file(name: string, content: string): Promise<string> {
  const path = join(dir, name);
  await writeFile(path, content);
  return path;
}

describe('maestro validate', () => {
  it('exits 0 and says valid for valid manifests', async () => {
    const result = await maestro('validate', 'examples/workflows/hello.yaml', 'examples/workflows/fan-out.yaml');
    expect(result).toMatchObject({ code: 0, stdout: 'examples/workflows/hello.yaml: valid\nexamples/workflows/fan-out.yaml: valid\n' });
  });

  it('exits 1 and prints file:line:col: path: message for each problem', async () => {
    const result = await maestro('validate', 'test/manifests/invalid/unknown-needs.yaml', 'examples/workflows/hello.yaml');
    expect(result.code).toBe(1);
    expect(result.stdout).toMatch(/^test\/manifests\/invalid\/unknown-needs\.yaml:\d+:\d+: spec\.tasks\[\d\]\.needs\[\d\]: .+$/m);
    expect(result.stdout).toContain('examples/workflows/hello.yaml: valid');
  });

  it('locates a bad runIf by line, column and path', async () => {
    const result = await maestro('validate', 'test/manifests/invalid/bad-run-if.yaml');
    expect(result.code).toBe(1);
    expect(result.stdout).toContain('test/manifests/invalid/bad-run-if.yaml:18:14: spec.tasks[1].runIf: must be one of "success", "failure", "always", got "on-failure"');
  });

  it('prints a JSON report with --json', async () => {
    const result = await maestro('validate', '--json', 'test/manifests/invalid/unknown-needs.yaml');
    const [report] = JSON.parse(result.stdout) as [{ valid: boolean; errors: { line: number; column: number; path: string; message: string }[] }];
    expect(report.valid).toBe(false);
    expect(report.errors[0]).toMatchObject({ line: expect.any(Number), column: expect.any(Number), path: expect.stringMatching(/needs/) });
  });

  it('exits 2 for a file that does not exist', async () => {
    const result = await maestro('validate', 'no/such/file.yaml');
    expect(result.code).toBe(2);
    expect(result.stderr).toMatch(/no\/such\/file\.yaml/);
  });
});

describe('maestro tasks', () => {
  it('lists the catalog with how each task runs', async () => {
    const result = await maestro('tasks', 'list');
    expect(result.code).toBe(0);
    expect(result.stdout).toMatch(/^tasks\/wait\.sleep@0\.1\.0\s+timer\s+/m);
    expect(result.stdout).toMatch(/^tasks\/transform\.map@0\.1\.0\s+local-activity\s+/m);
  });

  it('describes one task with its input and output schemas', async () => {
    const result = await maestro('tasks', 'describe', 'tasks/http.request', '--json');
    expect(result.code).toBe(0);
    expect(JSON.parse(result.stdout)).toMatchObject({ uses: 'tasks/http.request@0.1.0', execution: 'activity', input: { type: 'object' } });
  });

  it('exits 2 naming the known tasks for an unknown one', async () => {
    const result = await maestro('tasks', 'describe', 'tasks/nope');
    expect(result.code).toBe(2);
    expect(result.stderr).toMatch(/unknown task "tasks\/nope"; known tasks: .*tasks\/http\.request/);
  });
});

describe('maestro compile', () => {
  it('prints the IR and its digest', async () => {
    const result = await maestro('compile', 'examples/workflows/hello.yaml');
    expect(result.code).toBe(0);
    const compiled = JSON.parse(result.stdout) as { digest: string; ir: { irVersion: number; tasks: { id: string }[] } };
    expect(compiled.digest).toMatch(/^sha256:[0-9a-f]{64}$/);
    expect(compiled.ir.tasks.map((task) => task.id)).toEqual(['greet', 'pause', 'shout']);
  });
});

describe('maestro run', () => {
  it('runs a workflow to SUCCEEDED and prints {runId, status, tasks} with --json', async () => {
    const result = await maestro('run', 'examples/workflows/hello.yaml', '-p', 'name=Ada', '--json');
    expect(result.code).toBe(0);
    const summary = JSON.parse(result.stdout) as { runId: string; status: string; tasks: { id: string; status: string; attempts: number; outputs: unknown }[] };
    expect(summary.status).toBe('SUCCEEDED');
    expect(summary.tasks.map((task) => [task.id, task.status, task.attempts])).toEqual([
      ['greet', 'SUCCEEDED', 1],
      ['pause', 'SUCCEEDED', 1],
      ['shout', 'SUCCEEDED', 1],
    ]);
    expect(summary.tasks[2]?.outputs).toEqual({ rows: ['HELLO, ADA!'] });
  });

  it('shows progress lines and the final status without --json', async () => {
    const result = await maestro('run', 'examples/workflows/hello.yaml');
    expect(result.code).toBe(0);
    expect(result.stdout).toMatch(/^run run-[0-9a-f-]+ started \(hello@1\.0\.0\)$/m);
    expect(result.stdout).toMatch(/^trace: [0-9a-f]{32}$/m);
    expect(result.stdout).toMatch(/✓ shout SUCCEEDED/);
    expect(result.stdout).toMatch(/^run run-[0-9a-f-]+ SUCCEEDED$/m);
  });

  it('exits 1 when the run fails', async () => {
    const path = await file(
      'fails.yaml',
      workflow('    - id: check\n      uses: tasks/schema.validate@0.1.0\n      with: { schema: { type: string }, data: 42 }'),
    );
    const result = await maestro('run', path);
    expect(result.code).toBe(1);
    expect(result.stdout).toMatch(/✗ check FAILED/);
    expect(result.stdout).toMatch(/FAILED: task "check" failed/);
  });

  it('exits 2 and starts nothing for a mistyped or unknown parameter', async () => {
    const path = await file('typed.yaml', workflow('    - id: nap\n      uses: tasks/wait.sleep@0.1.0\n      with: { ms: "${params.ms}" }', {
      name: 'typed-params',
      parameters: '    - { name: ms, type: integer, required: true }',
    }));
    const mistyped = await maestro('run', path, '-p', 'ms=soon');
    expect(mistyped.code).toBe(2);
    expect(mistyped.stderr).toMatch(/param "ms"/);
    const unknown = await maestro('run', path, '-p', 'ms=1', '-p', 'colour=red');
    expect(unknown.code).toBe(2);
    expect(unknown.stderr).toMatch(/param "colour"/);
    const missing = await maestro('run', path);
    expect(missing.code).toBe(2);
    let started = 0;
    for await (const execution of engine.client.workflow.list({ query: `TaskQueue = '${engine.taskQueue}' AND MaestroWorkflow = 'typed-params'` })) {
      if (execution.workflowId) started += 1;
    }
    expect(started).toBe(0);
  });

  it('exits 2 for an invalid manifest, printing where the problem is', async () => {
    const result = await maestro('run', 'test/manifests/invalid/unknown-needs.yaml');
    expect(result.code).toBe(2);
    expect(result.stderr).toMatch(/unknown-needs\.yaml:\d+:\d+: spec\.tasks/);
  });

  it('says what to check, not a stack, when the worker cannot read the run (another payload key)', async () => {
    // The run's input is encrypted with a key the worker does not hold: its workflow task fails.
    const result = await maestroWith({ MAESTRO_PAYLOAD_KEY: `other=${randomBytes(32).toString('base64')}` }, 'run', 'examples/workflows/hello.yaml');
    expect(result.code).not.toBe(0);
    expect(result.stdout).toMatch(/^run (run-[0-9a-f-]+) started/m);
    expect(result.stderr).toMatch(/^maestro: .*payload key/m);
    expect(result.stderr).not.toMatch(/ServiceError|\n\s+at /);
    const runId = /^run (run-[0-9a-f-]+) started/m.exec(result.stdout)?.[1] as string;
    await engine.client.workflow.getHandle(runId).terminate('test over');
  });

  it('returns the run id at once with --no-wait', async () => {
    const result = await maestro('run', 'examples/workflows/hello.yaml', '--no-wait');
    expect(result.code).toBe(0);
    const runId = result.stdout.trim();
    expect(runId).toMatch(/^run-[0-9a-f-]+$/);
    expect((await engine.wait(runId)).status).toBe('SUCCEEDED');
  });
});
