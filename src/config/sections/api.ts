/**
 * Settings of the HTTP API (address, limits, event streams), of authentication, of run admission,
 * and of the CLI as a client of the API.
 */
import { Type } from '@sinclair/typebox';
import { checkedList, runLimits } from '../decode.js';
import { optional, section, setting, type SettingsOf } from '../setting.js';

const text = Type.String({ minLength: 1 });

/** Where the API listens and what it accepts. */
export const serverSection = section('server', 'Where the HTTP API listens and how large a request may be.', {
  port: setting(Type.Integer({ minimum: 0, maximum: 65535 }), { env: 'MAESTRO_PORT', default: 8080, description: "Port of Maestro's HTTP API." }),
  host: setting(text, {
    env: 'MAESTRO_HOST',
    default: '127.0.0.1',
    description: 'Address the HTTP API binds: `127.0.0.1` serves this host only; `0.0.0.0` (or `::`) serves other hosts, as a container must.',
  }),
  bodyLimitBytes: optional(Type.Integer({ minimum: 1024, maximum: 256 * 2 ** 20 }), {
    env: 'MAESTRO_BODY_LIMIT_BYTES',
    unset: '1048576 (1 MiB)',
    description: 'Largest request body, in bytes, of any route that takes JSON; a larger one is `413 PAYLOAD_TOO_LARGE` before it is parsed.',
  }),
  metricsPublic: optional(Type.Boolean(), {
    env: 'MAESTRO_METRICS_PUBLIC',
    unset: 'false: a token with the `metrics` role (or `admin`) is required',
    description: 'Serve `GET /metrics` without a token (true | false). Its figures cover every namespace: open it only where workflow authors cannot reach it.',
  }),
});

/** The API's address and limits (see {@link serverSection}). */
export type ServerSettings = SettingsOf<typeof serverSection>;

/** Event streams (`/runs/{runId}/events`, `/runs/{runId}/logs`). */
export const streamsSection = section('streams', 'Server-Sent Event streams of the API (`/runs/{runId}/events`, `/runs/{runId}/logs`): how many, and how slow a reader may be.', {
  streamsPerPrincipal: optional(Type.Integer({ minimum: 1, maximum: 100_000 }), {
    env: 'MAESTRO_STREAMS_PER_PRINCIPAL',
    unset: '8',
    description: 'Most event streams one principal may hold open at once; one more is `429 TOO_MANY_STREAMS` with `Retry-After`.',
  }),
  streamsTotal: optional(Type.Integer({ minimum: 1, maximum: 1_000_000 }), {
    env: 'MAESTRO_STREAMS_TOTAL',
    unset: '256',
    description: 'Most event streams open at once in this API process, over every principal; one more is `429 TOO_MANY_STREAMS` with `Retry-After`.',
  }),
  streamStallMs: optional(Type.Integer({ minimum: 100, maximum: 3_600_000 }), {
    env: 'MAESTRO_STREAM_STALL_MS',
    unset: '30000',
    description: 'Milliseconds an event stream may stay unable to write, its client not reading what was sent, before the API closes it; a stream never buffers more than one batch of events for a slow client.',
  }),
});

/** Event streams (see {@link streamsSection}). */
export type StreamsSettings = SettingsOf<typeof streamsSection>;

/** The JWT signature algorithms Maestro can accept: asymmetric ones (JWKS keys are public keys). */
export const JWT_ALGORITHMS = ['RS256', 'RS384', 'RS512', 'PS256', 'PS384', 'PS512', 'ES256', 'ES384', 'ES512', 'EdDSA'] as const;

/**
 * Fewest characters of `MAESTRO_DEV_TOKEN`: it is an admin credential for every namespace, so it
 * must be out of reach of guessing — 32 random characters are at least 160 bits; the generated dev
 * token is 43 (32 random bytes, base64url).
 */
export const MIN_DEV_TOKEN_LENGTH = 32;

