import { isIP } from 'node:net';

/**
 * A host as the WHATWG URL parser writes it, so the declared host and the one a connector names
 * compare equal however they were spelled: lower case, no brackets around IPv6, no trailing dot,
 * IPv4 shorthand expanded (`127.1` → `127.0.0.1`), IDN as punycode. A `*.` prefix is kept.
 *
 * @example normalizeHost('[::0001]') // '::1'
 */
export function normalizeHost(host: string): string {
  const bare = host.trim().replace(/^\[(.*)\]$/, '$1').replace(/\.$/, '');
  const wildcard = bare.startsWith('*.');
  const name = wildcard ? bare.slice(2) : bare;
  const literal = isIP(name) === 6 ? `[${name}]` : name;
  // Anything but a bare host (a port, userinfo, a path) is compared as written: it matches no
  // declared host, rather than being parsed into one.
  if (literal === name && /[\s:/@?#\\%]/.test(name)) return bare.toLowerCase();
  const parsed = URL.canParse(`http://${literal}/`) ? new URL(`http://${literal}/`).hostname.replace(/^\[(.*)\]$/, '$1') : name.toLowerCase();
  return wildcard ? `*.${parsed}` : parsed;
}
