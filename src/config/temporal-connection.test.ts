import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { loadConfig, temporalConnectOptions } from './index.js';

const dir = mkdtempSync(join(tmpdir(), 'maestro-temporal-tls-'));
const pem = (name: string): string => {
  const file = join(dir, name);
  writeFileSync(file, `-----BEGIN ${name}-----\n`);
  return file;
};
const [cert, key, ca] = [pem('cert.pem'), pem('key.pem'), pem('ca.pem')];

describe('temporalConnectOptions', () => {
  it('is plain gRPC to the default address without any TEMPORAL_TLS* or API key setting', () => {
    expect(temporalConnectOptions(loadConfig({}))).toEqual({ address: 'localhost:7233' });
  });

  it('turns TLS on for a client certificate, reading the files, with the server name and CA', () => {
    const options = temporalConnectOptions(
      loadConfig({
        TEMPORAL_ADDRESS: 'temporal.internal:7233',
        TEMPORAL_TLS_CLIENT_CERT_PATH: cert,
        TEMPORAL_TLS_CLIENT_KEY_PATH: key,
        TEMPORAL_TLS_SERVER_CA_CERT_PATH: ca,
        TEMPORAL_TLS_SERVER_NAME: 'frontend.temporal',
      }),
    );
    expect(options.address).toBe('temporal.internal:7233');
    expect(options.tls?.serverNameOverride).toBe('frontend.temporal');
    expect(options.tls?.serverRootCACertificate?.toString()).toContain('ca.pem');
    expect(options.tls?.clientCertPair?.crt.toString()).toContain('cert.pem');
    expect(options.tls?.clientCertPair?.key.toString()).toContain('key.pem');
  });

  it('turns TLS on for an API key (a bearer credential), unless TEMPORAL_TLS=false says otherwise', () => {
    expect(temporalConnectOptions(loadConfig({ TEMPORAL_API_KEY: 'k-123' }))).toEqual({ address: 'localhost:7233', tls: {}, apiKey: 'k-123' });
    expect(temporalConnectOptions(loadConfig({ TEMPORAL_API_KEY: 'k-123', TEMPORAL_TLS: 'false' }))).toEqual({ address: 'localhost:7233', apiKey: 'k-123' });
  });

  it('never shows the API key in the serialized config', () => {
    expect(JSON.stringify(loadConfig({ TEMPORAL_API_KEY: 'k-secret-123' }))).not.toContain('k-secret-123');
  });

  it('refuses a certificate without its key, TEMPORAL_TLS=false beside TLS files, and an unreadable file, naming the setting', () => {
    expect(() => temporalConnectOptions(loadConfig({ TEMPORAL_TLS_CLIENT_CERT_PATH: cert }))).toThrow(
      expect.objectContaining({ code: 'CONFIG_INVALID', details: { setting: 'TEMPORAL_TLS_CLIENT_KEY_PATH' } }),
    );
    expect(() => temporalConnectOptions(loadConfig({ TEMPORAL_TLS: 'false', TEMPORAL_TLS_SERVER_CA_CERT_PATH: ca }))).toThrow(
      expect.objectContaining({ code: 'CONFIG_INVALID', details: { setting: 'TEMPORAL_TLS' } }),
    );
    expect(() => temporalConnectOptions(loadConfig({ TEMPORAL_TLS_SERVER_CA_CERT_PATH: join(dir, 'missing.pem') }))).toThrow(
      expect.objectContaining({ code: 'CONFIG_INVALID', message: expect.stringContaining('TEMPORAL_TLS_SERVER_CA_CERT_PATH=') }),
    );
  });
});
