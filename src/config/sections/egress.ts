/** Settings of the egress guard: which non-public addresses each namespace's tasks may reach. */
import { Type } from '@sinclair/typebox';
import { CidrError, isCidr, parseEndpoint } from '../../egress/index.js';
import { NAMESPACE_PATTERN, jsonOrValue } from '../decode.js';
import { SettingValueError, section, setting, type SettingsOf } from '../setting.js';

/** A CIDR (`10.0.0.0/8`, `::1/128`), a bare IP address, or one `host:port` endpoint. */
function isAllowEntry(text: string): boolean {
  if (isCidr(text)) return true;
  try {
    parseEndpoint(text);
    return true;
  } catch (error) {
    if (error instanceof CidrError) return false;
    throw error;
  }
}

function egressAllowList(raw: unknown): Readonly<Record<string, readonly string[]>> {
  const value = jsonOrValue(raw);
  if (value === null || typeof value !== 'object' || Array.isArray(value)) {
    throw new SettingValueError('must map namespaces to CIDR lists, e.g. {"default":["127.0.0.0/8"]}');
  }
  const allow: Record<string, readonly string[]> = {};
  for (const [namespace, cidrs] of Object.entries(value)) {
    if (namespace !== '*' && !NAMESPACE_PATTERN.test(namespace)) throw new SettingValueError(`has an invalid namespace name "${namespace}"`);
    if (!Array.isArray(cidrs) || !cidrs.every((cidr): cidr is string => typeof cidr === 'string' && isAllowEntry(cidr.trim()))) {
      throw new SettingValueError(`"${namespace}" must be a list of CIDR ranges such as "10.0.0.0/8" or "::1/128", or host:port endpoints`);
    }
    allow[namespace] = Object.freeze(cidrs.map((cidr) => cidr.trim()));
  }
  return Object.freeze(allow);
}

/** An allow-list as comparable text: the order of namespaces and of their entries does not matter. */
function allowListKey(allow: unknown): string {
  const lists = allow as Readonly<Record<string, readonly string[]>>;
  return JSON.stringify(Object.keys(lists).sort().map((namespace) => [namespace, [...new Set(lists[namespace])].sort()]));
}

/** The egress guard's allow-lists. */
export const egressSection = section('egress', 'What the egress guard lets tasks reach besides public addresses, whatever opens the connection.', {
  egressAllow: setting(Type.Record(Type.String(), Type.Array(Type.String())), {
    env: 'MAESTRO_EGRESS_ALLOW',
    decode: egressAllowList,
    default: {},
    formerly: { env: 'MAESTRO_HTTP_ALLOW', key: 'httpAllow', same: (a, b) => allowListKey(a) === allowListKey(b) },
    description:
      'Non-public address ranges and exact endpoints each namespace\'s tasks may reach (HTTP, gRPC, Kafka, NATS, S3, PostgreSQL, functions): JSON (in the file, a mapping) of namespace → list, `"*"` for every namespace, e.g. `{"default":["127.0.0.0/8","::1/128"],"payments":["10.20.0.0/16"],"ops":["temporal:7233"]}`. An entry is a CIDR or one `host:port`. Loopback, private, link-local, CGNAT and metadata addresses are refused to every namespace not listed; Maestro\'s own endpoints (Temporal frontend and UI, the API, the registry database, OPA) are refused even inside a listed range, unless the exact `host:port` is listed. `{}`: public addresses only.',
  }),
});

/** The egress guard (see {@link egressSection}). */
export type EgressSettings = SettingsOf<typeof egressSection>;
