import { describe, expect, it } from 'vitest';
import { namesRegistry, parseImageReference, pinnedReference } from './reference.js';

const DIGEST = `sha256:${'a'.repeat(64)}`;

describe('parseImageReference', () => {
  it('splits registry, repository, tag and digest, with Docker Hub defaults', () => {
    expect(parseImageReference('127.0.0.1:5000/tools/jq:1.7')).toEqual({ registry: '127.0.0.1:5000', repository: 'tools/jq', tag: '1.7' });
    expect(parseImageReference('busybox')).toEqual({ registry: 'docker.io', repository: 'library/busybox', tag: 'latest' });
    expect(parseImageReference('ghcr.io/org/app@' + DIGEST)).toEqual({ registry: 'ghcr.io', repository: 'org/app', digest: DIGEST });
    expect(parseImageReference(`registry.local/app:2@${DIGEST}`)).toEqual({ registry: 'registry.local', repository: 'app', tag: '2', digest: DIGEST });
    expect(parseImageReference('localhost/maestro-busybox:test')).toEqual({ registry: 'localhost', repository: 'maestro-busybox', tag: 'test' });
  });

  it('refuses what is not a reference (path tricks, bad digests, oversized input) with TASK_INPUT_INVALID', () => {
    for (const bad of ['', 'host:5000/../etc:1', 'Upper/Case', 'app@sha256:short', 'app:bad tag', `app@md5:${'a'.repeat(32)}`, `${'a/'.repeat(300)}x`, 'host:5000/app/']) {
      expect(() => parseImageReference(bad), bad).toThrow(expect.objectContaining({ code: 'TASK_INPUT_INVALID' }));
    }
  });

  it('pins a reference to a digest, and tells registry references from local names', () => {
    expect(pinnedReference(parseImageReference('127.0.0.1:5000/tools/jq:1.7'), DIGEST)).toBe(`127.0.0.1:5000/tools/jq@${DIGEST}`);
    expect(namesRegistry('127.0.0.1:5000/tools/jq:1.7')).toBe(true);
    expect(namesRegistry('registry.example/app')).toBe(true);
    expect(namesRegistry('localhost/maestro-busybox:test')).toBe(false);
    expect(namesRegistry('busybox:1')).toBe(false);
  });
});
