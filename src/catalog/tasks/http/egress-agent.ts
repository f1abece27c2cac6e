import { lookup } from 'node:dns/promises';
import { isIP } from 'node:net';
import { Agent, buildConnector, type Dispatcher } from 'undici';
import { EgressDeniedError, type EgressPolicy } from './egress-policy.js';

/** Options of {@link createEgressAgent}. */
export interface EgressAgentOptions {
  policy: EgressPolicy;
  /** The namespace whose allow-list applies. */
  namespace: string;
  /** @default 10000 */
  connectTimeoutMs?: number;
}

type ConnectOptions = buildConnector.Options;
type Connector = buildConnector.connector;

/** The addresses a host name stands for: itself when it is an IP literal, otherwise what DNS says. */
async function resolveAll(hostname: string): Promise<string[]> {
  const bare = hostname.replace(/^\[|\]$/g, '');
  if (isIP(bare) !== 0) return [bare];
  const records = await lookup(bare, { all: true, verbatim: true });
  return records.map((record) => record.address);
}

/**
 * An undici connector that checks the address it is about to connect to: it resolves the host
 * itself, keeps the first address the policy allows, and connects to that exact address (TLS still
 * verifies the original host name), so a DNS answer cannot change between the check and the
 * connection. No allowed address: the connection fails with {@link EgressDeniedError} before any
 * packet is sent.
 */
function guardedConnector(policy: EgressPolicy, namespace: string, timeout: number): Connector {
  const connect = buildConnector({ timeout });
  return (options: ConnectOptions, callback) => {
    const { hostname } = options;
    resolveAll(hostname).then(
      (addresses) => {
        const decisions = addresses.map((address) => ({ address, decision: policy.check(namespace, address) }));
        const permitted = decisions.find(({ decision }) => decision.allowed);
        if (!permitted) {
          const first = decisions[0];
          const label = first && !first.decision.allowed ? first.decision.label : 'unresolved';
          callback(new EgressDeniedError(hostname, first?.address ?? hostname, namespace, label), null);
          return;
        }
        const servername = options.servername ?? (isIP(hostname.replace(/^\[|\]$/g, '')) === 0 ? hostname : undefined);
        connect({ ...options, hostname: permitted.address, ...(servername ? { servername } : {}) }, callback);
      },
      (error: unknown) => callback(error instanceof Error ? error : new Error(String(error)), null),
    );
  };
}

/**
 * An undici dispatcher for `fetch(..., { dispatcher })` whose every connection, redirects included,
 * is checked against `policy` for `namespace` at connect time. Keep one per namespace: pooled
 * connections are only ever reused by requests of the namespace they were checked for.
 */
export function createEgressAgent({ policy, namespace, connectTimeoutMs = 10_000 }: EgressAgentOptions): Dispatcher {
  return new Agent({ connect: guardedConnector(policy, namespace, connectTimeoutMs) });
}
