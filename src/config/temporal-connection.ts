/**
 * How every Maestro process connects to Temporal — the worker, the API, the CLI, the container
 * sweep: the address, TLS (server CA, server name, client certificate for mutual TLS) and the API
 * key, from the settings Temporal's own CLI and SDKs read (`TEMPORAL_ADDRESS`, `TEMPORAL_TLS*`,
 * `TEMPORAL_API_KEY`). The result is what `Connection.connect` (@temporalio/client) and
 * `NativeConnection.connect` (@temporalio/worker) both take.
 */
import { readFileSync } from 'node:fs';
import { ConfigError } from '../errors/index.js';
import { DEFAULT_TEMPORAL_ADDRESS, type TemporalSettings } from './sections/temporal.js';

/** TLS towards the Temporal frontend (the SDKs' `TLSConfig`). */
export interface TemporalTls {
  /** Name the server certificate must carry and the SNI sent, instead of the address's host. */
  readonly serverNameOverride?: string;
  /** PEM roots the server certificate must chain to, instead of the system's. */
  readonly serverRootCACertificate?: Buffer;
  /** PEM client certificate and key, for mutual TLS. */
  readonly clientCertPair?: { readonly crt: Buffer; readonly key: Buffer };
}

/** Connection options common to the Temporal client and worker connections. */
export interface TemporalConnectOptions {
  /** Frontend `host:port`. */
  readonly address: string;
  /** TLS settings; undefined for plain gRPC (the local dev server). */
  readonly tls?: TemporalTls;
  /** Sent as `authorization: Bearer <apiKey>` metadata on every call. */
  readonly apiKey?: string;
}

function readPem(file: string, setting: string): Buffer {
  try {
    return readFileSync(file);
  } catch (error) {
    throw new ConfigError(`${setting}=${file} cannot be read: ${error instanceof Error ? error.message : String(error)}`, {
      cause: error,
      details: { setting },
    });
  }
}

/** Whether any TLS or API-key setting is given (the local dev server speaks plain gRPC without them). */
export function hasTemporalCredentials(config: TemporalSettings): boolean {
  return (
    config.temporalTls === true ||
    config.temporalTlsClientCertPath !== undefined ||
    config.temporalTlsClientKeyPath !== undefined ||
    config.temporalTlsServerCaCertPath !== undefined ||
    config.temporalTlsServerName !== undefined ||
    config.temporalApiKey !== undefined
  );
}

/**
 * The connection options for Temporal, certificate files read now. TLS is on when `TEMPORAL_TLS` is
 * true, or when it is unset and a certificate, a CA, a server name or an API key is given (an API key
 * is a bearer credential: it goes in clear only if `TEMPORAL_TLS=false` says so).
 *
 * @throws {ConfigError} `CONFIG_INVALID` when a file cannot be read, or a client certificate comes without its key.
 * @example
 * const connection = await Connection.connect({ ...temporalConnectOptions(config), connectTimeout: '5s' });
 */
export function temporalConnectOptions(config: TemporalSettings): TemporalConnectOptions {
  const address = config.temporalAddress ?? DEFAULT_TEMPORAL_ADDRESS;
  const apiKey = config.temporalApiKey;
  const { temporalTlsClientCertPath: certPath, temporalTlsClientKeyPath: keyPath } = config;
  if ((certPath === undefined) !== (keyPath === undefined)) {
    throw new ConfigError('TEMPORAL_TLS_CLIENT_CERT_PATH and TEMPORAL_TLS_CLIENT_KEY_PATH must be set together', {
      details: { setting: certPath === undefined ? 'TEMPORAL_TLS_CLIENT_CERT_PATH' : 'TEMPORAL_TLS_CLIENT_KEY_PATH' },
    });
  }
  if (config.temporalTls === false && hasTemporalCredentials({ ...config, temporalTls: undefined, temporalApiKey: undefined })) {
    throw new ConfigError('TEMPORAL_TLS=false contradicts the TEMPORAL_TLS_* settings given', { details: { setting: 'TEMPORAL_TLS' } });
  }
  if (!(config.temporalTls ?? hasTemporalCredentials(config))) return { address, ...(apiKey === undefined ? {} : { apiKey }) };
  const tls: TemporalTls = {
    ...(config.temporalTlsServerName === undefined ? {} : { serverNameOverride: config.temporalTlsServerName }),
    ...(config.temporalTlsServerCaCertPath === undefined
      ? {}
      : { serverRootCACertificate: readPem(config.temporalTlsServerCaCertPath, 'TEMPORAL_TLS_SERVER_CA_CERT_PATH') }),
    ...(certPath === undefined || keyPath === undefined
      ? {}
      : { clientCertPair: { crt: readPem(certPath, 'TEMPORAL_TLS_CLIENT_CERT_PATH'), key: readPem(keyPath, 'TEMPORAL_TLS_CLIENT_KEY_PATH') } }),
  };
  return { address, tls, ...(apiKey === undefined ? {} : { apiKey }) };
}
