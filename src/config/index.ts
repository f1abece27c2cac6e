/**
 * Maestro's settings: one schema ({@link CONFIG_SCHEMA}) for the `MAESTRO_*` environment variables
 * and the optional YAML file named by `MAESTRO_CONFIG`, parsed once at start-up by
 * {@link loadConfig}. Functions take the resulting {@link Config} as a parameter; nothing else reads
 * `MAESTRO_*` variables.
 */
import { readFileSync } from 'node:fs';
import { isIP } from 'node:net';
import { delimiter, dirname, resolve } from 'node:path';
import { parse as parseYaml } from 'yaml';
import { CidrError, isCidr, parseEndpoint } from '../egress/index.js';
import { ConfigError } from '../errors/index.js';
import { parseDuration } from '../ir/index.js';

export {
  DEFAULT_TEMPORAL_ADDRESS,
  temporalConnectOptions,
  hasTemporalCredentials,
  type TemporalConnectionSettings,
  type TemporalConnectOptions,
  type TemporalTls,
} from './temporal-connection.js';

/** Log levels, most verbose first. */
export const LOG_LEVELS = ['debug', 'info', 'warn', 'error'] as const;
/** A log level. */
export type LogLevel = (typeof LOG_LEVELS)[number];

/** The JWT signature algorithms Maestro can accept: asymmetric ones (JWKS keys are public keys). */
export const JWT_ALGORITHMS = ['RS256', 'RS384', 'RS512', 'PS256', 'PS384', 'PS512', 'ES256', 'ES384', 'ES512', 'EdDSA'] as const;

/**
 * Fewest characters of `MAESTRO_DEV_TOKEN`: it is an admin credential for every namespace, so it
 * must be out of reach of guessing — 32 random characters are at least 160 bits; the generated dev
 * token is 43 (32 random bytes, base64url).
 */
export const MIN_DEV_TOKEN_LENGTH = 32;

