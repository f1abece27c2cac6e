import { describe, expect, it } from 'vitest';
import { loadConfig } from './index.js';

describe('MAESTRO_SECRETS', () => {
  it('reads namespaces and hosts per secret, hosts lower-cased and unbracketed', () => {
    const config = loadConfig({
      MAESTRO_SECRETS: JSON.stringify({ 's3-key': { namespaces: ['ops'], hosts: ['S3.Internal', '*.amazonaws.com', '[::1]', '10.0.0.7'] }, npm: { namespaces: ['*'] } }),
    });
    expect(config.secrets).toEqual({ 's3-key': { namespaces: ['ops'], hosts: ['s3.internal', '*.amazonaws.com', '::1', '10.0.0.7'] }, npm: { namespaces: ['*'] } });
  });

  it.each([
    ['not JSON', '{', /must be JSON/],
    ['a list', '[]', /must map secret names/],
    ['a bad secret name', '{"../x":{"namespaces":["a"]}}', /invalid secret name/],
    ['no namespaces', '{"x":{"hosts":["a.b"]}}', /namespaces must be/],
    ['a bad namespace', '{"x":{"namespaces":["Ops"]}}', /namespaces must be/],
    ['an empty host list', '{"x":{"namespaces":["a"],"hosts":[]}}', /hosts must be/],
    ['a host with a port', '{"x":{"namespaces":["a"],"hosts":["a.b:443"]}}', /is not a host name/],
    ['a URL as host', '{"x":{"namespaces":["a"],"hosts":["https://a.b"]}}', /is not a host name/],
    ['an unknown key', '{"x":{"namespaces":["a"],"host":["a.b"]}}', /unknown keys host/],
  ])('refuses %s, naming the variable', (_, value, message) => {
    expect(() => loadConfig({ MAESTRO_SECRETS: value })).toThrow(message);
    expect(() => loadConfig({ MAESTRO_SECRETS: value })).toThrow(/MAESTRO_SECRETS/);
  });

  it('reads the source settings', () => {
    expect(loadConfig({ MAESTRO_SECRETS_SOURCE: 'dir', MAESTRO_SECRETS_DIR: '/run/secrets' })).toMatchObject({ secretsSource: 'dir', secretsDir: '/run/secrets' });
    expect(() => loadConfig({ MAESTRO_SECRETS_SOURCE: 'vault' })).toThrow(/env, dir or aws/);
  });

  it('reads the aws source settings, and never shows the secret access key', () => {
    const config = loadConfig({
      MAESTRO_SECRETS_SOURCE: 'AWS',
      MAESTRO_SECRETS_AWS_REGION: 'eu-west-1',
      MAESTRO_SECRETS_AWS_ENDPOINT: 'https://secretsmanager.eu-west-1.amazonaws.com',
      MAESTRO_SECRETS_AWS_ACCESS_KEY_ID: 'AKIAEXAMPLE',
      MAESTRO_SECRETS_AWS_SECRET_ACCESS_KEY: 'wJalrXUtnFEMI-s3cret',
      MAESTRO_SECRETS_AWS_PREFIX: 'maestro/prod/',
    });
    expect(config).toMatchObject({
      secretsSource: 'aws',
      awsSecretsRegion: 'eu-west-1',
      awsSecretsEndpoint: 'https://secretsmanager.eu-west-1.amazonaws.com',
      awsSecretsAccessKeyId: 'AKIAEXAMPLE',
      awsSecretsPrefix: 'maestro/prod/',
    });
    expect(JSON.stringify(config)).not.toContain('wJalrXUtnFEMI-s3cret');
    expect(() => loadConfig({ MAESTRO_SECRETS_AWS_ENDPOINT: 'not a url' })).toThrow(/MAESTRO_SECRETS_AWS_ENDPOINT/);
    expect(() => loadConfig({ MAESTRO_SECRETS_AWS_PREFIX: 'a b/' })).toThrow(/MAESTRO_SECRETS_AWS_PREFIX/);
  });
});
