import { describe, expect, it } from 'vitest';
import { EgressPolicy } from './policy.js';
import { CidrError, normalizeAddress } from './ip-ranges.js';

describe('normalizeAddress', () => {
  it.each([
    ['::ffff:127.0.0.1', '127.0.0.1'],
    ['::ffff:7f00:1', '127.0.0.1'],
    ['0:0:0:0:0:ffff:a00:1', '10.0.0.1'],
    ['[::ffff:169.254.169.254]', '169.254.169.254'],
  ])('turns the IPv4-mapped address %s into %s', (raw, ipv4) => {
    expect(normalizeAddress(raw)).toEqual({ address: ipv4, family: 'ipv4' });
  });

  it('keeps other IPv6 addresses and strips a zone id', () => {
    expect(normalizeAddress('fe80::1%eth0')).toEqual({ address: 'fe80::1', family: 'ipv6' });
    expect(normalizeAddress('2606:4700::1111')).toEqual({ address: '2606:4700::1111', family: 'ipv6' });
  });

  it('returns undefined for a host name', () => {
    expect(normalizeAddress('example.com')).toBeUndefined();
  });
});

describe('EgressPolicy', () => {
  const strict = new EgressPolicy();

  it.each([
    ['127.0.0.1', 'loopback'],
    ['127.255.0.9', 'loopback'],
    ['10.0.0.1', 'private'],
    ['172.31.255.255', 'private'],
    ['192.168.1.1', 'private'],
    ['100.64.0.1', 'cgnat'],
    ['169.254.169.254', 'metadata'],
    ['169.254.10.10', 'link-local'],
    ['0.0.0.0', 'unspecified'],
    ['224.0.0.1', 'multicast'],
    ['::1', 'loopback'],
    ['::', 'unspecified'],
    ['::ffff:127.0.0.1', 'loopback'],
    ['::ffff:a9fe:a9fe', 'metadata'],
    ['fd12:3456::1', 'unique-local'],
    ['fd00:ec2::254', 'metadata'],
    ['fe80::1', 'link-local'],
    ['64:ff9b::a00:1', 'ipv4-embedded'],
  ])('refuses %s (%s) by default', (address, label) => {
    expect(strict.check('default', address)).toMatchObject({ allowed: false, label });
  });

  it.each(['1.1.1.1', '8.8.8.8', '2606:4700:4700::1111', '::ffff:8.8.8.8'])('allows the public address %s', (address) => {
    expect(strict.check('default', address)).toEqual({ allowed: true });
  });

  it('allows a range only to the namespaces that allow-list it', () => {
    const policy = new EgressPolicy({ allow: { ci: ['127.0.0.0/8', '::1/128'], payments: ['10.20.0.0/16'] } });
    expect(policy.check('ci', '127.0.0.1')).toEqual({ allowed: true });
    expect(policy.check('ci', '::ffff:127.0.0.1')).toEqual({ allowed: true });
    expect(policy.check('ci', '::1')).toEqual({ allowed: true });
    expect(policy.check('ci', '169.254.169.254')).toMatchObject({ allowed: false });
    expect(policy.check('payments', '10.20.3.4')).toEqual({ allowed: true });
    expect(policy.check('payments', '10.21.0.1')).toMatchObject({ allowed: false, label: 'private' });
    expect(policy.check('default', '127.0.0.1')).toMatchObject({ allowed: false, label: 'loopback' });
  });

  it('applies the "*" entry to every namespace', () => {
    expect(new EgressPolicy({ allow: { '*': ['192.168.0.0/24'] } }).check('any', '192.168.0.7')).toEqual({ allowed: true });
  });

  it.each(['10.0.0.0/33', 'not-an-ip/8', '::1/129', '10.0.0.0/8/1', 'host:99999'])('refuses the malformed range %s', (cidr) => {
    expect(() => new EgressPolicy({ allow: { default: [cidr] } })).toThrow(CidrError);
  });
});

describe("Maestro's own endpoints", () => {
  const policy = new EgressPolicy({ allow: { default: ['127.0.0.0/8', '10.0.0.0/8'], ops: ['127.0.0.0/8', '127.0.0.1:7233'] }, infrastructure: ['127.0.0.1:7233', '10.1.2.3:5432'] });

  it('refuses them inside an allow-listed range, on every local address for a loopback endpoint', () => {
    for (const address of ['127.0.0.1', '127.0.0.2', '::1', '0.0.0.0']) {
      expect(policy.check('default', address, 7233)).toMatchObject({ allowed: false, label: 'maestro-infrastructure' });
    }
    expect(policy.check('default', '10.1.2.3', 5432)).toMatchObject({ allowed: false, label: 'maestro-infrastructure' });
    expect(policy.check('default', '127.0.0.1', 7234)).toEqual({ allowed: true });
    expect(policy.check('default', '10.1.2.3', 80)).toEqual({ allowed: true });
  });

  it('allows one only where the namespace names that exact host:port', () => {
    expect(policy.check('ops', '127.0.0.1', 7233)).toEqual({ allowed: true });
    expect(policy.check('ops', '10.1.2.3', 5432)).toMatchObject({ allowed: false });
  });
});
