/**
 * Whether the policy decision point can decide, for the processes' `/readyz`: the embedded PDP has
 * its bundle once it exists (`createPdp` throws without one); an OPA server is asked its
 * `/health?bundles`, which answers 200 only once its bundles are activated.
 */
import type { PdpConfig } from './create-pdp.js';

/** How long the OPA server's health answer may take. */
const HEALTH_TIMEOUT_MS = 2_000;

/**
 * True when the PDP `config` chooses has a policy loaded. Never throws: an unreachable OPA is false.
 *
 * @example
 * const checks = { policy: await policyReady(config) };
 */
export async function policyReady(config: PdpConfig): Promise<boolean> {
  if (config.policyMode !== 'remote') return true;
  const base = (config.opaUrl ?? 'http://127.0.0.1:8181').replace(/\/+$/, '');
  try {
    const res = await fetch(`${base}/health?bundles`, { signal: AbortSignal.timeout(HEALTH_TIMEOUT_MS) });
    await res.body?.cancel();
    return res.ok;
  } catch {
    // Unreachable or too slow: not ready, which is all a probe may say (no address, no error text).
    return false;
  }
}
