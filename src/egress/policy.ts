import { lookup } from 'node:dns/promises';
import { networkInterfaces } from 'node:os';
import type { BlockList } from 'node:net';
import { TaskError } from '../errors/index.js';
import { DENIED_RANGES, LOCAL_RANGES, blockListOf, isCidr, normalizeAddress, parseCidr, parseEndpoint, type Endpoint, type IpFamily } from './ip-ranges.js';

/**
 * Per-namespace allow-lists: namespace → entries its tasks may reach although they are not public
 * (`"*"` applies to every namespace). The shape of the `MAESTRO_EGRESS_ALLOW` setting. An entry is
 * a CIDR (`10.20.0.0/16`, `::1/128`, a bare IP) or one exact endpoint `host:port`
 * (`10.0.0.5:7233`, `temporal:7233`, `[::1]:8080`): only an endpoint entry opens one of Maestro's
 * own endpoints, which a CIDR never does.
 *
 * @example { "default": ["127.0.0.0/8", "::1/128"], "payments": ["10.20.0.0/16"], "ops": ["temporal:7233"] }
 */
export type EgressAllowList = Readonly<Record<string, readonly string[]>>;

/** The result of checking one address. */
export type EgressDecision = { allowed: true } | { allowed: false; range: string; label: string };

/** The label of a refusal because the address is one of Maestro's own endpoints. */
export const INFRASTRUCTURE_LABEL = 'maestro-infrastructure';

/**
 * A task tried to reach an address its namespace may not reach (loopback, private, link-local,
 * metadata ..., or one of Maestro's own endpoints), or a container asked for a network its
 * namespace does not have. Not retryable: the same request would be refused again. Code
 * `EGRESS_DENIED`, distinct from `POLICY_DENIED` (the policy decision point said no), because the
 * remedy is different: the worker's `MAESTRO_EGRESS_ALLOW`, not the Rego policy.
 */
export class EgressDeniedError extends TaskError {
  constructor(
    readonly host: string,
    readonly address: string,
    readonly namespace: string,
    readonly label: string,
    readonly port?: number,
  ) {
    const where = port === undefined ? `${host} (${address})` : `${host}:${port} (${address})`;
    const remedy =
      label === INFRASTRUCTURE_LABEL
        ? `it is one of Maestro's own endpoints, reachable only if MAESTRO_EGRESS_ALLOW names "${host}:${port ?? ''}" for the namespace`
        : `${label} addresses are not allowed for namespace "${namespace}"; allow-list the range for the namespace in MAESTRO_EGRESS_ALLOW if this is intended`;
    super(`refused to connect to ${where}: ${remedy}`, {
      code: 'EGRESS_DENIED',
      retryable: false,
      details: { host, address, namespace, range: label, ...(port === undefined ? {} : { port }) },
    });
  }
}

/** A container asked for a network in a namespace whose containers may not have one. */
export class ContainerNetworkDeniedError extends TaskError {
  constructor(readonly namespace: string) {
    super(`containers of namespace "${namespace}" may not have a network (network: true); an admin allows it with MAESTRO_CONTAINER_NETWORK_NAMESPACES`, {
      code: 'EGRESS_DENIED',
      retryable: false,
      details: { namespace, range: 'container-network' },
    });
  }
}

/** Options of {@link EgressPolicy}. */
export interface EgressPolicyOptions {
  /** Non-public ranges and exact endpoints each namespace may reach. @default {} — public addresses only */
  allow?: EgressAllowList;
  /**
   * Maestro's own endpoints (`host:port`: Temporal frontend and UI, the API, the registry database,
   * the OPA server), refused to every task even inside an allow-listed range; see
   * {@link maestroEndpoints}. A loopback, unspecified or `localhost` host stands for every local
   * address of this machine at that port.
   * @default [] — none
   */
  infrastructure?: readonly string[];
  /** Namespaces whose containers and Jobs may have a network (`"*"`: every namespace). @default [] — none */
  containerNetwork?: readonly string[];
}

interface CompiledRange {
  cidr: string;
  label: string;
  list: BlockList;
}

/** An infrastructure endpoint: a port and the addresses that reach it. */
interface Guarded {
  endpoint: string;
  port: number;
  /** Addresses known now (IP literals; every local address for a local host). */
  addresses: BlockList;
  /** A host name other than localhost, resolved at the first connection (see {@link EgressPolicy.prepare}). */
  name?: string;
}

/** The addresses of this machine's network interfaces (beside loopback and unspecified). */
function interfaceAddresses(): string[] {
  return Object.values(networkInterfaces()).flatMap((entries) => (entries ?? []).map((entry) => entry.address));
}

/**
 * Which addresses tasks may connect to: every public address, the non-public ranges of
 * {@link DENIED_RANGES} only where the run's namespace allow-lists them, and Maestro's own
 * endpoints only where the namespace names that exact `host:port`. Build it once from config and
 * share it; bind it to a namespace with {@link EgressPolicy.guard}.
 *
 * @example
 * const policy = new EgressPolicy({ allow: { default: ['127.0.0.0/8'] }, infrastructure: ['127.0.0.1:7233'] });
 * policy.check('default', '127.0.0.1', 8080); // { allowed: true }
 * policy.check('default', '127.0.0.1', 7233); // { allowed: false, label: 'maestro-infrastructure', ... }
 * policy.check('other', '127.0.0.1', 8080);   // { allowed: false, range: '127.0.0.0/8', label: 'loopback' }
 */
