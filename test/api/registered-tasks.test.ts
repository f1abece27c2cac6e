/**
 * Tasks registered by external (e.g. Python) workers, against the real API: `POST /tasks`
 * (operator of the namespace; 201, 200 for the same content, 409 `TASK_VERSION_CONFLICT` for other
 * content; built-in names, bad schemas and oversized bodies refused), `GET /tasks` listing them beside
 * the built-in tasks for their namespace only, and `POST /workflows` resolving `uses:` against
 * them — bad input caught at compile time with its line — and pinning the registration in the IR;
 * `maestro validate` and `compile` with `MAESTRO_URL` checking against them as the API does.
 */
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { inNamespace, manifest, startHarness, type Harness } from './harness.js';

let h: Harness;
let dir: string;
beforeAll(async () => {
  [h, dir] = await Promise.all([startHarness({ worker: false }), mkdtemp(join(tmpdir(), 'maestro-registered-'))]);
});
afterAll(async () => {
  await h?.close();
  if (dir) await rm(dir, { recursive: true, force: true });
});

const DIGEST = `sha256:${'c'.repeat(64)}`;

function registration(overrides: Record<string, unknown> = {}): Record<string, unknown> {
  return {
    namespace: h.namespace,
    name: 'py/hello',
    version: '0.1.0',
    description: 'Greets',
    language: 'python',
    inputSchema: { $schema: 'https://json-schema.org/draft/2020-12/schema', type: 'object', properties: { name: { type: 'string' } }, required: ['name'], additionalProperties: false },
    outputSchema: { type: 'object', properties: { greeting: { type: 'string' } }, required: ['greeting'] },
    deterministic: true,
    codeDigest: DIGEST,
    taskQueue: 'maestro-py-default',
    timeoutMs: 60_000,
    ...overrides,
  };
}

describe('POST /tasks', () => {
  it('registers a task once: 201, then 200 with the stored record, then 409 for other content under the same version', async () => {
    const created = await h.call('POST', '/tasks', { token: 'operator', json: registration() });
    expect(created.status, created.text).toBe(201);
    expect(created.body).toMatchObject({ namespace: h.namespace, name: 'py/hello', version: '0.1.0', codeDigest: DIGEST, registeredBy: 'operator', timeoutMs: 60_000 });
    const again = await h.call('POST', '/tasks', { token: 'operator', json: registration({ description: 'restarted worker' }) });
    expect(again.status, again.text).toBe(200);
    expect(again.body).toMatchObject({ description: 'Greets', registeredAt: created.body.registeredAt });
    const changed = await h.call('POST', '/tasks', { token: 'operator', json: registration({ outputSchema: { type: 'object', properties: { greeting: { type: 'integer' } } } }) });
    expect(changed.status).toBe(409);
    expect(changed.type).toBe('application/problem+json');
    expect(changed.body.code).toBe('TASK_VERSION_CONFLICT');
  });

  it('refuses a caller without the operator role or the namespace, a built-in name, a schema that does not compile and an oversized body', async () => {
    expect((await h.call('POST', '/tasks', { token: 'viewer', json: registration({ version: '0.9.0' }) })).body.code).toBe('FORBIDDEN');
    expect((await h.call('POST', '/tasks', { token: 'outsider', json: registration({ version: '0.9.0' }) })).body.code).toBe('FORBIDDEN');
    const builtin = await h.call('POST', '/tasks', { token: 'operator', json: registration({ name: 'tasks/schema.validate' }) });
    expect(builtin.status).toBe(400);
    expect(builtin.body.detail).toMatch(/built-in/);
    const bad = await h.call('POST', '/tasks', { token: 'operator', json: registration({ version: '0.9.1', inputSchema: { type: 'no-such-type' } }) });
    expect(bad.status).toBe(400);
    expect(bad.body.detail).toMatch(/inputSchema does not compile/);
    const big = await h.call('POST', '/tasks', { token: 'operator', json: registration({ version: '0.9.2', description: 'x'.repeat(4000), inputSchema: { type: 'object', description: 'y'.repeat(300 * 1024) } }) });
    expect(big.status).toBe(413);
    const deep = await h.call('POST', '/tasks', { token: 'operator', json: registration({ version: '0.9.3', inputSchema: JSON.parse(`${'{"not":'.repeat(70)}{}${'}'.repeat(70)}`) as unknown }) });
    expect(deep.status).toBe(400);
    const notSemver = await h.call('POST', '/tasks', { token: 'operator', json: registration({ version: '^0.1' }) });
    expect(notSemver.status).toBe(400);
    // Found by Schemathesis: the OpenAPI pattern admits leading zeros, which would have broken every compile of the namespace.
    const zeros = await h.call('POST', '/tasks', { token: 'operator', json: registration({ version: '0.0.00' }) });
    expect(zeros.status).toBe(400);
    expect(zeros.body.errors).toEqual([{ path: 'version', message: 'is not a semantic version' }]);
    expect((await h.call('POST', '/workflows', { token: 'operator', yaml: manifest('    - { id: greet, uses: py/hello@^0.1, with: { name: Ada } }') })).status).toBeLessThan(500);
  });
});

