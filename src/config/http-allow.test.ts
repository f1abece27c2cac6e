import { describe, expect, it } from 'vitest';
import { ConfigError } from '../errors/index.js';
import { loadConfig } from './index.js';

describe('MAESTRO_HTTP_ALLOW', () => {
  it('defaults to no allow-list: public addresses only', () => {
    expect(loadConfig({}).httpAllow).toEqual({});
  });

  it('reads a JSON map of namespace to CIDR list', () => {
    const config = loadConfig({ MAESTRO_HTTP_ALLOW: '{"default":["127.0.0.0/8","::1/128"],"*":["10.1.2.3"]}' });
    expect(config.httpAllow).toEqual({ default: ['127.0.0.0/8', '::1/128'], '*': ['10.1.2.3'] });
  });

  it.each([
    ['not JSON', '{default:', 'MAESTRO_HTTP_ALLOW must be JSON'],
    ['a list', '["127.0.0.0/8"]', 'must map namespaces to CIDR lists'],
    ['a bad range', '{"default":["127.0.0.0/40"]}', '"default" must be a list of CIDR ranges'],
    ['a bad namespace', '{"Team A":["10.0.0.0/8"]}', 'invalid namespace name "Team A"'],
  ])('refuses %s, naming the variable', (_, value, message) => {
    expect(() => loadConfig({ MAESTRO_HTTP_ALLOW: value })).toThrow(ConfigError);
    expect(() => loadConfig({ MAESTRO_HTTP_ALLOW: value })).toThrow(message);
  });
});
