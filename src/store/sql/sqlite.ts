/**
 * {@link SqlDriver} over SQLite (better-sqlite3): one connection, WAL journal, and a queue that runs
 * one transaction at a time, because an `await` inside a transaction would otherwise let another
 * request's statements into it.
 */
import { EventEmitter } from 'node:events';
import { existsSync, mkdirSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import Database from 'better-sqlite3';
import type { SqlDriver, SqlRow, SqlTransaction, SqlValue } from './driver.js';

/** How many compiled statements one connection keeps. */
const STATEMENT_CACHE_SIZE = 256;

/** A statement's SQL with `$1 … $n` rewritten to `?`, and which parameter each `?` takes. */
interface PositionalSql {
  text: string;
  /** 0-based parameter index of each `?`, in order (a `$n` may appear more than once). */
  order: number[];
}

/** Rewrites `$1 … $n` to `?` (see {@link PositionalSql}). */
function positional(sql: string): PositionalSql {
  const order: number[] = [];
  const text = sql.replace(/\$(\d+)/g, (_, index: string) => {
    order.push(Number(index) - 1);
    return '?';
  });
  return { text, order };
}

/** Connections open in this process, by absolute file path, with how many handles use each. */
const openFiles = new Map<string, { driver: SqlDriver; users: number }>();

/**
 * Opens (creating if needed) the SQLite database at `file` (`:memory:` for a private in-memory one).
 * Every handle on one file in this process shares one connection and its transaction queue: two
 * connections of one process would wait on each other's write lock, and SQLite's busy handler
 * waits by sleeping, which here would stop the very thread that holds the lock (`npm start` runs
 * the worker and the API, each with its stores, in one process). The connection closes with its
 * last handle.
 *
 * @example
 * const db = openSqlite('.maestro/registry.db');
 */
export function openSqlite(file: string): SqlDriver {
  if (file === ':memory:') return connect(file);
  const path = resolve(file);
  let open = openFiles.get(path);
  // A file deleted under a handle still open (a data folder removed and made again) is a new database.
  if (open === undefined || !existsSync(path)) {
    mkdirSync(dirname(path), { recursive: true });
    open = { driver: connect(path), users: 0 };
    openFiles.set(path, open);
  }
  open.users += 1;
  const shared = open;
  let closed = false;
  return {
    ...shared.driver,
    close() {
      if (closed) return Promise.resolve();
      closed = true;
      shared.users -= 1;
      if (shared.users > 0) return Promise.resolve();
      if (openFiles.get(path) === shared) openFiles.delete(path);
      return shared.driver.close();
    },
  };
}

/** One connection to `file`, with its statement cache and transaction queue. */
function connect(file: string): SqlDriver {
  const db = new Database(file);
  db.pragma('journal_mode = WAL');
  db.pragma('synchronous = NORMAL');
  db.pragma('busy_timeout = 5000');

  // Compiled (and their `$n` rewritten) once per SQL text: the stores use a small set of statements,
  // and compiling one (tens of microseconds) would otherwise cost as much as running it. Texts that
  // vary (a LIMIT, an IN list) could grow the cache without end, so it starts over past
  // STATEMENT_CACHE_SIZE.
  const statements = new Map<string, { statement: Database.Statement; order: number[] }>();
  /** The compiled statement of `sql` (as the stores write it, with `$n`) and its values in `?` order. */
  const bound = (sql: string, params: readonly SqlValue[]): { statement: Database.Statement; values: SqlValue[] } => {
    let entry = statements.get(sql);
    if (entry === undefined) {
      if (statements.size >= STATEMENT_CACHE_SIZE) statements.clear();
      const { text, order } = positional(sql);
      entry = { statement: db.prepare(text), order };
      statements.set(sql, entry);
    }
    return { statement: entry.statement, values: entry.order.map((index) => params[index] ?? null) };
  };
  const begin = db.prepare('BEGIN IMMEDIATE');
  const commit = db.prepare('COMMIT');
  const rollback = db.prepare('ROLLBACK');

  const direct: SqlTransaction = {
    all<T extends SqlRow>(sql: string, params: readonly SqlValue[] = []): Promise<T[]> {
      const { statement, values } = bound(sql, params);
      return Promise.resolve(statement.all(...values) as T[]);
    },
    run(sql: string, params: readonly SqlValue[] = []): Promise<number> {
      const { statement, values } = bound(sql, params);
      return Promise.resolve(statement.run(...values).changes);
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

  // Notifications reach the listeners of this connection, that is every handle on the file in this
  // process; as many streams as the API serves may listen to one channel.
  const notifications = new EventEmitter().setMaxListeners(0);
  return {
    dialect: 'sqlite',
    notify(channel, payload) {
      notifications.emit(channel, payload);
      return Promise.resolve();
    },
    listen(channel, onNotify) {
      notifications.on(channel, onNotify);
      return () => void notifications.off(channel, onNotify);
    },
    all: (sql, params) => enqueue(() => direct.all(sql, params)),
    run: (sql, params) => enqueue(() => direct.run(sql, params)),
    transaction: (work) =>
      enqueue(async () => {
        begin.run();
        try {
          const result = await work(direct);
          commit.run();
          return result;
        } catch (error) {
          rollback.run();
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
