import { BlockList, isIP } from 'node:net';

/** An IP address family as `net.BlockList` names it. */
export type IpFamily = 'ipv4' | 'ipv6';

/** A named address range. */
export interface NamedRange {
  cidr: string;
  /** Why it is refused by default, e.g. `loopback`, `private`, `metadata`. */
  label: string;
}

/** The addresses that reach this machine itself: loopback, and unspecified (0.0.0.0 connects locally on Linux). */
export const LOCAL_RANGES: readonly string[] = ['127.0.0.0/8', '::1/128', '0.0.0.0/32', '::/128'];

/**
 * Ranges a task may not reach unless its namespace allow-lists them: anything that is not
 * the public internet. The cloud metadata address sits before link-local so it is named as such.
 */
export const DENIED_RANGES: readonly NamedRange[] = [
  { cidr: '169.254.169.254/32', label: 'metadata' },
  { cidr: '0.0.0.0/8', label: 'unspecified' },
  { cidr: '10.0.0.0/8', label: 'private' },
  { cidr: '100.64.0.0/10', label: 'cgnat' },
  { cidr: '127.0.0.0/8', label: 'loopback' },
  { cidr: '169.254.0.0/16', label: 'link-local' },
  { cidr: '172.16.0.0/12', label: 'private' },
  { cidr: '192.0.0.0/24', label: 'reserved' },
  { cidr: '192.0.2.0/24', label: 'documentation' },
  { cidr: '192.168.0.0/16', label: 'private' },
  { cidr: '198.18.0.0/15', label: 'benchmarking' },
  { cidr: '198.51.100.0/24', label: 'documentation' },
  { cidr: '203.0.113.0/24', label: 'documentation' },
  { cidr: '224.0.0.0/4', label: 'multicast' },
  { cidr: '240.0.0.0/4', label: 'reserved' },
  { cidr: 'fd00:ec2::254/128', label: 'metadata' },
  { cidr: '::/128', label: 'unspecified' },
  { cidr: '::1/128', label: 'loopback' },
  // IPv4-compatible (deprecated) and NAT64 addresses embed an IPv4 address a gateway may forward to.
  { cidr: '::/96', label: 'ipv4-embedded' },
  { cidr: '64:ff9b::/96', label: 'ipv4-embedded' },
  { cidr: '64:ff9b:1::/48', label: 'ipv4-embedded' },
  { cidr: '2002::/16', label: 'ipv4-embedded' },
  { cidr: '100::/64', label: 'discard' },
  { cidr: '2001:db8::/32', label: 'documentation' },
  { cidr: 'fc00::/7', label: 'unique-local' },
  { cidr: 'fe80::/10', label: 'link-local' },
  { cidr: 'fec0::/10', label: 'site-local' },
  { cidr: 'ff00::/8', label: 'multicast' },
];

/** A CIDR that does not parse: `address/prefix` with a valid address and prefix length. */
export class CidrError extends Error {
  override name = 'CidrError';
}

/** Parses `10.0.0.0/8`, `::1/128` or a bare address (a single host). @throws {@link CidrError} */
export function parseCidr(cidr: string): { address: string; prefix: number; family: IpFamily } {
  const [rawAddress = '', prefixText, ...rest] = cidr.trim().split('/');
  const version = isIP(rawAddress);
  if (version === 0 || rest.length > 0) throw new CidrError(`"${cidr}" is not an IP address or CIDR range`);
  const family: IpFamily = version === 4 ? 'ipv4' : 'ipv6';
  const bits = version === 4 ? 32 : 128;
  const prefix = prefixText === undefined ? bits : Number(prefixText);
  if (!/^\d{1,3}$/.test(prefixText ?? String(bits)) || prefix > bits) {
    throw new CidrError(`"${cidr}": the prefix length must be an integer from 0 to ${bits}`);
  }
  return { address: rawAddress, prefix, family };
}

/** Whether `text` is a CIDR (`10.0.0.0/8`, `::1/128`) or a bare IP address. */
export function isCidr(text: string): boolean {
  try {
    parseCidr(text);
    return true;
  } catch (error) {
    if (error instanceof CidrError) return false;
    throw error;
  }
}

/** One exact network endpoint. */
export interface Endpoint {
  /** An IP address (without brackets) or a host name. */
  host: string;
  port: number;
}

/**
 * Parses `host:port`, `1.2.3.4:80` or `[::1]:8080` (a port from 1 to 65535; a host name of
 * letters, digits, dots, dashes and underscores). @throws {@link CidrError}
 */
export function parseEndpoint(text: string): Endpoint {
  const match = /^(?:\[([0-9a-fA-F:.]+)\]|([A-Za-z0-9_.-]+)):(\d{1,5})$/.exec(text.trim());
  const host = match?.[1] ?? match?.[2];
  const port = Number(match?.[3]);
  if (host === undefined || !(port >= 1 && port <= 65535) || (match?.[1] !== undefined && isIP(host) !== 6)) {
    throw new CidrError(`"${text}" is neither a CIDR range nor a host:port endpoint`);
  }
  return { host, port };
}

/** A `BlockList` holding the given CIDRs. @throws {@link CidrError} */
export function blockListOf(cidrs: Iterable<string>): BlockList {
  const list = new BlockList();
  for (const cidr of cidrs) {
    const { address, prefix, family } = parseCidr(cidr);
    list.addSubnet(address, prefix, family);
  }
  return list;
}

/** The eight 16-bit groups of an IPv6 address (which must be valid, without brackets or zone). */
function ipv6Groups(address: string): number[] {
  let text = address.toLowerCase();
  const dotted = /(\d+\.\d+\.\d+\.\d+)$/.exec(text);
  if (dotted?.[1]) {
    const [a = 0, b = 0, c = 0, d = 0] = dotted[1].split('.').map(Number);
    text = `${text.slice(0, dotted.index)}${((a << 8) | b).toString(16)}:${((c << 8) | d).toString(16)}`;
  }
  const [head = '', tail] = text.split('::');
  const parse = (part: string): number[] => (part === '' ? [] : part.split(':').map((group) => parseInt(group, 16)));
  const front = parse(head);
  const back = tail === undefined ? [] : parse(tail);
  return [...front, ...Array<number>(8 - front.length - back.length).fill(0), ...back];
}

/**
 * An address as it will be checked: brackets and zone ids removed, and an IPv4-mapped IPv6 address
 * (`::ffff:127.0.0.1`, `::ffff:7f00:1`, `0:0:0:0:0:ffff:7f00:1`) turned into its IPv4 address, so
 * it meets the IPv4 rules. Returns undefined for text that is not an IP address.
 */
export function normalizeAddress(raw: string): { address: string; family: IpFamily } | undefined {
  const address = raw.replace(/^\[|\]$/g, '').replace(/%.*$/, '');
  const version = isIP(address);
  if (version === 4) return { address, family: 'ipv4' };
  if (version !== 6) return undefined;
  const groups = ipv6Groups(address);
  const mapped = groups.slice(0, 5).every((group) => group === 0) && groups[5] === 0xffff;
  if (!mapped) return { address, family: 'ipv6' };
  const [high = 0, low = 0] = groups.slice(6);
  return { address: [high >> 8, high & 0xff, low >> 8, low & 0xff].join('.'), family: 'ipv4' };
}
