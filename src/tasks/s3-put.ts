import { createHash } from 'node:crypto';
import { PutObjectCommand } from '@aws-sdk/client-s3';
import { defineTask } from '../sdk/index.js';
import { S3_CONNECTION_PROPERTIES, s3Client, s3Failure, type S3ConnectionInput } from './s3/client.js';
import { invalidInput } from './shared/failures.js';

/** Input of `connectors/s3.put`. */
export interface S3PutInput extends S3ConnectionInput {
  /** A string is stored as is (or decoded, with `encoding: base64`); any other JSON value as JSON. */
  body: unknown;
  /** @default 'utf8' */
  encoding?: 'utf8' | 'base64';
  /** @default 'application/json' for a JSON body, 'text/plain; charset=utf-8' for a string, 'application/octet-stream' for base64 */
  contentType?: string;
  /** User metadata (`x-amz-meta-*`). */
  metadata?: Record<string, string>;
}

/** Output of `connectors/s3.put`. */
export interface S3PutOutput {
  bucket: string;
  key: string;
  size: number;
  /** Hex SHA-256 of the bytes written. */
  sha256: string;
  etag?: string;
  versionId?: string;
}

/** Largest body this task sends in one request (S3's single-PUT limit is 5 GiB; history is the real bound). */
const MAX_BYTES = 64 * 1024 * 1024;

/**
 * `connectors/s3.put`: writes one object to S3 or an S3-compatible server (`endpoint`), with its
 * SHA-256 sent as the request checksum so the server verifies what it stored.
 *
 * @example
 * - id: store
 *   uses: connectors/s3.put@0.1.0
 *   with: { endpoint: "http://minio:9000", bucket: curated, key: "out/${params.day}.json", body: "${tasks.map.outputs.rows}" }
 */
export const s3Put = defineTask<S3PutInput, S3PutOutput>({
  name: 'connectors/s3.put',
  version: '0.1.0',
  description: 'Writes one S3 object from text, JSON or base64, checksummed with SHA-256.',
  execution: 'activity',
  input: {
    type: 'object',
    properties: {
      ...S3_CONNECTION_PROPERTIES,
      body: { description: 'A string is stored as is (or base64-decoded); any other JSON value as JSON.' },
      encoding: { enum: ['utf8', 'base64'], default: 'utf8', description: 'How a string body is encoded.' },
      contentType: { type: 'string', minLength: 1, description: 'Content-Type of the object.' },
      metadata: {
        type: 'object',
        description: 'User metadata (x-amz-meta-*).',
        propertyNames: { pattern: '^[A-Za-z0-9-]+$' },
        additionalProperties: { type: 'string' },
      },
    },
    required: ['bucket', 'key', 'body'],
    additionalProperties: false,
  },
  output: {
    type: 'object',
    properties: {
      bucket: { type: 'string' },
      key: { type: 'string' },
      size: { type: 'integer', minimum: 0 },
      sha256: { type: 'string', pattern: '^[0-9a-f]{64}$' },
      etag: { type: 'string' },
      versionId: { type: 'string' },
    },
    required: ['bucket', 'key', 'size', 'sha256'],
    additionalProperties: false,
  },
  validate({ body, encoding = 'utf8' }) {
    if (encoding === 'base64' && (typeof body !== 'string' || !/^[A-Za-z0-9+/]*={0,2}$/.test(body))) {
      throw invalidInput('body', 'with encoding base64, body must be a base64 string');
    }
  },
  async execute(input, ctx) {
    const { bucket, key, encoding = 'utf8', metadata } = input;
    const { bytes, contentType } = encodeBody(input.body, encoding);
    if (bytes.byteLength > MAX_BYTES) throw invalidInput('body', `is ${bytes.byteLength} bytes; at most ${MAX_BYTES} are sent in one put`);
    const sha256 = createHash('sha256').update(bytes);
    const client = await s3Client(input, ctx);
    const exchange = `put s3://${bucket}/${key}`;
    try {
      const response = await client.send(
        new PutObjectCommand({
          Bucket: bucket,
          Key: key,
          Body: bytes,
          ContentLength: bytes.byteLength,
          ContentType: input.contentType ?? contentType,
          ChecksumSHA256: sha256.copy().digest('base64'),
          ...(metadata ? { Metadata: metadata } : {}),
        }),
        { abortSignal: ctx.signal },
      );
      ctx.logger.info('object written', { bucket, key, size: bytes.byteLength });
      return {
        bucket,
        key,
        size: bytes.byteLength,
        sha256: sha256.digest('hex'),
        ...(response.ETag ? { etag: response.ETag } : {}),
        ...(response.VersionId ? { versionId: response.VersionId } : {}),
      };
    } catch (error) {
      throw s3Failure(error, ctx, exchange);
    } finally {
      client.destroy();
    }
  },
});

function encodeBody(body: unknown, encoding: 'utf8' | 'base64'): { bytes: Uint8Array; contentType: string } {
  if (typeof body === 'string') {
    return encoding === 'base64'
      ? { bytes: Buffer.from(body, 'base64'), contentType: 'application/octet-stream' }
      : { bytes: Buffer.from(body, 'utf8'), contentType: 'text/plain; charset=utf-8' };
  }
  return { bytes: Buffer.from(JSON.stringify(body), 'utf8'), contentType: 'application/json' };
}
