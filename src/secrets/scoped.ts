/**
 * The scope check in front of every secret source: a secret resolves only for the namespaces its
 * declaration lists, and only for the hosts it is bound to. Everything is decided before the value
 * is sent anywhere, and the namespace check before the source is even asked, so a namespace cannot
 * learn whether another namespace's secret exists. Errors name the secret, the namespace and the
 * host the task asked for, never the value (nor the host a value-as-address names: it is part of
 * the value).
 */
import type { SecretScope } from '../config/index.js';
import { ConfigError, MaestroError } from '../errors/index.js';
import type { SecretUse } from '../sdk/index.js';
import { normalizeHost } from './hosts.js';

/** What a secret is resolved for: the run's namespace and where the task sends the value. */
export interface SecretRequest extends SecretUse {
  /** Maestro namespace of the run asking. */
  namespace: string;
  /** Aborts a read from a remote store (the attempt's signal). */
  signal?: AbortSignal;
}

/** Resolves a secret for one task attempt; rejects with `SECRET_FORBIDDEN` outside its scope. */
export type SecretResolver = (name: string, request: SecretRequest) => Promise<string>;

/** Where secret values come from: the environment, a folder of files, an external store. */
export interface SecretSource {
  /** Names the source in errors (`the environment`, `the secrets folder /run/secrets`); never a credential. */
  readonly label: string;
  /**
   * The entry `name` reads: two names with the same key are one secret, with one scope (the
   * environment maps `db-url` and `DB_URL` to the same `MAESTRO_SECRET_DB_URL`).
   */
  key(name: string): string;
  /** The value, or `undefined` when the source has no such secret. */
  read(name: string, signal?: AbortSignal): Promise<string | undefined>;
}

/** The one syntax of secret names, whatever the source (the catalog's `secretNameSchema` too). */
export const SECRET_NAME = /^[A-Za-z][A-Za-z0-9_.-]{0,127}$/;

/**
 * An undeclared secret's scope: namespace `default` only, any host. Installations from before
 * scopes (everything in `default`) keep working; every other namespace needs a declaration.
 */
const UNDECLARED: SecretScope = { namespaces: ['default'] };

/**
 * Wraps `source` with the scope check of `scopes` (the `MAESTRO_SECRETS` declarations).
 *
 * @throws {ConfigError} when two declared names read the same entry of the source (two scopes for
 *   one value).
 * @example
 * const secrets = scopedSecrets(envSource(), { 'ops-token': { namespaces: ['ops'], hosts: ['nats.internal'] } });
 * await secrets('ops-token', { namespace: 'ops', host: 'nats.internal' });
 */
export function scopedSecrets(source: SecretSource, scopes: Readonly<Record<string, SecretScope>>): SecretResolver {
  const declared = new Map<string, { name: string; scope: SecretScope }>();
  for (const [name, scope] of Object.entries(scopes)) {
    const key = source.key(name);
    const twin = declared.get(key);
    if (twin) throw new ConfigError(`MAESTRO_SECRETS declares "${twin.name}" and "${name}", which are the same secret in ${source.label}`);
    declared.set(key, { name, scope: { ...scope, ...(scope.hosts ? { hosts: scope.hosts.map(normalizeHost) } : {}) } });
  }

  return async (name, { namespace, host, signal }) => {
    if (!SECRET_NAME.test(name)) {
      throw new MaestroError('TASK_INPUT_INVALID', `${JSON.stringify(name.slice(0, 64))} is not a secret name (a letter, then letters, digits, _ . -)`, { retryable: false });
    }
    const entry = declared.get(source.key(name));
    const scope = entry?.scope ?? UNDECLARED;
    if (!scope.namespaces.includes('*') && !scope.namespaces.includes(namespace)) {
      const why = entry ? '' : ' (an undeclared secret is for namespace default only: declare it in MAESTRO_SECRETS)';
      throw forbidden(`secret "${name}" may not be used in namespace "${namespace}"${why}`);
    }
    const { hosts } = scope;
    if (hosts && typeof host !== 'function') {
      if (host === undefined) throw forbidden(`secret "${name}" may only be sent to ${hosts.join(', ')}, and this task does not say where it sends it`);
      const refused = (typeof host === 'string' ? [host] : host).find((target) => !hostAllowed(hosts, target));
      if (refused !== undefined) throw forbidden(`secret "${name}" may not be sent to ${JSON.stringify(refused.slice(0, 255))} (only to ${hosts.join(', ')})`);
    }
    const value = await source.read(name, signal);
    if (value === undefined) throw new MaestroError('CONFIG_INVALID', `secret "${name}" is not set in ${source.label}`, { retryable: false });
    if (hosts && typeof host === 'function' && !hostAllowed(hosts, hostOfValue(host, value))) {
      throw forbidden(`the address in secret "${name}" is not one of the hosts it may be sent to (${hosts.join(', ')})`);
    }
    return value;
  };
}

function forbidden(message: string): MaestroError {
  return new MaestroError('SECRET_FORBIDDEN', message);
}

/** The host a value-as-address names; a reader that throws names none (its error may quote the value). */
function hostOfValue(read: (value: string) => string | undefined, value: string): string | undefined {
  try {
    return read(value);
  } catch {
    return undefined;
  }
}

/** Whether `host` is one of `patterns` (normalised; `*.example.com` is any name under example.com). */
function hostAllowed(patterns: readonly string[], host: string | undefined): boolean {
  if (host === undefined || host === '') return false;
  const target = normalizeHost(host);
  return patterns.some((pattern) => (pattern.startsWith('*.') ? target.endsWith(pattern.slice(1)) : target === pattern));
}
