/**
 * The store when its PostgreSQL cannot serve: out of connections, or gone. Callers get
 * `UNAVAILABLE` (the API's 503, retryable) naming neither host nor port, never an internal error.
 */
import pg from 'pg';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { isMaestroError } from '../../src/errors/index.js';
import { openStore, type Store } from '../../src/store/index.js';
import { startPostgres, type PostgresPeer } from '../peers/postgres.js';

let peer: PostgresPeer;
let store: Store;
const hogs: pg.Client[] = [];

beforeAll(async () => {
  // Room for the store's first connection and two more clients, none kept for superusers.
  peer = await startPostgres({ settings: { max_connections: '3', superuser_reserved_connections: '0' } });
  store = await openStore({ databaseUrl: peer.url });
});
afterAll(async () => {
  for (const hog of hogs) await hog.end().catch(() => undefined);
  await store?.close().catch(() => undefined);
  await peer?.stop();
});

async function refusal(work: Promise<unknown>): Promise<{ code: string; message: string }> {
  const error = await work.then(
    () => undefined,
    (failure: unknown) => failure,
  );
  if (!isMaestroError(error)) throw new Error(`expected a MaestroError, got ${String(error)}`);
  return { code: error.code, message: error.message };
}

it('refuses a store whose server takes no more connections with UNAVAILABLE, without its address', async () => {
  // Fill every slot the server has left.
  for (;;) {
    const hog = new pg.Client({ connectionString: peer.url });
    const connected = await hog.connect().then(
      () => true,
      () => false,
    );
    if (!connected) break;
    hogs.push(hog);
  }
  const refused = await refusal(openStore({ databaseUrl: peer.url }));
  expect(refused).toEqual({ code: 'UNAVAILABLE', message: "the store's PostgreSQL is unavailable: it takes no more connections; retry shortly" });
  for (const hog of hogs.splice(0)) await hog.end();
});

it('answers UNAVAILABLE once the server is gone, in a read and in a transaction', async () => {
  await store.listRunbooks(['default']);
  await peer.stop();
  for (const work of [store.listRunbooks(['default']), store.claimIdempotencyKey('default', 'k-1', 'run-1')]) {
    const refused = await refusal(work);
    expect(refused.code).toBe('UNAVAILABLE');
    expect(refused.message).not.toMatch(/127\.0\.0\.1|:\d{4,5}/);
  }
});
