/**
 * The CLI's way to Temporal: the launch context, on a client of `config.temporalAddress`, that
 * every run the CLI starts goes through (the same policy decision, audit log, admission queue as the
 * API's), acting for the local user.
 */
import { userInfo } from 'node:os';
import { Client, Connection } from '@temporalio/client';
import { maestroDataConverter, payloadCodec } from '../codec/index.js';
import { temporalConnectOptions, type CodecSettings, type StoreSettings, type TemporalSettings } from '../config/index.js';
import { MaestroError } from '../errors/index.js';
import type { Principal } from '../ir/index.js';
import { openLaunchContext, type LaunchContext, type LaunchContextSettings } from '../runs/index.js';

/** The settings the CLI starts runs with: the connection to Temporal and the launch context's. */
export type CliLaunchSettings = TemporalSettings & LaunchContextSettings;

/** Connects to Temporal, runs `work` with a client, then closes the connection. */
async function withClient<T>(config: TemporalSettings & CodecSettings & Pick<StoreSettings, 'dataDir'>, work: (client: Client) => Promise<T>): Promise<T> {
  const temporal = temporalConnectOptions(config);
  const { address } = temporal;
  const connection = await Connection.connect({ ...temporal, connectTimeout: '5s' }).catch((error: unknown) => {
    throw new MaestroError('UNAVAILABLE', `cannot reach Temporal at ${address} (is \`npm start\` running?)`, { cause: error });
  });
  try {
    return await work(new Client({ connection, namespace: config.temporalNamespace, dataConverter: maestroDataConverter(payloadCodec(config)) }));
  } finally {
    await connection.close();
  }
}

/**
 * Connects to Temporal and runs `work` with the launch context of `config` (store, audit log, policy decision
 * point) opened for `work` and closed after it.
 */
export function withLaunchContext<T>(config: CliLaunchSettings, work: (context: LaunchContext) => Promise<T>): Promise<T> {
  return withClient(config, async (client) => {
    const context = await openLaunchContext(config, client);
    try {
      return await work(context);
    } finally {
      await context.close();
    }
  });
}

/**
 * The CLI talks to Temporal and the database directly, so whoever can reach them acts as an
 * administrator: the principal is the local user with the admin role in every namespace. The
 * policy still decides each run start and task for it.
 */
export function localPrincipal(): Principal {
  return { subject: `local:${userInfo().username}`, roles: ['admin'], namespaces: ['*'] };
}
