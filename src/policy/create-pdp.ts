import type { PolicySettings } from '../config/index.js';
import { ConfigError } from '../errors/index.js';
import { createEmbeddedPdp } from './embedded-pdp.js';
import { defaultBundlePath } from './paths.js';
import { createRemotePdp } from './remote-pdp.js';
import { createSigPdp } from './sig-pdp.js';
import type { PolicyDecisionPoint } from './types.js';

/** The settings {@link createPdp} reads. */
export type PdpConfig = PolicySettings;

/**
 * The PDP the configuration chooses: embedded (default; the wasm bundle at `policyBundle`, else
 * dist/policy/bundle.wasm.tar.gz) or remote (the OPA server at `opaUrl`, default
 * http://127.0.0.1:8181, `policyTimeoutMs` default 500, `policyOnUnavailable` default closed) or
 * sig (SIG's `POST /policy/evaluate` at `sigPolicyUrl`, with the same deadline and fallback).
 *
 * @throws {ConfigError} when the embedded bundle is missing or invalid, or `sig` has no URL.
 * @example
 * const pdp = await createPdp(loadConfig());
 */
export async function createPdp(config: PdpConfig): Promise<PolicyDecisionPoint> {
  if (config.policyMode === 'remote') {
    return createRemotePdp({
      url: config.opaUrl ?? 'http://127.0.0.1:8181',
      ...(config.policyTimeoutMs === undefined ? {} : { timeoutMs: config.policyTimeoutMs }),
      ...(config.policyOnUnavailable === undefined ? {} : { onUnavailable: config.policyOnUnavailable }),
    });
  }
  if (config.policyMode === 'sig') {
    if (config.sigPolicyUrl === undefined) throw new ConfigError('MAESTRO_POLICY_MODE=sig needs MAESTRO_SIG_POLICY_URL, the base URL of SIG');
    return createSigPdp({
      url: config.sigPolicyUrl,
      ...(config.sigPolicyTokenFile === undefined ? {} : { tokenFile: config.sigPolicyTokenFile }),
      ...(config.policyTimeoutMs === undefined ? {} : { timeoutMs: config.policyTimeoutMs }),
      ...(config.policyOnUnavailable === undefined ? {} : { onUnavailable: config.policyOnUnavailable }),
    });
  }
  return createEmbeddedPdp({ bundle: config.policyBundle ?? defaultBundlePath() });
}
