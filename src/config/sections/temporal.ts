/**
 * Settings of the connection to Temporal, read by every process (worker, API, CLI), under the names
 * Temporal's own CLI and SDKs use (`TEMPORAL_ADDRESS`, `TEMPORAL_TLS*`, `TEMPORAL_API_KEY`).
 */
import { Type } from '@sinclair/typebox';
import { optional, section, setting, type SettingsOf } from '../setting.js';

/** Where clients look for Temporal when `temporalAddress` is unset. */
export const DEFAULT_TEMPORAL_ADDRESS = 'localhost:7233';

const text = Type.String({ minLength: 1 });

/** The Temporal frontend, its TLS and credentials, the namespace and task queue of runs. */
export const temporalSection = section('temporal', 'The Temporal frontend Maestro connects to: address, TLS, API key, namespace and task queue.', {
  temporalAddress: optional(Type.String({ format: 'host-port' }), {
    env: 'TEMPORAL_ADDRESS',
    message: 'must be host:port',
    unset: `\`maestro dev\` starts a Temporal dev server; clients use ${DEFAULT_TEMPORAL_ADDRESS}`,
    description: 'Temporal frontend `host:port`.',
  }),
  temporalTls: optional(Type.Boolean(), {
    env: 'TEMPORAL_TLS',
    unset: 'TLS when a client certificate, a server CA, a server name or an API key is set',
    description: "Connect to Temporal over TLS (true | false, as Temporal's CLI and SDKs read it).",
  }),
  temporalTlsClientCertPath: optional(text, {
    env: 'TEMPORAL_TLS_CLIENT_CERT_PATH',
    path: true,
    unset: 'no client certificate',
    description: 'PEM client certificate for mutual TLS to Temporal; needs TEMPORAL_TLS_CLIENT_KEY_PATH.',
  }),
  temporalTlsClientKeyPath: optional(text, {
    env: 'TEMPORAL_TLS_CLIENT_KEY_PATH',
    path: true,
    description: 'PEM private key of that client certificate.',
  }),
  temporalTlsServerCaCertPath: optional(text, {
    env: 'TEMPORAL_TLS_SERVER_CA_CERT_PATH',
    path: true,
    unset: "the system's roots",
    description: "PEM CA certificate(s) the Temporal frontend's certificate must chain to.",
  }),
  temporalTlsServerName: optional(text, {
    env: 'TEMPORAL_TLS_SERVER_NAME',
    unset: "the address's host",
    description: "Name the frontend's certificate must carry, and the TLS SNI sent, when it is not the host of TEMPORAL_ADDRESS.",
  }),
  temporalApiKey: optional(text, {
    env: 'TEMPORAL_API_KEY',
    secret: true,
    description: 'API key sent to Temporal as `authorization: Bearer <key>` on every call, as Temporal Cloud or a server with an authorizer expects; never shown.',
  }),
  temporalNamespace: setting(text, { env: 'MAESTRO_TEMPORAL_NAMESPACE', default: 'default', description: 'Temporal namespace runs live in.' }),
  taskQueue: setting(text, { env: 'MAESTRO_TASK_QUEUE', default: 'maestro', description: 'Task queue the worker polls and runs are started on.' }),
});

/** The connection to Temporal (see {@link temporalSection}). */
export type TemporalSettings = SettingsOf<typeof temporalSection>;

/** The Temporal dev server `maestro dev` starts when no address is given, and its Web UI. */
export const devServerSection = section('devServer', 'The Temporal dev server `maestro dev` starts when TEMPORAL_ADDRESS is unset, and the Temporal Web UI the console links to.', {
  temporalPort: setting(Type.Integer({ minimum: 0, maximum: 65535 }), {
    env: 'MAESTRO_TEMPORAL_PORT',
    default: 7233,
    description: 'Frontend gRPC port of the dev server `maestro dev` starts when TEMPORAL_ADDRESS is unset.',
  }),
  uiPort: setting(Type.Integer({ minimum: 0, maximum: 65535 }), { env: 'MAESTRO_TEMPORAL_UI_PORT', default: 8233, description: "Port of the dev server's Temporal Web UI." }),
  temporalUiUrl: optional(Type.String({ format: 'url' }), {
    env: 'MAESTRO_TEMPORAL_UI_URL',
    unset: "the dev server's UI on MAESTRO_TEMPORAL_UI_PORT, when Temporal is local",
    description: "Base URL of the Temporal Web UI the console links each run to, for a UI that is not the local dev server's (a cluster's, or one behind a proxy).",
  }),
  temporalBin: optional(text, {
    env: 'MAESTRO_TEMPORAL_BIN',
    path: true,
    unset: '`temporal` on PATH, then `.tools/bin/temporal`',
    description: 'Temporal CLI binary.',
  }),
});

/** The dev server and the Temporal Web UI (see {@link devServerSection}). */
export type DevServerSettings = SettingsOf<typeof devServerSection>;
