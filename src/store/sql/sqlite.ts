/**
 * {@link SqlDriver} over SQLite (better-sqlite3): one connection, WAL journal, and a queue that runs
 * one transaction at a time, because an `await` inside a transaction would otherwise let another
 * request's statements into it.
 */
import { mkdirSync } from 'node:fs';
import { dirname } from 'node:path';
import Database from 'better-sqlite3';
import type { SqlDriver, SqlRow, SqlTransaction, SqlValue } from './driver.js';

/** How many compiled statements one connection keeps. */
const STATEMENT_CACHE_SIZE = 256;

/** Rewrites `$1 … $n` to `?` and orders the values to match (a `$n` may appear more than once). */
function positional(sql: string, params: readonly SqlValue[]): { sql: string; values: SqlValue[] } {
  const values: SqlValue[] = [];
  const text = sql.replace(/\$(\d+)/g, (_, index: string) => {
    values.push(params[Number(index) - 1] ?? null);
    return '?';
  });
  return { sql: text, values };
}

/**
 * Opens (creating if needed) the SQLite database at `file` (`:memory:` for a private in-memory one).
 *
 * @example
 * const db = openSqlite('.maestro/registry.db');
 */
export function openSqlite(file: string): SqlDriver {
  if (file !== ':memory:') mkdirSync(dirname(file), { recursive: true });
  const db = new Database(file);
  db.pragma('journal_mode = WAL');
  db.pragma('synchronous = NORMAL');
  db.pragma('busy_timeout = 5000');

  // Compiled once per SQL text: the stores use a small set of statements, and compiling one (tens
  // of microseconds) would otherwise cost as much as running it. Texts that vary (a LIMIT, an IN
  // list) could grow the cache without end, so it starts over past STATEMENT_CACHE_SIZE.
  const statements = new Map<string, Database.Statement>();
  const prepared = (sql: string): Database.Statement => {
    let statement = statements.get(sql);
    if (statement === undefined) {
      if (statements.size >= STATEMENT_CACHE_SIZE) statements.clear();
      statement = db.prepare(sql);
      statements.set(sql, statement);
    }
    return statement;
  };

  const direct: SqlTransaction = {
    all<T extends SqlRow>(sql: string, params: readonly SqlValue[] = []): Promise<T[]> {
      const { sql: text, values } = positional(sql, params);
      return Promise.resolve(prepared(text).all(...values) as T[]);
    },
    run(sql: string, params: readonly SqlValue[] = []): Promise<number> {
      const { sql: text, values } = positional(sql, params);
      return Promise.resolve(prepared(text).run(...values).changes);
    },
    lock: () => Promise.resolve(),
  };

  /** Tail of the queue of transactions; statements outside a transaction wait for it too. */
  let tail: Promise<unknown> = Promise.resolve();
  const enqueue = <T>(work: () => Promise<T>): Promise<T> => {
    const result = tail.then(work);
    tail = result.then(
      () => undefined,
      () => undefined,
    );
    return result;
  };

  return {
    dialect: 'sqlite',
    all: (sql, params) => enqueue(() => direct.all(sql, params)),
    run: (sql, params) => enqueue(() => direct.run(sql, params)),
    transaction: (work) =>
      enqueue(async () => {
        db.exec('BEGIN IMMEDIATE');
        try {
          const result = await work(direct);
          db.exec('COMMIT');
          return result;
        } catch (error) {
          db.exec('ROLLBACK');
          throw error;
        }
      }),
    close: () =>
      enqueue(() => {
        db.close();
        return Promise.resolve();
      }),
  };
}
