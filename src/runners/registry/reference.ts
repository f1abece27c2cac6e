/**
 * Image references as registries understand them: `[host[:port]/]repository[:tag][@sha256:hex]`,
 * with Docker's defaults (`docker.io`, `library/`, `latest`). Pure: no I/O.
 */
import { RunnerError } from '../runner-error.js';

/** A parsed image reference. */
export interface ImageReference {
  /** The registry's host[:port] as written (`docker.io` for a reference without one). */
  registry: string;
  /** The repository inside the registry, e.g. `library/busybox`. */
  repository: string;
  /** The tag, when the reference names one (`latest` when it names neither a tag nor a digest). */
  tag?: string;
  /** The manifest digest, `sha256:<hex>`, when the reference pins one. */
  digest?: string;
}

/** Longest reference accepted: the distribution spec caps a repository name at 255 characters. */
const MAX_REFERENCE = 512;
const COMPONENT = /^[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*$/;
const TAG = /^\w[\w.-]{0,127}$/;
const DIGEST = /^sha256:[0-9a-f]{64}$/;

/**
 * Parses an image reference; a first component with a `.` or `:`, or `localhost`, is the registry.
 *
 * @throws RunnerError (`TASK_INPUT_INVALID`) for anything that is not a reference.
 * @example
 * parseImageReference('127.0.0.1:5000/tools/jq:1.7') // { registry: '127.0.0.1:5000', repository: 'tools/jq', tag: '1.7' }
 */
export function parseImageReference(reference: string): ImageReference {
  const invalid = (why: string): RunnerError =>
    new RunnerError('container', `"${reference.slice(0, 80)}" is not an image reference: ${why}`, { code: 'TASK_INPUT_INVALID', retryable: false });
  if (reference.length === 0 || reference.length > MAX_REFERENCE) throw invalid(`its length must be 1..${MAX_REFERENCE}`);
  let rest = reference;
  let digest: string | undefined;
  const at = rest.indexOf('@');
  if (at >= 0) {
    digest = rest.slice(at + 1);
    if (!DIGEST.test(digest)) throw invalid('the digest is not sha256:<64 hex>');
    rest = rest.slice(0, at);
  }
  let tag: string | undefined;
  const colon = rest.lastIndexOf(':');
  if (colon > rest.lastIndexOf('/')) {
    tag = rest.slice(colon + 1);
    if (!TAG.test(tag)) throw invalid('the tag is malformed');
    rest = rest.slice(0, colon);
  }
  const parts = rest.split('/');
  const first = parts[0] ?? '';
  let registry = 'docker.io';
  if (parts.length > 1 && (first.includes('.') || first.includes(':') || first === 'localhost')) {
    registry = first;
    parts.shift();
    if (!/^[a-zA-Z0-9.-]+(?::\d{1,5})?$/.test(registry) && !/^\[[0-9a-fA-F:]+\](?::\d{1,5})?$/.test(registry)) throw invalid('the registry host is malformed');
  }
  if (parts.length === 0 || !parts.every((part) => COMPONENT.test(part))) throw invalid('a repository path component is malformed (lowercase letters, digits, . _ -)');
  if (registry === 'docker.io' && parts.length === 1) parts.unshift('library');
  const parsed: ImageReference = { registry, repository: parts.join('/') };
  if (tag !== undefined || digest === undefined) parsed.tag = tag ?? 'latest';
  if (digest !== undefined) parsed.digest = digest;
  return parsed;
}

/** True when the reference names a registry host (podman's `localhost/<name>` of a local-only image does not). */
export function namesRegistry(reference: string): boolean {
  const first = reference.split('/')[0] ?? '';
  return reference.includes('/') && (first.includes('.') || first.includes(':'));
}

/** `registry/repository@digest`: the reference that pins exactly what was verified. */
export function pinnedReference(reference: ImageReference, digest: string): string {
  return `${reference.registry}/${reference.repository}@${digest}`;
}