/** Maestro's resolved settings. Paths are absolute. */
export interface Config {
  /**
   * Temporal frontend `host:port` (`TEMPORAL_ADDRESS`). Unset: `maestro dev` starts a Temporal dev
   * server, and clients use {@link DEFAULT_TEMPORAL_ADDRESS}.
   * @default undefined
   */
  readonly temporalAddress?: string;
  /**
   * Frontend gRPC port of the dev server `maestro dev` starts when {@link Config.temporalAddress} is
   * unset (`MAESTRO_TEMPORAL_PORT`).
   * @default 7233
   */
  readonly temporalPort: number;
  /**
   * Connect to Temporal over TLS (`TEMPORAL_TLS`: true | false, as Temporal's CLI and SDKs read it).
   * Unset: TLS when a client certificate, a server CA or an API key is set.
   * @default undefined
   */
  readonly temporalTls?: boolean;
  /**
   * PEM client certificate for mutual TLS to Temporal (`TEMPORAL_TLS_CLIENT_CERT_PATH`); needs
   * {@link Config.temporalTlsClientKeyPath}.
   * @default undefined — no client certificate
   */
  readonly temporalTlsClientCertPath?: string;
  /**
   * PEM private key of that client certificate (`TEMPORAL_TLS_CLIENT_KEY_PATH`).
   * @default undefined
   */
  readonly temporalTlsClientKeyPath?: string;
  /**
   * PEM CA certificate(s) the Temporal frontend's certificate must chain to
   * (`TEMPORAL_TLS_SERVER_CA_CERT_PATH`).
   * @default undefined — the system's roots
   */
  readonly temporalTlsServerCaCertPath?: string;
  /**
   * Name the frontend's certificate must carry, and the TLS SNI sent, when it is not the host of
   * {@link Config.temporalAddress} (`TEMPORAL_TLS_SERVER_NAME`).
   * @default undefined — the address's host
   */
  readonly temporalTlsServerName?: string;
  /**
   * API key sent to Temporal as `authorization: Bearer <key>` on every call (`TEMPORAL_API_KEY`), as
   * Temporal Cloud or a server with an authorizer expects; never shown.
   * @default undefined
   */
  readonly temporalApiKey?: string;
  /**
   * Temporal namespace runs live in (`MAESTRO_TEMPORAL_NAMESPACE`).
   * @default 'default'
   */
  readonly temporalNamespace: string;
  /**
   * Task queue the worker polls and runs are started on (`MAESTRO_TASK_QUEUE`).
   * @default 'maestro'
   */
  readonly taskQueue: string;
  /**
   * Folder for local state: the dev server's SQLite file, the registry, artifacts (`MAESTRO_DATA_DIR`).
   * @default '<cwd>/.maestro'
   */
  readonly dataDir: string;
  /**
   * Filesystem artifact store for large task outputs (`MAESTRO_ARTIFACT_DIR`).
   * @default '<dataDir>/artifacts'
   */
  readonly artifactDir: string;
  /**
   * Temporal CLI binary (`MAESTRO_TEMPORAL_BIN`). Unset: `temporal` on PATH, then `.tools/bin/temporal`.
   * @default undefined
   */
  readonly temporalBin?: string;
  /**
   * Port of Maestro's HTTP API (`MAESTRO_PORT`).
   * @default 8080
   */
  readonly port: number;
  /**
   * Address the HTTP API binds (`MAESTRO_HOST`): `0.0.0.0` (or `::`) serves other hosts, as a
   * container must.
   * @default '127.0.0.1' — this host only
   */
  readonly host: string;
  /**
   * Port of the dev server's Temporal Web UI (`MAESTRO_TEMPORAL_UI_PORT`).
   * @default 8233
   */
  readonly uiPort: number;
  /**
   * Base URL of the Temporal Web UI the console links each run to (`MAESTRO_TEMPORAL_UI_URL`), for a
   * UI that is not the local dev server's (a cluster's, or one behind a proxy).
   * @default undefined — the dev server's UI on `uiPort`, when Temporal is local
   */
  readonly temporalUiUrl?: string;
  /**
   * Task outputs larger than this many bytes go to the artifact store and travel by reference
   * (`MAESTRO_LARGE_OUTPUT_BYTES`).
   * @default 262144
   */
  readonly largeOutputBytes: number;
  /**
   * Log level (`MAESTRO_LOG_LEVEL`): debug | info | warn | error.
   * @default 'info'
   */
  readonly logLevel: LogLevel;
  /**
   * YAML file of API tokens (`MAESTRO_AUTH_FILE`): `tokens: [{name, token | sha256, roles, namespaces}]`.
   * @default undefined
   */
  readonly authFile?: string;
  /**
   * An admin token for local use (`MAESTRO_DEV_TOKEN`), at least {@link MIN_DEV_TOKEN_LENGTH}
   * characters; never shown. Refused beside `authFile` or `jwksUrl` unless {@link Config.allowDevToken}.
   * @default undefined
   */
  readonly devToken?: string;
  /**
   * Accept `MAESTRO_DEV_TOKEN` even though a tokens file or a JWKS is configured
   * (`MAESTRO_ALLOW_DEV_TOKEN`: true | false): a second admin credential beside the real ones is
   * usually a leftover, so it must be asked for.
   * @default undefined — false: start-up fails with both
   */
  readonly allowDevToken?: boolean;
  /**
   * JWKS URL to verify JWT bearer tokens against, for OIDC deployments (`MAESTRO_JWKS_URL`).
   * @default undefined — JWTs are not accepted
   */
  readonly jwksUrl?: string;
  /**
   * Required `iss` of JWTs (`MAESTRO_JWT_ISSUER`); with `jwksUrl` set, start-up fails without it.
   * @default undefined
   */
  readonly jwtIssuer?: string;
  /**
   * Required `aud` of JWTs (`MAESTRO_JWT_AUDIENCE`); with `jwksUrl` set, start-up fails without it.
   * @default undefined
   */
  readonly jwtAudience?: string;
  /**
   * Signature algorithms a JWT may use (`MAESTRO_JWT_ALGORITHMS`, e.g. `RS256,ES256`; in the file, a
   * list): asymmetric ones only ({@link JWT_ALGORITHMS}), so a public key can never serve as an HMAC
   * secret and `none` is never accepted.
   * @default undefined — every algorithm of {@link JWT_ALGORITHMS}
   */
  readonly jwtAlgorithms?: readonly string[];
  /**
   * PostgreSQL URL of the control plane's store (`MAESTRO_DATABASE_URL`, `postgres://…`); never shown.
   * @default undefined — SQLite in `<dataDir>/registry.db`
   */
  readonly databaseUrl?: string;
  /**
   * Most concurrent runs per Maestro namespace; runs beyond it are queued, not refused
   * (`MAESTRO_NAMESPACE_RUN_LIMITS`, e.g. `team-a=5,team-b=2`; in the file, a mapping).
   * @default undefined — no limit in any namespace
   */
  readonly namespaceRunLimits?: Readonly<Record<string, number>>;
  /**
   * Serve `GET /metrics` without a token (`MAESTRO_METRICS_PUBLIC`: true | false).
   * @default undefined — false: a token is required
   */
  readonly metricsPublic?: boolean;
  /**
   * Base URL of the Maestro API the CLI talks to (`MAESTRO_URL`).
   * @default undefined — `http://localhost:<port>`
   */
  readonly apiUrl?: string;
  /**
   * Bearer token the CLI sends (`MAESTRO_TOKEN`); never shown.
   * @default undefined — the dev token in `<dataDir>/dev-token`, if any
   */
  readonly apiToken?: string;
  /**
   * The container engine's Docker API (`DOCKER_HOST`): `unix:///path.sock` (Docker, or Podman's
   * `podman system service`), `tcp://host:port`.
   * @default undefined — unix:///var/run/docker.sock
   */
  readonly dockerHost?: string;
  /**
   * Resource classes of container, Kubernetes and serverless attempts, added to or replacing the
   * built-in `small` (0.5 CPU, 512Mi, 15m), `medium` (1, 2Gi, 1h) and `large` (2, 8Gi, 4h)
   * (`MAESTRO_RESOURCE_CLASSES`: `name=cpu:memory:timeout,…`, e.g. `gpu=4:16Gi:2h`; in the file, a
   * mapping of name to `{cpu, memory, timeout}`).
   * @default undefined — the built-in classes only
   */
  readonly resourceClasses?: Readonly<Record<string, ResourceClassSetting>>;
  /**
   * Kubeconfig file(s) of the Kubernetes runner (`KUBECONFIG`). Unset: in-cluster credentials when
   * the worker runs in a pod, else `~/.kube/config`.
   * @default undefined
   */
  readonly kubeconfig?: string;
  /**
   * Kubernetes namespace of each Maestro namespace's Jobs (`MAESTRO_K8S_NAMESPACES`, e.g.
   * `default=maestro,team-a=team-a-jobs`; in the file, a mapping).
   * @default undefined — `maestro-<namespace>` for every Maestro namespace
   */
  readonly k8sNamespaces?: Readonly<Record<string, string>>;
  /**
   * Functions the serverless runner may invoke, by name (`MAESTRO_FUNCTIONS`, e.g.
   * `resize=http://gateway:8080/function/resize,bill=lambda:arn:aws:lambda:eu-west-1:1:function:bill`;
   * in the file, a mapping): an HTTP URL (Knative, OpenFaaS) or `lambda:<name or ARN>`.
   * @default undefined — no functions
   */
  readonly functions?: Readonly<Record<string, string>>;
  /**
   * AWS Lambda API endpoint (`MAESTRO_LAMBDA_ENDPOINT`), e.g. a local emulator.
   * @default undefined — the region's AWS endpoint
   */
  readonly lambdaEndpoint?: string;
  /**
   * AWS region of Lambda functions (`MAESTRO_LAMBDA_REGION`).
   * @default undefined — the AWS SDK's (AWS_REGION, profile)
   */
  readonly lambdaRegion?: string;
  /**
   * Start only containers whose image signature the configured verifier accepts
   * (`MAESTRO_REQUIRE_SIGNED_IMAGES`: true | false). Without a verifier, containers fail closed.
   * @default undefined — false
   */
  readonly requireSignedImages?: boolean;
  /**
   * Maestro namespaces whose containers must run signed images, as if
   * {@link Config.requireSignedImages} were set for them alone (`MAESTRO_SIGNED_IMAGE_NAMESPACES`,
   * e.g. `prod,payments`; in the file, a list).
   * @default undefined — only where `requireSignedImages` or the task asks
   */
  readonly signedImageNamespaces?: readonly string[];
  /**
   * Public keys (SPKI PEM files) whose image signatures are trusted (`MAESTRO_IMAGE_KEYS`, separated
   * by `:`; in the file, a list). Separate from the receipt keys: who may vouch for an image is not
   * who may sign a run's receipt.
   * @default undefined — no key: a required image signature always fails (closed)
   */
  readonly imageKeys?: readonly string[];
  /**
   * Folder of image signatures, one Sigstore bundle per image digest, `sha256-<hex>.sigstore.json`
   * (`MAESTRO_IMAGE_SIGNATURES_DIR`); written by `maestro images sign`.
   * @default undefined — `<dataDir>/image-signatures`
   */
  readonly imageSignaturesDir?: string;
  /**
   * Non-public address ranges and exact endpoints each namespace's tasks may reach, whatever opens
   * the connection (HTTP, gRPC, Kafka, NATS, S3, PostgreSQL, functions) (`MAESTRO_EGRESS_ALLOW`):
   * JSON (in the file, a mapping) of namespace → list, `"*"` for every namespace, e.g.
   * `{"default":["127.0.0.0/8","::1/128"],"payments":["10.20.0.0/16"],"ops":["temporal:7233"]}`.
   * An entry is a CIDR or one `host:port`. Loopback, private, link-local, CGNAT and metadata
   * addresses are refused to every namespace not listed; Maestro's own endpoints (Temporal
   * frontend and UI, the API, the registry database, OPA) are refused even inside a listed range,
   * unless the exact `host:port` is listed.
   * @default {} — public addresses only (or the deprecated {@link Config.httpAllow})
   */
  readonly egressAllow: Readonly<Record<string, readonly string[]>>;
  /**
   * Deprecated name of {@link Config.egressAllow} (`MAESTRO_HTTP_ALLOW`), still read: it applies
   * to every task now, not only HTTP. Setting both to different values refuses to start.
   * @default undefined
   */
  readonly httpAllow?: Readonly<Record<string, readonly string[]>>;
  /**
   * Maestro namespaces whose containers and Kubernetes Jobs may have a network (`network: true`)
   * (`MAESTRO_CONTAINER_NETWORK_NAMESPACES`, e.g. `ops,payments`, `*` for every namespace; in the
   * file, a list). Elsewhere such a task fails with `EGRESS_DENIED` before the container starts.
   * @default undefined — none
   */
  readonly containerNetworkNamespaces?: readonly string[];
  /**
   * Which namespaces may use each secret and, optionally, which hosts its value may be sent to
   * (`MAESTRO_SECRETS`: JSON; in the file, a mapping), e.g.
   * `{"s3-key":{"namespaces":["ops"],"hosts":["s3.internal","*.amazonaws.com"]}}`. `"*"` in
   * `namespaces` is every namespace; a host `*.example.com` is any name under `example.com`. A secret
   * not declared here may be used by namespace `default` only, bound to no host.
   * @default {} — every secret undeclared
   */
  readonly secrets: Readonly<Record<string, SecretScope>>;
  /**
   * Where secret values are read (`MAESTRO_SECRETS_SOURCE`): `env` (`MAESTRO_SECRET_<NAME>`
   * variables), `dir` (one file per secret in {@link Config.secretsDir}, as Kubernetes and
   * Docker mount them), or `aws` (AWS Secrets Manager, see {@link Config.awsSecretsRegion}).
   * @default 'env'
   */
  readonly secretsSource: SecretsSourceKind;
  /**
   * The folder of the `dir` secrets source (`MAESTRO_SECRETS_DIR`), e.g. `/run/secrets`.
   * @default undefined — required by the `dir` source
   */
  readonly secretsDir?: string;
  /**
   * Region of the `aws` secrets source (`MAESTRO_SECRETS_AWS_REGION`), e.g. `eu-west-1`.
   * @default undefined — then `AWS_REGION`; one of them is required by the `aws` source
   */
  readonly awsSecretsRegion?: string;
  /**
   * Endpoint of an AWS Secrets Manager–compatible server (`MAESTRO_SECRETS_AWS_ENDPOINT`), e.g.
   * a VPC endpoint or a local emulator.
   * @default undefined — AWS's endpoint for the region
   */
  readonly awsSecretsEndpoint?: string;
  /**
   * Access key id the `aws` source signs with (`MAESTRO_SECRETS_AWS_ACCESS_KEY_ID`), with
   * {@link Config.awsSecretsSecretAccessKey}; both or neither.
   * @default undefined — AWS's standard credential chain (environment, profile, container, instance role)
   */
  readonly awsSecretsAccessKeyId?: string;
  /**
   * Secret access key of {@link Config.awsSecretsAccessKeyId} (`MAESTRO_SECRETS_AWS_SECRET_ACCESS_KEY`); never shown.
   * @default undefined — AWS's standard credential chain
   */
  readonly awsSecretsSecretAccessKey?: string;
  /**
   * Prefix of the names read (`MAESTRO_SECRETS_AWS_PREFIX`): secret `db-url` is the AWS secret
   * `<prefix>db-url`, e.g. with `maestro/prod/`, `maestro/prod/db-url`. Grant the credentials
   * `secretsmanager:GetSecretValue` on `<prefix>*` only.
   * @default undefined — no prefix
   */
  readonly awsSecretsPrefix?: string;
  /**
   * Folders the file tasks (`ops/disclosure.package`) may read from and write to
   * (`MAESTRO_FILE_ROOTS`, separated by `:`; in the file, a list). Relative paths are relative to
   * the working directory.
   * @default [] — file tasks refuse every path
   */
  readonly fileRoots: readonly string[];
  /**
   * Modules of your own tasks the worker adds to the catalog at start (`MAESTRO_TASK_MODULES`,
   * separated by `:`; in the file, a list): each exports `defineTask` results (default or named).
   * Relative paths are relative to the working directory.
   * @default undefined — the built-in tasks only
   */
  readonly taskModules?: readonly string[];
  /**
   * Policy decision point (`MAESTRO_POLICY_MODE`): `embedded` evaluates the policy compiled to
   * WebAssembly in-process; `remote` asks an OPA server at {@link Config.opaUrl}.
   * @default undefined — embedded
   */
  readonly policyMode?: PolicyMode;
  /**
   * The `opa build -t wasm` bundle the embedded PDP loads (`MAESTRO_POLICY_BUNDLE`).
   * @default undefined — `<repo>/dist/policy/bundle.wasm.tar.gz`, built from policies/ by `npm start` / `npm test`
   */
  readonly policyBundle?: string;
  /**
   * Base URL of the OPA server of the remote PDP (`MAESTRO_OPA_URL`); Maestro posts to
   * `<url>/v1/data/maestro/decision`.
   * @default undefined — http://127.0.0.1:8181
   */
  readonly opaUrl?: string;
  /**
   * Milliseconds the remote PDP waits for OPA before the decision falls back to
   * {@link Config.policyOnUnavailable} (`MAESTRO_POLICY_TIMEOUT_MS`).
   * @default undefined — 500
   */
  readonly policyTimeoutMs?: number;
  /**
   * Per namespace, what a decision is when the PDP cannot answer (`MAESTRO_POLICY_ON_UNAVAILABLE`:
   * `namespace=open|closed,…`; in the file, a mapping). `open` lets work run (and logs it); keep it
   * for namespaces that must not stop when OPA does.
   * @default undefined — closed in every namespace
   */
  readonly policyOnUnavailable?: Readonly<Record<string, string>>;
  /**
   * OPA binary for the policy scripts and tests (`MAESTRO_OPA_BIN`). Unset: `opa` on PATH, then
   * `.tools/bin/opa`.
   * @default undefined
   */
  readonly opaBin?: string;
  /**
   * PKCS#8 PEM private key (ECDSA P-256 or Ed25519) that signs run receipts, disclosure bundles and
   * release attestations (`MAESTRO_SIGNING_KEY`). Set: it must exist. Unset: the dev key, created
   * on first use with mode 0600 (its public key beside it as `.pub`).
   * @default undefined — `<dataDir>/keys/receipt-signing.key`
   */
  readonly signingKey?: string;
  /**
   * PKCS#8 PEM private key (Ed25519 or ECDSA P-256) the API signs approval decisions with and the
   * worker checks them against (`MAESTRO_APPROVAL_KEY`); the API and every worker need the same
   * file. Set: it must exist. Unset: the dev key, created on first use with mode 0600.
   * @default undefined — `<dataDir>/keys/approval-signing.key`
   */
  readonly approvalKey?: string;
  /**
   * Folder of trusted public keys (`*.pub` / `*.pem`, SPKI PEM) that receipts and bundles are
   * verified against, besides the signing key's own (`MAESTRO_TRUSTED_KEYS_DIR`).
   * @default undefined — only the signing key's public key is trusted
   */
  readonly trustedKeysDir?: string;
  /**
   * Fulcio URL for keyless signing (`MAESTRO_FULCIO_URL`); with {@link Config.rekorUrl} set too,
   * receipts are signed keylessly (needs the network and an OIDC token) instead of with the local key.
   * @default undefined — local key
   */
  readonly fulcioUrl?: string;
  /**
   * Rekor URL for keyless signing (`MAESTRO_REKOR_URL`); see {@link Config.fulcioUrl}.
   * @default undefined — local key
   */
  readonly rekorUrl?: string;
  /**
   * `builder.id` recorded in run receipts (`MAESTRO_BUILDER_ID`): a URI naming this Maestro installation.
   * @default undefined — `urn:maestro:builder:<temporalNamespace>/<taskQueue>`
   */
  readonly builderId?: string;
  /**
   * Where the task cache and the receipts are kept (`MAESTRO_PROVENANCE_STORE`): `fs` under
   * `<dataDir>` (`task-cache/`, `receipts/`), or `s3` in {@link Config.provenanceS3Bucket}.
   * @default undefined — fs
   */
  readonly provenanceStore?: ProvenanceStoreKind;
  /**
   * Bucket of the `s3` provenance store (`MAESTRO_PROVENANCE_S3_BUCKET`); credentials and region
   * come from the AWS default chain (`AWS_ACCESS_KEY_ID`, `AWS_REGION`, …).
   * @default undefined
   */
  readonly provenanceS3Bucket?: string;
  /**
   * Key prefix in that bucket (`MAESTRO_PROVENANCE_S3_PREFIX`), e.g. `maestro/`.
   * @default undefined — ''
   */
  readonly provenanceS3Prefix?: string;
  /**
   * Endpoint of an S3-compatible server (`MAESTRO_PROVENANCE_S3_ENDPOINT`); path-style addressing is used.
   * @default undefined — AWS S3
   */
  readonly provenanceS3Endpoint?: string;
  /**
   * Whether tasks whose cache is on (deterministic catalog tasks, or `cache.enabled`) reuse
   * earlier outputs (`MAESTRO_TASK_CACHE`: true | false).
   * @default undefined — true
   */
  readonly taskCache?: boolean;
  /**
   * Most event streams (`/runs/{runId}/events`, `/runs/{runId}/logs` as Server-Sent Events) one
   * principal may hold open at once (`MAESTRO_STREAMS_PER_PRINCIPAL`); one more is `429
   * TOO_MANY_STREAMS` with `Retry-After`.
   * @default undefined — 8
   */
  readonly streamsPerPrincipal?: number;
  /**
   * Most event streams open at once in this API process, over every principal
   * (`MAESTRO_STREAMS_TOTAL`); one more is `429 TOO_MANY_STREAMS` with `Retry-After`.
   * @default undefined — 256
   */
  readonly streamsTotal?: number;
  /**
   * How long an event stream may stay unable to write, its client not reading what was sent,
   * before the API closes it (`MAESTRO_STREAM_STALL_MS`); a stream never buffers more than one
   * batch of events for a slow client.
   * @default undefined — 30000
   */
  readonly streamStallMs?: number;
  /**
   * Largest request body, in bytes, of any route that takes JSON (`MAESTRO_BODY_LIMIT_BYTES`); a
   * larger one is `413 PAYLOAD_TOO_LARGE` before it is parsed.
   * @default undefined — 1048576 (1 MiB)
   */
  readonly bodyLimitBytes?: number;
  /**
   * Task log lines older than this are deleted by the API process, once an hour
   * (`MAESTRO_TASK_LOG_RETENTION`, a duration such as `30d`; `maestro logs prune --older-than`
   * does it by hand).
   * @default undefined — kept until pruned by hand
   */
  readonly taskLogRetentionMs?: number;
  /**
   * AES-256 keys of the Temporal payload codec (`MAESTRO_PAYLOAD_KEY`): `id=base64,id=base64`
   * (or one bare base64 key, id `k1`), 32 bytes each; the first encrypts, every one decrypts (keep
   * an old key listed after a new one until no history needs it). Never shown.
   * @default undefined — `payloadKeyFile`, else `<dataDir>/payload-key` (created on first use)
   */
  readonly payloadKey?: string;
  /**
   * File holding the payload codec's keys in the `MAESTRO_PAYLOAD_KEY` format, one per line or
   * comma-separated (`MAESTRO_PAYLOAD_KEY_FILE`): how Kubernetes and Docker mount a secret.
   * @default undefined — `<dataDir>/payload-key`, created with a fresh key on first use
   */
  readonly payloadKeyFile?: string;
  /**
   * Origins allowed to call `/codec/encode` and `/codec/decode` from a browser: the Temporal Web UI
   * (`MAESTRO_CODEC_CORS_ORIGINS`, comma-separated).
   * @default undefined — the origin of `temporalUiUrl`, or `http://localhost:<uiPort>` and `http://127.0.0.1:<uiPort>`
   */
  readonly codecCorsOrigins?: readonly string[];
}

