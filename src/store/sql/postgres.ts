/**
 * {@link SqlDriver} over PostgreSQL (node-postgres pool). Several API processes may share one
 * database: migrations and admission take advisory locks so they stay correct side by side.
 */
import pg from 'pg';
import type { SqlDriver, SqlRow, SqlTransaction, SqlValue } from './driver.js';

/** Options of {@link openPostgres}. */
export interface PostgresOptions {
  /** `postgres://user:password@host:port/database`. */
  url: string;
  /**
   * Most connections the pool opens.
   * @default 10
   */
  maxConnections?: number;
}

interface Queryable {
  query(text: string, values?: unknown[]): Promise<{ rows: unknown[]; rowCount: number | null }>;
}

function executor(target: Queryable): SqlTransaction {
  return {
    async all<T extends SqlRow>(sql: string, params: readonly SqlValue[] = []): Promise<T[]> {
      return (await target.query(sql, [...params])).rows as T[];
    },
    async run(sql: string, params: readonly SqlValue[] = []): Promise<number> {
      return (await target.query(sql, [...params])).rowCount ?? 0;
    },
    async lock(name: string): Promise<void> {
      await target.query('SELECT pg_advisory_xact_lock(hashtext($1))', [name]);
    },
  };
}

/**
 * Connects a pool to the database at `url`; the first statement fails if it is unreachable.
 *
 * @example
 * const db = openPostgres({ url: 'postgres://maestro@localhost:5432/maestro' });
 */
export function openPostgres({ url, maxConnections = 10 }: PostgresOptions): SqlDriver {
  const pool = new pg.Pool({ connectionString: url, max: maxConnections });
  // An idle client losing its connection (server restart) must not crash the process; the pool
  // drops that client and the next query opens a new one.
  pool.on('error', (error) => console.error('maestro: PostgreSQL connection lost:', error.message));
  const { all, run } = executor(pool);
  return {
    dialect: 'postgres',
    all,
    run,
    async transaction(work) {
      const client = await pool.connect();
      try {
        await client.query('BEGIN');
        const result = await work(executor(client));
        await client.query('COMMIT');
        return result;
      } catch (error) {
        await client.query('ROLLBACK');
        throw error;
      } finally {
        client.release();
      }
    },
    close: () => pool.end(),
  };
}
