import { createHash } from 'node:crypto';
import { GetObjectCommand } from '@aws-sdk/client-s3';
import { defineTask, TaskError } from '../sdk/index.js';
import { S3_CONNECTION_PROPERTIES, s3Client, s3Failure, type S3ConnectionInput } from './s3/client.js';

/** Input of `connectors/s3.get`. */
export interface S3GetInput extends S3ConnectionInput {
  /** How to return the body. @default 'text' */
  format?: 'text' | 'json' | 'base64';
  /** @default 10485760 (10 MiB) */
  maxBytes?: number;
}

/** Output of `connectors/s3.get`. */
export interface S3GetOutput {
  /** Text, parsed JSON or base64, as `format` asked. */
  body: unknown;
  size: number;
  /** Hex SHA-256 of the bytes read. */
  sha256: string;
  etag?: string;
  contentType?: string;
}

const DEFAULT_MAX_BYTES = 10 * 1024 * 1024;

/**
 * `connectors/s3.get`: reads one object from S3 or an S3-compatible server (`endpoint`), bounded by
 * `maxBytes`, and returns it as text, parsed JSON or base64, with its size and SHA-256.
 *
 * @example
 * - id: fetch
 *   uses: connectors/s3.get@0.1.0
 *   with: { endpoint: "http://minio:9000", bucket: raw, key: records.json, format: json, credentials: { accessKeyIdSecret: S3_KEY, secretAccessKeySecret: S3_SECRET } }
 */
export const s3Get = defineTask<S3GetInput, S3GetOutput>({
  name: 'connectors/s3.get',
  version: '0.1.0',
  description: 'Reads one S3 object (size-bounded) as text, JSON or base64.',
  execution: 'activity',
  input: {
    type: 'object',
    properties: {
      ...S3_CONNECTION_PROPERTIES,
      format: { enum: ['text', 'json', 'base64'], default: 'text', description: 'text (UTF-8), json (parsed) or base64.' },
      maxBytes: { type: 'integer', minimum: 1, default: DEFAULT_MAX_BYTES, description: 'Largest object accepted, in bytes.' },
    },
    required: ['bucket', 'key'],
    additionalProperties: false,
  },
  output: {
    type: 'object',
    properties: {
      body: { description: 'The object: text, parsed JSON or base64.' },
      size: { type: 'integer', minimum: 0 },
      sha256: { type: 'string', pattern: '^[0-9a-f]{64}$' },
      etag: { type: 'string' },
      contentType: { type: 'string' },
    },
    required: ['body', 'size', 'sha256'],
    additionalProperties: false,
  },
  async execute(input, ctx) {
    const { bucket, key, format = 'text', maxBytes = DEFAULT_MAX_BYTES } = input;
    const client = await s3Client(input, ctx);
    const exchange = `get s3://${bucket}/${key}`;
    try {
      const response = await client.send(new GetObjectCommand({ Bucket: bucket, Key: key }), { abortSignal: ctx.signal });
      if (response.ContentLength !== undefined && response.ContentLength > maxBytes) {
        throw tooLarge(exchange, maxBytes, response.ContentLength);
      }
      const bytes = (await response.Body?.transformToByteArray()) ?? new Uint8Array(0);
      if (bytes.byteLength > maxBytes) throw tooLarge(exchange, maxBytes, bytes.byteLength);
      ctx.logger.info('object read', { bucket, key, size: bytes.byteLength });
      return {
        body: decode(bytes, format, exchange),
        size: bytes.byteLength,
        sha256: createHash('sha256').update(bytes).digest('hex'),
        ...(response.ETag ? { etag: response.ETag } : {}),
        ...(response.ContentType ? { contentType: response.ContentType } : {}),
      };
    } catch (error) {
      throw s3Failure(error, ctx, exchange);
    } finally {
      client.destroy();
    }
  },
});

function decode(bytes: Uint8Array, format: NonNullable<S3GetInput['format']>, exchange: string): unknown {
  if (format === 'base64') return Buffer.from(bytes).toString('base64');
  const text = new TextDecoder().decode(bytes);
  if (format === 'text') return text;
  try {
    return JSON.parse(text) as unknown;
  } catch (error) {
    // JSON.parse reports malformed text only by throwing a SyntaxError.
    if (!(error instanceof SyntaxError)) throw error;
    throw new TaskError(`${exchange}: the object is not JSON: ${error.message}`, { code: 'TASK_FAILED', retryable: false, cause: error });
  }
}

function tooLarge(exchange: string, maxBytes: number, size: number): TaskError {
  return new TaskError(`${exchange}: the object is ${size} bytes, more than maxBytes (${maxBytes})`, {
    code: 'TASK_FAILED',
    retryable: false,
    details: { maxBytes, size },
  });
}
