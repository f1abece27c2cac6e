/**
 * `/workflows` and authentication against the running API: every status and problem body.
 */
import { readFile } from 'node:fs/promises';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { inNamespace, manifest, startHarness, THREE_TASKS, type Harness } from './harness.js';

let h: Harness;
beforeAll(async () => {
  h = await startHarness({ worker: false });
});
afterAll(() => h.close());

describe('POST /workflows', () => {
  it('registers a YAML manifest (201), and the identical one again is 200 with the same digest', async () => {
    const yaml = manifest(THREE_TASKS);
    const first = await h.call('POST', '/workflows', { yaml });
    expect(first.status).toBe(201);
    expect(first.body).toMatchObject({ version: '1.0.0', digest: expect.stringMatching(/^sha256:[0-9a-f]{64}$/) });
    const again = await h.call('POST', '/workflows', { yaml: `# same workflow, new comment\n${yaml}` });
    expect(again.status).toBe(200);
    expect(again.body.digest).toBe(first.body.digest);
  });

  it('accepts the manifest as JSON', async () => {
    const name = 'json-wf';
    const res = await h.call('POST', '/workflows', {
      json: {
        apiVersion: 'maestro/v1',
        kind: 'Workflow',
        metadata: { name, version: '2.0.0' },
        spec: { policy: { purpose: 'p', authority: 'a', license: 'l' }, tasks: [{ id: 'nap', uses: 'tasks/wait.sleep@0.1.0', with: { duration: '1ms' } }] },
      },
    });
    expect(res.status).toBe(201);
    expect(res.body).toMatchObject({ name, version: '2.0.0' });
  });

  it('refuses other content under the same name@version with 409', async () => {
    const yaml = manifest(THREE_TASKS, { name: 'conflicting' });
    expect((await h.call('POST', '/workflows', { yaml })).status).toBe(201);
    const res = await h.call('POST', '/workflows', { yaml: yaml.replace('10ms', '20ms') });
    expect(res.status).toBe(409);
    expect(res.type).toBe('application/problem+json');
    expect(res.body).toMatchObject({ status: 409, code: 'CONFLICT', type: 'urn:maestro:error:CONFLICT', instance: '/workflows' });
    expect(res.body.detail).toContain('conflicting@1.0.0');
  });

  it('answers an invalid manifest with 400 and every issue located by line, column and path', async () => {
    const yaml = manifest(['    - { id: a, uses: tasks/wait.sleep@0.1.0, with: { duration: 1ms } }', '    - { id: b, uses: tasks/wait.sleep@0.1.0, needs: [nope] }'].join('\n'));
    const res = await h.call('POST', '/workflows', { yaml });
    expect(res.status).toBe(400);
    expect(res.body.code).toBe('MANIFEST_INVALID');
    expect(res.body.errors).toContainEqual({ line: 10, column: 54, path: 'spec.tasks[1].needs[0]', message: expect.stringContaining('nope') });
  });

  it('fails a manifest missing its policy fields (the seed contract test)', async () => {
    const res = await h.call('POST', '/workflows', { json: { apiVersion: 'maestro/v1', kind: 'Workflow', metadata: { name: 'x', version: '1.0.0' }, spec: { tasks: [] } } });
    expect(res.status).toBe(400);
    expect(res.body.code).toBe('MANIFEST_INVALID');
    expect(res.body.errors.map((e: { path: string }) => e.path)).toEqual(expect.arrayContaining(['spec']));
    expect(JSON.stringify(res.body.errors)).toContain('policy');
  });

  it('validates the seed example workflow manifest (the seed contract test)', async () => {
    const yaml = await readFile('test/manifests/valid/ingest-enrich-handoff.yaml', 'utf8');
    const res = await h.call('POST', '/workflows', { yaml });
    expect([200, 201]).toContain(res.status);
    expect(res.body).toMatchObject({ name: 'ingest-enrich-handoff', version: '1.2.0' });
  });

  it('refuses a runbook sent to /workflows, malformed JSON, a missing body and other media types', async () => {
    const runbook = await readFile('test/manifests/valid/backfill-entity-resolver.json', 'utf8');
    const wrongKind = await h.call('POST', '/workflows', { yaml: runbook });
    expect(wrongKind.status).toBe(400);
    expect(wrongKind.body.errors).toEqual([{ line: 1, column: 1, path: 'kind', message: expect.stringContaining('Runbook') }]);
    const badJson = await h.call('POST', '/workflows', { headers: { 'content-type': 'application/json' }, json: undefined, yaml: undefined });
    expect(badJson.status).toBe(400);
    const broken = await fetch(`${h.api.url}/workflows`, { method: 'POST', headers: { authorization: 'Bearer admin-token-0123456789', 'content-type': 'application/json' }, body: '{"kind":' });
    expect(broken.status).toBe(400);
    expect(((await broken.json()) as { code: string }).code).toBe('BAD_REQUEST');
    const text = await h.call('POST', '/workflows', { headers: { 'content-type': 'text/plain' }, json: undefined });
    expect(text.status).toBe(400);
    const plain = await fetch(`${h.api.url}/workflows`, { method: 'POST', headers: { authorization: 'Bearer admin-token-0123456789', 'content-type': 'text/plain' }, body: 'hello' });
    expect(plain.status).toBe(415);
    expect(await plain.json()).toMatchObject({ code: 'UNSUPPORTED_MEDIA_TYPE', status: 415 });
  });
});

