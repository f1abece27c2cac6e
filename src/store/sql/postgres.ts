/**
 * {@link SqlDriver} over PostgreSQL (node-postgres pool). Several API processes may share one
 * database: migrations and admission take advisory locks so they stay correct side by side.
 */
import pg from 'pg';
import { MaestroError } from '../../errors/index.js';
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

/** Socket errors of a server that cannot be reached. */
const UNREACHABLE = new Set(['ECONNREFUSED', 'ECONNRESET', 'ETIMEDOUT', 'EHOSTUNREACH', 'ENETUNREACH', 'ENOTFOUND', 'EAI_AGAIN', 'EPIPE']);

/**
 * Why PostgreSQL cannot serve now, or undefined for any other error: SQLSTATE class 08
 * (connection exception), 53300 (too many connections), 57P01-57P03 (shutting down, starting),
 * a socket error, or the client's own "connection terminated" / "timeout".
 */
function outage(error: unknown): string | undefined {
  const code = (error as { code?: unknown } | null)?.code;
  if (code === '53300') return 'it takes no more connections';
  if (typeof code === 'string' && (code.startsWith('08') || /^57P0[123]$/.test(code) || UNREACHABLE.has(code))) return 'it cannot be reached';
  if (error instanceof Error && /^Connection terminated|timeout exceeded when trying to connect/i.test(error.message)) return 'it cannot be reached';
  return undefined;
}

/**
 * A PostgreSQL outage as `UNAVAILABLE` (503, retryable), any other error as it is. The message
 * names neither host nor port: it reaches API callers; the cause keeps the driver's error for logs.
 */
function storeError(error: unknown): unknown {
  const why = outage(error);
  return why === undefined ? error : new MaestroError('UNAVAILABLE', `the store's PostgreSQL is unavailable: ${why}; retry shortly`, { cause: error });
}

function executor(target: Queryable): SqlTransaction {
  const query = (sql: string, params: readonly SqlValue[]) => target.query(sql, [...params]).catch((error: unknown) => Promise.reject(storeError(error)));
  return {
    async all<T extends SqlRow>(sql: string, params: readonly SqlValue[] = []): Promise<T[]> {
      return (await query(sql, params)).rows as T[];
    },
    async run(sql: string, params: readonly SqlValue[] = []): Promise<number> {
      return (await query(sql, params)).rowCount ?? 0;
    },
    async lock(name: string): Promise<void> {
      await query('SELECT pg_advisory_xact_lock(hashtext($1))', [name]);
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
      await pool.query('SELECT pg_notify($1, $2)', [channel, payload]).catch((error: unknown) => Promise.reject(storeError(error)));
    },
    listen: (channel, onNotify) => listener.listen(channel, onNotify),
    async transaction(work) {
      const client = await pool.connect().catch((error: unknown) => Promise.reject(storeError(error)));
      const statements = executor(client);
      let broken = false;
      try {
        await statements.run('BEGIN');
        const result = await work(statements);
        await statements.run('COMMIT');
        return result;
      } catch (error) {
        // On a lost connection the rollback fails too: the work's error is the one to report.
        await client.query('ROLLBACK').catch(() => (broken = true));
        throw storeError(error);
      } finally {
        // A connection that could not roll back is not handed to the next transaction.
        client.release(broken);
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
