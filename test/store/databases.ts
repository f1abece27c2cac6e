/**
 * The two databases the store suites run on: SQLite in a temporary folder, and PostgreSQL (a real
 * throwaway cluster from Debian's packages, started on first use; a missing PostgreSQL fails the
 * suite with the installer's message).
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { OpenStoreOptions } from '../../src/store/index.js';
import { startPostgres, type PostgresPeer } from '../peers/postgres.js';

/** A database to open stores on: `options()` is what `openStore`, `openAuditLog` and `openTaskLog` take. */
export interface DatabaseBackend {
  name: 'sqlite' | 'postgres';
  options(): Promise<OpenStoreOptions>;
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
    cleanup: async () => peer?.stop(),
  };
}
