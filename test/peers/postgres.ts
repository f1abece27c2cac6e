import { spawnSync } from 'node:child_process';
import { existsSync, readdirSync } from 'node:fs';
import { chown, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { runInstaller } from './install.js';
import { freePort } from './ports.js';
import { runSetupCommand, spawnPeer } from './spawn-peer.js';
import { tcpOpen } from './tcp.js';

/** A running throwaway PostgreSQL cluster. */
export interface PostgresPeer {
  /** `postgres://maestro@127.0.0.1:<port>/postgres` (trust authentication, no password). */
  url: string;
  port: number;
  /** Stops the server and deletes its data directory. Idempotent. */
  stop(): Promise<void>;
}

/** Options of {@link startPostgres}. */
export interface PostgresOptions {
  /** More server settings (`-c name=value`), e.g. `{ max_connections: '300' }`. @default {} */
  settings?: Record<string, string>;
}

/** Debian installs each major version's server under /usr/lib/postgresql/<major>/bin; the newest wins. */
function serverBinDir(): string | undefined {
  const root = '/usr/lib/postgresql';
  if (!existsSync(root)) return undefined;
  const majors = readdirSync(root)
    .filter((name) => /^\d+$/.test(name))
    .sort((a, b) => Number(b) - Number(a));
  return majors.map((major) => join(root, major, 'bin')).find((dir) => existsSync(join(dir, 'postgres')) && existsSync(join(dir, 'initdb')));
}

/** initdb and postgres refuse to run as root: as root, run them as the `postgres` user. */
function asServerUser(command: string, args: string[]): { command: string; args: string[] } {
  if (process.getuid?.() !== 0) return { command, args };
  return { command: 'setpriv', args: ['--reuid=postgres', '--regid=postgres', '--init-groups', '--', command, ...args] };
}

function postgresIds(): { uid: number; gid: number } {
  const id = (flag: string): number => Number(spawnSync('id', [flag, 'postgres'], { encoding: 'utf8' }).stdout.trim());
  return { uid: id('-u'), gid: id('-g') };
}

/**
 * Starts a throwaway PostgreSQL cluster from Debian's packages on a free port (data in a temp dir,
 * fsync off), installing the packages first when they are missing (`scripts/peers/install-postgres.sh`).
 *
 * @throws PeerInstallError or PeerStartError, with the installer's or the server's output.
 * @example
 * const pg = await startPostgres();
 * const store = await openStore({ databaseUrl: pg.url });
 */
export async function startPostgres({ settings = {} }: PostgresOptions = {}): Promise<PostgresPeer> {
  if (!serverBinDir()) await runInstaller('install-postgres.sh');
  const bin = serverBinDir();
  if (!bin) throw new Error('PostgreSQL was installed but no server binary is under /usr/lib/postgresql/<version>/bin');
  const dir = await mkdtemp(join(tmpdir(), 'maestro-postgres-'));
  const data = join(dir, 'data');
  if (process.getuid?.() === 0) {
    const { uid, gid } = postgresIds();
    await chown(dir, uid, gid);
  }
  const initdb = asServerUser(join(bin, 'initdb'), ['-D', data, '-U', 'maestro', '-A', 'trust', '-E', 'UTF8', '--no-sync']);
  await runSetupCommand('initdb', initdb.command, initdb.args);
  const port = await freePort();
  const server = asServerUser(join(bin, 'postgres'), [
    '-D', data, '-p', String(port), '-k', dir,
    '-c', 'listen_addresses=127.0.0.1', '-c', 'fsync=off', '-c', 'synchronous_commit=off', '-c', 'full_page_writes=off',
    ...Object.entries(settings).flatMap(([name, value]) => ['-c', `${name}=${value}`]),
  ]);
  const peer = await spawnPeer({
    name: 'postgres',
    command: server.command,
    args: server.args,
    ready: (output) => output.includes('ready to accept connections') && tcpOpen(port),
    startTimeoutMs: 30_000,
  });
  return {
    url: `postgres://maestro@127.0.0.1:${port}/postgres`,
    port,
    stop: async () => {
      await peer.stop();
      await rm(dir, { recursive: true, force: true });
    },
  };
}
