/**
 * One store suite, run on SQLite and on PostgreSQL (a real throwaway cluster from Debian's
 * packages, started here; a missing PostgreSQL fails the suite with the installer's message).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { builtinCatalog } from '../../src/tasks/index.js';
import { digestOf } from '../../src/canonical/index.js';
import { compileWorkflow } from '../../src/compiler/index.js';
import { MaestroError } from '../../src/errors/index.js';
import { parseManifest, type RunbookManifest, type WorkflowManifest } from '../../src/manifest/index.js';
import { MIGRATIONS, migrate, openDatabase, openStore, type Store, type WorkflowEntry } from '../../src/store/index.js';
import { postgresDatabase, sqliteDatabase } from './databases.js';

const WORKFLOW = (version: string, sleep = '1ms') => `apiVersion: maestro/v1
kind: Workflow
metadata: { name: stored, version: ${version} }
spec:
  policy: { purpose: testing, authority: tests, license: internal }
  tasks:
    - { id: nap, uses: tasks/wait.sleep@0.1.0, with: { duration: ${sleep} } }
`;

function workflowEntry(source: string): WorkflowEntry {
  const manifest = parseManifest(source, 'stored.yaml', { catalog: builtinCatalog }) as WorkflowManifest;
  const { ir, digest } = compileWorkflow(manifest, { catalog: builtinCatalog });
  return { namespace: 'default', name: ir.name, version: ir.version, digest, ir, manifest: source, createdAt: new Date().toISOString(), createdBy: 'tester' };
}

function runbookDocument(version: string, roles = ['sre']): RunbookManifest {
  return {
    apiVersion: 'maestro/v1',
    kind: 'Runbook',
    metadata: { name: 'rb', version, allowList: { roles } },
    spec: { inputs: [], workflowRef: 'stored@1.0.0' },
  };
}

describe.each([sqliteDatabase('maestro-store-'), postgresDatabase()])('store on $name', (backend) => {
  let store: Store;
  beforeAll(async () => {
    store = await openStore(await backend.options());
  });
  afterAll(async () => {
    await store.close();
    await backend.cleanup();
  });

  it('reports its backend and answers ping', async () => {
    expect(store.backend).toBe(backend.name);
    await expect(store.ping()).resolves.toBeUndefined();
  });

  it('re-opening the database keeps the data, and migrations are numbered 1..n without gaps', async () => {
    await store.putWorkflow(workflowEntry(WORKFLOW('0.0.1')));
    const again = await openStore(await backend.options());
    try {
      expect((await again.getWorkflow('default', 'stored', '0.0.1'))?.name).toBe('stored');
    } finally {
      await again.close();
    }
    expect(MIGRATIONS.map((m) => m.version)).toEqual(MIGRATIONS.map((_, index) => index + 1));
  });

  it('stores a workflow content-addressed: same content → unchanged; other content → CONFLICT', async () => {
    const entry = workflowEntry(WORKFLOW('1.0.0'));
    expect(await store.putWorkflow(entry)).toBe('created');
    expect(await store.putWorkflow({ ...entry, manifest: `# a comment\n${entry.manifest}` })).toBe('unchanged');
    const other = workflowEntry(WORKFLOW('1.0.0', '2ms'));
    const error = await store.putWorkflow(other).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(MaestroError);
    expect((error as MaestroError).code).toBe('CONFLICT');
    const stored = await store.getWorkflow('default', 'stored', '1.0.0');
    expect(stored).toMatchObject({ name: 'stored', version: '1.0.0', digest: entry.digest, manifest: entry.manifest, createdBy: 'tester' });
    expect(stored?.ir).toEqual(entry.ir);
    expect(digestOf(stored?.ir)).toBe(entry.digest);
    expect(await store.getWorkflow('default', 'stored', '9.9.9')).toBeUndefined();
    expect((await store.listWorkflows()).map((w) => `${w.name}@${w.version}`)).toEqual(expect.arrayContaining(['stored@1.0.0', 'stored@0.0.1']));
  });

  it('finds a workflow that another process registered after this one looked for it', async () => {
    expect(await store.getWorkflow('default', 'stored', '3.0.0')).toBeUndefined();
    const other = await openStore(await backend.options());
    try {
      await other.putWorkflow(workflowEntry(WORKFLOW('3.0.0')));
    } finally {
      await other.close();
    }
    expect((await store.getWorkflow('default', 'stored', '3.0.0'))?.version).toBe('3.0.0');
  });

  it('keeps runbook versions and returns the newest by semver when no version is asked', async () => {
    for (const version of ['1.2.0', '1.10.0', '1.9.0']) {
      const document = runbookDocument(version);
      expect(await store.putRunbook({
        namespace: 'default', name: 'rb', version, digest: digestOf(document), workflowRef: 'stored@1.0.0', document,
        manifest: JSON.stringify(document), createdAt: new Date().toISOString(), createdBy: 'tester',
      })).toBe('created');
    }
    expect((await store.getRunbook('default', 'rb'))?.version).toBe('1.10.0');
    expect((await store.getRunbook('default', 'rb', '1.2.0'))?.document.metadata.allowList?.roles).toEqual(['sre']);
    const changed = runbookDocument('1.2.0', ['admin']);
    await expect(store.putRunbook({
      namespace: 'default', name: 'rb', version: '1.2.0', digest: digestOf(changed), workflowRef: 'stored@1.0.0', document: changed,
      manifest: JSON.stringify(changed), createdAt: new Date().toISOString(), createdBy: 'tester',
    })).rejects.toMatchObject({ code: 'CONFLICT' });
    expect((await store.listRunbooks()).filter((r) => r.name === 'rb')).toHaveLength(3);
    expect(await store.getRunbook('default', 'absent')).toBeUndefined();
  });

  it('keeps the same name@version in two namespaces apart, and resolves the newest inside one namespace only', async () => {
    const mine = workflowEntry(WORKFLOW('5.0.0'));
    const theirs = { ...workflowEntry(WORKFLOW('5.0.0', '2ms')), namespace: 'other' };
    expect(await store.putWorkflow({ ...mine, namespace: 'mine' })).toBe('created');
    expect(await store.putWorkflow(theirs)).toBe('created');
    expect((await store.getWorkflow('mine', 'stored', '5.0.0'))?.digest).toBe(mine.digest);
    expect((await store.getWorkflow('other', 'stored', '5.0.0'))?.digest).toBe(theirs.digest);
    expect(await store.getWorkflow('third', 'stored', '5.0.0')).toBeUndefined();
    expect((await store.listWorkflows(['other'])).map((w) => `${w.namespace}/${w.name}@${w.version}`)).toEqual(['other/stored@5.0.0']);
    expect(await store.listWorkflows([])).toEqual([]);

    const runbook = (namespace: string, version: string) => {
      const document = runbookDocument(version);
      return {
        namespace, name: 'shadowed', version, digest: digestOf(document), workflowRef: 'stored@1.0.0', document,
        manifest: JSON.stringify(document), createdAt: new Date().toISOString(), createdBy: 'tester',
      };
    };
    await store.putRunbook(runbook('victim', '1.0.0'));
    await store.putRunbook(runbook('attacker', '99.0.0'));
    await store.putRunbook(runbook('attacker', '1.0.0'));
    expect((await store.getRunbook('victim', 'shadowed'))?.version).toBe('1.0.0');
    expect((await store.getRunbook('attacker', 'shadowed'))?.version).toBe('99.0.0');
    expect((await store.listRunbooks(['victim'])).map((r) => `${r.namespace}/${r.name}@${r.version}`)).toEqual(['victim/shadowed@1.0.0']);
  });

  it('migrates a registry of the first schema, keeping its entries in namespace default', async () => {
    const options = await backend.another(`old_${Date.now()}`);
    const db = openDatabase(options);
    try {
      await migrate(db, MIGRATIONS.slice(0, 1));
      const entry = workflowEntry(WORKFLOW('0.9.0'));
      await db.run('INSERT INTO manifests (digest, source) VALUES ($1, $2)', ['sha256:m', entry.manifest]);
      await db.run('INSERT INTO irs (digest, ir) VALUES ($1, $2)', [entry.digest, JSON.stringify(entry.ir)]);
      await db.run('INSERT INTO workflows (name, version, digest, manifest_digest, created_at, created_by) VALUES ($1, $2, $3, $4, $5, $6)', [
        'stored', '0.9.0', entry.digest, 'sha256:m', entry.createdAt, 'old-tester',
      ]);
      const document = runbookDocument('0.9.0');
      await db.run('INSERT INTO runbooks (name, version, digest, manifest_digest, document, created_at, created_by) VALUES ($1, $2, $3, $4, $5, $6, $7)', [
        'rb', '0.9.0', digestOf(document), 'sha256:m', JSON.stringify(document), entry.createdAt, 'old-tester',
      ]);
    } finally {
      await db.close();
    }
    const migrated = await openStore(options);
    try {
      expect(await migrated.getWorkflow('default', 'stored', '0.9.0')).toMatchObject({ namespace: 'default', createdBy: 'old-tester' });
      expect(await migrated.getRunbook('default', 'rb')).toMatchObject({ namespace: 'default', version: '0.9.0' });
      const again = { ...workflowEntry(WORKFLOW('0.9.0', '5ms')), namespace: 'elsewhere' };
      expect(await migrated.putWorkflow(again)).toBe('created');
    } finally {
      await migrated.close();
    }
  });

  it('binds an idempotency key to the first run id, per namespace, even under concurrent claims', async () => {
    const claims = await Promise.all(['run-a', 'run-b', 'run-c'].map((runId) => store.claimIdempotencyKey('ns1', 'key-1', runId)));
    expect(new Set(claims).size).toBe(1);
    expect(await store.claimIdempotencyKey('ns1', 'key-1', 'run-z')).toBe(claims[0]);
    expect(await store.claimIdempotencyKey('ns2', 'key-1', 'run-z')).toBe('run-z');
  });

  it('admits runs up to the limit, queues the rest in order, and admits the next when a slot frees', async () => {
    const enqueue = (runId: string) =>
      store.enqueueRun({ runId, namespace: 'limited', enqueuedAt: new Date().toISOString(), request: { runId } }, 2);
    expect(await enqueue('q1')).toBe('admitted');
    expect(await enqueue('q2')).toBe('admitted');
    expect(await enqueue('q3')).toBe('queued');
    expect(await enqueue('q4')).toBe('queued');
    expect(await enqueue('q3')).toBe('queued');
    expect(await store.countQueuedRuns()).toEqual({ limited: 2 });
    expect(await store.admitQueuedRuns('limited', 2)).toEqual([]);
    expect(await store.releaseRun('q1')).toBe(true);
    expect(await store.releaseRun('q1')).toBe(false);
    const admitted = await store.admitQueuedRuns('limited', 2);
    expect(admitted.map((a) => [a.runId, a.state, a.request])).toEqual([['q3', 'admitted', { runId: 'q3' }]]);
    expect((await store.getAdmission('q4'))?.state).toBe('queued');
    expect(await store.countQueuedRuns()).toEqual({ limited: 1 });
    expect((await store.listAdmissions({ namespace: 'limited', state: 'admitted' })).map((a) => a.runId)).toEqual(['q2', 'q3']);
    expect(await store.getAdmission('nope')).toBeUndefined();
  });

  it('never admits more than the limit when many runs arrive at once', async () => {
    const states = await Promise.all(
      Array.from({ length: 20 }, (_, i) => store.enqueueRun({ runId: `burst-${i}`, namespace: 'burst', enqueuedAt: new Date().toISOString(), request: {} }, 3)),
    );
    expect(states.filter((s) => s === 'admitted')).toHaveLength(3);
  });
});
