/**
 * The small SQL surface the registry needs, implemented once for SQLite and once for PostgreSQL.
 * Statements use PostgreSQL's `$1, $2 …` placeholders and SQL both engines accept
 * (`ON CONFLICT … DO NOTHING`, `RETURNING`); the SQLite driver rewrites the placeholders.
 */

/** A value bound to a placeholder. */
export type SqlValue = string | number | null;

/** A row as the driver returns it: column name → value. */
export type SqlRow = Record<string, unknown>;

/** Runs statements. */
export interface SqlExecutor {
  /** Runs a query and returns every row. */
  all<T extends SqlRow = SqlRow>(sql: string, params?: readonly SqlValue[]): Promise<T[]>;
  /** Runs a statement; returns how many rows it changed. */
  run(sql: string, params?: readonly SqlValue[]): Promise<number>;
}

/** Statements inside one transaction. */
export interface SqlTransaction extends SqlExecutor {
  /**
   * Serialises, until the end of the current transaction, every other transaction that takes the
   * same lock (PostgreSQL: an advisory transaction lock; SQLite: transactions already run one at a time).
   */
  lock(name: string): Promise<void>;
}

/** A connection (or pool) to one database. */
export interface SqlDriver extends SqlExecutor {
  /** `sqlite` or `postgres`: where a statement must differ (it rarely does). */
  readonly dialect: 'sqlite' | 'postgres';
  /** Runs `work` in one transaction: committed when it resolves, rolled back when it throws. */
  transaction<T>(work: (tx: SqlTransaction) => Promise<T>): Promise<T>;
  /**
   * Tells every listener of `channel` that something changed, with a short `payload` (an id):
   * listeners in any process on PostgreSQL (`NOTIFY`), in this process on SQLite (a file's
   * handles in one process share its connection; another process is not told).
   */
  notify(channel: string, payload: string): Promise<void>;
  /**
   * Calls `onNotify` with the payload of each notification on `channel` until the returned
   * function is called. On PostgreSQL one connection of its own listens for the whole driver; a
   * notification sent while it reconnects is lost, so listeners also re-read now and then.
   */
  listen(channel: string, onNotify: (payload: string) => void): () => void;
  /** Closes the connection(s); in-flight statements finish first. */
  close(): Promise<void>;
}