export class EgressPolicy {
  private readonly denied: CompiledRange[];
  /** Namespace → its CIDR entries. */
  private readonly ranges = new Map<string, BlockList>();
  /** Namespace → its exact endpoint entries, as `host:port` with the host lower-cased. */
  private readonly endpoints = new Map<string, Set<string>>();
  private readonly infrastructure: Guarded[];
  private readonly containerNetwork: ReadonlySet<string>;
  private resolving: Promise<void> | undefined;

  /** @throws CidrError when an allow-list or infrastructure entry is neither a CIDR nor a `host:port`. */
  constructor({ allow = {}, infrastructure = [], containerNetwork = [] }: EgressPolicyOptions = {}) {
    this.denied = DENIED_RANGES.map(({ cidr, label }) => ({ cidr, label, list: blockListOf([cidr]) }));
    for (const [namespace, entries] of Object.entries(allow)) {
      this.ranges.set(namespace, blockListOf(entries.filter((entry) => isCidr(entry))));
      this.endpoints.set(namespace, new Set(entries.filter((entry) => !isCidr(entry)).map((entry) => endpointKey(parseEndpoint(entry)))));
    }
    this.infrastructure = infrastructure.map((entry) => guardedEndpoint(parseEndpoint(entry)));
    this.containerNetwork = new Set(containerNetwork);
  }

  /**
   * Resolves the infrastructure host names (once; a name that does not resolve guards nothing until
   * the next call). {@link EgressGuard} awaits it before each connection.
   */
  prepare(): Promise<void> {
    const names = this.infrastructure.filter((entry) => entry.name !== undefined);
    if (names.length === 0) return Promise.resolve();
    this.resolving ??= Promise.all(
      names.map(async (entry) => {
        const records = await lookup(entry.name ?? '', { all: true }).catch(() => []);
        for (const { address } of records) addAddress(entry.addresses, address);
      }),
    ).then(() => undefined);
    return this.resolving;
  }

  /**
   * Whether a task of `namespace` may connect to `address` (an IP address; anything else is
   * refused) at `port`. `host` is the name the task asked for, matched against endpoint entries.
   */
  check(namespace: string, address: string, port?: number, host?: string): EgressDecision {
    const normal = normalizeAddress(address);
    if (!normal) return { allowed: false, range: address, label: 'non-IP' };
    if (port !== undefined && this.endpointListed(namespace, port, [normal.address, host])) return { allowed: true };
    const own = port === undefined ? undefined : this.infrastructure.find((entry) => entry.port === port && entry.addresses.check(normal.address, normal.family));
    if (own) return { allowed: false, range: own.endpoint, label: INFRASTRUCTURE_LABEL };
    const hit = this.denied.find(({ list }) => list.check(normal.address, normal.family));
    if (!hit) return { allowed: true };
    if (this.rangeListed(namespace, normal.address, normal.family)) return { allowed: true };
    return { allowed: false, range: hit.cidr, label: hit.label };
  }

  /** Whether containers and Jobs of `namespace` may have a network. */
  allowsContainerNetwork(namespace: string): boolean {
    return this.containerNetwork.has(namespace) || this.containerNetwork.has('*');
  }

  private rangeListed(namespace: string, address: string, family: IpFamily): boolean {
    return [namespace, '*'].some((key) => this.ranges.get(key)?.check(address, family) ?? false);
  }

  private endpointListed(namespace: string, port: number, hosts: readonly (string | undefined)[]): boolean {
    const keys = hosts.filter((host): host is string => host !== undefined).map((host) => endpointKey({ host, port }));
    return [namespace, '*'].some((key) => keys.some((endpoint) => this.endpoints.get(key)?.has(endpoint) ?? false));
  }
}

function endpointKey({ host, port }: Endpoint): string {
  const normal = normalizeAddress(host);
  return `${normal ? normal.address : host.toLowerCase().replace(/\.$/, '')}:${port}`;
}

function addAddress(list: BlockList, address: string): void {
  const normal = normalizeAddress(address);
  if (normal) list.addAddress(normal.address, normal.family);
}

function guardedEndpoint(endpoint: Endpoint): Guarded {
  const entry: Guarded = { endpoint: `${endpoint.host}:${endpoint.port}`, port: endpoint.port, addresses: blockListOf([]) };
  const normal = normalizeAddress(endpoint.host);
  const local = endpoint.host.toLowerCase() === 'localhost' || (normal !== undefined && blockListOf(LOCAL_RANGES).check(normal.address, normal.family));
  if (local) {
    // A service on 127.0.0.1 or 0.0.0.0 may answer on every local address: guard them all.
    for (const cidr of LOCAL_RANGES) {
      const { address, prefix, family } = parseCidr(cidr);
      entry.addresses.addSubnet(address, prefix, family);
    }
    for (const address of interfaceAddresses()) addAddress(entry.addresses, address);
  } else if (normal) addAddress(entry.addresses, normal.address);
  else entry.name = endpoint.host;
  return entry;
}