describe('registered tasks in the catalog', () => {
  it('lists a registered task beside the built-in ones, for its namespace only, with the workflows using it', async () => {
    const { name, version } = await h.register(manifest('    - { id: greet, uses: py/hello@^0.1, with: { name: Ada } }'));
    const res = await h.call('GET', '/tasks', { token: 'viewer' });
    expect(res.status, res.text).toBe(200);
    const hello = res.body.items.find((task: { name: string }) => task.name === 'py/hello');
    expect(hello).toMatchObject({ execution: 'activity', builtin: false, language: 'python', taskQueue: 'maestro-py-default', codeDigest: DIGEST, namespace: h.namespace, usedBy: [{ namespace: h.namespace, workflowRef: `${name}@${version}` }] });
    expect(res.body.items.some((task: { name: string }) => task.name === 'tasks/schema.validate')).toBe(true);
    const outsider = await h.call('GET', '/tasks', { token: 'outsider' });
    expect(outsider.body.items.some((task: { name: string }) => task.name === 'py/hello')).toBe(false);
  });

  it('lists registered tasks beside the built-in ones in `maestro tasks list --api`', async () => {
    const { code, out, err } = await h.cli('operator', 'tasks', 'list', '--api', '--namespace', h.namespace);
    expect(code, err).toBe(0);
    expect(out).toMatch(new RegExp(`py/hello@0\\.1\\.0 +activity +Greets +\\[${h.namespace}, queue maestro-py-default\\]`));
    expect(out).toMatch(/tasks\/schema\.validate@0\.1\.0/);
  });

  it('compiles a workflow against the namespace’s registered tasks and pins the registration in the IR', async () => {
    const yaml = manifest(['    - { id: greet, uses: py/hello@^0.1, with: { name: Ada } }', '    - { id: check, uses: tasks/schema.validate@^0.1, needs: [greet], with: { data: "${tasks.greet.outputs}", schema: { type: object } } }'].join('\n'));
    const { name, version } = await h.register(yaml);
    const entry = await h.call('GET', `/workflows/${name}/versions/${version}?namespace=${h.namespace}`, { token: 'viewer' });
    expect(entry.status, entry.text).toBe(200);
    expect(entry.body.ir.tasks[0]).toMatchObject({
      uses: 'py/hello@0.1.0',
      execution: 'remote',
      cache: { enabled: true },
      remote: { namespace: h.namespace, language: 'python', taskQueue: 'maestro-py-default', codeDigest: DIGEST, timeoutMs: 60_000 },
    });
  });

  it('refuses bad input for a registered task at compile time with its line, and the task in another namespace', async () => {
    const bad = await h.call('POST', '/workflows', { token: 'operator', yaml: inNamespace(manifest('    - { id: greet, uses: py/hello@^0.1, with: { name: 42 } }'), h.namespace) });
    expect(bad.status, bad.text).toBe(400);
    expect(bad.body.code).toBe('MANIFEST_INVALID');
    expect(bad.body.errors).toContainEqual(expect.objectContaining({ line: 10, column: 55, path: 'spec.tasks[0].with.name', message: 'must be string' }));
    const missing = await h.call('POST', '/workflows', { token: 'operator', yaml: inNamespace(manifest('    - { id: greet, uses: py/hello@^0.1, with: {} }'), h.namespace) });
    expect(missing.status, missing.text).toBe(400);
    expect(missing.text).toMatch(/missing required input \\"name\\"/);
    const elsewhere = await h.call('POST', '/workflows', { token: 'outsider', yaml: inNamespace(manifest('    - { id: greet, uses: py/hello@^0.1, with: { name: Ada } }'), 'elsewhere') });
    expect(elsewhere.status).toBe(400);
    expect(elsewhere.text).toMatch(/unknown task \\"py\/hello\\"/);
  });
});

