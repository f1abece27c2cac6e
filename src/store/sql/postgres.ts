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
  const listener = new Listener(url);
  return {
    dialect: 'postgres',
    all,
    run,
    async notify(channel, payload) {
      await pool.query('SELECT pg_notify($1, $2)', [channel, payload]);
    },
    listen: (channel, onNotify) => listener.listen(channel, onNotify),
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
    async close() {
      await listener.close();
      await pool.end();
    },
  };
}

/** How long the listening connection waits before it connects again after losing its connection. */
const RELISTEN_MS = 1_000;

/**
 * The one connection of a driver that `LISTEN`s, opened with the first listener and closed with
 * the last; a lost connection is opened again (after {@link RELISTEN_MS}) while anyone listens.
 */
class Listener {
  /** Callbacks by channel; a channel leaves the map with its last callback. */
  private readonly channels = new Map<string, Set<(payload: string) => void>>();
  /** The connection while one is open or opening. */
  private client: Promise<pg.Client> | undefined;
  private closed = false;
  /** The LISTEN and UNLISTEN commands sent so far, in order. */
  private commands: Promise<void> = Promise.resolve();

  constructor(private readonly url: string) {}

  listen(channel: string, onNotify: (payload: string) => void): () => void {
    let callbacks = this.channels.get(channel);
    if (!callbacks) {
      callbacks = new Set();
      this.channels.set(channel, callbacks);
      void this.command(`LISTEN ${pg.escapeIdentifier(channel)}`);
    }
    callbacks.add(onNotify);
    return () => {
      const current = this.channels.get(channel);
      if (!current?.delete(onNotify) || current.size > 0) return;
      this.channels.delete(channel);
      void this.command(`UNLISTEN ${pg.escapeIdentifier(channel)}`);
    };
  }

  async close(): Promise<void> {
    this.closed = true;
    const client = this.client;
    this.client = undefined;
    if (client) await (await client.catch(() => undefined))?.end();
  }

  /**
   * Sends a LISTEN or UNLISTEN on the connection (opening it first), after the ones sent before (a
   * client runs one query at a time); a failure is logged, and the reconnect listens again.
   */
  private command(sql: string): Promise<void> {
    this.commands = this.commands.then(async () => {
      if (this.closed) return;
      try {
        await (await this.connection()).query(sql);
      } catch (error) {
        console.error('maestro: PostgreSQL LISTEN failed:', error instanceof Error ? error.message : String(error));
      }
    });
    return this.commands;
  }

  private connection(): Promise<pg.Client> {
    this.client ??= this.connect();
    return this.client;
  }

  private async connect(): Promise<pg.Client> {
    const client = new pg.Client({ connectionString: this.url });
    client.on('notification', ({ channel, payload }) => {
      for (const onNotify of this.channels.get(channel) ?? []) onNotify(payload ?? '');
    });
    const lost = (): void => {
      if (this.closed || this.client === undefined) return;
      this.client = undefined;
      // Listen again on a new connection while anyone listens.
      setTimeout(() => {
        if (this.closed || this.channels.size === 0) return;
        for (const channel of this.channels.keys()) void this.command(`LISTEN ${pg.escapeIdentifier(channel)}`);
      }, RELISTEN_MS).unref();
    };
    client.on('error', (error) => {
      console.error('maestro: PostgreSQL listening connection lost:', error.message);
      lost();
    });
    client.on('end', lost);
    try {
      await client.connect();
    } catch (error) {
      this.client = undefined;
      throw error;
    }
    return client;
  }
}
