import { join } from 'node:path';
import { ConfigError } from '../errors/index.js';
import type { SqlDriver } from './sql/driver.js';
import { migrate } from './sql/migrations.js';
import { openPostgres } from './sql/postgres.js';
import { openSqlite } from './sql/sqlite.js';
import { createSqlStore } from './sql-store.js';
import type { Store } from './types.js';

/** Options of {@link openStore}. */
export interface OpenStoreOptions {
  /**
   * `postgres://…` or `postgresql://…` for PostgreSQL; unset for SQLite.
   * @default undefined
   */
  databaseUrl?: string;
  /**
   * Folder of the SQLite file `registry.db` (ignored with `databaseUrl`).
   * @default '.maestro'
   */
  dataDir?: string;
  /**
   * The SQLite file itself, `:memory:` for a private in-memory database; wins over `dataDir`.
   * @default '<dataDir>/registry.db'
   */
  sqliteFile?: string;
}

/**
 * Opens the database the options name, without touching its schema: PostgreSQL when `databaseUrl`
 * is a `postgres://` URL, else SQLite in `<dataDir>/registry.db` (or `sqliteFile`).
 *
 * @throws {ConfigError} for a database URL of another scheme.
 */
export function openDatabase(options: OpenStoreOptions = {}): SqlDriver {
  const { databaseUrl, dataDir = '.maestro' } = options;
  if (databaseUrl === undefined) return openSqlite(options.sqliteFile ?? join(dataDir, 'registry.db'));
  if (!/^postgres(ql)?:\/\//.test(databaseUrl)) throw new ConfigError('MAESTRO_DATABASE_URL must be a postgres:// URL (unset it for SQLite)');
  return openPostgres({ url: databaseUrl });
}

/**
 * Opens the control plane's store and applies pending migrations: PostgreSQL when `databaseUrl` is
 * a `postgres://` URL, else SQLite in `<dataDir>/registry.db`.
 *
 * @throws {ConfigError} for a database URL of another scheme.
 * @example
 * const store = await openStore({ databaseUrl: config.databaseUrl, dataDir: config.dataDir });
 */
export function openStore(options: OpenStoreOptions = {}): Promise<Store> {
  return onOwnDatabase(options, async (db) => {
    await migrate(db);
    return createSqlStore(db);
  });
}

/**
 * Opens the database `options` name on a connection of its own and builds on it (migrations, a
 * store over it); the connection is closed when building fails, and otherwise belongs to what
 * was built.
 */
export async function onOwnDatabase<T>(options: OpenStoreOptions, build: (db: SqlDriver) => Promise<T>): Promise<T> {
  const db = openDatabase(options);
  try {
    return await build(db);
  } catch (error) {
    await db.close();
    throw error;
  }
}
