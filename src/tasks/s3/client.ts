import { S3Client, S3ServiceException } from '@aws-sdk/client-s3';
import type { JsonSchema, TaskContext } from '../../sdk/index.js';
import { serverAttributes, withClientSpan } from '../../telemetry/index.js';
import { destinationHost } from '../shared/destination.js';
import { connectorFailure } from '../shared/failures.js';
import { secretNameSchema } from '../shared/schemas.js';

/** Where and as whom the S3 connectors connect. */
export interface S3ConnectionInput {
  bucket: string;
  key: string;
  /** S3-compatible endpoint, e.g. `http://minio:9000`. @default AWS S3 for `region` */
  endpoint?: string;
  /** @default 'us-east-1' */
  region?: string;
  /** Path-style URLs (`endpoint/bucket/key`). @default true when `endpoint` is set */
  forcePathStyle?: boolean;
  /** Names of the secrets holding the access key pair. @default the AWS SDK's default credential chain */
  credentials?: { accessKeyIdSecret: string; secretAccessKeySecret: string };
}

/** JSON Schema properties shared by `connectors/s3.get` and `connectors/s3.put`. */
export const S3_CONNECTION_PROPERTIES: Record<string, JsonSchema> = {
  bucket: { type: 'string', pattern: '^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$', description: 'Bucket name.' },
  key: { type: 'string', minLength: 1, maxLength: 1024, description: 'Object key.' },
  endpoint: { type: 'string', pattern: '^https?://', description: 'S3-compatible endpoint; AWS S3 when absent.' },
  region: { type: 'string', minLength: 1, default: 'us-east-1', description: 'Region.' },
  forcePathStyle: { type: 'boolean', description: 'Path-style URLs; default true when endpoint is set.' },
  credentials: {
    type: 'object',
    description: 'Secrets holding the access key pair; the AWS default credential chain when absent.',
    properties: {
      accessKeyIdSecret: secretNameSchema('Name of the secret holding the access key id.'),
      secretAccessKeySecret: secretNameSchema('Name of the secret holding the secret access key.'),
    },
    required: ['accessKeyIdSecret', 'secretAccessKeySecret'],
    additionalProperties: false,
  },
};

/**
 * An S3 client for one task attempt. The SDK's own retries are off (`maxAttempts: 1`): the run's
 * retry policy is the retry, so attempts are counted and visible in one place.
 */
export async function s3Client(input: S3ConnectionInput, ctx: TaskContext): Promise<S3Client> {
  const { endpoint, region = 'us-east-1', forcePathStyle = endpoint !== undefined } = input;
  const host = s3Host(input);
  const credentials = input.credentials
    ? {
        accessKeyId: await ctx.secrets(input.credentials.accessKeyIdSecret, { host }),
        secretAccessKey: await ctx.secrets(input.credentials.secretAccessKeySecret, { host }),
      }
    : undefined;
  const client = new S3Client({
    region,
    forcePathStyle,
    maxAttempts: 1,
    // Every connection through the namespace's egress guard, to the address it checked.
    requestHandler: { httpAgent: ctx.egress.httpAgent({ keepAlive: true }), httpsAgent: ctx.egress.httpsAgent({ keepAlive: true }) },
    ...(endpoint ? { endpoint } : {}),
    ...(credentials ? { credentials } : {}),
  });
  traceRequests(client, input, host);
  return client;
}

/**
 * Makes each command a client span (`S3.GetObject`: the bucket, never the key, which may name
 * private data, nor the query of a presigned URL) and sends its trace context as request headers.
 * Added at the build step, before signing: the headers are signed with the rest.
 */
function traceRequests(client: S3Client, { bucket, endpoint }: S3ConnectionInput, host: string): void {
  const server = serverAttributes(endpoint ?? `https://${host}`);
  client.middlewareStack.add(
    (next, context) => (args) => {
      const operation = context.commandName?.replace(/Command$/, '') ?? 'request';
      const attributes = { 'rpc.system': 'aws-api', 'rpc.service': 'S3', 'rpc.method': operation, 'aws.s3.bucket': bucket, ...server };
      return withClientSpan(`S3.${operation}`, attributes, async (trace, span) => {
        const request = args.request as { headers?: Record<string, string> };
        if (request.headers) Object.assign(request.headers, trace);
        try {
          const result = await next(args);
          const status = (result.response as { statusCode?: number }).statusCode;
          if (status !== undefined) span.setAttribute('http.response.status_code', status);
          return result;
        } catch (error) {
          if (error instanceof S3ServiceException && error.$metadata.httpStatusCode !== undefined) span.setAttribute('http.response.status_code', error.$metadata.httpStatusCode);
          throw error;
        }
      });
    },
    { step: 'build', name: 'maestroTraceContext' },
  );
}

/**
 * The host the client signs its requests for: the endpoint's (the bucket under it with
 * virtual-hosted addressing), or AWS S3's for the region.
 */
function s3Host({ bucket, endpoint, region = 'us-east-1', forcePathStyle = endpoint !== undefined }: S3ConnectionInput): string {
  const service = endpoint === undefined ? `s3.${region}.amazonaws.com` : destinationHost(endpoint);
  return forcePathStyle ? service : `${bucket}.${service}`;
}

/** S3 error codes that will not change by retrying. */
const PERMANENT_CODES: ReadonlySet<string> = new Set(['NoSuchBucket', 'NoSuchKey', 'AccessDenied', 'InvalidAccessKeyId', 'SignatureDoesNotMatch', 'InvalidBucketName', 'NotFound']);

/** Maps an S3 failure: client faults (no such key, access denied) are not retryable, server faults are. */
export function s3Failure(error: unknown, ctx: TaskContext, exchange: string): unknown {
  const failure = connectorFailure(error, ctx.signal, exchange, {
    egress: ctx.egress,
    permanent: (e) => e instanceof S3ServiceException && (PERMANENT_CODES.has(e.name) || (e.$fault === 'client' && e.$metadata.httpStatusCode !== 429)),
  });
  return failure;
}
