import { Transform, pipeline, type Readable } from 'node:stream';
import { GetSecretValueCommand, SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { MaestroError } from '../errors/index.js';
import { SECRET_NAME, type SecretSource } from './scoped.js';

/** Options of {@link awsSource}. */
export interface AwsSourceOptions {
  region: string;
  /** An AWS Secrets Manager–compatible server (a VPC endpoint, an emulator); AWS's own when absent. */
  endpoint?: string;
  /** Explicit credentials; AWS's standard chain (environment, profile, container, instance role) when absent. */
  credentials?: { accessKeyId: string; secretAccessKey: string };
  /** Prepended to every name: secret `db-url` is the AWS secret `<prefix>db-url`. @default '' */
  prefix?: string;
  /** How long connecting, and then waiting for the answer, may each take. @default 5000 */
  timeoutMs?: number;
}

/** Largest value: AWS's own limit on a SecretString is 64 KiB. */
const MAX_SECRET_BYTES = 64 * 1024;
/** Largest response read: the value (JSON-escaped) and a few hundred bytes of metadata. */
const MAX_RESPONSE_BYTES = 1024 * 1024;
/** Errors that mean the credentials may not read the secret (or are not valid at all). */
const DENIED = new Set(['AccessDeniedException', 'UnrecognizedClientException', 'InvalidSignatureException', 'ExpiredTokenException', 'CredentialsProviderError']);

/**
 * Secrets from AWS Secrets Manager (or a server speaking its API): secret `db-url` is the
 * `SecretString` of the current version of `<prefix>db-url`, taken whole — a JSON string is the
 * value as it is, not one of its fields. Read with `GetSecretValue` at each resolution, with no
 * cache, so a rotated or revoked secret takes effect at the next attempt. The SDK does not retry
 * (the task's retry policy does), responses are bounded, and errors quote neither the credentials
 * nor what AWS answered (an answer may hold the value).
 *
 * @example awsSource({ region: 'eu-west-1', prefix: 'maestro/prod/' })
 */
export function awsSource(options: AwsSourceOptions): SecretSource {
  const { region, endpoint, credentials, prefix = '', timeoutMs = 5000 } = options;
  const client = new SecretsManagerClient({
    region,
    maxAttempts: 1,
    requestHandler: { connectionTimeout: timeoutMs, requestTimeout: timeoutMs },
    ...(endpoint === undefined ? {} : { endpoint }),
    ...(credentials === undefined ? {} : { credentials }),
  });
  // Low priority in the deserialize step: runs on the raw HTTP response, before the SDK parses it.
  client.middlewareStack.add(
    (next) => async (args) => {
      const result = await next(args);
      boundBody(result.response as RawResponse | undefined);
      return result;
    },
    { step: 'deserialize', priority: 'low', name: 'maestroBoundResponse' },
  );
  const label = `AWS Secrets Manager (${region}${endpoint === undefined ? '' : ` at ${endpoint}`}${prefix === '' ? '' : `, prefix ${prefix}`})`;

  return {
    label,
    // Secrets Manager names are case-sensitive: `Token` and `token` are two secrets.
    key: (name) => name,
    async read(secretName, signal) {
      // The resolver checks names too; a source used on its own must not trust its caller.
      if (!SECRET_NAME.test(secretName)) return undefined;
      let answer: { SecretString?: string };
      try {
        answer = await client.send(new GetSecretValueCommand({ SecretId: `${prefix}${secretName}` }), signal ? { abortSignal: signal } : {});
      } catch (error) {
        signal?.throwIfAborted();
        if (error instanceof MaestroError) throw error;
        const { name = 'Error', $metadata, $fault } = error as { name?: string; $metadata?: { httpStatusCode?: number }; $fault?: string };
        if (name === 'ResourceNotFoundException') return undefined;
        const status = $metadata?.httpStatusCode;
        const denied = DENIED.has(name) || status === 401 || status === 403;
        // No cause: an SDK error may carry the raw response, and the message stays ours alone.
        if (status === undefined && !denied) throw unavailable(`${label} cannot be reached (${name})`);
        // Without $fault the SDK could not parse the answer (moto, a proxy: an XML or HTML error page).
        const what = [$fault === undefined ? undefined : name, status === undefined ? undefined : `HTTP ${status}`].filter(Boolean).join(', ');
        const why = denied ? ': the credentials are invalid, expired, or may not read this secret' : '';
        throw unavailable(`${label} refused to read secret "${secretName}" (${what})${why}`);
      }
      const value = answer.SecretString;
      if (value === undefined) throw new MaestroError('CONFIG_INVALID', `${label}: secret "${secretName}" holds binary data, not a SecretString`, { retryable: false });
      if (Buffer.byteLength(value) > MAX_SECRET_BYTES) throw new MaestroError('CONFIG_INVALID', `${label}: secret "${secretName}" is larger than ${MAX_SECRET_BYTES} bytes`, { retryable: false });
      return value;
    },
  };
}

function unavailable(message: string): MaestroError {
  return new MaestroError('PEER_UNAVAILABLE', message);
}

/** The raw response as Node's HTTP handler gives it. */
interface RawResponse {
  headers: Record<string, string | undefined>;
  body?: Readable;
}

/** Refuses a response announcing more than {@link MAX_RESPONSE_BYTES}, and cuts a longer body as it streams. */
function boundBody(response: RawResponse | undefined): void {
  if (!response?.body) return;
  const tooLarge = (): MaestroError => unavailable(`AWS Secrets Manager sent more than ${MAX_RESPONSE_BYTES} bytes`);
  if (Number(response.headers['content-length'] ?? 0) > MAX_RESPONSE_BYTES) {
    response.body.destroy();
    throw tooLarge();
  }
  let size = 0;
  const counter = new Transform({
    transform(chunk: Buffer, _encoding, done) {
      size += chunk.byteLength;
      done(size > MAX_RESPONSE_BYTES ? tooLarge() : null, chunk);
    },
  });
  // The pipeline's error reaches whoever reads `counter`; the callback only keeps it from being unhandled.
  response.body = pipeline(response.body, counter, () => undefined);
}