describe('maestro validate and compile with MAESTRO_URL', () => {
  it('check a manifest against the namespace’s registered tasks as the API does, problems at file:line:col', async () => {
    const good = join(dir, 'good.yaml');
    const bad = join(dir, 'bad.yaml');
    const yaml = inNamespace(manifest('    - { id: greet, uses: py/hello@^0.1, with: { name: Ada } }'), h.namespace);
    await writeFile(good, yaml);
    await writeFile(bad, inNamespace(manifest('    - { id: greet, uses: py/hello@^0.1, with: { name: 42 } }'), h.namespace));

    const checked = await h.cli('operator', 'validate', '--namespace', h.namespace, good, bad);
    expect(checked.code, checked.err).toBe(1);
    expect(checked.out).toContain(`${good}: valid`);
    expect(checked.out).toContain(`${bad}:10:55: spec.tasks[0].with.name: must be string`);

    const compiled = await h.cli('operator', 'compile', '--namespace', h.namespace, good);
    expect(compiled.code, compiled.err).toBe(0);
    const { digest, ir } = JSON.parse(compiled.out) as { digest: string; ir: { tasks: unknown[] } };
    expect(ir.tasks[0]).toMatchObject({ execution: 'remote', remote: { namespace: h.namespace, taskQueue: 'maestro-py-default', codeDigest: DIGEST, timeoutMs: 60_000 } });
    // The same IR the API compiles: registering it gives the digest `maestro compile` printed.
    expect((await h.register(yaml)).digest).toBe(digest);

    // Another namespace's operator is refused the namespace, as the API refuses to register it there.
    const outsider = await h.cli('outsider', 'validate', good);
    expect(outsider.code).toBe(2);
    expect(outsider.err).toContain(`outsider has no access to namespace "${h.namespace}"`);
    expect((await h.call('POST', '/workflows', { token: 'outsider', yaml })).body.code).toBe('FORBIDDEN');
  });

  it('check a manifest in its own namespace, as the API does, not in every namespace of the caller', async () => {
    // Registered in the caller's other namespace only.
    const other = `${h.namespace}-limited`;
    const created = await h.call('POST', '/tasks', { token: 'operator', json: registration({ namespace: other, name: 'py/limited', codeDigest: `sha256:${'d'.repeat(64)}` }) });
    expect(created.status, created.text).toBe(201);
    const task = '    - { id: greet, uses: py/limited@^0.1, with: { name: Ada } }';

    // In the caller's namespace A: the API refuses it, and so do validate and compile, with its message.
    const inA = join(dir, 'in-a.yaml');
    const yamlA = inNamespace(manifest(task), h.namespace);
    await writeFile(inA, yamlA);
    const refused = await h.call('POST', '/workflows', { token: 'operator', yaml: yamlA });
    expect(refused.status, refused.text).toBe(400);
    expect(refused.body.code).toBe('MANIFEST_INVALID');
    const [problem] = refused.body.errors as { line: number; column: number; path: string; message: string }[];
    expect(problem?.message).toMatch(/^unknown task "py\/limited"/);
    const validated = await h.cli('operator', 'validate', inA);
    expect(validated.code, validated.err).toBe(1);
    expect(validated.out).toBe(`${inA}:${problem?.line}:${problem?.column}: ${problem?.path}: ${problem?.message}`);
    const compiled = await h.cli('operator', 'compile', inA);
    expect(compiled.code).toBe(2);
    expect(compiled.err).toContain(`${inA}:${problem?.line}:${problem?.column}: ${problem?.path}: ${problem?.message}`);

    // In namespace B it is valid, and compiles to the IR the API registers there.
    const inB = join(dir, 'in-b.yaml');
    const yamlB = inNamespace(manifest(task), other);
    await writeFile(inB, yamlB);
    expect(await h.cli('operator', 'validate', inB)).toMatchObject({ code: 0, out: `${inB}: valid` });
    const inBCompiled = await h.cli('operator', 'compile', inB);
    expect(inBCompiled.code, inBCompiled.err).toBe(0);
    const { digest, ir } = JSON.parse(inBCompiled.out) as { digest: string; ir: { tasks: { remote?: unknown }[] } };
    expect(ir.tasks[0]?.remote).toMatchObject({ namespace: other, codeDigest: `sha256:${'d'.repeat(64)}` });
    expect((await h.register(yamlB, other)).digest).toBe(digest);

    // --namespace names the namespace of a manifest naming none, and must agree with one that names it.
    const unnamed = join(dir, 'unnamed.yaml');
    await writeFile(unnamed, manifest(task));
    // Without it, the manifest is of namespace default, which this caller lacks: refused as the API would.
    const inDefault = await h.cli('operator', 'validate', unnamed);
    expect(inDefault.code).toBe(2);
    expect(inDefault.err).toContain('operator has no access to namespace "default"');
    expect(await h.cli('operator', 'validate', '--namespace', other, unnamed)).toMatchObject({ code: 0, out: `${unnamed}: valid` });
    const disagreeing = await h.cli('operator', 'validate', '--namespace', other, inA);
    expect(disagreeing.code).toBe(2);
    expect(disagreeing.err).toBe(`maestro: the manifest's namespace ${h.namespace} is not --namespace ${other}: its tasks resolve in ${h.namespace}, as the API registers it`);
  });
});
