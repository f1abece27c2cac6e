/**
 * The remote PDP: an OPA server asked over its REST API (`POST /v1/data/maestro/decision`), with a
 * deadline. When OPA cannot answer (down, slow, erroring), the namespace's fallback decides:
 * closed (deny, the default) or open (allow), and the decision says so.
 */
import { Pool } from 'undici';
import { ConfigError } from '../errors/index.js';
import { auditRecordId } from '../store/index.js';
import { DECISION_ENTRYPOINT, fallbackDecision, readDecision } from './decision.js';
import { canonicalInput } from './input.js';
import type { PolicyDecision, PolicyDecisionPoint, PolicyInput } from './types.js';

/** Options of {@link createRemotePdp}. */
export interface RemotePdpOptions {
  /** Base URL of the OPA server, e.g. `http://opa:8181` (a path prefix is kept). */
  url: string;
  /**
   * Milliseconds to wait for OPA's answer, connection included.
   * @default 500
   */
  timeoutMs?: number;
  /**
   * Per namespace, the decision when OPA cannot answer: `open` allows, `closed` denies.
   * @default {} — closed everywhere
   */
  onUnavailable?: Readonly<Record<string, string>>;
  /**
   * Keep-alive connections to OPA, at most.
   * @default 16
   */
  connections?: number;
}

interface OpaResponse {
  result?: unknown;
  provenance?: { bundles?: Record<string, { revision?: unknown }> };
}

/** The revision(s) of the bundles the server loaded, from `?provenance=true`. */
function revisionOf(response: OpaResponse): string {
  const bundles = Object.entries(response.provenance?.bundles ?? {});
  const revisions = bundles.map(([name, bundle]) => (typeof bundle.revision === 'string' && bundle.revision !== '' ? bundle.revision : `unrevisioned:${name}`));
  if (revisions.length === 0) return 'unrevisioned:opa-server';
  return revisions.length === 1 ? (revisions[0] as string) : revisions.sort().join(',');
}

/**
 * A PDP that asks an OPA server. Decisions never throw: an unreachable OPA is a `fallback`
 * decision. An OPA that answers without a `maestro/decision` document (the policy is not loaded)
 * is a denial in every namespace — a misconfiguration, not an outage.
 *
 * @example
 * const pdp = createRemotePdp({ url: 'http://127.0.0.1:8181', timeoutMs: 250, onUnavailable: { sandbox: 'open' } });
 */
export function createRemotePdp(options: RemotePdpOptions): PolicyDecisionPoint {
  const { url, timeoutMs = 500, onUnavailable = {}, connections = 16 } = options;
  if (!URL.canParse(url)) throw new ConfigError(`MAESTRO_OPA_URL "${url}" is not a URL`);
  const base = new URL(url.endsWith('/') ? url : `${url}/`);
  const path = `${new URL(`v1/data/${DECISION_ENTRYPOINT}`, base).pathname}?provenance=true`;
  const pool = new Pool(base.origin, { connections, connectTimeout: timeoutMs, keepAliveTimeout: 30_000 });
  const where = `OPA at ${base.origin}${base.pathname === '/' ? '' : base.pathname}`;

  async function ask(inputJson: string): Promise<OpaResponse> {
    const response = await pool.request({
      method: 'POST',
      path,
      headers: { 'content-type': 'application/json' },
      body: `{"input":${inputJson}}`,
      signal: AbortSignal.timeout(timeoutMs),
    });
    const text = await response.body.text();
    if (response.statusCode !== 200) throw new Error(`HTTP ${response.statusCode}: ${text.slice(0, 300)}`);
    return JSON.parse(text) as OpaResponse;
  }

  return {
    mode: 'remote',
    async decide(input: PolicyInput): Promise<PolicyDecision> {
      const decisionId = auditRecordId();
      const { json, digest } = canonicalInput(input);
      let response: OpaResponse;
      try {
        response = await ask(json);
      } catch (error) {
        return { ...fallbackDecision(where, error as Error, { namespace: input.run.namespace, timeoutMs, onUnavailable }), decisionId, inputDigest: digest };
      }
      const bundleRevision = revisionOf(response);
      const answer = readDecision(response.result);
      if (!answer) {
        return { allow: false, reasons: [`${where} has no ${DECISION_ENTRYPOINT} decision: load Maestro's policy bundle (dist/policy/bundle.tar.gz) into it`], decisionId, bundleRevision, inputDigest: digest };
      }
      return { ...answer, decisionId, bundleRevision, inputDigest: digest };
    },
    close: () => pool.close(),
  };
}
