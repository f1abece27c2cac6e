import { AsyncLocalStorage } from 'node:async_hooks';
import { lookup } from 'node:dns/promises';
import { Agent as HttpAgent, type AgentOptions } from 'node:http';
import { Agent as HttpsAgent } from 'node:https';
import type { LookupAddress } from 'node:dns';
import { Socket, isIP, type LookupFunction, type NetConnectOpts } from 'node:net';
import { connect as tlsConnect, type ConnectionOptions } from 'node:tls';
import { ContainerNetworkDeniedError, EgressDeniedError, type EgressPolicy } from './policy.js';

/** An address a task may connect to, checked by {@link EgressGuard.target}. */
export interface CheckedTarget {
  /** The IP address to connect to: connect to exactly this one. */
  address: string;
  /** The host name the task asked for, for TLS (SNI and certificate check); undefined for an IP literal. */
  servername?: string;
}

/** Options of {@link EgressGuard.socket}. */
export interface GuardedSocketOptions {
  host: string;
  port: number;
  /** Wrap the connection in TLS with these options (`servername` defaults to `host` when it is a name). @default plaintext */
  tls?: ConnectionOptions;
}

/**
 * The {@link EgressDeniedError} behind a client's failure: the error itself or one of its causes
 * (undici rejects with a `TypeError` whose `cause` is the connector's error; other clients wrap
 * the socket's error the same way).
 */
export function egressRefusalOf(error: unknown): EgressDeniedError | undefined {
  let candidate: unknown = error;
  for (let depth = 0; depth < 8 && typeof candidate === 'object' && candidate !== null; depth++) {
    if (candidate instanceof EgressDeniedError) return candidate;
    candidate = (candidate as { cause?: unknown }).cause;
  }
  return undefined;
}

/** What {@link connectionCounter} counts in: the connections permitted so far. */
export interface ConnectionCount {
  connections: number;
}

/**
 * Counts the connections every guard permits inside `run(count, …)` — a task attempt's, whichever
 * guard its connector uses (its own `ctx.egress`, or a worker's pooled HTTP agent): the usage
 * ledger's connector calls. A pooled keep-alive connection reused by a later attempt is not
 * counted again.
 */
export const connectionCounter = new AsyncLocalStorage<ConnectionCount>();

/** The host `net.connect` is given so that it asks the guard's lookup, even for an IP literal (see `checkedConnect`). */
const CHECKED_HOST = 'egress-checked.invalid';

function bare(host: string): string {
  return host.replace(/^\[|\]$/g, '');
}

/** The addresses a host name stands for: itself when it is an IP literal, otherwise what DNS says. */
async function resolveAll(host: string): Promise<string[]> {
  if (isIP(host) !== 0) return [host];
  const records = await lookup(host, { all: true, verbatim: true });
  return records.map((record) => record.address);
}

/**
 * The egress guard of one namespace: every connection a task or runner opens for a run of that
 * namespace goes through it. It resolves the host itself, checks each address against the
 * {@link EgressPolicy} (with the port, for Maestro's own endpoints), and hands back the first
 * permitted address to connect to, so a DNS answer cannot change between check and connection.
 * One adapter per kind of client: {@link EgressGuard.target} for clients given an address
 * (gRPC, NATS, undici), {@link EgressGuard.socket} for clients that take a socket (kafkajs,
 * pg), {@link EgressGuard.httpAgent} / {@link EgressGuard.httpsAgent} for Node's HTTP stack
 * (the AWS SDK).
 *
 * @example
 * const { address, servername } = await ctx.egress.target('greeter.internal', 50051);
 */
export class EgressGuard {
  /** The first refusal of this guard: what a client that wraps socket errors without their cause (kafkajs) really met. */
  private firstRefusal: EgressDeniedError | undefined;

  constructor(
    readonly policy: EgressPolicy,
    /** The namespace whose allow-list applies. */
    readonly namespace: string,
  ) {}

