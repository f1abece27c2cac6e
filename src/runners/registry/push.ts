/**
 * Pushes an image from an OCI image layout (a folder with `index.json` and `blobs/sha256/…`, what
 * `podman save --format oci-dir` writes) to a registry, byte for byte: the layers and config as
 * they are, then the manifest's own bytes, so the image keeps the manifest digest it was built
 * (and signed) with. Only a layout of one image manifest is pushed.
 */
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { RunnerError } from '../runner-error.js';
import { sha256Digest, type RegistryClient } from './client.js';
import { pinnedReference, type ImageReference } from './reference.js';

const OCI_MANIFEST = 'application/vnd.oci.image.manifest.v1+json';
/** `index.json` and a manifest are small; anything larger is not an image layout this build made. */
const MAX_LAYOUT_JSON_BYTES = 4 * 1024 * 1024;
const DIGEST = /^sha256:[0-9a-f]{64}$/;

/** What {@link pushOciLayout} pushed. */
export interface PushedImage {
  /** `registry/repository@sha256:…`. */
  image: string;
  /** The manifest digest (the layout's, unchanged by the push). */
  digest: string;
}

/**
 * Pushes the one image of the OCI layout at `layout` to `reference` under `tag`.
 *
 * @throws RunnerError when the layout is not one OCI image manifest, or the registry refuses a push.
 * @example
 * await pushOciLayout(client, 'release/oci', parseImageReference('127.0.0.1:5000/maestro'), '0.1.0');
 */
export async function pushOciLayout(client: RegistryClient, layout: string, reference: ImageReference, tag: string): Promise<PushedImage> {
  const invalid = (why: string) => new RunnerError('container', `${layout} is not an OCI image layout of one image: ${why}`, { code: 'TASK_INPUT_INVALID', retryable: false });
  const index = await readJson(join(layout, 'index.json'));
  const manifests = (index as { manifests?: unknown } | undefined)?.manifests;
  if (!Array.isArray(manifests) || manifests.length !== 1) throw invalid('index.json names not exactly one manifest');
  const { digest, mediaType } = manifests[0] as { digest?: unknown; mediaType?: unknown };
  if (typeof digest !== 'string' || !DIGEST.test(digest) || mediaType !== OCI_MANIFEST) throw invalid('the manifest is no sha256-named OCI image manifest');
  const bytes = await readFile(blobPath(layout, digest));
  if (bytes.length > MAX_LAYOUT_JSON_BYTES || sha256Digest(bytes) !== digest) throw invalid(`blob ${digest} does not match its digest`);
  const manifest = JSON.parse(bytes.toString('utf8')) as { config?: { digest?: unknown }; layers?: { digest?: unknown }[] };
  const blobs = [manifest.config?.digest, ...(Array.isArray(manifest.layers) ? manifest.layers.map((layer) => layer.digest) : [])];
  for (const blob of blobs) {
    if (typeof blob !== 'string' || !DIGEST.test(blob)) throw invalid('a config or layer is not named by a sha256 digest');
    await client.pushBlobFile(reference, blob, blobPath(layout, blob));
  }
  const pushed = await client.pushManifest(reference, tag, OCI_MANIFEST, bytes);
  return { image: pinnedReference(reference, pushed), digest: pushed };
}

function blobPath(layout: string, digest: string): string {
  return join(layout, 'blobs', 'sha256', digest.slice('sha256:'.length));
}

async function readJson(path: string): Promise<unknown> {
  const bytes = await readFile(path);
  if (bytes.length > MAX_LAYOUT_JSON_BYTES) return undefined;
  try {
    return JSON.parse(bytes.toString('utf8'));
  } catch {
    // Not JSON: not a layout (the caller says so).
    return undefined;
  }
}
