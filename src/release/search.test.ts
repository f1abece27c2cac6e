import { describe, expect, it } from 'vitest';
import { normaliseSbom, sbomComponents } from './sbom.js';
import { parseSbomQuery, versionMatches } from './search.js';

describe('parseSbomQuery', () => {
  it('reads scoped and plain names with and without a range', () => {
    expect(parseSbomQuery('@temporalio/worker')).toEqual({ name: '@temporalio/worker', range: undefined });
    expect(parseSbomQuery('@temporalio/worker@^1.24')).toEqual({ name: '@temporalio/worker', range: '^1.24' });
    expect(parseSbomQuery('yaml@2.8.1')).toEqual({ name: 'yaml', range: '2.8.1' });
  });

  it('refuses an empty name and a range semver cannot read', () => {
    expect(() => parseSbomQuery('')).toThrow(/names no package/);
    expect(() => parseSbomQuery('yaml@not a range!')).toThrow(/not a semver range/);
  });
});

describe('versionMatches', () => {
  it('matches semver versions by range and others only by equality', () => {
    expect(versionMatches('1.24.0', '^1.24')).toBe(true);
    expect(versionMatches('1.24.0', '>=2')).toBe(false);
    expect(versionMatches('2.0.0-rc.1', '>=1')).toBe(true);
    expect(versionMatches('1:2.36-9', '1:2.36-9')).toBe(true);
    expect(versionMatches('1:2.36-9', '>=1')).toBe(false);
    expect(versionMatches('anything', undefined)).toBe(true);
  });
});

describe('normaliseSbom', () => {
  const stamp = { commit: 'c0ffee', sourceDateEpoch: 1_700_000_000, name: 'sbom.npm.cdx.json', component: { name: '@summit/maestro', version: '0.1.0' } };
  const sbom = (serial: string, time: string) => ({
    bomFormat: 'CycloneDX',
    serialNumber: serial,
    metadata: { timestamp: time, component: { name: 'checkout-folder', version: '0.1.0' } },
    components: [{ group: '@temporalio', name: 'worker', version: '1.24.0', purl: 'pkg:npm/%40temporalio/worker@1.24.0', source: '/tmp/build-1/image.tar' }],
  });

  it('gives the same bytes for runs that differ only in time, serial number and build folder', () => {
    const a = normaliseSbom(sbom('urn:uuid:1', '2026-01-01T00:00:00Z'), stamp, []);
    const b = normaliseSbom({ ...sbom('urn:uuid:2', '2026-02-02T00:00:00Z') }, stamp, []);
    expect(a).toBe(b);
    expect(JSON.parse(a)).toMatchObject({ metadata: { timestamp: '2023-11-14T22:13:20.000Z', component: { name: '@summit/maestro' } } });
    expect(normaliseSbom(sbom('x', 'y'), stamp, ['/tmp/build-1/image.tar'])).not.toContain('/tmp/build-1');
  });

  it('refuses what is not CycloneDX', () => {
    expect(() => normaliseSbom({ spdxVersion: 'SPDX-2.3' }, stamp, [])).toThrow(/CycloneDX/);
  });

  it('lists components with their group as the scoped name', () => {
    expect(sbomComponents(normaliseSbom(sbom('x', 'y'), stamp, []))).toEqual([{ name: '@temporalio/worker', version: '1.24.0', purl: 'pkg:npm/%40temporalio/worker@1.24.0' }]);
  });
});
