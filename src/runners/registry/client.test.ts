/**
 * The registry client against a hostile registry (a plain HTTP server that lies): it must not be
 * led to another host, swap content under a digest, or make the worker read without bound.
 */
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createRegistryClient, sha256Digest } from './client.js';
import { parseImageReference } from './reference.js';

const MANIFEST = Buffer.from('{"schemaVersion":2,"mediaType":"application/vnd.oci.image.manifest.v1+json","layers":[]}');
let server: Server;
let host: string;

beforeAll(async () => {
  server = createServer((request, response) => {
    const path = request.url ?? '';
    if (path.endsWith('/manifests/elsewhere')) {
      response.writeHead(307, { location: 'http://127.0.0.2:9/v2/app/manifests/1' }).end();
    } else if (path.endsWith('/manifests/same-origin')) {
      response.writeHead(307, { location: '/v2/app/manifests/honest' }).end();
    } else if (path.endsWith('/manifests/honest')) {
      response.writeHead(200, { 'content-type': 'application/vnd.oci.image.manifest.v1+json', 'docker-content-digest': sha256Digest(MANIFEST) }).end(MANIFEST);
    } else if (path.endsWith('/manifests/lying')) {
      response.writeHead(200, { 'content-type': 'application/vnd.oci.image.manifest.v1+json', 'docker-content-digest': `sha256:${'0'.repeat(64)}` }).end(MANIFEST);
    } else if (path.endsWith('/manifests/endless')) {
      // No content-length: the client must stop reading on its own.
      response.writeHead(200, { 'content-type': 'application/vnd.oci.image.manifest.v1+json' });
      const chunk = Buffer.alloc(64 * 1024, 0x20);
      const write = (): void => {
        while (response.write(chunk)) if (response.destroyed) return;
        response.once('drain', write);
      };
      response.on('error', () => undefined);
      write();
    } else {
      response.writeHead(404).end();
    }
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  host = `127.0.0.1:${(server.address() as AddressInfo).port}`;
});

afterAll(async () => {
  server.closeAllConnections();
  await new Promise((resolve) => server.close(resolve));
});

describe('registry client against a hostile registry', () => {
  const client = () => createRegistryClient({ insecureRegistries: [host], maxManifestBytes: 256 * 1024, timeoutMs: 5000 });
  const reference = () => parseImageReference(`${host}/app:1`);

  it('follows a redirect within the registry, and checks the content against the announced digest', async () => {
    await expect(client().manifest(reference(), 'same-origin')).resolves.toMatchObject({ digest: sha256Digest(MANIFEST) });
  });

  it('does not follow a redirect to another origin', async () => {
    await expect(client().manifest(reference(), 'elsewhere')).rejects.toThrow(/another origin: not followed/);
  });

  it('refuses a manifest whose bytes are not the digest the registry announced', async () => {
    await expect(client().manifest(reference(), 'lying')).rejects.toThrow(/whose digest is/);
    await expect(client().manifest(reference(), `sha256:${'1'.repeat(64)}`)).resolves.toBeUndefined();
  });

  it('stops reading an endless manifest at the limit', async () => {
    await expect(client().manifest(reference(), 'endless')).rejects.toThrow(/over the 262144-byte limit/);
  });

  it('speaks HTTPS to a registry not listed as insecure', async () => {
    await expect(createRegistryClient({ timeoutMs: 2000 }).manifest(reference(), 'honest')).rejects.toMatchObject({ code: 'RUNNER_FAILED', retryable: true });
  });
});
