import type { PolicySettings } from '../config/index.js';
import { createEmbeddedPdp } from './embedded-pdp.js';
import { defaultBundlePath } from './paths.js';
import { createRemotePdp } from './remote-pdp.js';
import type { PolicyDecisionPoint } from './types.js';

/** The settings {@link createPdp} reads. */
export type PdpConfig = PolicySettings;

/**
 * The PDP the configuration chooses: embedded (default; the wasm bundle at `policyBundle`, else
 * dist/policy/bundle.wasm.tar.gz) or remote (the OPA server at `opaUrl`, default
 * http://127.0.0.1:8181, `policyTimeoutMs` default 500, `policyOnUnavailable` default closed).
 *
 * @throws {ConfigError} when the embedded bundle is missing or invalid.
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
  return createEmbeddedPdp({ bundle: config.policyBundle ?? defaultBundlePath() });
}
