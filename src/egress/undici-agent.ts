import { Agent, buildConnector, type Dispatcher } from 'undici';
import type { EgressGuard } from './guard.js';

/** Options of {@link createEgressAgent}. */
export interface EgressAgentOptions {
  /** The guard of the namespace whose allow-list applies. */
  guard: EgressGuard;
  /** @default 10000 */
  connectTimeoutMs?: number;
}

/**
 * An undici connector that connects only to the address the guard checked (TLS still verifies the
 * original host name), so a DNS answer cannot change between the check and the connection. No
 * allowed address: the connection fails with `EgressDeniedError` before any packet is sent.
 */
function guardedConnector(guard: EgressGuard, timeout: number): buildConnector.connector {
  const connect = buildConnector({ timeout });
  return (options, callback) => {
    const port = Number(options.port || (options.protocol === 'https:' ? 443 : 80));
    guard.target(options.hostname, port).then(
      ({ address, servername }) => connect({ ...options, hostname: address, ...(options.servername ?? servername ? { servername: options.servername ?? servername } : {}) }, callback),
      (error: unknown) => callback(error instanceof Error ? error : new Error(String(error)), null),
    );
  };
}

/**
 * An undici dispatcher for `fetch(..., { dispatcher })` whose every connection, redirects included,
 * is checked by `guard` at connect time. Keep one per namespace: pooled connections are only ever
 * reused by requests of the namespace they were checked for.
 */
export function createEgressAgent({ guard, connectTimeoutMs = 10_000 }: EgressAgentOptions): Dispatcher {
  return new Agent({ connect: guardedConnector(guard, connectTimeoutMs) });
}
