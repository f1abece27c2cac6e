/**
 * A small client of the OCI distribution HTTP API (what cosign and crane speak): resolve a tag to
 * its manifest digest, read a manifest or a blob, push a blob and a manifest. Only what image
 * signatures need.
 *
 * Bounded and strict, because the registry's answers decide what runs: every body is read up to a
 * limit and then dropped; a manifest's or blob's bytes are hashed and must match the digest asked
 * for or announced (a registry cannot swap content under a digest); redirects are followed only
 * within the same origin (a registry cannot send the worker to another host, nor downgrade to
 * HTTP); each request has a timeout. HTTPS unless the registry is listed as insecure (a test
 * registry on a loopback address). Basic auth when credentials are configured for the registry;
 * token auth (Docker Hub, GHCR) is not spoken.
 */
import { createHash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { stat } from 'node:fs/promises';
import { Readable } from 'node:stream';
import type { Dispatcher } from 'undici';
import { RunnerError } from '../runner-error.js';
import type { ImageReference } from './reference.js';

/** Media types of the manifests the client asks for (single-platform images and indexes). */
export const MANIFEST_MEDIA_TYPES = [
  'application/vnd.oci.image.manifest.v1+json',
  'application/vnd.oci.image.index.v1+json',
  'application/vnd.docker.distribution.manifest.v2+json',
  'application/vnd.docker.distribution.manifest.list.v2+json',
] as const;

/** Basic-auth credentials for one registry. */
export interface RegistryCredentials {
  username: string;
  password: string;
}

/** Options of {@link createRegistryClient}. */
export interface RegistryClientOptions {
  /** Registries (`host[:port]`) reached over plain HTTP. @default [] (HTTPS everywhere) */
  insecureRegistries?: readonly string[];
  /** Credentials of a registry, sent as basic auth. @default none */
  credentials?: (registry: string) => RegistryCredentials | undefined;
  /** Largest manifest read. @default 4194304 (4 MiB, the distribution spec's recommended cap) */
  maxManifestBytes?: number;
  /** Timeout of one request. @default 10000 */
  timeoutMs?: number;
  /**
   * The undici dispatcher every request goes through: a task's egress agent (`createEgressAgent`),
   * so a registry a workflow names is reached only where its namespace may connect.
   * @default fetch's global dispatcher (the worker's own registries, from its config)
   */
  dispatcher?: Dispatcher;
  /** Timeout of one streamed blob upload ({@link RegistryClient.pushBlobFile}). @default 600000 */
  uploadTimeoutMs?: number;
}

/** A manifest as the registry serves it. */
export interface FetchedManifest {
  /** `sha256:<hex>` of the bytes (checked against the digest asked for or announced). */
  digest: string;
  mediaType: string;
  bytes: Buffer;
}

/** The client; every method throws a retryable RunnerError when the registry cannot be reached or answers oddly. */
export interface RegistryClient {
  /** The manifest of a tag or digest, or undefined when the registry has none (404). */
  manifest(reference: ImageReference, tagOrDigest?: string): Promise<FetchedManifest | undefined>;
  /** A blob's bytes, checked against its digest. @throws RunnerError when larger than `maxBytes` or absent. */
  blob(reference: ImageReference, digest: string, maxBytes: number): Promise<Buffer>;
  /** Uploads a blob (monolithic POST then PUT); a blob the registry already has is not sent again. */
  pushBlob(reference: ImageReference, bytes: Buffer): Promise<string>;
  /**
   * Uploads the file at `path` as the blob `digest`, streamed (image layers are hundreds of MB);
   * the registry checks the digest. A blob the registry already has is not sent again.
   */
  pushBlobFile(reference: ImageReference, digest: string, path: string): Promise<void>;
  /** Puts a manifest under a tag; returns its digest. */
  pushManifest(reference: ImageReference, tag: string, mediaType: string, bytes: Buffer): Promise<string>;
}

const RUNNER = 'container';
const DOCKER_HUB = 'registry-1.docker.io';

/** `sha256:<hex>` of some bytes. */
export function sha256Digest(bytes: Buffer): string {
  return `sha256:${createHash('sha256').update(bytes).digest('hex')}`;
}

/**
 * A registry client.
 *
 * @example
 * const client = createRegistryClient({ insecureRegistries: ['127.0.0.1:5000'] });
 * const manifest = await client.manifest(parseImageReference('127.0.0.1:5000/tool:1'));
 */
export function createRegistryClient(options: RegistryClientOptions = {}): RegistryClient {
  const { insecureRegistries = [], credentials, maxManifestBytes = 4 * 1024 * 1024, timeoutMs = 10_000, uploadTimeoutMs = 600_000, dispatcher } = options;
  const insecure = new Set(insecureRegistries);

  function baseOf(reference: ImageReference): URL {
    const host = reference.registry === 'docker.io' ? DOCKER_HUB : reference.registry;
    return new URL(`${insecure.has(reference.registry) ? 'http' : 'https'}://${host}/v2/${reference.repository}/`);
  }

  /** One request, following same-origin redirects only (at most 3). */
  async function send(reference: ImageReference, path: string, init: { method: string; headers?: Record<string, string>; body?: Buffer | ReadableStream<Uint8Array> }): Promise<Response> {
    let url = new URL(path, baseOf(reference));
    const origin = url.origin;
    const headers: Record<string, string> = { ...init.headers };
    const auth = credentials?.(reference.registry);
    if (auth) headers['authorization'] = `Basic ${Buffer.from(`${auth.username}:${auth.password}`).toString('base64')}`;
    for (let hop = 0; hop < 4; hop += 1) {
      let response: Response;
      try {
        // Node's fetch takes an undici dispatcher; the option is not in lib.dom's RequestInit. A
        // stream body is sent as it is read (`duplex: 'half'`, what fetch requires for one).
        const streamed = init.body instanceof ReadableStream;
        const request: RequestInit & { dispatcher?: Dispatcher; duplex?: 'half' } = { method: init.method, headers, body: init.body, redirect: 'manual', signal: AbortSignal.timeout(streamed ? uploadTimeoutMs : timeoutMs) };
        if (streamed) request.duplex = 'half';
        if (dispatcher !== undefined) request.dispatcher = dispatcher;
        response = await fetch(url, request);
      } catch (error) {
        throw new RunnerError(RUNNER, `registry ${reference.registry} cannot be reached: ${error instanceof Error ? error.message : String(error)}`, { cause: error, retryable: true });
      }
      const location = response.headers.get('location');
      if (response.status < 300 || response.status >= 400 || location === null || init.method === 'POST' || init.method === 'PUT') return response;
      await response.body?.cancel();
      const next = new URL(location, url);
      if (next.origin !== origin) {
        throw new RunnerError(RUNNER, `registry ${reference.registry} redirected to ${next.origin}, another origin: not followed`, { retryable: false });
      }
      url = next;
    }
    throw new RunnerError(RUNNER, `registry ${reference.registry}: too many redirects`, { retryable: false });
  }

  async function failure(reference: ImageReference, what: string, response: Response): Promise<RunnerError> {
    const text = (await readBounded(response, 2048, true)).toString('utf8').replace(/\s+/g, ' ').trim();
    return new RunnerError(RUNNER, `registry ${reference.registry}: ${what} answered ${response.status}${text ? `: ${text.slice(0, 300)}` : ''}`, {
      retryable: response.status >= 500 || response.status === 429,
    });
  }

  /** A monolithic upload (POST, then PUT with `?digest=`), skipped when the registry has the blob. */
  async function upload(reference: ImageReference, digest: string, headers: Record<string, string>, body: () => Buffer | ReadableStream<Uint8Array>): Promise<void> {
    const head = await send(reference, `blobs/${digest}`, { method: 'HEAD' });
    if (head.ok) return;
    const started = await send(reference, 'blobs/uploads/', { method: 'POST', headers: { 'content-length': '0' } });
    if (started.status !== 202) throw await failure(reference, 'POST blob upload', started);
    await started.body?.cancel();
    const location = started.headers.get('location');
    if (location === null) throw new RunnerError(RUNNER, `registry ${reference.registry} started an upload without a Location`, { retryable: true });
    const target = new URL(location, baseOf(reference));
    if (target.origin !== baseOf(reference).origin) throw new RunnerError(RUNNER, `registry ${reference.registry} asked for an upload to another origin (${target.origin})`, { retryable: false });
    target.searchParams.set('digest', digest);
    const put = await send(reference, target.href, { method: 'PUT', headers, body: body() });
    if (put.status !== 201) throw await failure(reference, `PUT blob ${digest}`, put);
    await put.body?.cancel();
  }

  return {
    async manifest(reference, tagOrDigest = reference.digest ?? reference.tag ?? 'latest') {
      const response = await send(reference, `manifests/${tagOrDigest}`, { method: 'GET', headers: { accept: MANIFEST_MEDIA_TYPES.join(', ') } });
      if (response.status === 404) {
        await response.body?.cancel();
        return undefined;
      }
      if (!response.ok) throw await failure(reference, `GET manifest ${tagOrDigest}`, response);
      const bytes = await readBounded(response, maxManifestBytes);
      const digest = sha256Digest(bytes);
      const expected = tagOrDigest.startsWith('sha256:') ? tagOrDigest : response.headers.get('docker-content-digest');
      if (expected !== null && expected !== digest) {
        throw new RunnerError(RUNNER, `registry ${reference.registry} served a manifest for ${tagOrDigest} whose digest is ${digest}, not ${expected}`, { retryable: false });
      }
      const mediaType = (response.headers.get('content-type') ?? '').split(';')[0]?.trim() ?? '';
      return { digest, mediaType, bytes };
    },

    async blob(reference, digest, maxBytes) {
      const response = await send(reference, `blobs/${digest}`, { method: 'GET' });
      if (!response.ok) throw await failure(reference, `GET blob ${digest}`, response);
      const bytes = await readBounded(response, maxBytes);
      if (sha256Digest(bytes) !== digest) throw new RunnerError(RUNNER, `registry ${reference.registry} served blob ${digest} with other content`, { retryable: false });
      return bytes;
    },

    async pushBlob(reference, bytes) {
      const digest = sha256Digest(bytes);
      await upload(reference, digest, { 'content-type': 'application/octet-stream' }, () => bytes);
      return digest;
    },

    async pushBlobFile(reference, digest, path) {
      const { size } = await stat(path);
      await upload(reference, digest, { 'content-type': 'application/octet-stream', 'content-length': String(size) }, () => Readable.toWeb(createReadStream(path)) as ReadableStream<Uint8Array>);
    },

    async pushManifest(reference, tag, mediaType, bytes) {
      const put = await send(reference, `manifests/${tag}`, { method: 'PUT', headers: { 'content-type': mediaType }, body: bytes });
      if (put.status !== 201) throw await failure(reference, `PUT manifest ${tag}`, put);
      await put.body?.cancel();
      return sha256Digest(bytes);
    },
  };
}

/** The body, up to `maxBytes`; more fails (or, with `truncate`, is cut) without reading the rest. */
async function readBounded(response: Response, maxBytes: number, truncate = false): Promise<Buffer> {
  const declared = Number(response.headers.get('content-length') ?? Number.NaN);
  if (!truncate && declared > maxBytes) {
    await response.body?.cancel();
    throw new RunnerError(RUNNER, `registry answer of ${declared} bytes is over the ${maxBytes}-byte limit`, { retryable: false });
  }
  const chunks: Buffer[] = [];
  let size = 0;
  if (response.body === null) return Buffer.alloc(0);
  const reader = response.body.getReader();
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    size += value.byteLength;
    chunks.push(Buffer.from(value));
    if (size > maxBytes) {
      await reader.cancel();
      if (truncate) return Buffer.concat(chunks).subarray(0, maxBytes);
      throw new RunnerError(RUNNER, `registry answer is over the ${maxBytes}-byte limit`, { retryable: false });
    }
  }
  return Buffer.concat(chunks);
}
