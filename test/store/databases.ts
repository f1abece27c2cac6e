/**
 * The two databases the store suites run on: SQLite in a temporary folder, and PostgreSQL (a real
 * throwaway cluster from Debian's packages, started on first use; a missing PostgreSQL fails the
 * suite with the installer's message).
 */
import { mkdir, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll } from 'vitest';
import { openDatabase, openStore, type OpenStoreOptions, type Store } from '../../src/store/index.js';
import { startPostgres, type PostgresPeer } from '../peers/postgres.js';

/** A database to open stores on: `options()` is what `openStore`, `openAuditLog` and `openTaskLog` take. */
export interface DatabaseBackend {
  name: 'sqlite' | 'postgres';
  options(): Promise<OpenStoreOptions>;
  /** Options of another, empty database `name` beside it (on the same server), e.g. to migrate an old schema. */
  another(name: string): Promise<OpenStoreOptions>;
  cleanup(): Promise<void>;
}

/** SQLite in a fresh folder named `<prefix>…` under the temporary directory. */
export function sqliteDatabase(prefix: string): DatabaseBackend {
  let dir: string | undefined;
  return {
    name: 'sqlite',
    async options() {
      dir ??= await mkdtemp(join(tmpdir(), prefix));
      return { dataDir: dir };
    },
    async another(name) {
      dir ??= await mkdtemp(join(tmpdir(), prefix));
      await mkdir(join(dir, name));
      return { dataDir: join(dir, name) };
    },
    cleanup: async () => {
      if (dir) await rm(dir, { recursive: true, force: true });
    },
  };
}

/** A PostgreSQL cluster of its own. */
export function postgresDatabase(): DatabaseBackend {
  let peer: PostgresPeer | undefined;
  return {
    name: 'postgres',
    async options() {
      peer ??= await startPostgres();
      return { databaseUrl: peer.url };
    },
    async another(name) {
      peer ??= await startPostgres();
      const admin = openDatabase({ databaseUrl: peer.url });
      try {
        await admin.run(`CREATE DATABASE ${name}`);
      } finally {
        await admin.close();
      }
      const url = new URL(peer.url);
      url.pathname = `/${name}`;
      return { databaseUrl: url.toString() };
    },
    cleanup: async () => peer?.stop(),
  };
}

/**
 * A store opened on `backend` before the suite's tests and closed (and the database removed)
 * after them: call it in a `describe` body, read `.store` in the tests.
 */
export function storeOn(backend: DatabaseBackend): { readonly store: Store } {
  let store: Store | undefined;
  beforeAll(async () => {
    store = await openStore(await backend.options());
  });
  afterAll(async () => {
    await store?.close();
    await backend.cleanup();
  });
  return {
    get store(): Store {
      if (store === undefined) throw new Error('the store opens before the tests');
      return store;
    },
  };
}