describe('GET /workflows', () => {
  it('lists registered versions and returns one with its manifest, IR and digest', async () => {
    const yaml = manifest(THREE_TASKS, { name: 'readable' });
    const { digest } = await h.register(yaml);
    const list = await h.call('GET', '/workflows', { token: 'viewer' });
    expect(list.status).toBe(200);
    expect(list.body.items).toContainEqual(expect.objectContaining({ name: 'readable', version: '1.0.0', digest, createdBy: 'admin' }));
    const one = await h.call('GET', `/workflows/readable/versions/1.0.0?namespace=${h.namespace}`, { token: 'viewer' });
    expect(one.status).toBe(200);
    expect(one.body).toMatchObject({ namespace: h.namespace, name: 'readable', digest, manifest: inNamespace(yaml, h.namespace) });
    expect(one.body.ir.tasks.map((t: { id: string }) => t.id)).toEqual(['a', 'b', 'c']);
  });

  it('answers an unknown version with 404 and a malformed name with 400', async () => {
    const missing = await h.call('GET', `/workflows/readable/versions/9.9.9?namespace=${h.namespace}`);
    expect(missing.status).toBe(404);
    expect(missing.body).toMatchObject({ code: 'NOT_FOUND', instance: '/workflows/readable/versions/9.9.9' });
    const bad = await h.call('GET', '/workflows/Bad_Name/versions/1.0.0');
    expect(bad.status).toBe(400);
    expect(bad.body.errors).toEqual([{ path: 'path.name', message: expect.stringContaining('pattern') }]);
  });
});

describe('authentication and authorisation', () => {
  it('answers 401 with a Bearer challenge when the token is missing, malformed or unknown', async () => {
    for (const headers of [{}, { authorization: 'Basic abc' }, { authorization: 'Bearer not-a-known-token' }] as Record<string, string>[]) {
      const res = await h.call('GET', '/workflows', { token: null, headers });
      expect(res.status).toBe(401);
      expect(res.headers.get('www-authenticate')).toBe('Bearer realm="maestro"');
      expect(res.body).toMatchObject({ code: 'UNAUTHENTICATED', status: 401, type: 'urn:maestro:error:UNAUTHENTICATED' });
    }
  });

  it('answers 403 when a valid token lacks the operation role', async () => {
    const res = await h.call('POST', '/workflows', { token: 'viewer', yaml: manifest(THREE_TASKS) });
    expect(res.status).toBe(403);
    expect(res.body).toMatchObject({ code: 'FORBIDDEN', detail: expect.stringContaining('operator') });
  });

  it('answers an unknown route with a 404 problem', async () => {
    const res = await h.call('GET', '/nope');
    expect(res.status).toBe(404);
    expect(res.body).toMatchObject({ code: 'NOT_FOUND', type: 'urn:maestro:error:NOT_FOUND' });
  });
});
