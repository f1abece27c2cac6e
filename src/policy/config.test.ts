import { describe, expect, it } from 'vitest';
import { loadConfig } from '../config/index.js';

describe('policy settings', () => {
  it('default to the embedded PDP, failing closed everywhere', () => {
    const config = loadConfig({});
    expect(config.policyMode).toBeUndefined();
    expect(config.policyOnUnavailable).toBeUndefined();
  });

  it('read MAESTRO_POLICY_* and MAESTRO_OPA_URL', () => {
    const config = loadConfig({
      MAESTRO_POLICY_MODE: 'Remote',
      MAESTRO_OPA_URL: 'http://opa:8181',
      MAESTRO_POLICY_TIMEOUT_MS: '250',
      MAESTRO_POLICY_ON_UNAVAILABLE: 'sandbox=open,default=closed',
    });
    expect(config).toMatchObject({ policyMode: 'remote', opaUrl: 'http://opa:8181', policyTimeoutMs: 250, policyOnUnavailable: { sandbox: 'open', default: 'closed' } });
  });

  it('refuse values that would silently weaken the gate', () => {
    expect(() => loadConfig({ MAESTRO_POLICY_MODE: 'off' })).toThrow(/MAESTRO_POLICY_MODE must be embedded, remote or sig/);
    expect(() => loadConfig({ MAESTRO_POLICY_ON_UNAVAILABLE: 'sandbox=allow' })).toThrow(/MAESTRO_POLICY_ON_UNAVAILABLE/);
  });
});
