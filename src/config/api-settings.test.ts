import { describe, expect, it } from 'vitest';
import { ConfigError } from '../errors/index.js';
import { loadConfig } from './index.js';

describe('API settings', () => {
  it('reads auth, store, limits and metrics settings, and never shows secrets', () => {
    const config = loadConfig({
      MAESTRO_AUTH_FILE: '/etc/maestro/tokens.yaml',
      MAESTRO_DEV_TOKEN: 'dev-secret-token-0123456789abcdefgh',
      MAESTRO_JWKS_URL: 'https://idp.example/jwks.json',
      MAESTRO_JWT_ISSUER: 'https://idp.example',
      MAESTRO_JWT_AUDIENCE: 'maestro',
      MAESTRO_DATABASE_URL: 'postgres://maestro:pw@db:5432/maestro',
      MAESTRO_NAMESPACE_RUN_LIMITS: 'team-a=5, team-b=2',
      MAESTRO_METRICS_PUBLIC: 'true',
      MAESTRO_URL: 'http://maestro:8080',
      MAESTRO_TOKEN: 'cli-secret-token',
    });
    expect(config).toMatchObject({
      authFile: '/etc/maestro/tokens.yaml',
      jwksUrl: 'https://idp.example/jwks.json',
      namespaceRunLimits: { 'team-a': 5, 'team-b': 2 },
      metricsPublic: true,
      apiUrl: 'http://maestro:8080',
    });
    const shown = JSON.stringify(config);
    for (const secret of ['dev-secret-token-0123456789abcdefgh', 'pw@db', 'cli-secret-token']) expect(shown).not.toContain(secret);
  });

  it('names the variable of a bad value', () => {
    expect(() => loadConfig({ MAESTRO_NAMESPACE_RUN_LIMITS: 'team-a=0' })).toThrow(ConfigError);
    expect(() => loadConfig({ MAESTRO_NAMESPACE_RUN_LIMITS: 'Team A=1' })).toThrow(/MAESTRO_NAMESPACE_RUN_LIMITS/);
    expect(() => loadConfig({ MAESTRO_METRICS_PUBLIC: 'maybe' })).toThrow(/MAESTRO_METRICS_PUBLIC must be true or false/);
    expect(() => loadConfig({ MAESTRO_DATABASE_URL: 'not a url' })).toThrow(/MAESTRO_DATABASE_URL must be a URL$/);
  });
});
