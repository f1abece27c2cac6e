/**
 * Task secrets: where their values come from (a {@link SecretSource}: the environment, a folder of
 * files, as Kubernetes and Docker mount them, AWS Secrets Manager) and who may use them (the `MAESTRO_SECRETS` scopes: which
 * namespaces, which destination hosts). The worker builds one {@link SecretResolver} with
 * {@link createSecretResolver}; each task attempt resolves through it with its run's namespace.
 */
import type { SecretsSettings } from '../config/index.js';
import { ConfigError } from '../errors/index.js';
import { awsSource } from './aws-source.js';
import { dirSource } from './dir-source.js';
import { envSource } from './env-source.js';
import { scopedSecrets, type SecretResolver } from './scoped.js';

export { awsSource, type AwsSourceOptions } from './aws-source.js';
export { dirSource } from './dir-source.js';
export { envSource } from './env-source.js';
export { MAX_GRANT_LENGTH, mintTaskGrant, taskGrantKeys, verifyTaskGrant, type TaskGrantClaims } from './grant.js';
export { SECRET_NAME, scopedSecrets, type SecretRequest, type SecretResolver, type SecretSource } from './scoped.js';

/** The settings secrets are resolved with. */
export type SecretsConfig = SecretsSettings;

/**
 * The worker's resolver: the configured source behind the configured scopes.
 *
 * @throws {ConfigError} when the source's settings are missing (`dir` without
 *   `MAESTRO_SECRETS_DIR`, `aws` without a region or with half a key pair) or two declarations
 *   name one secret.
 * @example createSecretResolver(loadConfig())
 */
export function createSecretResolver(config: SecretsConfig, env: NodeJS.ProcessEnv = process.env): SecretResolver {
  return scopedSecrets(source(config, env), config.secrets);
}

function source(config: SecretsConfig, env: NodeJS.ProcessEnv) {
  switch (config.secretsSource) {
    case 'env':
      return envSource(env);
    case 'dir':
      if (config.secretsDir === undefined) throw new ConfigError('MAESTRO_SECRETS_SOURCE=dir needs MAESTRO_SECRETS_DIR');
      return dirSource(config.secretsDir);
    case 'aws': {
      const region = config.awsSecretsRegion ?? env.AWS_REGION ?? env.AWS_DEFAULT_REGION;
      if (region === undefined || region === '') throw new ConfigError('MAESTRO_SECRETS_SOURCE=aws needs MAESTRO_SECRETS_AWS_REGION (or AWS_REGION)');
      const { awsSecretsAccessKeyId: accessKeyId, awsSecretsSecretAccessKey: secretAccessKey } = config;
      if ((accessKeyId === undefined) !== (secretAccessKey === undefined)) {
        throw new ConfigError('MAESTRO_SECRETS_AWS_ACCESS_KEY_ID and MAESTRO_SECRETS_AWS_SECRET_ACCESS_KEY go together: set both, or neither for AWS\'s credential chain');
      }
      return awsSource({
        region,
        ...(config.awsSecretsEndpoint === undefined ? {} : { endpoint: config.awsSecretsEndpoint }),
        ...(accessKeyId === undefined || secretAccessKey === undefined ? {} : { credentials: { accessKeyId, secretAccessKey } }),
        ...(config.awsSecretsPrefix === undefined ? {} : { prefix: config.awsSecretsPrefix }),
      });
    }
  }
}
