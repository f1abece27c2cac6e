import type { BlockList } from 'node:net';
import { TaskError } from '../../../errors/index.js';
import { DENIED_RANGES, blockListOf, normalizeAddress, type IpFamily } from './ip-ranges.js';

/**
 * Per-namespace allow-lists: namespace → CIDRs its HTTP tasks may reach although they are not
 * public (`"*"` applies to every namespace). The shape of the `MAESTRO_HTTP_ALLOW` setting.
 *
 * @example { "default": ["127.0.0.0/8", "::1/128"], "payments": ["10.20.0.0/16"] }
 */
export type HttpAllowList = Readonly<Record<string, readonly string[]>>;

/** The result of checking one address. */
export type EgressDecision = { allowed: true } | { allowed: false; range: string; label: string };

/**
 * An HTTP task tried to reach an address its namespace may not reach (loopback, private,
 * link-local, metadata ...). Not retryable: the same request would be refused again.
 */
export class EgressDeniedError extends TaskError {
  constructor(
    readonly host: string,
    readonly address: string,
    readonly namespace: string,
    readonly label: string,
  ) {
    super(
      `refused to connect to ${host} (${address}): ${label} addresses are not allowed for namespace "${namespace}"; ` +
        'allow-list the range for the namespace in MAESTRO_HTTP_ALLOW if this is intended',
      { code: 'POLICY_DENIED', retryable: false, details: { host, address, namespace, range: label } },
    );
  }
}

interface CompiledRange {
  cidr: string;
  label: string;
  list: BlockList;
}

/**
 * Which addresses HTTP tasks may connect to: every public address, and the non-public ranges of
 * {@link DENIED_RANGES} only where the run's namespace allow-lists them. Immutable; build it once
 * from config and share it.
 *
 * @example
 * const policy = new EgressPolicy({ default: ['127.0.0.0/8'] });
 * policy.check('default', '127.0.0.1'); // { allowed: true }
 * policy.check('other', '127.0.0.1');   // { allowed: false, range: '127.0.0.0/8', label: 'loopback' }
 */
export class EgressPolicy {
  private readonly denied: CompiledRange[];
  private readonly allowed = new Map<string, BlockList>();

  /** @throws CidrError when an allow-list entry is not a CIDR. */
  constructor(allow: HttpAllowList = {}) {
    this.denied = DENIED_RANGES.map(({ cidr, label }) => ({ cidr, label, list: blockListOf([cidr]) }));
    for (const [namespace, cidrs] of Object.entries(allow)) this.allowed.set(namespace, blockListOf(cidrs));
  }

  /** Whether a task of `namespace` may connect to `address` (an IP address; anything else is refused). */
  check(namespace: string, address: string): EgressDecision {
    const normal = normalizeAddress(address);
    if (!normal) return { allowed: false, range: address, label: 'non-IP' };
    const hit = this.denied.find(({ list }) => list.check(normal.address, normal.family));
    if (!hit) return { allowed: true };
    if (this.allowListed(namespace, normal.address, normal.family)) return { allowed: true };
    return { allowed: false, range: hit.cidr, label: hit.label };
  }

  private allowListed(namespace: string, address: string, family: IpFamily): boolean {
    return [namespace, '*'].some((key) => this.allowed.get(key)?.check(address, family) ?? false);
  }
}
