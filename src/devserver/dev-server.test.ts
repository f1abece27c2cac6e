import { chmodSync, existsSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { Client, Connection } from '@temporalio/client';
import { describe, expect, inject, it } from 'vitest';
import { loadConfig, extendConfig } from '../config/index.js';
import { MaestroError } from '../errors/index.js';
import { resolveTemporalBin, runDev, startDevServer } from './index.js';

const bin = resolveTemporalBin(loadConfig().temporalBin);

async function rejectionOf(promise: Promise<unknown>): Promise<MaestroError> {
  const error = await promise.then(
    () => undefined,
    (reason: unknown) => reason,
  );
  if (error instanceof MaestroError) return error;
  throw new Error(`expected a MaestroError, got ${String(error)}`);
}

describe('startDevServer', () => {
  it('keeps workflow executions in its SQLite file across restarts', async () => {
    const dbFile = join(mkdtempSync(join(tmpdir(), 'maestro-devserver-')), 'state', 'temporal.db');
    const first = await startDevServer({ bin, dbFile, port: 0, ui: false });
    try {
      const connection = await Connection.connect({ address: first.address });
      await new Client({ connection }).workflow.start('neverRuns', { taskQueue: 'no-worker', workflowId: 'kept-across-restarts' });
      await connection.close();
    } finally {
      await first.stop();
    }
    expect(first.process.exitCode).toBe(0);

    const second = await startDevServer({ bin, dbFile, port: 0, ui: false });
    try {
      const connection = await Connection.connect({ address: second.address });
      const description = await new Client({ connection }).workflow.getHandle('kept-across-restarts').describe();
      expect(description.status.name).toBe('RUNNING');
      await connection.close();
    } finally {
      await second.stop();
    }
  });

  it('refuses a second server on a database file that a running Maestro serves, and leaves the first alone', async () => {
    const dbFile = join(mkdtempSync(join(tmpdir(), 'maestro-devserver-')), 'temporal.db');
    const first = await startDevServer({ bin, dbFile, port: 0, ui: false });
    try {
      const error = await rejectionOf(startDevServer({ bin, dbFile, port: 0, ui: false }));
      expect(error.code).toBe('CONFIG_INVALID');
      expect(error.message).toContain(`${dbFile} is in use by the Temporal dev server (pid ${first.process.pid}) of another Maestro (pid ${process.pid})`);
      expect(first.process.exitCode).toBeNull();
    } finally {
      await first.stop();
    }
    expect(existsSync(join(dirname(dbFile), 'temporal.pid'))).toBe(false);
  });

  it('refuses a port that is already taken, naming it', async () => {
    const address = inject('temporalAddress');
    const [ip = '', port = ''] = address.split(':');
    const error = await rejectionOf(startDevServer({ bin, ip, port: Number(port), ui: false }));
    expect(error.code).toBe('CONFIG_INVALID');
    expect(error.message).toContain(`port ${address} is already in use`);
  });

  it('reports a server that exits during start-up, with its last output', async () => {
    const fake = join(mkdtempSync(join(tmpdir(), 'maestro-fake-temporal-')), 'temporal');
    writeFileSync(fake, '#!/bin/sh\necho "cannot open the database" >&2\nexit 3\n');
    chmodSync(fake, 0o755);
    const error = await rejectionOf(startDevServer({ bin: fake, port: 0, ui: false }));
    expect(error.code).toBe('UNAVAILABLE');
    expect(error.message).toContain('exited with code 3');
    expect(error.message).toContain('cannot open the database');
  });
});

describe('resolveTemporalBin', () => {
  it('rejects a configured binary that does not exist, as TOOL_MISSING', () => {
    expect(() => resolveTemporalBin('/no/such/temporal')).toThrow(
      expect.objectContaining({ code: 'TOOL_MISSING', message: expect.stringContaining('MAESTRO_TEMPORAL_BIN=/no/such/temporal') }),
    );
  });
});

describe('runDev', () => {
  it('with TEMPORAL_ADDRESS set, starts no server and hands the worker the config; stop shuts the worker down', async () => {
    const config = extendConfig(loadConfig({}), { temporalAddress: inject('temporalAddress') });
    const started: string[] = [];
    const session = await runDev({
      config,
      startWorker: async (workerConfig) => {
        started.push(workerConfig.temporalAddress ?? '');
        return { shutdown: async () => void started.push('shutdown') };
      },
    });
    expect(session.server).toBeUndefined();
    await session.stop();
    await session.stop();
    expect(started).toEqual([inject('temporalAddress'), 'shutdown']);
  });

  it('refuses Temporal TLS or API-key settings without TEMPORAL_ADDRESS, before starting anything', async () => {
    const config = loadConfig({ TEMPORAL_API_KEY: 'k-123', MAESTRO_DATA_DIR: mkdtempSync(join(tmpdir(), 'maestro-devserver-')) });
    const error = await rejectionOf(runDev({ config, startWorker: () => Promise.reject(new Error('the worker must not start')) }));
    expect(error.code).toBe('CONFIG_INVALID');
    expect(error.message).toContain('the local dev server speaks plain gRPC');
  });
});