  /**
   * The checked address to connect to for `host:port`.
   * @throws {@link EgressDeniedError} when no address of `host` is permitted; a DNS error when it does not resolve.
   */
  async target(host: string, port: number): Promise<CheckedTarget> {
    const name = bare(host);
    await this.policy.prepare();
    const addresses = await resolveAll(name);
    let refusal: EgressDeniedError | undefined;
    for (const address of addresses) {
      const decision = this.policy.check(this.namespace, address, port, name);
      if (decision.allowed) {
        const counter = connectionCounter.getStore();
        if (counter !== undefined) counter.connections += 1;
        return { address, ...(isIP(name) === 0 ? { servername: name } : {}) };
      }
      refusal ??= new EgressDeniedError(name, address, this.namespace, decision.label, port);
    }
    const denied = refusal ?? new EgressDeniedError(name, name, this.namespace, 'unresolved', port);
    this.firstRefusal ??= denied;
    throw denied;
  }

  /** The first connection this guard refused, if any. */
  get refusal(): EgressDeniedError | undefined {
    return this.firstRefusal;
  }

  /**
   * A socket that connects to `host:port` once the guard has checked it (an `EgressDeniedError`
   * destroys it before any packet is sent), with TLS verifying the original host name when asked.
   * Returned at once, still connecting, like `net.connect`.
   */
  socket({ host, port, tls }: GuardedSocketOptions): Socket {
    const raw = new Socket().connect(this.checkedConnect(host, port));
    if (!tls) return raw;
    const servername = tls.servername ?? (isIP(bare(host)) === 0 ? bare(host) : undefined);
    const secure = tlsConnect({ ...tls, socket: raw, ...(servername ? { servername } : {}) });
    // The TLS socket does not see errors of the socket it wraps before the handshake starts.
    raw.once('error', (error) => secure.destroy(error));
    return secure;
  }

  /**
   * An unconnected socket for clients that call `connect(port, host)` on the socket they are given
   * (pg's `stream` option): that call is checked by the guard and connects to the checked address
   * (TLS, which such clients add on top, verifies the original host name). A Unix socket path is
   * refused: it reaches this machine's own services.
   */
  clientSocket(): Socket {
    const socket = new Socket();
    const connect = socket.connect.bind(socket) as (options: NetConnectOpts) => Socket;
    const guarded = (port: unknown, host?: unknown): Socket => {
      if (typeof port === 'string' && !/^\d+$/.test(port)) {
        process.nextTick(() => socket.destroy(new EgressDeniedError(port, port, this.namespace, 'unix-socket')));
        return socket;
      }
      return connect(this.checkedConnect(typeof host === 'string' ? host : 'localhost', Number(port)));
    };
    return Object.assign(socket, { connect: guarded });
  }

  /**
   * `net.connect` options whose address comes from {@link EgressGuard.target}: the socket is
   * connecting at once (so clients may write before it connects), Node's own lookup is replaced by
   * the guard's check, and the connection goes to the checked address. The host Node sees is a
   * placeholder name because Node skips the lookup for an IP literal.
   */
  private checkedConnect(host: string, port: number): NetConnectOpts {
    const lookup: LookupFunction = (_placeholder, options, callback) => {
      this.target(host, port).then(
        ({ address }) => {
          const family = isIP(address);
          if (options.all) (callback as unknown as (error: null, addresses: LookupAddress[]) => void)(null, [{ address, family }]);
          else callback(null, address, family);
        },
        (error: unknown) => callback(error as NodeJS.ErrnoException, '', 0),
      );
    };
    return { host: CHECKED_HOST, port, lookup };
  }

  /** A Node `http.Agent` whose every connection goes through {@link EgressGuard.socket}. */
  httpAgent(options: AgentOptions = {}): HttpAgent {
    const socket = (connection: NetConnectOpts & { host?: string | null; port?: number | string | null }): Socket =>
      this.socket({ host: connection.host ?? 'localhost', port: Number(connection.port ?? 80) });
    return Object.assign(new HttpAgent(options), { createConnection: socket });
  }

  /** A Node `https.Agent` whose every connection goes through {@link EgressGuard.socket}, TLS verifying the host name. */
  httpsAgent(options: AgentOptions = {}): HttpsAgent {
    const socket = (connection: ConnectionOptions): Socket =>
      this.socket({ host: connection.host ?? 'localhost', port: Number(connection.port ?? 443), tls: { ...connection, socket: undefined } });
    return Object.assign(new HttpsAgent(options), { createConnection: socket });
  }

  /** @throws {@link ContainerNetworkDeniedError} unless this namespace's containers may have a network. */
  requireContainerNetwork(): void {
    if (!this.policy.allowsContainerNetwork(this.namespace)) throw new ContainerNetworkDeniedError(this.namespace);
  }
}
