import { MaestroError } from '../errors/index.js';
import { SECRET_NAME, type SecretSource } from './scoped.js';

/** Options of {@link vaultSource}. */
export interface VaultSourceOptions {
  /** Base URL of the server, e.g. `https://vault.internal:8200`. */
  addr: string;
  /** The token Maestro reads with (sent as `X-Vault-Token`). */
  token: string;
  /** Mount path of the KV v2 engine. @default 'secret' */
  mount?: string;
  /** Path under the mount holding one entry per secret. @default 'maestro' */
  prefix?: string;
  /** How long one read may take. @default 5000 */
  timeoutMs?: number;
}

/** Largest response read: a KV entry holding a credential is a few kilobytes at most. */
const MAX_RESPONSE_BYTES = 1024 * 1024;

/**
 * Secrets from a HashiCorp Vault or OpenBao KV v2 engine (the API both serve): secret `db-url` is
 * the field `value` of the newest version of `<mount>/data/<prefix>/db-url`. Read through Node's
 * fetch at each resolution — no cache, so a rotated or revoked secret takes effect at the next
 * attempt, for one local round trip per secret per attempt. Redirects are refused (fetch would
 * carry the token to wherever a redirect points), responses are bounded, and errors quote neither
 * the token nor a response body (which may hold values).
 *
 * @example vaultSource({ addr: 'https://vault.internal:8200', token: config.vaultToken })
 */
export function vaultSource(options: VaultSourceOptions): SecretSource {
  const { addr, token, mount = 'secret', prefix = 'maestro', timeoutMs = 5000 } = options;
  const base = `${addr.replace(/\/+$/, '')}/v1/${mount}/data/${prefix}/`;
  const label = `Vault at ${addr} (${mount}/${prefix})`;
  return {
    label,
    key: (name) => name,
    async read(name, signal) {
      if (!SECRET_NAME.test(name)) return undefined;
      const timeout = AbortSignal.timeout(timeoutMs);
      let response: Response;
      try {
        response = await fetch(`${base}${encodeURIComponent(name)}`, {
          headers: { 'X-Vault-Token': token, accept: 'application/json' },
          redirect: 'error',
          signal: signal ? AbortSignal.any([signal, timeout]) : timeout,
        });
      } catch (error) {
        signal?.throwIfAborted();
        throw unavailable(`${label} cannot be reached${timeout.aborted ? ` within ${timeoutMs} ms` : ''}`, error);
      }
      if (response.status === 404) {
        await response.body?.cancel();
        return undefined;
      }
      if (!response.ok) {
        await response.body?.cancel();
        if (response.status === 429 || response.status >= 500) throw unavailable(`${label} answered ${response.status} for secret "${name}"`);
        const why = response.status === 403 ? ': the token is invalid, expired, or its policy cannot read this path' : '';
        throw new MaestroError('CONFIG_INVALID', `${label} refused to read secret "${name}" (${response.status})${why}`, { retryable: false });
      }
      const value = field(await boundedJson(response, label, signal));
      if (value === undefined) throw new MaestroError('CONFIG_INVALID', `${label}: the entry of secret "${name}" has no string field "value"`, { retryable: false });
      return value;
    },
  };
}

function unavailable(message: string, cause?: unknown): MaestroError {
  return new MaestroError('PEER_UNAVAILABLE', message, cause === undefined ? {} : { cause });
}

/** The response's JSON, read up to {@link MAX_RESPONSE_BYTES}. */
async function boundedJson(response: Response, label: string, signal: AbortSignal | undefined): Promise<unknown> {
  const chunks: Uint8Array[] = [];
  let size = 0;
  const reader = response.body?.getReader();
  try {
    for (;;) {
      const { done, value } = reader ? await reader.read() : { done: true, value: undefined };
      if (done) break;
      size += value.byteLength;
      if (size > MAX_RESPONSE_BYTES) throw unavailable(`${label} sent more than ${MAX_RESPONSE_BYTES} bytes`);
      chunks.push(value);
    }
  } catch (error) {
    signal?.throwIfAborted();
    throw error instanceof MaestroError ? error : unavailable(`${label}: the response broke off`, error);
  } finally {
    // Releases the connection; cancelling a stream that ended or failed has nothing to report.
    await reader?.cancel().catch(() => undefined);
  }
  try {
    return JSON.parse(Buffer.concat(chunks).toString('utf8')) as unknown;
  } catch {
    // The body is not quoted: it may hold values.
    throw unavailable(`${label} did not answer JSON`);
  }
}

/** `data.data.value` of a KV v2 read response, when it is a string. */
function field(body: unknown): string | undefined {
  const outer = typeof body === 'object' && body !== null ? (body as { data?: unknown }).data : undefined;
  const inner = typeof outer === 'object' && outer !== null ? (outer as { data?: unknown }).data : undefined;
  const value = typeof inner === 'object' && inner !== null ? (inner as { value?: unknown }).value : undefined;
  return typeof value === 'string' ? value : undefined;
}
