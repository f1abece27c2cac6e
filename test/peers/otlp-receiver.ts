import { createServer, type IncomingMessage } from 'node:http';
import type { AddressInfo } from 'node:net';

/** One export an {@link OtlpReceiver} took. */
export interface OtlpExport {
  /** `/v1/metrics`, `/v1/traces` … */
  path: string;
  /** `application/json` or `application/x-protobuf`. */
  contentType: string;
  body: Buffer;
  /** The parsed body of a JSON export. */
  json?: unknown;
}

/**
 * An OTLP/HTTP receiver (as a collector's `otlphttp` receiver answers): takes every `POST /v1/…`
 * in JSON or protobuf, keeps it, and answers 200 with an empty export response.
 */
export interface OtlpReceiver {
  /** `http://127.0.0.1:<port>`: the value of `OTEL_EXPORTER_OTLP_ENDPOINT`. */
  url: string;
  readonly exports: readonly OtlpExport[];
  stop(): Promise<void>;
}

async function read(req: IncomingMessage): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const chunk of req) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks);
}

/** Starts an {@link OtlpReceiver} on a free loopback port. */
export async function startOtlpReceiver(): Promise<OtlpReceiver> {
  const exports: OtlpExport[] = [];
  const server = createServer((req, res) => {
    void read(req).then((body) => {
      const contentType = (req.headers['content-type'] ?? '').split(';')[0] ?? '';
      if (req.method !== 'POST' || !req.url?.startsWith('/v1/')) {
        res.statusCode = 404;
        res.end();
        return;
      }
      exports.push({ path: req.url, contentType, body, ...(contentType === 'application/json' ? { json: JSON.parse(body.toString('utf8')) as unknown } : {}) });
      res.statusCode = 200;
      res.setHeader('content-type', contentType === 'application/json' ? 'application/json' : 'application/x-protobuf');
      res.end(contentType === 'application/json' ? '{}' : '');
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    exports,
    stop: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}
