/**
 * connectors/db.query against a real PostgreSQL server.
 */
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { dbQuery } from '../../src/tasks/index.js';
import { peerContext } from '../helpers/egress.js';
import { closedPort, startBlackHole, startPostgres, type BlackHolePeer, type PostgresPeer } from '../peers/index.js';
import { expectCancelled, runTask, taskFailure } from './helpers.js';

let db: PostgresPeer;
let hole: BlackHolePeer;
let client: pg.Client;
const secrets: Record<string, string> = {};
const ctx = () => peerContext({ secrets });

beforeAll(async () => {
  [db, hole] = await Promise.all([startPostgres(), startBlackHole()]);
  secrets['DATABASE_URL'] = db.url;
  secrets['UNREACHABLE_DB'] = `postgres://maestro@127.0.0.1:${await closedPort()}/postgres`;
  secrets['SILENT_DB'] = `postgres://maestro@${hole.address}/postgres`;
  client = new pg.Client({ connectionString: db.url });
  await client.connect();
  await client.query('CREATE TABLE deployments (id serial PRIMARY KEY, service text NOT NULL, version text NOT NULL, meta jsonb)');
}, 120_000);

afterAll(async () => {
  await client?.end();
  await Promise.all([db?.stop(), hole?.stop()]);
});

const rows = async (): Promise<unknown[]> => (await client.query('SELECT service, version, meta FROM deployments ORDER BY id')).rows;

describe('connectors/db.query', () => {
  it('inserts rows with bound parameters, and they are really in the table', async () => {
    const output = await runTask(
      dbQuery,
      { sql: 'INSERT INTO deployments (service, version, meta) VALUES ($1, $2, $3) RETURNING id', params: ['api', '1.2.0', { by: 'maestro' }] },
      ctx(),
    );
    expect(output).toMatchObject({ command: 'INSERT', rowCount: 1, rows: [{ id: 1 }] });
    expect(await rows()).toEqual([{ service: 'api', version: '1.2.0', meta: { by: 'maestro' } }]);
  });

  it('binds a hostile value as data, never as SQL', async () => {
    const hostile = "x'); DROP TABLE deployments; --";
    await runTask(dbQuery, { sql: 'INSERT INTO deployments (service, version) VALUES ($1, $2)', params: [hostile, '0'] }, ctx());
    expect(await rows()).toContainEqual({ service: hostile, version: '0', meta: null });
  });

  it('refuses stacked statements in one sql', async () => {
    const error = await taskFailure(runTask(dbQuery, { sql: 'SELECT 1; DELETE FROM deployments' }, ctx()));
    expect(error).toMatchObject({ code: 'TASK_FAILED', retryable: false });
    expect((await rows()).length).toBeGreaterThan(0);
  });

  it('runs statements in one transaction: all or nothing', async () => {
    const before = await rows();
    const error = await taskFailure(
      runTask(
        dbQuery,
        {
          statements: [
            { sql: 'INSERT INTO deployments (service, version) VALUES ($1, $2)', params: ['web', '2.0.0'] },
            { sql: 'INSERT INTO deployments (service, version) VALUES ($1, NULL)', params: ['web'] },
          ],
        },
        ctx(),
      ),
    );
    expect(error).toMatchObject({ code: 'TASK_FAILED', retryable: false });
    expect(await rows()).toEqual(before);
    const output = await runTask(
      dbQuery,
      {
        statements: [
          { sql: 'INSERT INTO deployments (service, version) VALUES ($1, $2)', params: ['web', '2.0.0'] },
          { sql: 'SELECT count(*)::int AS n FROM deployments WHERE service = $1', params: ['web'] },
        ],
      },
      ctx(),
    );
    expect(output).toMatchObject({ command: 'SELECT', rows: [{ n: 1 }], results: [{ command: 'INSERT', rowCount: 1 }, { command: 'SELECT' }] });
  });

  it('refuses more rows than maxRows', async () => {
    const error = await taskFailure(runTask(dbQuery, { sql: 'SELECT generate_series(1, 10) AS n', maxRows: 5 }, ctx()));
    expect(error).toMatchObject({ code: 'TASK_FAILED', retryable: false, details: { rows: 10, maxRows: 5 } });
  });

  it.each([
    ['neither sql nor statements', {}],
    ['both sql and statements', { sql: 'SELECT 1', statements: [{ sql: 'SELECT 2' }] }],
    ['params with statements', { statements: [{ sql: 'SELECT 1' }], params: [1] }],
    ['a bad timeout', { sql: 'SELECT 1', timeout: 'forever' }],
  ])('refuses %s before connecting', async (_, input) => {
    const before = hole.accepted();
    const error = await taskFailure(runTask(dbQuery, { connectionSecret: 'SILENT_DB', ...input }, ctx()));
    expect(error.code).toBe('TASK_INPUT_INVALID');
    expect(hole.accepted()).toBe(before);
  });

  it('reports an unreachable server as PEER_UNAVAILABLE, retryable, without the URL', async () => {
    const error = await taskFailure(runTask(dbQuery, { sql: 'SELECT 1', connectionSecret: 'UNREACHABLE_DB' }, ctx()));
    expect(error).toMatchObject({ code: 'PEER_UNAVAILABLE', retryable: true, details: { cause: 'ECONNREFUSED' } });
  });

  it('cancels a running statement on the server when the run is cancelled', async () => {
    await expectCancelled((c) => runTask(dbQuery, { sql: "SELECT pg_sleep(30), 'cancel-me'" }, c), { secrets });
    const deadline = Date.now() + 5_000;
    let running = 1;
    while (running > 0 && Date.now() < deadline) {
      const result = await client.query("SELECT count(*)::int AS n FROM pg_stat_activity WHERE query LIKE '%cancel-me%' AND pid <> pg_backend_pid() AND state = 'active'");
      running = (result.rows[0] as { n: number }).n;
      if (running > 0) await new Promise((resolve) => setTimeout(resolve, 100));
    }
    expect(running).toBe(0);
  });

  it('stops with the cancellation reason while a server does not answer', async () => {
    await expectCancelled((c) => runTask(dbQuery, { sql: 'SELECT 1', connectionSecret: 'SILENT_DB' }, c), { secrets });
  });
});