/** One key of the Temporal payload codec. */
export interface PayloadKey {
  /** Written in each encrypted payload's metadata, so the key that decrypts it can be found. */
  readonly id: string;
  /** 32 bytes. */
  readonly key: Buffer;
}

/**
 * Parses payload codec keys: `id=base64` items separated by commas or newlines, or one bare
 * base64 key (id `k1`). The first item is the key that encrypts.
 *
 * @throws {ConfigError} naming `source` when an item is not a 32-byte key or an id repeats.
 */
export function parsePayloadKeys(text: string, source: string): readonly PayloadKey[] {
  const items = text.split(/[,\n]/).map((item) => item.trim()).filter((item) => item !== '');
  if (items.length === 0) throw new ConfigError(`${source} names no payload key`);
  const keys = items.map((item, index) => {
    const separator = item.indexOf('=', 1);
    const named = separator > 0 && /^[A-Za-z0-9._-]{1,64}$/.test(item.slice(0, separator)) && item.length > separator + 1;
    const id = named ? item.slice(0, separator) : `k${index + 1}`;
    const encoded = named ? item.slice(separator + 1) : item;
    const key = Buffer.from(encoded, 'base64');
    if (key.length !== 32 || !/^[A-Za-z0-9+/]+={0,2}$/.test(encoded)) {
      throw new ConfigError(`${source}: key ${index + 1} must be 32 bytes in base64 (\`openssl rand -base64 32\`)`, { details: { setting: source } });
    }
    return Object.freeze({ id, key });
  });
  const ids = new Set(keys.map((key) => key.id));
  if (ids.size !== keys.length) throw new ConfigError(`${source}: payload key ids must differ`, { details: { setting: source } });
  return Object.freeze(keys);
}

