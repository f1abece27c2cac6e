import { describe, expect, it } from 'vitest';
import { ConfigError } from '../errors/index.js';
import { loadConfig } from './index.js';

describe('MAESTRO_EGRESS_ALLOW', () => {
  it('defaults to no allow-list: public addresses only', () => {
    expect(loadConfig({}).egressAllow).toEqual({});
  });

  it('reads a JSON map of namespace to CIDRs and host:port endpoints', () => {
    const config = loadConfig({ MAESTRO_EGRESS_ALLOW: '{"default":["127.0.0.0/8","::1/128"],"*":["10.1.2.3"],"ops":["temporal:7233","[::1]:8080"]}' });
    expect(config.egressAllow).toEqual({ default: ['127.0.0.0/8', '::1/128'], '*': ['10.1.2.3'], ops: ['temporal:7233', '[::1]:8080'] });
  });

  it.each([
    ['not JSON', '{default:', 'MAESTRO_EGRESS_ALLOW must be JSON'],
    ['a list', '["127.0.0.0/8"]', 'must map namespaces to CIDR lists'],
    ['a bad range', '{"default":["127.0.0.0/40"]}', '"default" must be a list of CIDR ranges'],
    ['a bad endpoint', '{"default":["temporal:70000"]}', '"default" must be a list of CIDR ranges'],
    ['a bad namespace', '{"Team A":["10.0.0.0/8"]}', 'invalid namespace name "Team A"'],
  ])('refuses %s, naming the variable', (_, value, message) => {
    expect(() => loadConfig({ MAESTRO_EGRESS_ALLOW: value })).toThrow(ConfigError);
    expect(() => loadConfig({ MAESTRO_EGRESS_ALLOW: value })).toThrow(message);
  });

  it('still reads the deprecated MAESTRO_HTTP_ALLOW, for every task', () => {
    expect(loadConfig({ MAESTRO_HTTP_ALLOW: '{"default":["127.0.0.0/8"]}' }).egressAllow).toEqual({ default: ['127.0.0.0/8'] });
  });

  it('accepts both names when they say the same, and refuses to start when they differ', () => {
    const same = { MAESTRO_EGRESS_ALLOW: '{"default":["::1/128","127.0.0.0/8"]}', MAESTRO_HTTP_ALLOW: '{"default":["127.0.0.0/8","::1/128"]}' };
    expect(loadConfig(same).egressAllow).toEqual({ default: ['::1/128', '127.0.0.0/8'] });
    const different = { MAESTRO_EGRESS_ALLOW: '{"default":["127.0.0.0/8"]}', MAESTRO_HTTP_ALLOW: '{"default":["10.0.0.0/8"]}' };
    expect(() => loadConfig(different)).toThrow('both set, to different values');
  });
});

describe('MAESTRO_CONTAINER_NETWORK_NAMESPACES', () => {
  it('reads namespaces, "*" included', () => {
    expect(loadConfig({ MAESTRO_CONTAINER_NETWORK_NAMESPACES: 'ops,*' }).containerNetworkNamespaces).toEqual(['ops', '*']);
    expect(loadConfig({}).containerNetworkNamespaces).toBeUndefined();
  });
});