/** How API callers authenticate. */
export const authSection = section('auth', 'How API callers authenticate: a tokens file, JWTs verified against a JWKS, the dev token.', {
  authFile: optional(text, {
    env: 'MAESTRO_AUTH_FILE',
    path: true,
    description: 'YAML file of API tokens: `tokens: [{name, token | sha256, roles, namespaces}]`.',
  }),
  devToken: optional(Type.String({ minLength: MIN_DEV_TOKEN_LENGTH }), {
    env: 'MAESTRO_DEV_TOKEN',
    secret: true,
    message: `must be at least ${MIN_DEV_TOKEN_LENGTH} characters: it is an admin token for every namespace, so it must not be guessable (unset it and npm start generates one)`,
    description: `An admin token for local use, at least ${MIN_DEV_TOKEN_LENGTH} characters; never shown. Refused beside MAESTRO_AUTH_FILE or MAESTRO_JWKS_URL unless MAESTRO_ALLOW_DEV_TOKEN.`,
  }),
  allowDevToken: optional(Type.Boolean(), {
    env: 'MAESTRO_ALLOW_DEV_TOKEN',
    unset: 'false: start-up fails with both',
    description: 'Accept MAESTRO_DEV_TOKEN even though a tokens file or a JWKS is configured (true | false): a second admin credential beside the real ones is usually a leftover, so it must be asked for.',
  }),
  jwksUrl: optional(Type.String({ format: 'url' }), {
    env: 'MAESTRO_JWKS_URL',
    unset: 'JWTs are not accepted',
    description: 'JWKS URL to verify JWT bearer tokens against, for OIDC deployments.',
  }),
  jwtIssuer: optional(text, { env: 'MAESTRO_JWT_ISSUER', description: 'Required `iss` of JWTs; with MAESTRO_JWKS_URL set, start-up fails without it.' }),
  jwtAudience: optional(text, { env: 'MAESTRO_JWT_AUDIENCE', description: 'Required `aud` of JWTs; with MAESTRO_JWKS_URL set, start-up fails without it.' }),
  jwtAlgorithms: optional(Type.Array(Type.String(), { minItems: 1 }), {
    env: 'MAESTRO_JWT_ALGORITHMS',
    decode: checkedList(
      'algorithm',
      (name) => (JWT_ALGORITHMS as readonly string[]).includes(name),
      (name) => `names "${name}", which is not accepted: only asymmetric algorithms (${JWT_ALGORITHMS.join(', ')}); "none" and HS* never`,
    ),
    unset: 'every asymmetric algorithm',
    description: `Signature algorithms a JWT may use (e.g. \`RS256,ES256\`; in the file, a list): asymmetric ones only (${JWT_ALGORITHMS.join(', ')}), so a public key can never serve as an HMAC secret and \`none\` is never accepted.`,
  }),
});

/** Authentication (see {@link authSection}). */
export type AuthSettings = SettingsOf<typeof authSection>;

/** How many runs each namespace may have at once. */
export const runsSection = section('runs', 'Admission of runs: how many may run at once per namespace, and how deep sub-workflows nest.', {
  namespaceRunLimits: optional(Type.Record(Type.String(), Type.Integer({ minimum: 1, maximum: 1_000_000 })), {
    env: 'MAESTRO_NAMESPACE_RUN_LIMITS',
    decode: runLimits,
    unset: 'no limit in any namespace',
    description: 'Most concurrent runs per Maestro namespace; runs beyond it are queued, not refused (e.g. `team-a=5,team-b=2`; in the file, a mapping).',
  }),
  subWorkflowMaxDepth: setting(Type.Integer({ minimum: 1, maximum: 100 }), {
    env: 'MAESTRO_SUBWORKFLOW_MAX_DEPTH',
    default: 5,
    description: 'How deep sub-workflows may nest (a child of a top-level run is at depth 1): the worker refuses to start one deeper (`SUBWORKFLOW_DEPTH_EXCEEDED`).',
  }),
});

/** Run admission (see {@link runsSection}). */
export type RunsSettings = SettingsOf<typeof runsSection>;

/** The CLI as a client of the API. */
export const clientSection = section('client', 'The Maestro API the CLI talks to.', {
  apiUrl: optional(Type.String({ format: 'url' }), { env: 'MAESTRO_URL', unset: '`http://localhost:<port>`', description: 'Base URL of the Maestro API the CLI talks to.' }),
  apiToken: optional(text, {
    env: 'MAESTRO_TOKEN',
    secret: true,
    unset: 'the dev token in `<dataDir>/dev-token`, if any',
    description: 'Bearer token the CLI sends; never shown.',
  }),
});

/** The CLI's API client (see {@link clientSection}). */
export type ClientSettings = SettingsOf<typeof clientSection>;