/** Who may use one secret, and where it may be sent (see {@link Config.secrets}). */
export interface SecretScope {
  /** Maestro namespaces whose tasks may resolve it; `*` is every namespace. */
  readonly namespaces: readonly string[];
  /**
   * Host names or IP literals its value may be sent to (`*.example.com`: any name under
   * `example.com`), lower-cased. @default undefined — any host
   */
  readonly hosts?: readonly string[];
}

/** Where secret values are read (`MAESTRO_SECRETS_SOURCE`). */
export type SecretsSourceKind = 'env' | 'dir' | 'aws';

/** Where the task cache and receipts are kept (`MAESTRO_PROVENANCE_STORE`). */
export type ProvenanceStoreKind = 'fs' | 's3';

/** The policy decision point Maestro asks (`MAESTRO_POLICY_MODE`). */
export type PolicyMode = 'embedded' | 'remote';

/** The settings a config file or {@link extendConfig} may give, before defaults are applied. */
export type ConfigInput = { -readonly [K in keyof Config]?: Config[K] };

/** How one setting is read, checked and shown. */
interface FieldSpec {
  /** The environment variable. */
  env: string;
  /** Checks a raw value (a string from the environment, any YAML value from the file); returns it typed. */
  parse: (raw: unknown) => FieldValue;
  /** A path, made absolute when loaded. */
  path?: boolean;
  /** Never shown by `JSON.stringify(config)`. */
  secret?: boolean;
}

/** A checked setting's value. */
type FieldValue =
  | string | number | boolean | readonly string[] | Readonly<Record<string, number>> | Readonly<Record<string, readonly string[]>>
  | Readonly<Record<string, string>>
  | Readonly<Record<string, ResourceClassSetting>>
  | Readonly<Record<string, SecretScope>>;

/** Thrown by a field parser; {@link loadConfig} adds where the value came from. */
class FieldError extends Error {}

function text(raw: unknown): string {
  if (typeof raw !== 'string' || raw.trim() === '') throw new FieldError('must be a non-empty string');
  return raw.trim();
}

/** A duration such as `30d` or `12h` (a number in the file counts as milliseconds), as milliseconds. */
function duration(raw: unknown): number {
  const ms = typeof raw === 'number' ? raw : typeof raw === 'string' ? parseDuration(raw) : undefined;
  if (ms === undefined || !Number.isInteger(ms) || ms <= 0) throw new FieldError('must be a duration such as 30d, 12h or 90m');
  return ms;
}

function integer(min: number, max: number) {
  return (raw: unknown): number => {
    const value = typeof raw === 'string' && /^\s*\d+\s*$/.test(raw) ? Number(raw) : raw;
    if (typeof value !== 'number' || !Number.isInteger(value) || value < min || value > max) {
      throw new FieldError(`must be an integer from ${min} to ${max}`);
    }
    return value;
  };
}

function hostPort(raw: unknown): string {
  const value = text(raw);
  const match = /^(\[[0-9a-fA-F:.]+\]|[A-Za-z0-9.-]+):(\d{1,5})$/.exec(value);
  if (!match || Number(match[2]) < 1 || Number(match[2]) > 65535) throw new FieldError('must be host:port');
  return value;
}

function flag(raw: unknown): boolean {
  const value = typeof raw === 'string' ? raw.trim().toLowerCase() : raw;
  if (value === true || value === 'true' || value === '1') return true;
  if (value === false || value === 'false' || value === '0') return false;
  throw new FieldError('must be true or false');
}

function url(raw: unknown): string {
  const value = text(raw);
  if (!URL.canParse(value)) throw new FieldError('must be a URL');
  return value;
}

/** `name=count,name=count` (environment) or a mapping of name to count (file). */
/** A CIDR (`10.0.0.0/8`, `::1/128`), a bare IP address, or one `host:port` endpoint. */
function isAllowEntry(text: string): boolean {
  if (isCidr(text)) return true;
  try {
    parseEndpoint(text);
    return true;
  } catch (error) {
    if (error instanceof CidrError) return false;
    throw error;
  }
}

/** A JSON text (environment) or any value (file), parsed. */
function jsonOrValue(raw: unknown): unknown {
  if (typeof raw !== 'string') return raw;
  try {
    return JSON.parse(raw) as unknown;
  } catch (error) {
    // JSON.parse signals malformed text only by throwing a SyntaxError.
    if (!(error instanceof SyntaxError)) throw error;
    throw new FieldError(`must be JSON: ${error.message}`);
  }
}

