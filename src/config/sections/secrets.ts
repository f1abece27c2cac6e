/** Settings of task secrets: who may use each, where it may be sent, and where values are read. */
import { isIP } from 'node:net';
import { Type, type Static } from '@sinclair/typebox';
import { NAMESPACE_PATTERN, jsonOrValue } from '../decode.js';
import { SettingValueError, optional, section, setting, type DeepReadonly, type SettingsOf } from '../setting.js';

const text = Type.String({ minLength: 1 });

/** Who may use one secret, and where it may be sent. */
export const SecretScopeSchema = Type.Object({
  /** Maestro namespaces whose tasks may resolve it; `*` is every namespace. */
  namespaces: Type.Array(Type.String(), { minItems: 1 }),
  /** Host names or IP literals its value may be sent to (`*.example.com`: any name under `example.com`), lower-cased. @default undefined — any host */
  hosts: Type.Optional(Type.Array(Type.String(), { minItems: 1 })),
});
/** Who may use one secret, and where it may be sent (see `MAESTRO_SECRETS`). */
export type SecretScope = DeepReadonly<Static<typeof SecretScopeSchema>>;

/** A host a secret may be sent to: a DNS name, an IP literal, or `*.` before a DNS name. */
function isSecretHost(host: string): boolean {
  if (isIP(host) !== 0) return true;
  const name = host.startsWith('*.') ? host.slice(2) : host;
  return name.length <= 253 && /^[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?(\.[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?)*$/.test(name);
}

function secretScopes(raw: unknown): Readonly<Record<string, SecretScope>> {
  const value = jsonOrValue(raw);
  const hint = 'e.g. {"s3-key":{"namespaces":["ops"],"hosts":["s3.internal"]}}';
  if (value === null || typeof value !== 'object' || Array.isArray(value)) throw new SettingValueError(`must map secret names to {namespaces, hosts}, ${hint}`);
  const scopes: Record<string, SecretScope> = {};
  for (const [name, scope] of Object.entries(value)) {
    if (!/^[A-Za-z][A-Za-z0-9_.-]{0,127}$/.test(name)) throw new SettingValueError(`has an invalid secret name "${name}"`);
    if (scope === null || typeof scope !== 'object' || Array.isArray(scope)) throw new SettingValueError(`"${name}" must be {namespaces, hosts}, ${hint}`);
    const { namespaces, hosts, ...unknown } = scope as Record<string, unknown>;
    const extra = Object.keys(unknown);
    if (extra.length > 0) throw new SettingValueError(`"${name}" has unknown keys ${extra.join(', ')} (known: namespaces, hosts)`);
    if (!Array.isArray(namespaces) || namespaces.length === 0 || !namespaces.every((ns): ns is string => typeof ns === 'string' && (ns === '*' || NAMESPACE_PATTERN.test(ns)))) {
      throw new SettingValueError(`"${name}": namespaces must be a non-empty list of namespace names or "*"`);
    }
    let bound: string[] | undefined;
    if (hosts !== undefined) {
      if (!Array.isArray(hosts) || hosts.length === 0 || !hosts.every((host): host is string => typeof host === 'string')) {
        throw new SettingValueError(`"${name}": hosts must be a non-empty list of host names (leave it out for any host)`);
      }
      bound = hosts.map((host) => host.trim().toLowerCase().replace(/^\[(.*)\]$/, '$1'));
      const bad = bound.find((host) => !isSecretHost(host));
      if (bad !== undefined) throw new SettingValueError(`"${name}": "${bad}" is not a host name, an IP address or *.domain`);
    }
    scopes[name] = Object.freeze({ namespaces: Object.freeze([...namespaces]), ...(bound ? { hosts: Object.freeze(bound) } : {}) });
  }
  return Object.freeze(scopes);
}

/** Secret scopes and the source of secret values. */
export const secretsSection = section('secrets', 'Task secrets: which namespaces may use each and where it may be sent, and where their values are read (environment, a folder, AWS Secrets Manager).', {
  secrets: setting(Type.Record(Type.String(), SecretScopeSchema), {
    env: 'MAESTRO_SECRETS',
    decode: secretScopes,
    default: {},
    description:
      'Which namespaces may use each secret and, optionally, which hosts its value may be sent to (JSON; in the file, a mapping), e.g. `{"s3-key":{"namespaces":["ops"],"hosts":["s3.internal","*.amazonaws.com"]}}`. `"*"` in `namespaces` is every namespace; a host `*.example.com` is any name under `example.com`. A secret not declared here may be used by namespace `default` only, bound to no host.',
  }),
  taskGrantKey: optional(text, {
    env: 'MAESTRO_TASK_GRANT_KEY',
    secret: true,
    unset: "derived from the payload codec's keys (MAESTRO_PAYLOAD_KEY, its file, or `<dataDir>/payload-key`)",
    description:
      'HMAC keys (comma-separated, at least 32 characters each; the first signs, every one verifies) of the grants a remote (e.g. Python) task attempt presents to `POST /tasks/secrets`. The API and every worker must share them. Never shown.',
  }),
  secretsSource: setting(Type.Union([Type.Literal('env'), Type.Literal('dir'), Type.Literal('aws')]), {
    env: 'MAESTRO_SECRETS_SOURCE',
    default: 'env',
    description:
      'Where secret values are read: `env` (`MAESTRO_SECRET_<NAME>` variables), `dir` (one file per secret in MAESTRO_SECRETS_DIR, as Kubernetes and Docker mount them), or `aws` (AWS Secrets Manager, see MAESTRO_SECRETS_AWS_REGION).',
  }),
  secretsDir: optional(text, { env: 'MAESTRO_SECRETS_DIR', path: true, unset: 'required by the `dir` source', description: 'The folder of the `dir` secrets source, e.g. `/run/secrets`.' }),
  awsSecretsRegion: optional(text, {
    env: 'MAESTRO_SECRETS_AWS_REGION',
    unset: 'then `AWS_REGION`; one of them is required by the `aws` source',
    description: 'Region of the `aws` secrets source, e.g. `eu-west-1`.',
  }),
  awsSecretsEndpoint: optional(Type.String({ format: 'url' }), {
    env: 'MAESTRO_SECRETS_AWS_ENDPOINT',
    unset: "AWS's endpoint for the region",
    description: 'Endpoint of an AWS Secrets Manager–compatible server, e.g. a VPC endpoint or a local emulator.',
  }),
  awsSecretsAccessKeyId: optional(text, {
    env: 'MAESTRO_SECRETS_AWS_ACCESS_KEY_ID',
    unset: "AWS's standard credential chain (environment, profile, container, instance role)",
    description: 'Access key id the `aws` source signs with, with MAESTRO_SECRETS_AWS_SECRET_ACCESS_KEY; both or neither.',
  }),
  awsSecretsSecretAccessKey: optional(text, {
    env: 'MAESTRO_SECRETS_AWS_SECRET_ACCESS_KEY',
    secret: true,
    unset: "AWS's standard credential chain",
    description: 'Secret access key of MAESTRO_SECRETS_AWS_ACCESS_KEY_ID; never shown.',
  }),
  awsSecretsPrefix: optional(Type.String({ pattern: '^[A-Za-z0-9/_+=.@-]{1,256}$' }), {
    env: 'MAESTRO_SECRETS_AWS_PREFIX',
    message: 'must be letters, digits and / _ + = . @ - (e.g. maestro/prod/)',
    unset: 'no prefix',
    description:
      'Prefix of the names read: secret `db-url` is the AWS secret `<prefix>db-url`, e.g. with `maestro/prod/`, `maestro/prod/db-url`. Grant the credentials `secretsmanager:GetSecretValue` on `<prefix>*` only.',
  }),
});

/** Secrets (see {@link secretsSection}). */
export type SecretsSettings = SettingsOf<typeof secretsSection>;