function egressAllowList(raw: unknown): Readonly<Record<string, readonly string[]>> {
  const value = jsonOrValue(raw);
  if (value === null || typeof value !== 'object' || Array.isArray(value)) {
    throw new FieldError('must map namespaces to CIDR lists, e.g. {"default":["127.0.0.0/8"]}');
  }
  const allow: Record<string, readonly string[]> = {};
  for (const [namespace, cidrs] of Object.entries(value)) {
    if (namespace !== '*' && !/^[a-z0-9][a-z0-9-]*$/.test(namespace)) throw new FieldError(`has an invalid namespace name "${namespace}"`);
    if (!Array.isArray(cidrs) || !cidrs.every((cidr): cidr is string => typeof cidr === 'string' && isAllowEntry(cidr.trim()))) {
      throw new FieldError(`"${namespace}" must be a list of CIDR ranges such as "10.0.0.0/8" or "::1/128", or host:port endpoints`);
    }
    allow[namespace] = Object.freeze(cidrs.map((cidr) => cidr.trim()));
  }
  return Object.freeze(allow);
}

/** A host a secret may be sent to: a DNS name, an IP literal, or `*.` before a DNS name. */
function isSecretHost(host: string): boolean {
  if (isIP(host) !== 0) return true;
  const name = host.startsWith('*.') ? host.slice(2) : host;
  return name.length <= 253 && /^[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?(\.[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?)*$/.test(name);
}

function secretScopes(raw: unknown): Readonly<Record<string, SecretScope>> {
  const value = jsonOrValue(raw);
  const hint = 'e.g. {"s3-key":{"namespaces":["ops"],"hosts":["s3.internal"]}}';
  if (value === null || typeof value !== 'object' || Array.isArray(value)) throw new FieldError(`must map secret names to {namespaces, hosts}, ${hint}`);
  const scopes: Record<string, SecretScope> = {};
  for (const [name, scope] of Object.entries(value)) {
    if (!/^[A-Za-z][A-Za-z0-9_.-]{0,127}$/.test(name)) throw new FieldError(`has an invalid secret name "${name}"`);
    if (scope === null || typeof scope !== 'object' || Array.isArray(scope)) throw new FieldError(`"${name}" must be {namespaces, hosts}, ${hint}`);
    const { namespaces, hosts, ...unknown } = scope as Record<string, unknown>;
    const extra = Object.keys(unknown);
    if (extra.length > 0) throw new FieldError(`"${name}" has unknown keys ${extra.join(', ')} (known: namespaces, hosts)`);
    if (!Array.isArray(namespaces) || namespaces.length === 0 || !namespaces.every((ns): ns is string => typeof ns === 'string' && (ns === '*' || /^[a-z0-9][a-z0-9-]*$/.test(ns)))) {
      throw new FieldError(`"${name}": namespaces must be a non-empty list of namespace names or "*"`);
    }
    let bound: string[] | undefined;
    if (hosts !== undefined) {
      if (!Array.isArray(hosts) || hosts.length === 0 || !hosts.every((host): host is string => typeof host === 'string')) {
        throw new FieldError(`"${name}": hosts must be a non-empty list of host names (leave it out for any host)`);
      }
      bound = hosts.map((host) => host.trim().toLowerCase().replace(/^\[(.*)\]$/, '$1'));
      const bad = bound.find((host) => !isSecretHost(host));
      if (bad !== undefined) throw new FieldError(`"${name}": "${bad}" is not a host name, an IP address or *.domain`);
    }
    scopes[name] = Object.freeze({ namespaces: Object.freeze([...namespaces]), ...(bound ? { hosts: Object.freeze(bound) } : {}) });
  }
  return Object.freeze(scopes);
}

function secretsSource(raw: unknown): SecretsSourceKind {
  const value = typeof raw === 'string' ? raw.trim().toLowerCase() : raw;
  if (value === 'env' || value === 'dir' || value === 'aws') return value;
  throw new FieldError('must be env, dir or aws');
}

/** An AWS Secrets Manager name prefix: the characters AWS allows in names (`/_+=.@-`, letters, digits). */
function awsSecretsPrefix(raw: unknown): string {
  const value = text(raw);
  if (!/^[A-Za-z0-9/_+=.@-]{1,256}$/.test(value)) throw new FieldError('must be letters, digits and / _ + = . @ - (e.g. maestro/prod/)');
  return value;
}

function pathList(raw: unknown, what = 'folder'): readonly string[] {
  const items = typeof raw === 'string' ? raw.split(delimiter) : raw;
  if (!Array.isArray(items) || !items.every((item): item is string => typeof item === 'string')) throw new FieldError(`must be a list of ${what}s`);
  const folders = items.map((item) => item.trim()).filter((item) => item !== '');
  if (folders.length === 0) throw new FieldError(`must name at least one ${what}`);
  return Object.freeze(folders.map((folder) => resolve(folder)));
}

/** `a,b` (environment) or a list (file) of Maestro namespace names. */
function namespaceList(raw: unknown, wildcard = false): readonly string[] {
  const items = typeof raw === 'string' ? raw.split(',') : raw;
  if (!Array.isArray(items) || !items.every((item): item is string => typeof item === 'string')) throw new FieldError('must be a list of namespaces');
  const names = items.map((item) => item.trim()).filter((item) => item !== '');
  const bad = names.find((name) => !(wildcard && name === '*') && !/^[a-z0-9][a-z0-9-]*$/.test(name));
  if (bad !== undefined) throw new FieldError(`has an invalid namespace name "${bad}"`);
  if (names.length === 0) throw new FieldError('must name at least one namespace');
  return Object.freeze(names);
}

function runLimits(raw: unknown): Readonly<Record<string, number>> {
  const entries: [string, unknown][] =
    typeof raw === 'string'
      ? raw.split(',').filter((part) => part.trim() !== '').map((part) => {
          const [name = '', count = ''] = part.split('=');
          return [name.trim(), count.trim()];
        })
      : raw !== null && typeof raw === 'object' && !Array.isArray(raw)
        ? Object.entries(raw)
        : [];
  if (entries.length === 0) throw new FieldError('must list namespace=limit pairs, e.g. team-a=5,team-b=2');
  const positive = integer(1, 1_000_000);
  const limits: Record<string, number> = {};
  for (const [name, count] of entries) {
    if (!/^[a-z0-9][a-z0-9-]*$/.test(name)) throw new FieldError(`has an invalid namespace name "${name}"`);
    limits[name] = positive(count);
  }
  return Object.freeze(limits);
}

function logLevel(raw: unknown): LogLevel {
  const value = typeof raw === 'string' ? raw.trim().toLowerCase() : raw;
  const level = LOG_LEVELS.find((candidate) => candidate === value);
  if (!level) throw new FieldError(`must be one of ${LOG_LEVELS.join(', ')}`);
  return level;
}

/** What a resource class grants one attempt (see the runners module). */
export interface ResourceClassSetting {
  /** CPU cores; fractions allowed. */
  readonly cpu: number;
  readonly memoryBytes: number;
  readonly timeoutMs: number;
}

const MEMORY_UNITS: Record<string, number> = { '': 1, k: 1e3, K: 1e3, M: 1e6, G: 1e9, T: 1e12, Ki: 2 ** 10, Mi: 2 ** 20, Gi: 2 ** 30, Ti: 2 ** 40 };

/** A Kubernetes-style memory quantity (`512Mi`, `2Gi`, `1G`, bytes) in bytes. */
function memoryBytes(raw: unknown): number {
  const match = /^(\d+(?:\.\d+)?)(Ki|Mi|Gi|Ti|k|K|M|G|T)?$/.exec(typeof raw === 'number' ? String(raw) : typeof raw === 'string' ? raw.trim() : '');
  const bytes = match ? Math.round(Number(match[1]) * (MEMORY_UNITS[match[2] ?? ''] ?? Number.NaN)) : Number.NaN;
  if (!Number.isFinite(bytes) || bytes < 4 * 2 ** 20) throw new FieldError(`has a memory "${String(raw)}" that is not a quantity of at least 4Mi (e.g. 512Mi, 2Gi)`);
  return bytes;
}

function resourceClass(name: string, cpuRaw: unknown, memoryRaw: unknown, timeoutRaw: unknown): ResourceClassSetting {
  if (!/^[a-z][a-z0-9-]*$/.test(name)) throw new FieldError(`has an invalid resource class name "${name}"`);
  const cpu = typeof cpuRaw === 'string' ? Number(cpuRaw.trim()) : cpuRaw;
  if (typeof cpu !== 'number' || !Number.isFinite(cpu) || cpu < 0.01 || cpu > 1024) throw new FieldError(`class "${name}": cpu must be a number of cores from 0.01`);
  const timeoutMs = typeof timeoutRaw === 'string' ? parseDuration(timeoutRaw) : undefined;
  if (timeoutMs === undefined || timeoutMs <= 0) throw new FieldError(`class "${name}": timeout must be a duration such as 10m`);
  return Object.freeze({ cpu, memoryBytes: memoryBytes(memoryRaw), timeoutMs });
}

/** `name=cpu:memory:timeout,…` (environment) or a mapping of name to `{cpu, memory, timeout}` (file). */
function resourceClasses(raw: unknown): Readonly<Record<string, ResourceClassSetting>> {
  const classes: Record<string, ResourceClassSetting> = {};
  if (typeof raw === 'string') {
    for (const part of raw.split(',').filter((entry) => entry.trim() !== '')) {
      const [name = '', spec = ''] = part.split('=').map((piece) => piece.trim());
      const [cpu, memory, timeout] = spec.split(':');
      classes[name] = resourceClass(name, cpu, memory, timeout);
    }
  } else if (raw !== null && typeof raw === 'object' && !Array.isArray(raw)) {
    for (const [name, spec] of Object.entries(raw)) {
      if (spec === null || typeof spec !== 'object') throw new FieldError(`class "${name}" must be a mapping {cpu, memory, timeout}`);
      const { cpu, memory, timeout } = spec as Record<string, unknown>;
      classes[name] = resourceClass(name, cpu, memory, timeout);
    }
  }
  if (Object.keys(classes).length === 0) throw new FieldError('must list resource classes, e.g. gpu=4:16Gi:2h');
  return Object.freeze(classes);
}

/** `key=value,…` (environment) or a mapping of strings (file), each value checked by `check`. */
function stringMap(what: string, check: (value: string) => boolean, hint: string) {
  return (raw: unknown): Readonly<Record<string, string>> => {
    const entries: [string, unknown][] =
      typeof raw === 'string'
        ? raw.split(',').filter((part) => part.trim() !== '').map((part) => {
            const at = part.indexOf('=');
            return at < 0 ? [part.trim(), ''] : [part.slice(0, at).trim(), part.slice(at + 1).trim()];
          })
        : raw !== null && typeof raw === 'object' && !Array.isArray(raw)
          ? Object.entries(raw)
          : [];
    if (entries.length === 0) throw new FieldError(`must list ${what}, e.g. ${hint}`);
    const map: Record<string, string> = {};
    for (const [key, value] of entries) {
      if (!/^[a-z0-9][a-z0-9.-]*$/.test(key)) throw new FieldError(`has an invalid name "${key}"`);
      if (typeof value !== 'string' || !check(value)) throw new FieldError(`"${key}": ${JSON.stringify(value)} is not valid (e.g. ${hint})`);
      map[key] = value;
    }
    return Object.freeze(map);
  };
}

const k8sNamespaceMap = stringMap('namespace=k8s-namespace pairs', (value) => /^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$/.test(value), 'default=maestro');
const functionMap = stringMap(
  'name=target pairs',
  (value) => /^lambda:[A-Za-z0-9:_-]+$/.test(value) || (/^https?:\/\//.test(value) && URL.canParse(value)),
  'resize=http://gateway:8080/function/resize or bill=lambda:bill',
);

function devToken(raw: unknown): string {
  const value = text(raw);
  if (value.length < MIN_DEV_TOKEN_LENGTH) {
    throw new FieldError(`must be at least ${MIN_DEV_TOKEN_LENGTH} characters: it is an admin token for every namespace, so it must not be guessable (unset it and npm start generates one)`);
  }
  return value;
}

function jwtAlgorithms(raw: unknown): readonly string[] {
  const items = typeof raw === 'string' ? raw.split(',') : raw;
  if (!Array.isArray(items) || !items.every((item): item is string => typeof item === 'string')) throw new FieldError('must be a list of algorithms');
  const names = items.map((item) => item.trim()).filter((item) => item !== '');
  const bad = names.find((name) => !(JWT_ALGORITHMS as readonly string[]).includes(name));
  if (bad !== undefined) {
    throw new FieldError(`names "${bad}", which is not accepted: only asymmetric algorithms (${JWT_ALGORITHMS.join(', ')}); "none" and HS* never`);
  }
  if (names.length === 0) throw new FieldError('must name at least one algorithm');
  return Object.freeze(names);
}

function provenanceStore(raw: unknown): ProvenanceStoreKind {
  const value = typeof raw === 'string' ? raw.trim().toLowerCase() : raw;
  if (value === 'fs' || value === 's3') return value;
  throw new FieldError('must be fs or s3');
}

function policyMode(raw: unknown): PolicyMode {
  const value = typeof raw === 'string' ? raw.trim().toLowerCase() : raw;
  if (value === 'embedded' || value === 'remote') return value;
  throw new FieldError('must be embedded or remote');
}

const policyFallbackMap = stringMap('namespace=open|closed pairs', (value) => value === 'open' || value === 'closed', 'sandbox=open,default=closed');

function payloadKeyText(raw: unknown): string {
  const value = text(raw);
  parsePayloadKeys(value, 'MAESTRO_PAYLOAD_KEY');
  return value;
}

/** `https://ui.example,http://localhost:8233` (environment) or a list (file) of origins. */
function originList(raw: unknown): readonly string[] {
  const items = typeof raw === 'string' ? raw.split(',') : raw;
  if (!Array.isArray(items) || !items.every((item): item is string => typeof item === 'string')) throw new FieldError('must be a list of origins');
  const origins = items.map((item) => item.trim()).filter((item) => item !== '');
  const bad = origins.find((origin) => !URL.canParse(origin) || new URL(origin).origin !== origin);
  if (bad !== undefined) throw new FieldError(`has "${bad}", which is not an origin (scheme://host[:port], no path)`);
  return Object.freeze(origins);
}

function dockerHost(raw: unknown): string {
  const value = text(raw);
  if (!/^(unix|tcp|http|https):\/\/./.test(value)) throw new FieldError('must be unix:///path.sock, tcp://host:port or https://host:port');
  return value;
}

/**
 * The one schema of Maestro's settings: for each {@link Config} field, its environment variable,
 * its check, and whether it is a path or a secret. Defaults live in {@link loadConfig}.
 */
export const CONFIG_SCHEMA = {
  temporalAddress: { env: 'TEMPORAL_ADDRESS', parse: hostPort },
  temporalPort: { env: 'MAESTRO_TEMPORAL_PORT', parse: integer(0, 65535) },
  temporalTls: { env: 'TEMPORAL_TLS', parse: flag },
  temporalTlsClientCertPath: { env: 'TEMPORAL_TLS_CLIENT_CERT_PATH', parse: text, path: true },
  temporalTlsClientKeyPath: { env: 'TEMPORAL_TLS_CLIENT_KEY_PATH', parse: text, path: true },
  temporalTlsServerCaCertPath: { env: 'TEMPORAL_TLS_SERVER_CA_CERT_PATH', parse: text, path: true },
  temporalTlsServerName: { env: 'TEMPORAL_TLS_SERVER_NAME', parse: text },
  temporalApiKey: { env: 'TEMPORAL_API_KEY', parse: text, secret: true },
  temporalNamespace: { env: 'MAESTRO_TEMPORAL_NAMESPACE', parse: text },
  taskQueue: { env: 'MAESTRO_TASK_QUEUE', parse: text },
  dataDir: { env: 'MAESTRO_DATA_DIR', parse: text, path: true },
  artifactDir: { env: 'MAESTRO_ARTIFACT_DIR', parse: text, path: true },
  temporalBin: { env: 'MAESTRO_TEMPORAL_BIN', parse: text, path: true },
  port: { env: 'MAESTRO_PORT', parse: integer(0, 65535) },
  host: { env: 'MAESTRO_HOST', parse: text },
  uiPort: { env: 'MAESTRO_TEMPORAL_UI_PORT', parse: integer(0, 65535) },
  temporalUiUrl: { env: 'MAESTRO_TEMPORAL_UI_URL', parse: url },
  largeOutputBytes: { env: 'MAESTRO_LARGE_OUTPUT_BYTES', parse: integer(1, 2 ** 31 - 1) },
  logLevel: { env: 'MAESTRO_LOG_LEVEL', parse: logLevel },
  authFile: { env: 'MAESTRO_AUTH_FILE', parse: text, path: true },
  devToken: { env: 'MAESTRO_DEV_TOKEN', parse: devToken, secret: true },
  allowDevToken: { env: 'MAESTRO_ALLOW_DEV_TOKEN', parse: flag },
  jwksUrl: { env: 'MAESTRO_JWKS_URL', parse: url },
  jwtIssuer: { env: 'MAESTRO_JWT_ISSUER', parse: text },
  jwtAudience: { env: 'MAESTRO_JWT_AUDIENCE', parse: text },
  jwtAlgorithms: { env: 'MAESTRO_JWT_ALGORITHMS', parse: jwtAlgorithms },
  databaseUrl: { env: 'MAESTRO_DATABASE_URL', parse: url, secret: true },
  namespaceRunLimits: { env: 'MAESTRO_NAMESPACE_RUN_LIMITS', parse: runLimits },
  metricsPublic: { env: 'MAESTRO_METRICS_PUBLIC', parse: flag },
  apiUrl: { env: 'MAESTRO_URL', parse: url },
  apiToken: { env: 'MAESTRO_TOKEN', parse: text, secret: true },
  dockerHost: { env: 'DOCKER_HOST', parse: dockerHost },
  resourceClasses: { env: 'MAESTRO_RESOURCE_CLASSES', parse: resourceClasses },
  kubeconfig: { env: 'KUBECONFIG', parse: text },
  k8sNamespaces: { env: 'MAESTRO_K8S_NAMESPACES', parse: k8sNamespaceMap },
  functions: { env: 'MAESTRO_FUNCTIONS', parse: functionMap },
  lambdaEndpoint: { env: 'MAESTRO_LAMBDA_ENDPOINT', parse: url },
  lambdaRegion: { env: 'MAESTRO_LAMBDA_REGION', parse: text },
  requireSignedImages: { env: 'MAESTRO_REQUIRE_SIGNED_IMAGES', parse: flag },
  signedImageNamespaces: { env: 'MAESTRO_SIGNED_IMAGE_NAMESPACES', parse: namespaceList },
  imageKeys: { env: 'MAESTRO_IMAGE_KEYS', parse: (raw: unknown) => pathList(raw, 'key file') },
  imageSignaturesDir: { env: 'MAESTRO_IMAGE_SIGNATURES_DIR', parse: text, path: true },
  egressAllow: { env: 'MAESTRO_EGRESS_ALLOW', parse: egressAllowList },
  httpAllow: { env: 'MAESTRO_HTTP_ALLOW', parse: egressAllowList },
  containerNetworkNamespaces: { env: 'MAESTRO_CONTAINER_NETWORK_NAMESPACES', parse: (raw: unknown) => namespaceList(raw, true) },
  secrets: { env: 'MAESTRO_SECRETS', parse: secretScopes },
  secretsSource: { env: 'MAESTRO_SECRETS_SOURCE', parse: secretsSource },
  secretsDir: { env: 'MAESTRO_SECRETS_DIR', parse: text, path: true },
  awsSecretsRegion: { env: 'MAESTRO_SECRETS_AWS_REGION', parse: text },
  awsSecretsEndpoint: { env: 'MAESTRO_SECRETS_AWS_ENDPOINT', parse: url },
  awsSecretsAccessKeyId: { env: 'MAESTRO_SECRETS_AWS_ACCESS_KEY_ID', parse: text },
  awsSecretsSecretAccessKey: { env: 'MAESTRO_SECRETS_AWS_SECRET_ACCESS_KEY', parse: text, secret: true },
  awsSecretsPrefix: { env: 'MAESTRO_SECRETS_AWS_PREFIX', parse: awsSecretsPrefix },
  fileRoots: { env: 'MAESTRO_FILE_ROOTS', parse: pathList },
  taskModules: { env: 'MAESTRO_TASK_MODULES', parse: (raw: unknown) => pathList(raw, 'module') },
  policyMode: { env: 'MAESTRO_POLICY_MODE', parse: policyMode },
  policyBundle: { env: 'MAESTRO_POLICY_BUNDLE', parse: text, path: true },
  opaUrl: { env: 'MAESTRO_OPA_URL', parse: url },
  policyTimeoutMs: { env: 'MAESTRO_POLICY_TIMEOUT_MS', parse: integer(1, 60_000) },
  policyOnUnavailable: { env: 'MAESTRO_POLICY_ON_UNAVAILABLE', parse: policyFallbackMap },
  opaBin: { env: 'MAESTRO_OPA_BIN', parse: text, path: true },
  signingKey: { env: 'MAESTRO_SIGNING_KEY', parse: text, path: true },
  approvalKey: { env: 'MAESTRO_APPROVAL_KEY', parse: text, path: true },
  trustedKeysDir: { env: 'MAESTRO_TRUSTED_KEYS_DIR', parse: text, path: true },
  fulcioUrl: { env: 'MAESTRO_FULCIO_URL', parse: url },
  rekorUrl: { env: 'MAESTRO_REKOR_URL', parse: url },
  builderId: { env: 'MAESTRO_BUILDER_ID', parse: text },
  provenanceStore: { env: 'MAESTRO_PROVENANCE_STORE', parse: provenanceStore },
  provenanceS3Bucket: { env: 'MAESTRO_PROVENANCE_S3_BUCKET', parse: text },
  provenanceS3Prefix: { env: 'MAESTRO_PROVENANCE_S3_PREFIX', parse: text },
  provenanceS3Endpoint: { env: 'MAESTRO_PROVENANCE_S3_ENDPOINT', parse: url },
  taskCache: { env: 'MAESTRO_TASK_CACHE', parse: flag },
  streamsPerPrincipal: { env: 'MAESTRO_STREAMS_PER_PRINCIPAL', parse: integer(1, 100_000) },
  streamsTotal: { env: 'MAESTRO_STREAMS_TOTAL', parse: integer(1, 1_000_000) },
  streamStallMs: { env: 'MAESTRO_STREAM_STALL_MS', parse: integer(100, 3_600_000) },
  bodyLimitBytes: { env: 'MAESTRO_BODY_LIMIT_BYTES', parse: integer(1024, 256 * 2 ** 20) },
  taskLogRetentionMs: { env: 'MAESTRO_TASK_LOG_RETENTION', parse: duration },
  payloadKey: { env: 'MAESTRO_PAYLOAD_KEY', parse: payloadKeyText, secret: true },
  payloadKeyFile: { env: 'MAESTRO_PAYLOAD_KEY_FILE', parse: text, path: true },
  codecCorsOrigins: { env: 'MAESTRO_CODEC_CORS_ORIGINS', parse: originList },
} as const satisfies { [K in keyof Config]-?: FieldSpec };

type FieldName = keyof typeof CONFIG_SCHEMA;
const FIELD_NAMES = Object.keys(CONFIG_SCHEMA) as FieldName[];

function isFieldName(key: string): key is FieldName {
  return Object.hasOwn(CONFIG_SCHEMA, key);
}

/** Checks one value, naming its source (`MAESTRO_PORT`, `maestro.yaml: port`) in the error. */
function parseField(name: FieldName, raw: unknown, source: string, baseDir: string): FieldValue {
  const spec: FieldSpec = CONFIG_SCHEMA[name];
  try {
    const value = spec.parse(raw);
    return spec.path && typeof value === 'string' ? resolve(baseDir, value) : value;
  } catch (error) {
    if (!(error instanceof FieldError)) throw error;
    const got = spec.secret ? '' : ` (got ${JSON.stringify(raw)})`;
    throw new ConfigError(`${source} ${error.message}${got}`, { details: { setting: source } });
  }
}

/** Reads the `MAESTRO_CONFIG` file: a YAML mapping whose keys are {@link Config} field names. */
function readConfigFile(file: string): ConfigInput {
  let document: unknown;
  try {
    document = parseYaml(readFileSync(file, 'utf8'));
  } catch (error) {
    throw new ConfigError(`MAESTRO_CONFIG=${file} cannot be read: ${error instanceof Error ? error.message : String(error)}`, { cause: error });
  }
  if (document === null || document === undefined) return {};
  if (typeof document !== 'object' || Array.isArray(document)) {
    throw new ConfigError(`MAESTRO_CONFIG=${file} must be a YAML mapping of settings`);
  }
  const input: Record<string, FieldValue> = {};
  for (const [key, raw] of Object.entries(document)) {
    if (!isFieldName(key)) {
      throw new ConfigError(`MAESTRO_CONFIG=${file}: unknown setting "${key}" (known: ${FIELD_NAMES.join(', ')})`);
    }
    input[key] = parseField(key, raw, `${file}: ${key}`, dirname(file));
  }
  return input as ConfigInput;
}

/** Shows the config with secret fields replaced, for logs and `JSON.stringify`. */
function redacted(config: Config): Record<string, unknown> {
  return Object.fromEntries(
    Object.entries(config).map(([key, value]) => {
      const spec: FieldSpec | undefined = isFieldName(key) ? CONFIG_SCHEMA[key] : undefined;
      return [key, spec?.secret && value !== undefined ? '[redacted]' : value];
    }),
  );
}

/** The given keys of `input` that are set, for settings without a default. */
function optional<K extends keyof ConfigInput>(input: ConfigInput, keys: readonly K[]): Pick<ConfigInput, K> {
  return Object.fromEntries(keys.filter((key) => input[key] !== undefined).map((key) => [key, input[key]])) as Pick<ConfigInput, K>;
}

/** An allow-list as comparable text: the order of namespaces and of their entries does not matter. */
function allowListKey(allow: Readonly<Record<string, readonly string[]>>): string {
  return JSON.stringify(Object.keys(allow).sort().map((namespace) => [namespace, [...new Set(allow[namespace])].sort()]));
}

/**
 * `egressAllow`, or its deprecated name `httpAllow`: one of them, or both when they say the same
 * (an operator moving to the new name may set both for a while); different values refuse to start
 * rather than guess which one the operator meant.
 */
function egressAllowOf({ egressAllow, httpAllow }: ConfigInput): Readonly<Record<string, readonly string[]>> {
  if (egressAllow !== undefined && httpAllow !== undefined && allowListKey(egressAllow) !== allowListKey(httpAllow)) {
    throw new ConfigError('MAESTRO_EGRESS_ALLOW and its deprecated name MAESTRO_HTTP_ALLOW are both set, to different values: keep MAESTRO_EGRESS_ALLOW only', {
      details: { setting: 'MAESTRO_HTTP_ALLOW' },
    });
  }
  return egressAllow ?? httpAllow ?? {};
}

/** Applies defaults, freezes, and attaches a non-enumerable `toJSON` that redacts secrets. */
function finish(input: ConfigInput, cwd: string): Config {
  const dataDir = input.dataDir ?? resolve(cwd, '.maestro');
  const config: Config = {
    ...(input.temporalAddress === undefined ? {} : { temporalAddress: input.temporalAddress }),
    temporalPort: input.temporalPort ?? 7233,
    ...optional(input, ['temporalTls', 'temporalTlsClientCertPath', 'temporalTlsClientKeyPath', 'temporalTlsServerCaCertPath']),
    ...optional(input, ['temporalTlsServerName', 'temporalApiKey']),
    temporalNamespace: input.temporalNamespace ?? 'default',
    taskQueue: input.taskQueue ?? 'maestro',
    dataDir,
    artifactDir: input.artifactDir ?? resolve(dataDir, 'artifacts'),
    ...(input.temporalBin === undefined ? {} : { temporalBin: input.temporalBin }),
    port: input.port ?? 8080,
    host: input.host ?? '127.0.0.1',
    uiPort: input.uiPort ?? 8233,
    largeOutputBytes: input.largeOutputBytes ?? 262_144,
    logLevel: input.logLevel ?? 'info',
    egressAllow: egressAllowOf(input),
    fileRoots: input.fileRoots ?? [],
    secrets: input.secrets ?? {},
    secretsSource: input.secretsSource ?? 'env',
    ...optional(input, ['secretsDir', 'awsSecretsRegion', 'awsSecretsEndpoint', 'awsSecretsAccessKeyId', 'awsSecretsSecretAccessKey', 'awsSecretsPrefix']),
    ...optional(input, ['authFile', 'devToken', 'jwksUrl', 'jwtIssuer', 'jwtAudience', 'databaseUrl', 'namespaceRunLimits', 'metricsPublic', 'apiUrl', 'apiToken']),
    ...optional(input, ['dockerHost', 'resourceClasses', 'kubeconfig', 'k8sNamespaces', 'functions', 'lambdaEndpoint', 'lambdaRegion', 'requireSignedImages']),
    ...optional(input, ['signedImageNamespaces', 'imageKeys', 'imageSignaturesDir', 'httpAllow', 'containerNetworkNamespaces']),
    ...optional(input, ['taskModules', 'temporalUiUrl']),
    ...optional(input, ['policyMode', 'policyBundle', 'opaUrl', 'policyTimeoutMs', 'policyOnUnavailable', 'opaBin']),
    ...optional(input, ['signingKey', 'trustedKeysDir', 'fulcioUrl', 'rekorUrl', 'builderId', 'provenanceStore']),
    ...optional(input, ['provenanceS3Bucket', 'provenanceS3Prefix', 'provenanceS3Endpoint', 'taskCache']),
    ...optional(input, ['streamsPerPrincipal', 'streamsTotal', 'streamStallMs', 'bodyLimitBytes', 'taskLogRetentionMs']),
    ...optional(input, ['approvalKey', 'allowDevToken', 'jwtAlgorithms']),
    ...optional(input, ['payloadKey', 'payloadKeyFile', 'codecCorsOrigins']),
  };
  Object.defineProperty(config, 'toJSON', { value: () => redacted(config), enumerable: false });
  return Object.freeze(config);
}

/**
 * Reads Maestro's settings once, at start-up: the `MAESTRO_CONFIG` YAML file if set (keys are the
 * {@link Config} field names; relative paths are relative to the file), then the environment
 * variables of {@link CONFIG_SCHEMA}, which win. Empty variables count as unset. Relative paths in
 * the environment are relative to the working directory.
 *
 * @throws {ConfigError} `CONFIG_INVALID`, naming the variable or file key that is wrong.
 * @example
 * const config = loadConfig();
 * const address = config.temporalAddress ?? DEFAULT_TEMPORAL_ADDRESS;
 */
export function loadConfig(env: NodeJS.ProcessEnv = process.env): Config {
  const cwd = process.cwd();
  const file = env.MAESTRO_CONFIG?.trim();
  const input: Record<string, FieldValue> = file ? { ...readConfigFile(resolve(cwd, file)) } : {};
  for (const name of FIELD_NAMES) {
    const raw = env[CONFIG_SCHEMA[name].env];
    if (raw !== undefined && raw.trim() !== '') input[name] = parseField(name, raw, CONFIG_SCHEMA[name].env, cwd);
  }
  return finish(input as ConfigInput, cwd);
}

/**
 * A copy of `config` with `changes` applied and checked like the loaded values (for example the
 * address of a dev server started after the config was loaded, or a test's own task queue).
 * `artifactDir` follows a changed `dataDir` only if it was still the default.
 *
 * @throws {ConfigError} `CONFIG_INVALID` if a change is not a valid value.
 */
export function extendConfig(config: Config, changes: ConfigInput): Config {
  const input: Record<string, FieldValue> = Object.fromEntries(
    Object.entries(config).filter(([key]) => !(key === 'artifactDir' && config.artifactDir === resolve(config.dataDir, 'artifacts'))),
  );
  for (const [key, raw] of Object.entries(changes)) {
    if (!isFieldName(key)) throw new ConfigError(`unknown setting "${key}" (known: ${FIELD_NAMES.join(', ')})`);
    if (raw !== undefined) input[key] = parseField(key, raw, key, process.cwd());
  }
  return finish(input as ConfigInput, process.cwd());
}
